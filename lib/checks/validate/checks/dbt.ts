import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { adapterInstalledFor, dbtCacheRoot, dbtErrorLines, dbtProjectPaths, dbtSandbox, findDbtProjects, type DbtSandbox } from '../../inventory/dbt-parse';
import type { Finding } from '../../findings';
import type { Check, CheckContext, CheckResult, Selection } from '../check';
import { changedUnder } from '../scope';
import { dbtParseFindings, dbtRunFindings, ManifestSchema, projectFileReader, RunResultsSchema } from './dbt-results';

/** File name of the local (DuckDB) CI database; the base environment's copy has the same name so deferred relations resolve. */
const DUCKDB_FILE = 'dataops.duckdb';

/**
 * The dbt target a run asks for: DATAOPS_DBT_TARGET (CodeBuild sets the CI target), else the repo's
 * local one (dataops.yaml `dbt.localTarget`, default `local`). When the repo's profile has no such
 * output, the profile's own `target:` is used (lib/checks/inventory/dbt-parse.ts).
 */
export function dbtTarget(ctx: CheckContext): string {
  return process.env.DATAOPS_DBT_TARGET ?? ctx.repo.dbt.localTarget;
}

/** The dbt projects a run checks: dataops.yaml `dbt.projectDir` when set, else every dbt project of the repo. */
export function dbtProjectsOf(ctx: CheckContext): string[] {
  const declared = ctx.repo.dbt.projectDir;
  if (fs.existsSync(path.join(ctx.repo.root, declared, 'dbt_project.yml'))) {
    const all = findDbtProjects(ctx.repo.root);
    // The default '.' with no project at the root means "not declared": every project found.
    return declared === '.' && !all.includes('.') ? all : [declared.replace(/\/$/, '') || '.'];
  }
  return findDbtProjects(ctx.repo.root);
}

function projectKey(projectDir: string): string {
  return projectDir === '.' ? 'root' : projectDir.replace(/[^A-Za-z0-9_-]+/g, '_');
}

/** profiles.yml folder of a project: dataops.yaml `dbt.profilesDir` for the declared project, else the project itself. */
function profilesDirOf(ctx: CheckContext, projectDir: string): string {
  const declared = path.resolve(ctx.repo.root, ctx.repo.dbt.profilesDir);
  return projectDir === ctx.repo.dbt.projectDir && fs.existsSync(path.join(declared, 'profiles.yml')) ? declared : path.resolve(ctx.repo.root, projectDir);
}

/**
 * The sandbox every dbt (and sqlfluff-dbt) process of a run uses for `projectDir`: its cwd, profile,
 * target and log paths and database file are under the run's work folder, never in the work tree.
 */
export function dbtRunSandbox(ctx: CheckContext, projectDir = ctx.repo.dbt.projectDir): Promise<DbtSandbox> {
  return ctx.once(`dbt-sandbox:${projectDir}`, async () => {
    const work = path.join(ctx.workDir, 'dbt', projectKey(projectDir));
    const sb = dbtSandbox(path.resolve(ctx.repo.root, projectDir), work, {
      profilesDir: profilesDirOf(ctx, projectDir),
      target: dbtTarget(ctx),
      duckdbPath: path.join(work, 'db', DUCKDB_FILE),
      adapterInstalled: adapterInstalledFor(ctx.tools.resolve('dbt', 'dbt')),
    });
    fs.mkdirSync(path.dirname(sb.duckdbPath), { recursive: true });
    if (sb.choice.source === 'offline') ctx.log(`dbt: ${projectDir}: offline profile (${sb.choice.why})`);
    return sb;
  });
}

/** Runs `dbt deps` once per run and project when it declares packages not installed; shared with the SQL lint check. */
export function ensureDbtDeps(ctx: CheckContext, projectDir = ctx.repo.dbt.projectDir): Promise<Finding[]> {
  return ctx.once(`dbt-deps:${projectDir}`, async () => {
    const sb = await dbtRunSandbox(ctx, projectDir);
    if (!sb.needsDeps) return [];
    const dbt = ctx.tools.resolve('dbt', 'dbt');
    const res = await ctx.tools.run(dbt, ['deps', ...sb.depsFlags], { cwd: sb.dir, env: sb.env });
    if (res.code === 0) return [];
    return [{ code: 'DBT_DEPS_FAILED', severity: 'error', asset: 'dbt:packages', file: path.posix.join(projectDir, 'packages.yml').replace(/^\.\//, ''), message: `dbt deps failed: ${dbtErrorLines(res.stdout + res.stderr)}` }];
  });
}

function git(cwd: string, args: string[]): Buffer {
  return execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
}

/**
 * The base environment to compare with and defer to. In CodeBuild it is given (`--dbt-state`, the
 * environment's manifest; the database is a zero-copy clone). Locally it is built once per base
 * tree and target from the base revision into a DuckDB file under the cache folder (the profile's
 * DuckDB `path` is that file, whatever the repo's profile says), and each run works on a copy of it
 * (the local stand-in for the clone).
 */
async function baseEnvironment(ctx: CheckContext, projectDir: string, target: string): Promise<{ state: string; duckdb?: string } | { error: string }> {
  if (ctx.dbtState) return { state: ctx.dbtState };
  if (!ctx.scope.base) return { error: 'no base revision' };
  const prefix = git(ctx.repo.root, ['rev-parse', '--show-prefix']).toString().trim();
  const projectInRepo = path.posix.join(prefix, projectDir).replace(/\/$/, '').replace(/^\.$/, '');
  let tree: string;
  try {
    tree = git(ctx.repo.root, ['rev-parse', `${ctx.scope.base}:${projectInRepo}`]).toString().trim();
  } catch {
    return { error: `the dbt project does not exist at ${ctx.scope.base}` };
  }
  const envDir = path.join(dbtCacheRoot(), 'dbt-env', `${tree.slice(0, 16)}-${target}`);
  const done = path.join(envDir, 'done');
  if (!fs.existsSync(done)) {
    ctx.log(`dbt: building the base environment of ${ctx.scope.base} (once per base tree, cached in ${envDir})`);
    fs.rmSync(envDir, { recursive: true, force: true });
    const src = path.join(envDir, 'src');
    fs.mkdirSync(src, { recursive: true });
    const tar = git(ctx.repo.root, ['archive', '--format=tar', `${ctx.scope.base}:${projectInRepo}`]);
    execFileSync('tar', ['-x', '-C', src], { input: tar });
    const dbt = ctx.tools.resolve('dbt', 'dbt');
    const profilesRel = path.relative(path.resolve(ctx.repo.root, projectDir), profilesDirOf(ctx, projectDir));
    const sb = dbtSandbox(src, path.join(envDir, 'run'), {
      profilesDir: path.resolve(src, profilesRel),
      target,
      duckdbPath: path.join(envDir, DUCKDB_FILE),
      adapterInstalled: adapterInstalledFor(dbt),
    });
    if (sb.choice.source !== 'repo') return { error: `the base revision's profile cannot be used here (${sb.choice.why})` };
    const steps: string[][] = [...(sb.needsDeps ? [['deps', ...sb.depsFlags]] : []), ...(sb.choice.adapter === 'duckdb' ? [['seed', ...sb.flags]] : []), ['build', '--exclude', 'resource_type:seed', ...sb.flags]];
    for (const args of steps) {
      const res = await ctx.tools.run(dbt, args, { cwd: sb.dir, env: sb.env });
      // A base whose build has failing nodes still defers: its manifest and the nodes that built are what the environment has.
      if (res.code !== 0 && args[0] !== 'build') return { error: `dbt ${args[0]} failed on the base revision: ${dbtErrorLines(res.stdout + res.stderr)}` };
    }
    fs.renameSync(sb.targetPath, path.join(envDir, 'target'));
    fs.writeFileSync(done, new Date().toISOString());
  }
  return { state: path.join(envDir, 'target'), duckdb: path.join(envDir, DUCKDB_FILE) };
}

/** One project's findings and selection. */
interface ProjectResult {
  readonly findings: Finding[];
  readonly selection?: Selection;
  readonly skipReason?: string;
}

async function checkProject(ctx: CheckContext, projectDir: string): Promise<ProjectResult> {
  const projectAbs = path.resolve(ctx.repo.root, projectDir);
  const p = dbtProjectPaths(projectAbs);
  const resourceDirs = [...p.models, ...p.seeds, ...p.snapshots, ...p.tests, ...p.analyses];
  const changed = changedUnder(ctx.scope, projectDir, (f) => {
    const rel = path.relative(projectDir, f).split(path.sep).join('/');
    return resourceDirs.some((d) => rel.startsWith(`${d}/`));
  });
  const label = (reason: string) => (projectDir === '.' ? reason : `${projectDir}: ${reason}`);
  if (!ctx.scope.full && changed.length === 0) return { findings: [], skipReason: label('no model, seed, snapshot, test or analysis changed') };
  const all = (reason: string): Selection => ({ check: 'dbt', kind: 'dbt', assets: ['*'], reason: label(reason) });

  const sb = await dbtRunSandbox(ctx, projectDir);
  const depsFindings = await ensureDbtDeps(ctx, projectDir);
  if (depsFindings.length) return { findings: depsFindings, selection: all(ctx.scope.reason) };

  const dbt = ctx.tools.resolve('dbt', 'dbt');
  const read = projectFileReader(projectAbs);
  const parseFindings = (out: string) => dbtParseFindings(out, read, projectDir);

  // Without a profile that can build here (no profiles.yml, its adapter missing, credentials not set),
  // the project is parsed (every ref, macro and YAML file compiled) with the offline profile, and not built.
  if (sb.choice.source === 'offline') {
    const parse = await ctx.tools.run(dbt, ['parse', ...sb.flags], { cwd: sb.dir, env: sb.env });
    const reason = `dbt parse only, with the offline profile (${sb.choice.why}); models were not built or tested`;
    const findings = parse.code !== 0 ? parseFindings(parse.stdout + parse.stderr) : [];
    // A build that names its target (CodeBuild sets DATAOPS_DBT_TARGET) must build it: falling back to a
    // parse would turn a missing adapter or credential into a green run with nothing built.
    const asked = process.env.DATAOPS_DBT_TARGET;
    if (asked) {
      findings.push({
        code: 'DBT_PROFILE_UNUSABLE',
        severity: 'error',
        asset: 'dbt:project',
        file: path.posix.join(path.relative(ctx.repo.root, profilesDirOf(ctx, projectDir)).split(path.sep).join('/') || '.', 'profiles.yml').replace(/^\.\//, ''),
        message: `DATAOPS_DBT_TARGET '${asked}' cannot be built here: ${sb.choice.why}; give the build what the output needs (the adapter in the toolchain image, the variables), or unset DATAOPS_DBT_TARGET to only parse offline`,
      });
    }
    return { findings, selection: all(reason) };
  }

  let full = ctx.scope.full;
  let reason = ctx.scope.reason;
  let state: string | undefined;
  if (!full) {
    const baseEnv = await baseEnvironment(ctx, projectDir, sb.choice.target);
    if ('error' in baseEnv) {
      full = true;
      reason = `${baseEnv.error}: full dbt run`;
    } else {
      state = baseEnv.state;
      if (baseEnv.duckdb) fs.copyFileSync(baseEnv.duckdb, sb.duckdbPath);
      reason = `state:modified+ against ${ctx.scope.base} (${changed.length} dbt file(s) changed), deferring to the base environment`;
    }
  }
  const isLocal = sb.choice.adapter === 'duckdb';

  if (full) {
    // A scoped run leaves parsing to `dbt build` (one process less on the PR's critical path).
    const parse = await ctx.tools.run(dbt, ['parse', ...sb.flags], { cwd: sb.dir, env: sb.env });
    if (parse.code !== 0) return { findings: parseFindings(parse.stdout + parse.stderr), selection: all(reason) };
  }
  if (full && isLocal) {
    const seed = await ctx.tools.run(dbt, ['seed', ...sb.flags], { cwd: sb.dir, env: sb.env });
    if (seed.code !== 0) return { findings: runFindings(sb.targetPath, read, projectDir, `dbt seed failed: ${dbtErrorLines(seed.stdout + seed.stderr)}`), selection: all(reason) };
  }
  const select = full ? [] : ['--select', 'state:modified+', '--state', state as string, '--defer'];
  const exclude = full && isLocal ? ['--exclude', 'resource_type:seed'] : [];
  const build = await ctx.tools.run(dbt, ['build', ...select, ...exclude, ...sb.flags], { cwd: sb.dir, env: sb.env });
  if (build.code !== 0 && !fs.existsSync(path.join(sb.targetPath, 'run_results.json'))) {
    // No node ran: the project did not parse.
    return { findings: parseFindings(build.stdout + build.stderr), selection: all(reason) };
  }
  const findings = runFindings(sb.targetPath, read, projectDir, build.code !== 0 ? `dbt build failed: ${dbtErrorLines(build.stdout + build.stderr)}` : undefined);
  const assets = full ? ['*'] : selectedNodes(sb.targetPath);
  return { findings, selection: { check: 'dbt', kind: 'dbt', assets, reason: label(reason) } };
}

/**
 * dbt deps, parse and build (compiling each selected node, running its tests and enforcing its
 * contracts) of every dbt project of the repo, each in a sandbox outside the work tree. Scoped runs
 * build `state:modified+` and defer everything else to the base environment; their parse is the one
 * `dbt build` does. A project whose profile cannot build here is parsed with the offline profile.
 */
export const dbtCheck: Check = {
  name: 'dbt',
  kinds: ['dbt'],
  order: 50,
  applies: (ctx) => dbtProjectsOf(ctx).length > 0,
  async run(ctx: CheckContext): Promise<CheckResult> {
    const results: ProjectResult[] = [];
    for (const p of dbtProjectsOf(ctx)) results.push(await checkProject(ctx, p));
    const findings = results.flatMap((r) => r.findings);
    const selections = results.map((r) => r.selection).filter((s): s is Selection => s !== undefined);
    if (selections.length === 0) {
      const reasons = results.map((r) => r.skipReason).filter(Boolean);
      return { findings, skip: { check: 'dbt', kind: 'dbt', reason: reasons.join('; ') } };
    }
    if (selections.length === 1) return { findings, selection: selections[0] };
    return { findings, selection: { check: 'dbt', kind: 'dbt', assets: selections.flatMap((s) => s.assets), reason: selections.map((s) => s.reason).join('; ') } };
  },
};

function runFindings(targetPath: string, read: ReturnType<typeof projectFileReader>, projectDir: string, failure?: string): Finding[] {
  const rr = path.join(targetPath, 'run_results.json');
  const mf = path.join(targetPath, 'manifest.json');
  const findings =
    fs.existsSync(rr) && fs.existsSync(mf)
      ? dbtRunFindings(RunResultsSchema.parse(JSON.parse(fs.readFileSync(rr, 'utf8'))), ManifestSchema.parse(JSON.parse(fs.readFileSync(mf, 'utf8'))), read, projectDir)
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
