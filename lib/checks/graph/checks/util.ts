import * as fs from 'fs';
import * as path from 'path';
import type { Finding } from '../../findings';
import type { DbtNode, RepoInventory } from '../../inventory/types';
import type { CheckContext } from '../context';
import { nodeKey } from '../graph';

const cache = new Map<string, string[] | null>();

function linesOf(file: string): string[] | null {
  if (!cache.has(file)) {
    try {
      cache.set(file, fs.readFileSync(file, 'utf8').split('\n'));
    } catch {
      cache.set(file, null);
    }
  }
  return cache.get(file) ?? null;
}

/**
 * 1-based line of `name: <value>` in a YAML file of a local repo (after line `after`), or null.
 * Used to point at a model's or column's entry in the properties YAML.
 */
export function yamlNameLine(ctx: CheckContext, repo: string, file: string | null, value: string, after = 0): number | null {
  const dir = ctx.repoDirs.get(repo);
  if (!dir || !file) return null;
  const lines = linesOf(path.join(dir, file));
  if (!lines) return null;
  const re = new RegExp(`^\\s*-?\\s*name:\\s*["']?${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}["']?\\s*(#.*)?$`, 'i');
  for (let i = Math.max(0, after); i < lines.length; i++) if (re.test(lines[i])) return i + 1;
  return null;
}

/** Root-project dbt nodes of an inventory, by unique_id. */
export function rootDbtNodes(inv: RepoInventory): Map<string, DbtNode> {
  const out = new Map<string, DbtNode>();
  for (const p of inv.dbt) for (const n of p.nodes) if (n.package === p.name) out.set(n.id, n);
  return out;
}

/** `<repo>/dbt:<id>` */
export function dbtKey(repo: string, id: string): string {
  return nodeKey(repo, `dbt:${id}`);
}

/** Severity order for sorting. */
const ORDER = { error: 0, warning: 1, info: 2 } as const;

/** Sorts findings: errors first, then by repo, file, line, code. */
export function sortFindings(findings: Finding[]): Finding[] {
  return findings.sort(
    (a, b) =>
      ORDER[a.severity] - ORDER[b.severity] ||
      (a.repo ?? '').localeCompare(b.repo ?? '') ||
      (a.file ?? '').localeCompare(b.file ?? '') ||
      (a.line ?? 0) - (b.line ?? 0) ||
      a.code.localeCompare(b.code) ||
      a.asset.localeCompare(b.asset),
  );
}

/** Drops undefined/null optional fields so JSON output stays small. */
export function finding(f: {
  code: string;
  severity: Finding['severity'];
  asset: string;
  repo: string;
  file?: string | null;
  line?: number | null;
  message: string;
  downstream?: readonly string[];
}): Finding {
  return {
    code: f.code,
    severity: f.severity,
    asset: f.asset,
    repo: f.repo,
    ...(f.file ? { file: f.file } : {}),
    ...(f.line ? { line: f.line } : {}),
    message: f.message,
    downstream: f.downstream ?? [],
  };
}
