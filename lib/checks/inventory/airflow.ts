import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { z } from 'zod';
import { listFiles } from './files';
import { AirflowDagSchema, InventoryError, type AirflowDag, type InventoryProblem } from './types';

/** The stdlib-only helper that reads DAG files with `ast` (runs on any python3, imports nothing from the repo). */
export const AIRFLOW_HELPER = path.resolve(__dirname, '..', '..', '..', 'buildspecs', 'helpers', 'airflow_inventory.py');

const HelperOutputSchema = z.object({
  files: z.array(z.object({ path: z.string(), error: z.string().nullable(), line: z.number().nullable() })),
  dags: z.array(AirflowDagSchema),
});

/** Files that are not DAG definitions even when they mention DAGs: tests and conftest. */
function isTestFile(rel: string): boolean {
  const base = path.posix.basename(rel);
  return /^test_.*\.py$|_test\.py$|^conftest\.py$/.test(base) || /(^|\/)tests?\//.test(rel);
}

/** Patterns of one `.airflowignore` (Airflow's default `regexp` syntax), relative to its folder. */
interface IgnoreFile {
  readonly dir: string;
  readonly patterns: readonly RegExp[];
}

/** Reads every `.airflowignore`; a line is a regular expression matched against paths under its folder. */
export function airflowIgnores(repoRoot: string): IgnoreFile[] {
  return listFiles(repoRoot, (name) => name === '.airflowignore').map((rel) => {
    const dir = path.posix.dirname(rel);
    const patterns = fs
      .readFileSync(path.join(repoRoot, rel), 'utf8')
      .split('\n')
      .map((l) => l.replace(/#.*$/, '').trim())
      .filter(Boolean)
      .flatMap((l) => {
        try {
          return [new RegExp(l)];
        } catch {
          return [];
        }
      });
    return { dir: dir === '.' ? '' : dir, patterns };
  });
}

function ignored(ignores: readonly IgnoreFile[], rel: string): boolean {
  return ignores.some((ig) => {
    if (ig.dir && !rel.startsWith(`${ig.dir}/`)) return false;
    const sub = ig.dir ? rel.slice(ig.dir.length + 1) : rel;
    return ig.patterns.some((re) => re.test(sub));
  });
}

/**
 * Python files that may define DAGs. Like Airflow's DAG discovery in safe mode, only files that
 * contain both "airflow" and "dag" (case-insensitive) are read; tests and files that an
 * `.airflowignore` excludes are left out.
 */
export function findDagFiles(repoRoot: string): string[] {
  const ignores = airflowIgnores(repoRoot);
  return listFiles(repoRoot, (name, rel) => name.endsWith('.py') && !isTestFile(rel) && !ignored(ignores, rel)).filter((rel) => {
    const text = fs.readFileSync(path.join(repoRoot, rel), 'utf8').toLowerCase();
    return text.includes('airflow') && text.includes('dag');
  });
}

/** Options for the Airflow inventory. */
export interface AirflowInventoryOptions {
  /** Python interpreter. @default - $DATAOPS_PYTHON, else python3 */
  readonly python?: string;
  /** Reference time for `days_ago(n)`. @default - now */
  readonly now?: Date;
}

function runHelper(python: string, args: string[], input: string): Promise<{ status: number | null; stdout: string; stderr: string; error?: Error }> {
  return new Promise((resolve) => {
    const child = spawn(python, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (error) => resolve({ status: null, stdout: '', stderr: '', error }));
    child.on('close', (status) => resolve({ status, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

/**
 * Reads the DAGs of a repo statically through the `ast` helper. The helper runs as a separate
 * process, so callers can do other work (e.g. parse a dbt manifest) while it reads the files.
 */
export async function airflowInventory(repoRoot: string, opts: AirflowInventoryOptions = {}): Promise<{ dags: AirflowDag[]; problems: InventoryProblem[] }> {
  const files = findDagFiles(repoRoot);
  if (files.length === 0) return { dags: [], problems: [] };
  const python = opts.python ?? process.env.DATAOPS_PYTHON ?? 'python3';
  // -S: the helper needs only the standard library, so skip site-packages (faster start).
  const args = ['-S', AIRFLOW_HELPER, '--root', repoRoot];
  if (opts.now) args.push('--now', opts.now.toISOString());
  const res = await runHelper(python, args, files.join('\n'));
  if (res.error || res.status !== 0) {
    throw new InventoryError(
      `airflow inventory helper ${AIRFLOW_HELPER} failed on ${repoRoot} (exit ${res.status ?? 'none'}): ${res.error?.message ?? res.stderr.slice(-2000)}; check that '${python}' is Python 3.9 or later`,
      { cause: res.error },
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(res.stdout);
  } catch (cause) {
    throw new InventoryError(`airflow inventory helper printed output that is not JSON for ${repoRoot}`, { cause });
  }
  const parsed = HelperOutputSchema.safeParse(raw);
  if (!parsed.success) {
    throw new InventoryError(`airflow inventory helper output does not match its schema for ${repoRoot}: ${parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const problems: InventoryProblem[] = parsed.data.files
    .filter((f) => f.error !== null)
    .map((f) => ({ kind: 'airflow', file: f.path, line: f.line, message: `cannot read DAG file: ${f.error ?? ''}`, severity: 'error' }));
  return { dags: parsed.data.dags, problems };
}
