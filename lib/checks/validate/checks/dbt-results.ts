import * as fs from 'fs';
import * as path from 'path';
import { z } from 'zod';
import type { Finding } from '../../findings';
import { dbtErrorLines } from '../../inventory/dbt-parse';

/** The parts of dbt's run_results.json that the checks and gates read. */
export const RunResultsSchema = z.object({
  results: z.array(
    z.object({
      unique_id: z.string(),
      status: z.string(),
      message: z.string().nullable().optional(),
      failures: z.number().nullable().optional(),
    }),
  ),
});
export type RunResults = z.output<typeof RunResultsSchema>;

const NodeSchema = z.object({
  unique_id: z.string(),
  resource_type: z.string(),
  name: z.string(),
  original_file_path: z.string(),
  patch_path: z.string().nullable().optional(),
  column_name: z.string().nullable().optional(),
  attached_node: z.string().nullable().optional(),
  file_key_name: z.string().nullable().optional(),
});

/** The parts of dbt's manifest.json used to place findings. */
export const ManifestSchema = z.object({
  nodes: z.record(z.string(), NodeSchema.loose()),
});
export type Manifest = z.output<typeof ManifestSchema>;
type ManifestNode = z.output<typeof NodeSchema>;

/** 1-based line of the first line matching `re` at or after line `from`, else undefined. */
function findLine(text: string, re: RegExp, from = 1): number | undefined {
  const lines = text.split('\n');
  for (let i = from - 1; i < lines.length; i++) if (re.test(lines[i])) return i + 1;
  return undefined;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const nameLine = (name: string) => new RegExp(`^\\s*-\\s*name:\\s*["']?${esc(name)}["']?\\s*$`);

/** Reads files of the dbt project for line lookups; injectable for tests. */
export type ReadProjectFile = (relPath: string) => string | undefined;

/** A reader over a project folder that returns undefined for missing files. */
export function projectFileReader(projectRoot: string): ReadProjectFile {
  return (rel) => {
    const abs = path.join(projectRoot, rel);
    return fs.existsSync(abs) ? fs.readFileSync(abs, 'utf8') : undefined;
  };
}

function patchFile(node: ManifestNode): string | undefined {
  return node.patch_path ? node.patch_path.replace(/^[^:]+:\/\//, '') : undefined;
}

/** Where a model is declared in YAML (its `- name:` entry), for contract findings. */
function modelYamlLocation(node: ManifestNode, read: ReadProjectFile): { file: string; line?: number } {
  const yml = patchFile(node);
  if (!yml) return { file: node.original_file_path };
  const text = read(yml);
  return { file: yml, line: text ? findLine(text, nameLine(node.name)) : undefined };
}

/** Where a test is declared: the column entry of a generic test in YAML, or the singular test file. */
function testLocation(test: ManifestNode, manifest: Manifest, read: ReadProjectFile): { file: string; line?: number } {
  const file = test.original_file_path;
  if (!file.endsWith('.yml') && !file.endsWith('.yaml')) return { file, line: 1 };
  const text = read(file);
  if (!text) return { file };
  const parent = test.attached_node ? manifest.nodes[test.attached_node] : undefined;
  const parentName = parent?.name ?? test.file_key_name?.split('.').pop();
  const modelLine = parentName ? findLine(text, nameLine(parentName)) : undefined;
  if (test.column_name && modelLine) return { file, line: findLine(text, nameLine(test.column_name), modelLine + 1) ?? modelLine };
  return { file, line: modelLine };
}

function relPrefix(projectDir: string, file: string): string {
  return projectDir === '.' || projectDir === '' ? file : path.posix.join(projectDir, file);
}

/**
 * Findings for the failed nodes of a `dbt build` (run_results.json), placed at their files. Skipped
 * nodes are not findings: they follow from a finding upstream.
 */
export function dbtRunFindings(results: RunResults, manifest: Manifest, read: ReadProjectFile, projectDir = '.'): Finding[] {
  const findings: Finding[] = [];
  for (const r of results.results) {
    const node = manifest.nodes[r.unique_id];
    const asset = `dbt:${r.unique_id}`;
    const message = (r.message ?? '').trim();
    if (!node) continue;
    if (node.resource_type === 'test' || node.resource_type === 'unit_test') {
      if (r.status === 'pass' || r.status === 'skipped' || r.status === 'success') continue;
      const loc = testLocation(node, manifest, read);
      const on = node.attached_node ? ` on ${node.attached_node.split('.').pop()}${node.column_name ? `.${node.column_name}` : ''}` : '';
      const code = r.status === 'error' ? 'DBT_TEST_ERROR' : r.status === 'warn' ? 'DBT_TEST_WARNING' : 'DBT_TEST_FAILED';
      findings.push({
        code,
        severity: r.status === 'warn' ? 'warning' : 'error',
        asset,
        file: relPrefix(projectDir, loc.file),
        line: loc.line,
        message: `test ${node.name}${on} ${r.status === 'error' ? 'could not run' : `returned ${r.failures ?? '?'} failing row(s)`}${r.status === 'error' && message ? `: ${firstLine(message)}` : ''}`,
      });
      continue;
    }
    if (r.status !== 'error') continue;
    if (/enforced contract|contract.*(failed|mismatch)/i.test(message)) {
      const loc = modelYamlLocation(node, read);
      findings.push({ code: 'DBT_CONTRACT_VIOLATION', severity: 'error', asset, file: relPrefix(projectDir, loc.file), line: loc.line, message: `${node.name}: the model's columns do not match its enforced contract: ${contractDetail(message)}` });
    } else if (node.resource_type === 'seed') {
      findings.push({ code: 'DBT_SEED_ERROR', severity: 'error', asset, file: relPrefix(projectDir, node.original_file_path), message: `seed ${node.name} failed: ${firstLine(message)}` });
    } else {
      findings.push({ code: 'DBT_MODEL_ERROR', severity: 'error', asset, file: relPrefix(projectDir, node.original_file_path), line: 1, message: `${node.resource_type} ${node.name} failed: ${firstLine(message)}` });
    }
  }
  return findings;
}

function firstLine(s: string): string {
  return s.split('\n').map((l) => l.trim()).filter(Boolean).slice(0, 2).join(' ');
}

/** The mismatch rows of dbt's contract table, e.g. `billed_amount: DOUBLE vs DECIMAL(38,2) (data type mismatch)`. */
function contractDetail(message: string): string {
  const rows = message
    .split('\n')
    .filter((l) => /^\s*\|/.test(l) && !/column_name|---/.test(l))
    .map((l) => l.split('|').map((c) => c.trim()).filter(Boolean))
    .map((c) => `${c[0]}: ${c[1] || '(missing)'} vs contract ${c[2] || '(missing)'} (${c[3] ?? 'mismatch'})`);
  return rows.length ? rows.join('; ') : firstLine(message);
}

/**
 * Findings for a dbt parse that failed (no run results), from its log text. A ref to a node that
 * does not exist becomes DBT_REF_MISSING at the line of the ref; anything else DBT_PARSE_ERROR.
 */
export function dbtParseFindings(log: string, read: ReadProjectFile, projectDir = '.'): Finding[] {
  const text = log.replace(/\u001b\[[0-9;]*m/g, '');
  const findings: Finding[] = [];
  const refRe = /(Model|Test|Snapshot|Analysis|Seed|Exposure|Metric|Semantic model)\s+'([^']+)'\s+\(([^)]+)\)\s+depends on a node named '([^']+)'(?:\s+with version '[^']+')?\s+which (?:was not found|is disabled)/g;
  for (const m of text.matchAll(refRe)) {
    const [, , uid, file, missing] = m;
    const src = read(file);
    const line = src ? findLine(src, new RegExp(`ref\\(\\s*['"]${esc(missing)}['"]`)) : undefined;
    findings.push({ code: 'DBT_REF_MISSING', severity: 'error', asset: `dbt:${uid}`, file: relPrefix(projectDir, file), line, message: `${uid.split('.').pop()} refs '${missing}', which is not a model, seed or snapshot of the project or its packages` });
  }
  if (findings.length > 0) return findings;
  const reason = dbtErrorLines(text);
  const fileMatch = /\(([^()\s]+\.(?:sql|ya?ml|py|csv))\)/.exec(reason);
  findings.push({
    code: 'DBT_PARSE_ERROR',
    severity: 'error',
    asset: 'dbt:project',
    file: fileMatch ? relPrefix(projectDir, fileMatch[1]) : undefined,
    message: `dbt could not parse the project: ${reason}`,
  });
  return findings;
}
