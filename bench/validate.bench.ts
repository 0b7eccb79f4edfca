/**
 * `npm run bench -- validate`: how long `dataops validate` takes on the sample repos.
 *
 * - validate_full_ms: every check on every sample repo (examples/dbt-models, airflow-dags,
 *   spark-jobs, terraform-infra), one repo after another, as a push to main or a PR that touches
 *   shared files would run them.
 * - validate_scoped_ms: a PR that changes one dbt model (`--base main`): only the checks that the
 *   change affects, with dbt building `state:modified+` and deferring to the base environment.
 *   In CodeBuild that environment is a zero-copy clone that exists already; here it is built once
 *   from the base revision and cached, so one untimed scoped run warms it first.
 * - validate_scoped_ratio: scoped / full; the target is at most 0.25.
 *
 * Both are measured in the same process on the same machine, with the real tools.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runValidate } from '../lib/checks/validate/runner';
import { PROJECT_ROOT } from '../lib/checks/validate/toolchain';
import type { BenchResult } from './run';

const SAMPLES = ['dbt-models', 'airflow-dags', 'spark-jobs', 'terraform-infra'];
const GENERATED = new Set(['target', 'dbt_packages', 'logs', '__pycache__', '.pytest_cache', '.ruff_cache', 'reports', 'spark-warehouse', 'package-lock.yml']);
const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'b@example.org', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'b@example.org' };
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env: gitEnv, stdio: 'pipe' });

function copySample(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `dataops-bench-${name}-`));
  fs.cpSync(path.join(PROJECT_ROOT, 'examples', name), dir, { recursive: true, filter: (s) => !GENERATED.has(path.basename(s)) && !s.endsWith('.duckdb') });
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'base');
  return dir;
}

async function timed(fn: () => Promise<{ passed: boolean; findings: readonly { code: string }[] }>, what: string): Promise<number> {
  const t0 = performance.now();
  const r = await fn();
  const ms = performance.now() - t0;
  if (!r.passed) throw new Error(`${what} did not pass (${r.findings.map((f) => f.code).join(', ')}); the bench measures clean runs`);
  return ms;
}

export async function run(): Promise<BenchResult[]> {
  const dirs = SAMPLES.map(copySample);
  try {
    let full = 0;
    for (const [i, dir] of dirs.entries()) full += await timed(() => runValidate({ repoDir: dir }), `full run of ${SAMPLES[i]}`);

    const dbtDir = dirs[0];
    git(dbtDir, 'checkout', '-q', '-b', 'pr');
    const model = path.join(dbtDir, 'models', 'marts', 'fct_daily_visits.sql');
    fs.writeFileSync(model, fs.readFileSync(model, 'utf8').replace("where v.visit_status = 'completed'", "where v.visit_status = 'completed' and v.clinic_code is not null"));
    git(dbtDir, 'commit', '-q', '-am', 'one model');
    await timed(() => runValidate({ repoDir: dbtDir, base: 'main' }), 'warm-up scoped run');
    const scoped = await timed(() => runValidate({ repoDir: dbtDir, base: 'main' }), 'scoped run');
    return [
      { name: 'validate_full_ms', value: Math.round(full), unit: 'ms' },
      { name: 'validate_scoped_ms', value: Math.round(scoped), unit: 'ms' },
      { name: 'validate_scoped_ratio', value: Number((scoped / full).toFixed(3)), unit: 'ratio (target <= 0.25)' },
    ];
  } finally {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  }
}
