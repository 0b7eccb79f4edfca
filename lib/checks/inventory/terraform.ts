import * as fs from 'fs';
import * as path from 'path';
import { parse as parseHcl } from '@cdktf/hcl2json';
import { listFiles, lineOf } from './files';
import type { InventoryProblem, TerraformItem } from './types';

type Block = Record<string, unknown>;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Attributes whose literal values name data assets (buckets, tables, databases, queues). */
const NAME_ATTRS = ['bucket', 'name', 'table_name', 'database_name', 'queue_name', 'stream_name'];

function literalNames(blocks: unknown): string[] {
  const out: string[] = [];
  for (const b of Array.isArray(blocks) ? blocks : [blocks]) {
    if (!isRecord(b)) continue;
    for (const a of NAME_ATTRS) {
      const v = b[a];
      if (typeof v === 'string' && !v.includes('${')) out.push(v);
    }
  }
  return out;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Items of one .tf file, from its HCL (parsed by HashiCorp's HCL library compiled to WASM). */
export async function terraformFileItems(text: string, file: string): Promise<TerraformItem[]> {
  const doc = (await parseHcl(file, text)) as unknown;
  if (!isRecord(doc)) return [];
  const items: TerraformItem[] = [];
  for (const kind of ['resource', 'data'] as const) {
    const byType = doc[kind];
    if (!isRecord(byType)) continue;
    for (const [type, byName] of Object.entries(byType)) {
      if (!isRecord(byName)) continue;
      for (const [name, blocks] of Object.entries(byName)) {
        items.push({
          address: kind === 'data' ? `data.${type}.${name}` : `${type}.${name}`,
          kind,
          type,
          file,
          line: lineOf(text, new RegExp(`^[ \\t]*${kind}\\s+"${escape(type)}"\\s+"${escape(name)}"`, 'm')),
          source: null,
          names: literalNames(blocks),
        });
      }
    }
  }
  const modules = doc.module;
  if (isRecord(modules)) {
    for (const [name, blocks] of Object.entries(modules)) {
      const first = Array.isArray(blocks) ? (blocks[0] as Block | undefined) : undefined;
      items.push({
        address: `module.${name}`,
        kind: 'module',
        type: null,
        file,
        line: lineOf(text, new RegExp(`^[ \\t]*module\\s+"${escape(name)}"`, 'm')),
        source: first && typeof first.source === 'string' ? first.source : null,
        names: [],
      });
    }
  }
  return items;
}

/** Reads every .tf file of a repo; a file HCL cannot parse becomes a problem, not a crash. */
export async function terraformInventory(repoRoot: string): Promise<{ items: TerraformItem[]; problems: InventoryProblem[] }> {
  const items: TerraformItem[] = [];
  const problems: InventoryProblem[] = [];
  for (const rel of listFiles(repoRoot, (name) => name.endsWith('.tf'))) {
    const text = fs.readFileSync(path.join(repoRoot, rel), 'utf8');
    try {
      items.push(...(await terraformFileItems(text, rel)));
    } catch (err) {
      problems.push({ kind: 'terraform', file: rel, line: null, message: `cannot parse HCL: ${String((err as Error).message ?? err).split('\n')[0]}`, severity: 'error' });
    }
  }
  return { items, problems };
}
