import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import YAML from 'yaml';
import { dbtProjectProfile } from '../../runtime/snowflake/dbt-profile';
import { Toolchain, type ProcessResult } from '../validate/toolchain';
import { SKIP_DIRS } from './files';

/**
 * Running dbt on a repo without touching it and without credentials (docs/validation.md, "dbt").
 *
 * - Every dbt process runs in a *sandbox*: a temporary folder with one symlink per top-level entry of
 *   the dbt project (never its target/, logs/, dbt_packages/ or package-lock.yml), so whatever dbt
 *   writes relative to the project (target/, logs/, dbt_packages/, package-lock.yml, a relative
 *   DuckDB path) lands there, not in the work tree.
 * - The profile is the repo's own when it is usable here (its profile and target exist, the adapter
 *   is installed, every `env_var()` without a default is set); DuckDB outputs get the run's database
 *   file as `path`. Otherwise it is the *offline profile*: the same profile and target names, one
 *   DuckDB output on a file in the sandbox. dbt parses offline with either; nothing is sent
 *   (DO_NOT_TRACK=1) and nothing is downloaded unless the project declares hub or git packages.
 */

/** Raised when dbt cannot produce a manifest; the message keeps the lines of dbt's output that say why. */
export class DbtParseError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DbtParseError';
  }
}

/** Environment of every dbt process the tool starts: no usage statistics, no colours, wide lines. */
export const DBT_QUIET_ENV: Readonly<Record<string, string>> = {
  DO_NOT_TRACK: '1',
  DBT_SEND_ANONYMOUS_USAGE_STATS: 'false',
  DBT_USE_COLORS: 'false',
  DBT_PRINTER_WIDTH: '120',
};

/** Entries of a dbt project folder that a sandbox never links (dbt's outputs, installed packages, local databases). */
const NOT_LINKED = new Set(['target', 'logs', 'dbt_packages', 'dbt_modules', 'package-lock.yml', '.user.yml', '.git']);

/** Folders of a project whose files are its sources (what makes a manifest stale, and what a cached parse is keyed on). */
function projectSourceFiles(projectAbs: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string, depth: number): void => {
    if (depth > 12) return;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name) && !e.name.startsWith('.')) walk(path.join(dir, e.name), r, depth + 1);
      } else if (e.isFile() && !e.name.endsWith('.duckdb') && !e.name.endsWith('.duckdb.wal') && e.name !== 'package-lock.yml') {
        out.push(r);
      }
    }
  };
  walk(projectAbs, '', 0);
  return out.sort();
}

/** Folders named by `local:` entries of a project's packages.yml / dependencies.yml (absolute). */
function localPackageDirs(projectAbs: string): string[] {
  const out: string[] = [];
  for (const f of ['packages.yml', 'dependencies.yml']) {
    const file = path.join(projectAbs, f);
    if (!fs.existsSync(file)) continue;
    try {
      const doc = YAML.parse(fs.readFileSync(file, 'utf8')) as { packages?: Array<{ local?: unknown }> } | null;
      for (const p of doc?.packages ?? []) if (typeof p?.local === 'string') out.push(path.resolve(projectAbs, p.local));
    } catch {
      // an unreadable packages.yml is dbt's to report
    }
  }
  return out;
}

/**
 * The dbt projects of a repo, relative to its root ('.' for the root): `declared` (dataops.yaml
 * `dbt.projectDir`) and every folder holding a dbt_project.yml, skipping dbt_packages/, target/,
 * hidden and tool folders, and projects that another project installs as a `local:` package.
 */
export function findDbtProjects(repoRoot: string, declared?: string): string[] {
  const root = path.resolve(repoRoot);
  const dirs = new Set<string>();
  const walk = (dir: string, depth: number): void => {
    if (depth > 8) return;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    if (entries.some((e) => e.isFile() && e.name === 'dbt_project.yml')) dirs.add(dir);
    for (const e of entries) if (e.isDirectory() && !SKIP_DIRS.has(e.name) && !e.name.startsWith('.')) walk(path.join(dir, e.name), depth + 1);
  };
  walk(root, 0);
  if (declared && fs.existsSync(path.join(root, declared, 'dbt_project.yml'))) dirs.add(path.resolve(root, declared));
  const locals = new Set([...dirs].flatMap(localPackageDirs));
  return [...dirs]
    .filter((d) => !locals.has(d) || (declared !== undefined && d === path.resolve(root, declared)))
    .map((d) => path.relative(root, d).split(path.sep).join('/') || '.')
    .sort();
}

/** The profile a dbt run uses, and why. */
export interface DbtProfileChoice {
  /** The `profile:` of dbt_project.yml. */
  readonly profile: string;
  /** The output dbt runs against (`--target`). */
  readonly target: string;
  /** The output's adapter (`type:`), e.g. duckdb or snowflake. */
  readonly adapter: string;
  /** `repo`: the repo's profiles.yml (its output for `target`); `offline`: the generated DuckDB profile. */
  readonly source: 'repo' | 'offline';
  /** For `offline`: why the repo's profile was not used, in words for reports. */
  readonly why: string;
  /** The adapter of the repo's output for the target, even when it could not be used (e.g. snowflake without credentials). */
  readonly declaredAdapter?: string;
  /** The profiles.yml text the run writes in its own profiles folder. */
  readonly text: string;
}

/** What {@link chooseDbtProfile} looks at. */
export interface DbtProfileOptions {
  /** The dbt project folder (absolute). */
  readonly projectDir: string;
  /** Folder of the repo's profiles.yml. @default - projectDir */
  readonly profilesDir?: string;
  /** The target asked for (DATAOPS_DBT_TARGET, dataops.yaml `dbt.localTarget`); used when the profile has it. @default - the profile's own `target:` */
  readonly target?: string;
  /** DuckDB file of the run: the `path` of a DuckDB output (the repo's or the offline one). */
  readonly duckdbPath: string;
  /** Environment the dbt process gets (for `env_var()` checks). @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** True when dbt's adapter `type` is installed. @default - looks for dbt/adapters/<type> next to the dbt executable */
  readonly adapterInstalled?: (type: string) => boolean;
}

/** The generated profile: the project's profile and target names with one DuckDB output on `duckdbPath`. */
export function offlineDbtProfile(profile: string, target: string, duckdbPath: string, schema?: string): string {
  const doc = { [profile]: { target, outputs: { [target]: { type: 'duckdb', path: duckdbPath, threads: 1, ...(schema ? { schema } : {}) } } } };
  return `# Written by dataops: offline profile (no credentials; dbt parses and compiles against DuckDB).\n${YAML.stringify(doc)}`;
}

/** `env_var('NAME')` calls without a default in a profile output. */
function requiredEnvVars(output: unknown): string[] {
  const text = JSON.stringify(output);
  const out = new Set<string>();
  for (const m of text.matchAll(/env_var\(\s*\\?['"]([^'"\\]+)\\?['"]\s*(,)?/g)) if (!m[2]) out.add(m[1]);
  return [...out].sort();
}

/** True when dbt's `type` adapter is installed in the Python environment of `dbtBin`. */
export function adapterInstalledFor(dbtBin: string): (type: string) => boolean {
  const venv = path.dirname(path.dirname(dbtBin));
  const lib = path.join(venv, 'lib');
  const sitePackages = fs.existsSync(lib)
    ? fs.readdirSync(lib).filter((d) => d.startsWith('python')).map((d) => path.join(lib, d, 'site-packages'))
    : [];
  return (type) => sitePackages.some((sp) => fs.existsSync(path.join(sp, 'dbt', 'adapters', type)));
}

/**
 * Picks the profile of a dbt run: the repo's own output when it can be used here, else the offline
 * profile. The target is `opts.target` when the repo's profile has it, else the profile's `target:`.
 */
export function chooseDbtProfile(opts: DbtProfileOptions): DbtProfileChoice {
  const profile = dbtProjectProfile(opts.projectDir, path.join(opts.projectDir, 'dbt_project.yml'));
  const env = opts.env ?? process.env;
  const profilesDir = opts.profilesDir ?? opts.projectDir;
  const file = path.join(profilesDir, 'profiles.yml');
  let schema: string | undefined;
  let declaredAdapter: string | undefined;
  const offline = (target: string, why: string): DbtProfileChoice => ({ profile, target, adapter: 'duckdb', source: 'offline', why, declaredAdapter, text: offlineDbtProfile(profile, target, opts.duckdbPath, schema) });
  if (!fs.existsSync(file)) return offline(opts.target ?? 'dev', `no profiles.yml in ${profilesDir}`);
  let doc: unknown;
  try {
    doc = YAML.parse(fs.readFileSync(file, 'utf8'));
  } catch (cause) {
    return offline(opts.target ?? 'dev', `${file} is not valid YAML (${(cause as Error).message.split('\n')[0]})`);
  }
  const entry = doc !== null && typeof doc === 'object' ? (doc as Record<string, unknown>)[profile] : undefined;
  const outputs = entry !== null && typeof entry === 'object' ? ((entry as Record<string, unknown>).outputs as Record<string, unknown> | undefined) : undefined;
  if (!outputs || typeof outputs !== 'object') return offline(opts.target ?? 'dev', `${file} has no profile '${profile}' with outputs`);
  const declared = (entry as Record<string, unknown>).target;
  const target = opts.target !== undefined && opts.target in outputs ? opts.target : typeof declared === 'string' && declared in outputs ? declared : undefined;
  if (target === undefined) {
    return offline(opts.target ?? (typeof declared === 'string' ? declared : 'dev'), `profile '${profile}' in ${file} has no output ${JSON.stringify(opts.target ?? declared)} (it has ${Object.keys(outputs).join(', ')})`);
  }
  const output = outputs[target] as Record<string, unknown> | null;
  // The offline output keeps a literal schema of the repo's output, so relation names match the warehouse's.
  if (output && typeof output.schema === 'string' && /^[A-Za-z_][A-Za-z0-9_$]*$/.test(output.schema)) schema = output.schema;
  const adapter = output && typeof output.type === 'string' ? output.type : '';
  declaredAdapter = adapter || undefined;
  if (!adapter) return offline(target, `output '${target}' of profile '${profile}' has no type`);
  const installed = opts.adapterInstalled ?? (() => true);
  if (!installed(adapter)) return offline(target, `output '${target}' of profile '${profile}' is ${adapter}, and dbt-${adapter} is not installed here`);
  const missing = requiredEnvVars(output).filter((v) => env[v] === undefined || env[v] === '');
  if (missing.length) return offline(target, `output '${target}' of profile '${profile}' (${adapter}) needs ${missing.join(', ')}, which ${missing.length === 1 ? 'is' : 'are'} not set`);
  const out = adapter === 'duckdb' ? { ...output, path: opts.duckdbPath } : output;
  const text = `# Written by dataops from ${file} (output '${target}')${adapter === 'duckdb' ? '; path is the run\'s database file' : ''}.\n${YAML.stringify({ [profile]: { target, outputs: { [target]: out } } })}`;
  return { profile, target, adapter, source: 'repo', why: '', declaredAdapter: adapter, text };
}

/** The folders of a dbt project's resources (dbt_project.yml `model-paths` etc., with dbt's defaults). */
export interface DbtProjectPaths {
  readonly models: readonly string[];
  readonly seeds: readonly string[];
  readonly snapshots: readonly string[];
  readonly tests: readonly string[];
  readonly analyses: readonly string[];
  readonly macros: readonly string[];
}

/** {@link DbtProjectPaths} of the project at `projectAbs`; dbt's defaults for what dbt_project.yml leaves out or cannot be read. */
export function dbtProjectPaths(projectAbs: string): DbtProjectPaths {
  let doc: Record<string, unknown> = {};
  try {
    const parsed = YAML.parse(fs.readFileSync(path.join(projectAbs, 'dbt_project.yml'), 'utf8')) as unknown;
    if (parsed !== null && typeof parsed === 'object') doc = parsed as Record<string, unknown>;
  } catch {
    // dbt reports an unreadable dbt_project.yml
  }
  const list = (key: string, dflt: string): string[] => {
    const v = doc[key];
    const items = Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
    return (items.length ? items : [dflt]).map((p) => p.replace(/^\.\//, '').replace(/\/$/, ''));
  };
  return {
    models: list('model-paths', 'models'),
    seeds: list('seed-paths', 'seeds'),
    snapshots: list('snapshot-paths', 'snapshots'),
    tests: list('test-paths', 'tests'),
    analyses: list('analysis-paths', 'analyses'),
    macros: list('macro-paths', 'macros'),
  };
}

/** A folder where dbt runs on a project without writing into it. */
export interface DbtSandbox {
  /** cwd of dbt: symlinks to the project's entries. */
  readonly dir: string;
  readonly profilesDir: string;
  readonly targetPath: string;
  readonly logPath: string;
  readonly duckdbPath: string;
  readonly choice: DbtProfileChoice;
  /** Environment of the sandbox's dbt processes. */
  readonly env: Record<string, string>;
  /** `--target`, `--target-path`, `--log-path` (for commands that take a target path). */
  readonly flags: string[];
  /** `--target`, `--log-path` (for `dbt deps`, which takes no target path). */
  readonly depsFlags: string[];
  /** True when the project declares packages that `dbt deps` must install. */
  readonly needsDeps: boolean;
}

/** Options of {@link dbtSandbox}. */
export interface DbtSandboxOptions extends Omit<DbtProfileOptions, 'projectDir' | 'duckdbPath'> {
  /** DuckDB file of the run. @default - `<workDir>/dbt.duckdb` */
  readonly duckdbPath?: string;
}

/** Creates the sandbox of a dbt project under `workDir` (created if missing) and writes its profile. */
export function dbtSandbox(projectAbs: string, workDir: string, opts: DbtSandboxOptions = {}): DbtSandbox {
  const dir = path.join(workDir, 'project');
  const profilesDir = path.join(workDir, 'profiles');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.mkdirSync(profilesDir, { recursive: true });
  for (const e of fs.readdirSync(projectAbs)) {
    if (NOT_LINKED.has(e) || e.endsWith('.duckdb') || e.endsWith('.duckdb.wal')) continue;
    fs.symlinkSync(path.join(projectAbs, e), path.join(dir, e));
  }
  // Copied, not linked: dbt deps may rewrite them, and parse reads installed packages from here.
  if (fs.existsSync(path.join(projectAbs, 'package-lock.yml'))) fs.copyFileSync(path.join(projectAbs, 'package-lock.yml'), path.join(dir, 'package-lock.yml'));
  const installed = path.join(projectAbs, 'dbt_packages');
  const hasInstalled = fs.existsSync(installed) && fs.readdirSync(installed).length > 0;
  if (hasInstalled) fs.cpSync(installed, path.join(dir, 'dbt_packages'), { recursive: true });
  const duckdbPath = opts.duckdbPath ?? path.join(workDir, 'dbt.duckdb');
  const choice = chooseDbtProfile({ ...opts, projectDir: projectAbs, duckdbPath });
  fs.writeFileSync(path.join(profilesDir, 'profiles.yml'), choice.text, { mode: 0o600 });
  const targetPath = path.join(workDir, 'target');
  const logPath = path.join(workDir, 'logs');
  const declaresPackages = ['packages.yml', 'dependencies.yml'].some((f) => {
    const file = path.join(projectAbs, f);
    if (!fs.existsSync(file)) return false;
    try {
      const doc = YAML.parse(fs.readFileSync(file, 'utf8')) as { packages?: unknown[] } | null;
      return Array.isArray(doc?.packages) && doc.packages.length > 0;
    } catch {
      return true; // let dbt deps report it
    }
  });
  return {
    dir,
    profilesDir,
    targetPath,
    logPath,
    duckdbPath,
    choice,
    env: { ...DBT_QUIET_ENV, DBT_PROFILES_DIR: profilesDir, DBT_DUCKDB_PATH: duckdbPath },
    flags: ['--target', choice.target, '--target-path', targetPath, '--log-path', logPath],
    depsFlags: ['--target', choice.target, '--log-path', logPath],
    needsDeps: declaresPackages && !hasInstalled,
  };
}

const TIMESTAMP = /^(?:\u001b\[[0-9;]*m)*\d\d:\d\d:\d\d(?:\.\d+)?\s+/;
const ERROR_HEAD = /Encountered an error|\b(?:Compilation|Parsing|Runtime|Database|Dependency|Internal|Env var|Configuration|Validation)\s*Error\b|\bError\b.*:|^ERROR\b|\berror:/i;

/**
 * The lines of dbt's output that say why it failed: from the first error heading (`Encountered an
 * error:`, `Compilation Error in model …`) through the indented lines that follow it, joined with
 * ' / ', colour codes and timestamps removed, at most `maxLines` lines. Falls back to the last line.
 */
export function dbtErrorLines(output: string, maxLines = 8): string {
  const lines = output
    .replace(/\u001b\[[0-9;]*m/g, '')
    .split('\n')
    .map((l) => l.replace(TIMESTAMP, '').replace(/\s+$/, ''));
  const start = lines.findIndex((l) => ERROR_HEAD.test(l) && !/^\s*(Done\.|Completed with|Finished running)/.test(l));
  if (start < 0) {
    const nonEmpty = lines.map((l) => l.trim()).filter(Boolean);
    return nonEmpty[nonEmpty.length - 1] ?? '(no output)';
  }
  const picked: string[] = [];
  for (const raw of lines.slice(start)) {
    const l = raw.trim();
    if (!l || /^-{3,}$/.test(l) || /^Raw Error:$/.test(l)) continue;
    if (/^(Done\.|Finished running|Completed with \d+ error)/.test(l)) continue;
    if (/^Encountered an error:?$/.test(l)) continue;
    if (picked.includes(l)) continue;
    picked.push(l);
    if (picked.length >= maxLines) break;
  }
  const text = picked.join(' / ');
  return text.length > 800 ? `${text.slice(0, 797)}...` : text || 'dbt failed without saying why';
}

/** Newest modification time (ms) of a project's source files. */
function newestSource(projectAbs: string): number {
  let newest = 0;
  for (const f of projectSourceFiles(projectAbs)) newest = Math.max(newest, fs.statSync(path.join(projectAbs, f)).mtimeMs);
  return newest;
}

/** Seconds a source file may be newer than the manifest and still count as parsed (files written together, e.g. by a checkout). */
export const MANIFEST_MTIME_SLACK_MS = 1000;

/**
 * The project's own target/manifest.json unless it is stale: some source file of the project is
 * newer than it by more than {@link MANIFEST_MTIME_SLACK_MS} (edited after dbt last wrote it).
 */
export function freshRepoManifest(projectAbs: string): string | undefined {
  const file = path.join(projectAbs, 'target', 'manifest.json');
  if (!fs.existsSync(file)) return undefined;
  return newestSource(projectAbs) - fs.statSync(file).mtimeMs <= MANIFEST_MTIME_SLACK_MS ? file : undefined;
}

/** Options of {@link ensureDbtManifest}. */
export interface EnsureManifestOptions extends DbtSandboxOptions {
  /** Runs dbt. @default - a new Toolchain (`.venv/dbt`, else PATH) */
  readonly tools?: Toolchain;
  /** Where parsed manifests are kept, keyed by the project's contents. @default - $DATAOPS_CACHE_DIR/dbt-parse, else <tmp>/dataops-cache/dbt-parse */
  readonly cacheDir?: string;
  /** Ignore a fresh target/manifest.json of the project and parse (Package does: the release carries the manifest of exactly its sources). @default false */
  readonly ignoreRepoManifest?: boolean;
  /** Progress lines. @default - none */
  readonly log?: (line: string) => void;
}

/** Where a manifest came from. */
export interface EnsuredManifest {
  /** Absolute path of the manifest.json (the repo's, or a cached parse outside the work tree). */
  readonly file: string;
  /** `repo`: the project's fresh target/manifest.json; `parsed`: this call ran dbt parse; `cached`: an earlier parse of the same contents. */
  readonly from: 'repo' | 'parsed' | 'cached';
  /** The profile of the parse (undefined when from is `repo`). */
  readonly choice?: DbtProfileChoice;
  /** Seconds dbt took (0 unless parsed). */
  readonly dbtSeconds: number;
}

/** The default cache folder of the tool's dbt runs. */
export function dbtCacheRoot(): string {
  return process.env.DATAOPS_CACHE_DIR ?? path.join(os.tmpdir(), 'dataops-cache');
}

/**
 * The manifest of the dbt project at `projectAbs`: its own target/manifest.json when fresh, else
 * `dbt deps` (only when packages are declared and not installed) and `dbt parse` in a sandbox with
 * the chosen profile (the offline one unless the repo's is usable here). Parses are cached by a hash
 * of the project's files and the profile, so a second call on the same contents runs no dbt.
 * @throws DbtParseError with dbt's reason lines; ToolMissingError when dbt is not installed
 */
export async function ensureDbtManifest(projectAbs: string, opts: EnsureManifestOptions = {}): Promise<EnsuredManifest> {
  if (!opts.ignoreRepoManifest) {
    const fresh = freshRepoManifest(projectAbs);
    if (fresh) return { file: fresh, from: 'repo', dbtSeconds: 0 };
  }
  const tools = opts.tools ?? new Toolchain();
  const dbt = tools.resolve('dbt', 'dbt');
  const cacheDir = opts.cacheDir ?? path.join(dbtCacheRoot(), 'dbt-parse');
  const hash = createHash('sha256');
  for (const f of projectSourceFiles(projectAbs)) {
    hash.update(`${f}\0`);
    hash.update(fs.readFileSync(path.join(projectAbs, f)));
    hash.update('\0');
  }
  // The profile decides target.name/type in Jinja: part of the key (with a fixed database path).
  const keyChoice = chooseDbtProfile({ ...opts, projectDir: projectAbs, duckdbPath: '/dataops/parse.duckdb', adapterInstalled: opts.adapterInstalled ?? adapterInstalledFor(dbt) });
  hash.update(keyChoice.text);
  hash.update(dbt);
  const key = hash.digest('hex').slice(0, 24);
  const cached = path.join(cacheDir, key, 'manifest.json');
  if (fs.existsSync(cached)) return { file: cached, from: 'cached', choice: keyChoice, dbtSeconds: 0 };

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-dbt-parse-'));
  try {
    const sb = dbtSandbox(projectAbs, work, { ...opts, adapterInstalled: opts.adapterInstalled ?? adapterInstalledFor(dbt) });
    const label = path.basename(projectAbs);
    if (sb.choice.source === 'offline') opts.log?.(`dbt: ${label}: parsing with the offline profile (${sb.choice.why})`);
    let seconds = 0;
    if (sb.needsDeps) {
      const deps = await tools.run(dbt, ['deps', ...sb.depsFlags], { cwd: sb.dir, env: sb.env });
      seconds += deps.durationMs / 1000;
      if (deps.code !== 0) throw new DbtParseError(`dbt deps failed in ${projectAbs}: ${dbtErrorLines(deps.stdout + deps.stderr)}; fix packages.yml (local packages need no network; hub and git packages do)`);
    }
    const parse: ProcessResult = await tools.run(dbt, ['parse', ...sb.flags], { cwd: sb.dir, env: sb.env });
    seconds += parse.durationMs / 1000;
    const out = path.join(sb.targetPath, 'manifest.json');
    if (parse.code !== 0 || !fs.existsSync(out)) {
      throw new DbtParseError(`dbt parse failed in ${projectAbs} (profile '${sb.choice.profile}', target '${sb.choice.target}', ${sb.choice.source === 'repo' ? 'the repo\'s profile' : 'offline profile'}): ${dbtErrorLines(parse.stdout + parse.stderr)}`);
    }
    fs.mkdirSync(path.dirname(cached), { recursive: true });
    const tmp = `${cached}.${process.pid}.tmp`;
    fs.copyFileSync(out, tmp);
    fs.renameSync(tmp, cached);
    return { file: cached, from: 'parsed', choice: sb.choice, dbtSeconds: seconds };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * A manifest's text with what differs between two parses of the same sources made the same:
 * timestamps (`created_at`, metadata times) set to `createdAt`, the invocation id derived from
 * `seed`, and `root_path` (the folder dbt ran in) made relative. For releases, whose bytes must
 * depend on the commit only.
 */
export function reproducibleManifest(text: string, createdAt: string, seed: string): string {
  const doc = JSON.parse(text) as Record<string, unknown>;
  const epoch = Date.parse(createdAt) / 1000;
  const h = createHash('sha256').update(seed).digest('hex');
  const invocation = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      for (const k of Object.keys(o)) {
        if (k === 'created_at' && typeof o[k] === 'number') o[k] = epoch;
        else if (k === 'root_path' && typeof o[k] === 'string') o[k] = '.';
        else walk(o[k]);
      }
    }
  };
  walk(doc);
  const meta = doc.metadata as Record<string, unknown> | undefined;
  if (meta) {
    for (const k of ['generated_at', 'run_started_at', 'invocation_started_at']) if (k in meta) meta[k] = createdAt;
    if ('invocation_id' in meta) meta.invocation_id = invocation;
    if ('env' in meta) meta.env = {};
  }
  return `${JSON.stringify(doc)}\n`;
}
