import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Finding } from '../../findings';
import type { Check, CheckContext, CheckResult } from '../check';
import { changedUnder } from '../scope';
import { dbtParseFindings, dbtRunFindings, ManifestSchema, projectFileReader, RunResultsSchema } from './dbt-results';
import { lastLine } from './pytest';

/** File name of the local (DuckDB) CI database; the base environment's copy has the same name so deferred relations resolve. */
const DUCKDB_FILE = 'dataops.duckdb';
const DBT_PATHS = /^(models|seeds|snapshots|tests|analyses)\//;

/** The dbt target a run uses: DATAOPS_DBT_TARGET (CodeBuild sets the CI target), else the repo's local one. */
export function dbtTarget(ctx: CheckContext): string {
  return process.env.DATAOPS_DBT_TARGET ?? ctx.repo.dbt.localTarget;
}

/** True when the run builds in a local DuckDB file (seeds stand in for the raw landing tables). */
function isLocalTarget(ctx: CheckContext): boolean {
  return dbtTarget(ctx) === ctx.repo.dbt.localTarget;
}

/** Environment of every dbt (and sqlfluff-dbt) process of a run. */
export function dbtEnv(ctx: CheckContext, duckdbPath: string): Record<string, string> {
  return {
    DBT_PROFILES_DIR: path.resolve(ctx.repo.root, ctx.repo.dbt.profilesDir),
    DBT_DUCKDB_PATH: duckdbPath,
    DBT_SEND_ANONYMOUS_USAGE_STATS: 'false',
    DBT_USE_COLORS: 'false',
    DBT_PRINTER_WIDTH: '120',
  };
}

/** Runs `dbt deps` once per run (local packages only, no network); shared with the SQL lint check. */
export function ensureDbtDeps(ctx: CheckContext): Promise<Finding[]> {
  return ctx.once('dbt-deps', async () => {
    const projectDir = path.resolve(ctx.repo.root, ctx.repo.dbt.projectDir);
    const dbt = ctx.tools.resolve('dbt', 'dbt');
    const res = await ctx.tools.run(dbt, ['deps', '--target', dbtTarget(ctx), '--log-path', path.join(ctx.workDir, 'dbt-logs')], {
      cwd: projectDir,
      env: dbtEnv(ctx, path.join(ctx.workDir, 'deps.duckdb')),
    });
    if (res.code === 0) return [];
    return [{ code: 'DBT_DEPS_FAILED', severity: 'error', asset: 'dbt:packages', file: path.posix.join(ctx.repo.dbt.projectDir, 'packages.yml').replace(/^\.\//, ''), message: `dbt deps failed: ${lastLine(res.stdout || res.stderr)}` }];
  });
}

function git(cwd: string, args: string[]): Buffer {
  return execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
}

/**
 * The base environment to compare with and defer to. In CodeBuild it is given (`--dbt-state`, the
 * environment's manifest; the database is a zero-copy clone). Locally it is built once per base
 * tree from the base revision into a DuckDB file under the cache folder, and each run works on a
 * copy of that file (the local stand-in for the clone).
 */
async function baseEnvironment(ctx: CheckContext): Promise<{ state: string; duckdb?: string } | { error: string }> {
  if (ctx.dbtState) return { state: ctx.dbtState };
  if (!ctx.scope.base) return { error: 'no base revision' };
  const prefix = git(ctx.repo.root, ['rev-parse', '--show-prefix']).toString().trim();
  const projectInRepo = path.posix.join(prefix, ctx.repo.dbt.projectDir).replace(/\/$/, '').replace(/^\.$/, '');
  let tree: string;
  try {
    tree = git(ctx.repo.root, ['rev-parse', `${ctx.scope.base}:${projectInRepo}`]).toString().trim();
  } catch {
    return { error: `the dbt project does not exist at ${ctx.scope.base}` };
  }
  const cacheRoot = process.env.DATAOPS_CACHE_DIR ?? path.join(os.tmpdir(), 'dataops-cache');
  const envDir = path.join(cacheRoot, 'dbt-env', `${tree.slice(0, 16)}-${dbtTarget(ctx)}`);
  const done = path.join(envDir, 'done');
  if (!fs.existsSync(done)) {
    ctx.log(`dbt: building the base environment of ${ctx.scope.base} (once per base tree, cached in ${envDir})`);
    fs.rmSync(envDir, { recursive: true, force: true });
    const src = path.join(envDir, 'src');
    fs.mkdirSync(src, { recursive: true });
    const tar = git(ctx.repo.root, ['archive', '--format=tar', `${ctx.scope.base}:${projectInRepo}`]);
    execFileSync('tar', ['-x', '-C', src], { input: tar });
    const dbt = ctx.tools.resolve('dbt', 'dbt');
    const env = { ...dbtEnv(ctx, path.join(envDir, DUCKDB_FILE)), DBT_PROFILES_DIR: path.resolve(src, path.relative(ctx.repo.dbt.projectDir, ctx.repo.dbt.profilesDir)) };
    const common = ['--target', dbtTarget(ctx), '--target-path', path.join(envDir, 'target'), '--log-path', path.join(envDir, 'logs')];
    for (const args of [['deps'], ['seed'], ['build', '--exclude', 'resource_type:seed']]) {
      if (args[0] === 'seed' && !isLocalTarget(ctx)) continue;
      // `dbt deps` takes no --target-path.
      const flags = args[0] === 'deps' ? common.filter((_, i) => common[i] !== '--target-path' && common[i - 1] !== '--target-path') : common;
      const res = await ctx.tools.run(dbt, [...args, ...flags], { cwd: src, env });
      // A base whose build has failing nodes still defers: its manifest and the nodes that built are what the environment has.
      if (res.code !== 0 && args[0] !== 'build') return { error: `dbt ${args[0]} failed on the base revision: ${lastLine(res.stdout || res.stderr)}` };
    }
    fs.writeFileSync(done, new Date().toISOString());
  }
  return { state: path.join(envDir, 'target'), duckdb: path.join(envDir, DUCKDB_FILE) };
}

/**
 * dbt deps, parse and build (compiling each selected node, running its tests and enforcing its
 * contracts) against the CI target. Scoped runs build `state:modified+` and defer everything else
 * to the base environment; their parse is the one `dbt build` does.
 */
export const dbtCheck: Check = {
  name: 'dbt',
  kinds: ['dbt'],
  order: 50,
  applies: (ctx) => fs.existsSync(path.join(ctx.repo.root, ctx.repo.dbt.projectDir, 'dbt_project.yml')),
  async run(ctx: CheckContext): Promise<CheckResult> {
    const projectDir = path.resolve(ctx.repo.root, ctx.repo.dbt.projectDir);
    const changed = changedUnder(ctx.scope, ctx.repo.dbt.projectDir, (f) => DBT_PATHS.test(path.relative(ctx.repo.dbt.projectDir, f)));
    if (!ctx.scope.full && changed.length === 0) return { findings: [], skip: { check: 'dbt', kind: 'dbt', reason: 'no model, seed, snapshot, test or analysis changed' } };

    const depsFindings = await ensureDbtDeps(ctx);
    if (depsFindings.length) return { findings: depsFindings, selection: { check: 'dbt', kind: 'dbt', assets: ['*'], reason: ctx.scope.reason } };

    let full = ctx.scope.full;
    let reason = ctx.scope.reason;
    let state: string | undefined;
    const dbDir = path.join(ctx.workDir, 'dbt-db');
    fs.mkdirSync(dbDir, { recursive: true });
    const duckdb = path.join(dbDir, DUCKDB_FILE);
    if (!full) {
      const baseEnv = await baseEnvironment(ctx);
      if ('error' in baseEnv) {
        full = true;
        reason = `${baseEnv.error}: full dbt run`;
      } else {
        state = baseEnv.state;
        if (baseEnv.duckdb) fs.copyFileSync(baseEnv.duckdb, duckdb);
        reason = `state:modified+ against ${ctx.scope.base} (${changed.length} dbt file(s) changed), deferring to the base environment`;
      }
    }

    const dbt = ctx.tools.resolve('dbt', 'dbt');
    const targetPath = path.join(ctx.workDir, 'dbt-target');
    const common = ['--target', dbtTarget(ctx), '--target-path', targetPath, '--log-path', path.join(ctx.workDir, 'dbt-logs')];
    const env = dbtEnv(ctx, duckdb);
    const read = projectFileReader(projectDir);

    if (full) {
      // A scoped run leaves parsing to `dbt build` (one process less on the PR's critical path).
      const parse = await ctx.tools.run(dbt, ['parse', ...common], { cwd: projectDir, env });
      if (parse.code !== 0) {
        return { findings: dbtParseFindings(parse.stdout + parse.stderr, read, ctx.repo.dbt.projectDir), selection: { check: 'dbt', kind: 'dbt', assets: ['*'], reason } };
      }
    }

    if (full && isLocalTarget(ctx)) {
      const seed = await ctx.tools.run(dbt, ['seed', ...common], { cwd: projectDir, env });
      if (seed.code !== 0) return { findings: runFindings(targetPath, read, ctx, `dbt seed failed: ${lastLine(seed.stdout)}`), selection: { check: 'dbt', kind: 'dbt', assets: ['*'], reason } };
    }
    const select = full ? [] : ['--select', 'state:modified+', '--state', state as string, '--defer'];
    const exclude = full && isLocalTarget(ctx) ? ['--exclude', 'resource_type:seed'] : [];
    const build = await ctx.tools.run(dbt, ['build', ...select, ...exclude, ...common], { cwd: projectDir, env });
    if (build.code !== 0 && !fs.existsSync(path.join(targetPath, 'run_results.json'))) {
      // No node ran: the project did not parse.
      return { findings: dbtParseFindings(build.stdout + build.stderr, read, ctx.repo.dbt.projectDir), selection: { check: 'dbt', kind: 'dbt', assets: ['*'], reason } };
    }
    const findings = runFindings(targetPath, read, ctx, build.code !== 0 ? `dbt build failed: ${lastLine(build.stdout)}` : undefined);
    const assets = full ? ['*'] : selectedNodes(targetPath);
    return { findings, selection: { check: 'dbt', kind: 'dbt', assets, reason } };
  },
};

function runFindings(targetPath: string, read: ReturnType<typeof projectFileReader>, ctx: CheckContext, failure?: string): Finding[] {
  const rr = path.join(targetPath, 'run_results.json');
  const mf = path.join(targetPath, 'manifest.json');
  const findings =
    fs.existsSync(rr) && fs.existsSync(mf)
      ? dbtRunFindings(RunResultsSchema.parse(JSON.parse(fs.readFileSync(rr, 'utf8'))), ManifestSchema.parse(JSON.parse(fs.readFileSync(mf, 'utf8'))), read, ctx.repo.dbt.projectDir)
      : [];
  if (failure && !findings.some((f) => f.severity === 'error')) findings.push({ code: 'DBT_BUILD_ERROR', severity: 'error', asset: 'dbt:project', message: failure });
  return findings;
}

function selectedNodes(targetPath: string): string[] {
  const rr = path.join(targetPath, 'run_results.json');
  if (!fs.existsSync(rr)) return [];
  return RunResultsSchema.parse(JSON.parse(fs.readFileSync(rr, 'utf8')))
    .results.map((r) => r.unique_id)
    .filter((id) => !id.startsWith('test.'));
}
