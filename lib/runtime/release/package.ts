import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { gzipSync } from 'zlib';
import { pack } from 'tar-stream';
import { z } from 'zod';
import type { AssetKind } from '../../config/schema';
import { airflowInventory } from '../../checks/inventory/airflow';
import { DbtParseError, ensureDbtManifest, reproducibleManifest } from '../../checks/inventory/dbt-parse';
import { listFiles } from '../../checks/inventory/files';
import { loadRepoLayout } from '../../checks/validate/repo-config';
import { RELEASE_MANIFEST_FILE, sha256Hex } from './checksums';
import {
  RELEASE_MANIFEST_SCHEMA_VERSION,
  ReleaseManifestSchema,
  SparkImageSchema,
  type DagEntry,
  type ReleaseArtifact,
  type ReleaseAsset,
  type CommitAuthor,
  type ReleaseManifest,
  type SparkImage,
} from './manifest';

/** Raised when a repo cannot be packaged; the message names the input and the fix. */
export class PackageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PackageError';
  }
}

/**
 * Modification time written into every tar entry: 1980-01-01T00:00:00Z (the zip epoch; tools accept
 * it without "implausibly old" warnings). Fixed, so the bytes depend on contents only.
 */
export const TAR_MTIME = new Date('1980-01-01T00:00:00Z');

/** Order in which kinds claim files; a file belongs to the first kind whose folder holds it. */
const CLAIM_ORDER: readonly AssetKind[] = ['dbt', 'airflow', 'spark', 'terraform', 'python', 'sql'];

/** Which files of a kind's folder are deployable assets of that kind. */
const ACCEPT: Record<AssetKind, (rel: string) => boolean> = {
  // Project sources and the manifest; never profiles.yml (credentials) nor the local build output.
  dbt: (rel) =>
    /(^|\/)(dbt_project\.yml|packages\.yml|package-lock\.yml|dependencies\.yml|selectors\.yml)$/.test(rel) ||
    /(^|\/)(models|macros|seeds|snapshots|analyses|tests)\//.test(rel),
  airflow: (rel) => !/(^|\/)tests?\//.test(rel) && !/\.pyc$/.test(rel),
  spark: (rel) => !/(^|\/)tests?\//.test(rel) && !/\.pyc$/.test(rel),
  terraform: (rel) => /\.tf$|\.tf\.json$|(^|\/)\.terraform\.lock\.hcl$/.test(rel),
  python: (rel) => /\.py$/.test(rel) && !/(^|\/)(tests?|dags|jobs)\//.test(rel) && !/(^|\/)(test_[^/]*|[^/]*_test|conftest)\.py$/.test(rel),
  sql: (rel) => /\.sql$/.test(rel),
};

/** What `dataops package` needs. */
export interface PackageOptions {
  /** The checked-out data repo. */
  readonly repoDir: string;
  /** Where the release is written (created if missing). */
  readonly outDir: string;
  /** Repo name as the platform configuration knows it. @default - the folder's name */
  readonly repoName?: string;
  /** Build number (CODEBUILD_BUILD_NUMBER). */
  readonly buildId: string;
  /** Git commit sha. @default - `git rev-parse HEAD` in the repo */
  readonly sha?: string;
  /** Creation time. @default - SOURCE_DATE_EPOCH, else the commit time, so rebuilding a commit gives the same bytes */
  readonly createdAt?: string;
  /** Spark images built for this release ({job, repository, digest}[] JSON file). @default - none */
  readonly sparkImagesFile?: string;
  /** The environment's current dbt manifest; models whose checksum changed (tables, incrementals) are marked for rebuild. @default - none marked */
  readonly baseManifestFile?: string;
  /** Terraform addresses the release may destroy. @default - none */
  readonly allowDestroy?: readonly string[];
  /** Python interpreter for the DAG inventory helper. @default - $DATAOPS_PYTHON or python3 */
  readonly python?: string;
  /**
   * dbt target of the manifest the release carries when the project has no fresh target/manifest.json
   * (then `dbt parse` runs in a sandbox with the repo's profile if usable, else the offline profile).
   * @default - $DBT_TARGET, else dataops.yaml `dbt.ciTarget` (ci)
   */
  readonly dbtTarget?: string;
  /** Progress lines (the dbt parse). @default - none */
  readonly log?: (line: string) => void;
}

/** What was written. */
export interface PackageResult {
  readonly manifest: ReleaseManifest;
  readonly manifestPath: string;
  readonly manifestSha256: string;
  readonly warnings: readonly string[];
}

function git(repoDir: string, args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: repoDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null;
  } catch {
    return null;
  }
}

function resolveCreatedAt(opts: PackageOptions, env: NodeJS.ProcessEnv): string {
  if (opts.createdAt !== undefined && opts.createdAt !== '') {
    const t = Date.parse(opts.createdAt);
    if (Number.isNaN(t)) throw new PackageError(`--created-at '${opts.createdAt}' is not an ISO time; pass e.g. 2026-03-02T09:00:00Z`);
    return new Date(t).toISOString();
  }
  if (env.SOURCE_DATE_EPOCH) {
    const s = Number(env.SOURCE_DATE_EPOCH);
    if (!Number.isInteger(s) || s < 0) throw new PackageError(`SOURCE_DATE_EPOCH '${env.SOURCE_DATE_EPOCH}' is not whole seconds since 1970`);
    return new Date(s * 1000).toISOString();
  }
  // The commit's own time: `--sha` when git knows it, else HEAD (a checkout of that commit).
  const commitTime = git(opts.repoDir, ['show', '-s', '--format=%cI', opts.sha ?? 'HEAD', '--']);
  if (commitTime) return new Date(commitTime).toISOString();
  throw new PackageError(
    `cannot tell when ${opts.repoDir} was committed (no git history); pass --created-at or set SOURCE_DATE_EPOCH so the release is reproducible`,
  );
}

/**
 * Who wrote the packaged commit: its git author, then the people of its `Co-authored-by:` trailers,
 * each once (by email, case-insensitively). Empty when git does not know the commit (a folder
 * without history, packaged with --created-at).
 */
export function readCommitAuthors(repoDir: string, sha: string): CommitAuthor[] {
  const out = git(repoDir, ['show', '-s', '--format=%an%x00%ae%x00%(trailers:key=Co-authored-by,valueonly,separator=%x00)', sha, '--']);
  if (!out) return [];
  const [name, email, ...trailers] = out.split('\0');
  const people: CommitAuthor[] = [{ name: name ?? '', email: email ?? '' }];
  for (const t of trailers) {
    const m = /^\s*(.*?)\s*<([^<>\s]+@[^<>\s]+)>\s*$/.exec(t);
    if (m) people.push({ name: m[1], email: m[2] });
  }
  const seen = new Set<string>();
  return people.filter((p) => p.email !== '' && !seen.has(p.email.toLowerCase()) && seen.add(p.email.toLowerCase()));
}

/** Packs files into a tar.gz with sorted entries, fixed mtime, uid/gid 0, mode 0644, and a gzip header without time. */
export async function deterministicTarGz(files: ReadonlyArray<{ path: string; body: Buffer }>): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    p.on('data', (c: unknown) => chunks.push(c as Buffer));
    p.on('end', () => resolve());
    p.on('error', reject);
  });
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    await new Promise<void>((resolve, reject) =>
      p.entry({ name: f.path, size: f.body.length, mode: 0o644, mtime: TAR_MTIME, uid: 0, gid: 0, uname: '', gname: '', type: 'file' }, f.body, (err) => (err ? reject(err) : resolve())),
    );
  }
  p.finalize();
  await done;
  const gz = gzipSync(Buffer.concat(chunks), { level: 9 });
  // RFC 1952: MTIME (bytes 4-7) is 0 from zlib; pin the OS byte (9) too, which zlib sets per platform.
  gz[9] = 0xff;
  return gz;
}

/** The DAG inventory entries of a repo's Airflow folder. */
async function dagInventory(repoDir: string, airflowRoot: string, python: string | undefined, warnings: string[]): Promise<DagEntry[]> {
  // (awaited: the inventory is async in newer versions of lib/checks, and await is harmless otherwise)
  const { dags, problems } = await airflowInventory(repoDir, { python });
  for (const p of problems.filter((x) => x.severity === 'error')) warnings.push(`dag inventory: ${p.file}: ${p.message}`);
  const inRoot = (f: string) => airflowRoot === '.' || f === airflowRoot || f.startsWith(`${airflowRoot}/`);
  const out: DagEntry[] = [];
  for (const d of dags.filter((x) => inRoot(x.file))) {
    if (!d.id.value) {
      warnings.push(`dag inventory: ${d.file}:${d.line}: dag_id is computed (${d.id.expr ?? 'unknown'}), so it is left out of the inventory and rollback cannot check its schedule`);
      continue;
    }
    out.push({
      dagId: d.id.value,
      file: d.file,
      schedule: d.schedule.kind === 'unset' ? null : d.schedule.text,
      startDate: d.startDate.iso,
      catchup: d.catchup.setIn === 'dag' ? d.catchup.value : null,
    });
  }
  return out.sort((a, b) => (a.dagId < b.dagId ? -1 : a.dagId > b.dagId ? 1 : 0));
}

const DbtManifestNodesSchema = z.object({
  nodes: z.record(z.string(), z.object({ resource_type: z.string(), checksum: z.object({ checksum: z.string() }).loose().optional(), config: z.object({ materialized: z.string().optional() }).loose().optional() }).loose()),
});

/** Models (tables and incrementals) whose checksum differs from the base manifest or that are new. */
export function modelsToRebuild(manifestText: string, baseText: string | null): string[] {
  if (baseText === null) return [];
  const read = (t: string, what: string) => {
    const r = DbtManifestNodesSchema.safeParse(JSON.parse(t));
    if (!r.success) throw new PackageError(`${what} is not a dbt manifest.json (${r.error.issues[0]?.message}); pass the manifest.json dbt wrote`);
    return r.data.nodes;
  };
  const now = read(manifestText, 'target/manifest.json');
  const base = read(baseText, '--base-manifest');
  return Object.entries(now)
    .filter(([, n]) => n.resource_type === 'model' && ['table', 'incremental'].includes(n.config?.materialized ?? 'view'))
    .filter(([id, n]) => base[id]?.checksum?.checksum !== n.checksum?.checksum)
    .map(([id]) => id)
    .sort();
}

/**
 * The dbt manifest of the release: the project's own target/manifest.json when it is newer than every
 * source file, else `dbt parse` in a sandbox outside the work tree with the repo's profile when usable
 * here, or else the offline profile (no credentials, no connection): lib/checks/inventory/dbt-parse.ts,
 * the same code PR validation uses. A parsed manifest is made reproducible (timestamps from the commit).
 */
async function releaseDbtManifest(repoDir: string, layout: ReturnType<typeof loadRepoLayout>, root: string, opts: PackageOptions & { createdAt: string; sha: string }, env: NodeJS.ProcessEnv): Promise<Buffer> {
  const projectAbs = path.join(repoDir, root);
  if (!fs.existsSync(path.join(projectAbs, 'dbt_project.yml'))) {
    throw new PackageError(`${root}/dbt_project.yml is missing, so the release cannot carry a dbt manifest; set dbt.projectDir in dataops.yaml to the folder that holds the dbt project`);
  }
  try {
    const m = await ensureDbtManifest(projectAbs, {
      profilesDir: path.resolve(repoDir, layout.dbt.profilesDir),
      target: opts.dbtTarget ?? (env.DBT_TARGET || undefined) ?? layout.dbt.ciTarget,
      env,
      cacheDir: env.DATAOPS_CACHE_DIR ? path.join(env.DATAOPS_CACHE_DIR, 'dbt-parse') : undefined,
      log: opts.log,
    });
    const text = fs.readFileSync(m.file, 'utf8');
    return Buffer.from(m.from === 'repo' ? text : reproducibleManifest(text, opts.createdAt, opts.sha));
  } catch (cause) {
    if (cause instanceof DbtParseError) throw new PackageError(`the release needs the dbt manifest of ${root}: ${cause.message}`, { cause });
    throw cause;
  }
}

/**
 * Builds one immutable release of a repo (docs/release-manifest.md): a deterministic tar.gz per asset
 * kind and `release-manifest.json` with the version `<yyyymmdd>.<build>+<sha>`, every asset with its
 * sha256, the dbt manifest hash, the DAG inventory, Spark image digests and the Terraform tarball hash.
 * The same inputs give the same bytes.
 */
export async function packageRelease(opts: PackageOptions, env: NodeJS.ProcessEnv = process.env): Promise<PackageResult> {
  const repoDir = path.resolve(opts.repoDir);
  const layout = loadRepoLayout(repoDir);
  const warnings: string[] = [];
  if (!/^\d+$/.test(opts.buildId)) throw new PackageError(`--build-id '${opts.buildId}' must be the numeric build number (CODEBUILD_BUILD_NUMBER)`);
  const sha = (opts.sha ?? git(repoDir, ['rev-parse', 'HEAD']) ?? '').toLowerCase();
  if (!/^[0-9a-f]{7,40}$/.test(sha)) {
    throw new PackageError(`--sha '${sha}' is not a git commit sha (7-40 hex digits); pass --sha $CODEBUILD_RESOLVED_SOURCE_VERSION or run inside a git checkout`);
  }
  const createdAt = resolveCreatedAt({ ...opts, repoDir }, env);
  const version = `${createdAt.slice(0, 10).replace(/-/g, '')}.${Number(opts.buildId)}+${sha.slice(0, 12)}`;

  // Each file goes to the first kind (in CLAIM_ORDER) that the repo has and whose folder holds it.
  const claimed = new Set<string>();
  /** Files the release carries that are not read from the work tree (the dbt manifest parsed in a sandbox). */
  const generated = new Map<string, Buffer>();
  const byKind = new Map<AssetKind, string[]>();
  for (const kind of CLAIM_ORDER.filter((k) => layout.kinds.includes(k))) {
    const root = layout.paths[kind] ?? '.';
    const abs = path.join(repoDir, root);
    if (!fs.existsSync(abs)) {
      warnings.push(`${kind}: folder ${root} does not exist; no ${kind} assets packaged`);
      continue;
    }
    const files = listFiles(abs, () => true)
      .map((rel) => (root === '.' ? rel : `${root}/${rel}`))
      .filter((rel) => !claimed.has(rel) && rel !== 'dataops.yaml' && ACCEPT[kind](root === '.' ? rel : rel.slice(root.length + 1)));
    if (kind === 'dbt') {
      const manifestRel = `${root === '.' ? '' : `${root}/`}target/manifest.json`;
      generated.set(manifestRel, await releaseDbtManifest(repoDir, layout, root, { ...opts, createdAt, sha }, env));
      files.push(manifestRel);
    }
    files.forEach((f) => claimed.add(f));
    if (files.length > 0) byKind.set(kind, files.sort());
  }

  fs.mkdirSync(opts.outDir, { recursive: true });
  const assets: ReleaseAsset[] = [];
  const artifacts: ReleaseArtifact[] = [];
  const bodies = new Map<string, Buffer>();
  for (const [kind, files] of [...byKind.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const entries = files.map((f) => ({ path: f, body: generated.get(f) ?? fs.readFileSync(path.join(repoDir, f)) }));
    for (const e of entries) {
      bodies.set(e.path, e.body);
      assets.push({ kind, id: `${kind}:${e.path}`, path: e.path, sha256: sha256Hex(e.body), bytes: e.body.length });
    }
    const tgz = await deterministicTarGz(entries);
    const file = `${kind}.tar.gz`;
    fs.writeFileSync(path.join(opts.outDir, file), tgz);
    artifacts.push({ kind, file, sha256: sha256Hex(tgz), bytes: tgz.length });
  }
  assets.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  const dbtFiles = byKind.get('dbt');
  const dbtManifestPath = dbtFiles?.find((f) => f.endsWith('target/manifest.json'));
  const baseText = opts.baseManifestFile ? fs.readFileSync(opts.baseManifestFile, 'utf8') : null;
  const dbt = dbtManifestPath
    ? { manifestSha256: sha256Hex(bodies.get(dbtManifestPath) as Buffer), modelsToRebuild: modelsToRebuild((bodies.get(dbtManifestPath) as Buffer).toString('utf8'), baseText) }
    : null;

  const airflowRoot = layout.paths.airflow ?? 'dags';
  const dags = byKind.has('airflow') ? await dagInventory(repoDir, airflowRoot, opts.python, warnings) : [];

  let sparkImages: SparkImage[] = [];
  if (opts.sparkImagesFile) {
    const r = z.array(SparkImageSchema).safeParse(JSON.parse(fs.readFileSync(opts.sparkImagesFile, 'utf8')));
    if (!r.success) {
      throw new PackageError(`--spark-images ${opts.sparkImagesFile}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}; expected [{"job","repository","digest":"sha256:<64 hex>"}]`);
    }
    sparkImages = [...r.data].sort((a, b) => (a.job < b.job ? -1 : 1));
  } else if (byKind.has('spark')) {
    warnings.push('spark: no --spark-images given, so the release moves no image pointer; pass the digests the image build pushed');
  }

  const tfArtifact = artifacts.find((a) => a.kind === 'terraform');
  const manifest = ReleaseManifestSchema.parse({
    schemaVersion: RELEASE_MANIFEST_SCHEMA_VERSION,
    repo: opts.repoName ?? path.basename(repoDir),
    version,
    gitSha: sha,
    buildId: String(Number(opts.buildId)),
    createdAt,
    assets,
    artifacts,
    dbt,
    dags,
    sparkImages,
    terraform: tfArtifact ? { tarballSha256: tfArtifact.sha256, allowDestroy: [...(opts.allowDestroy ?? [])].sort() } : null,
    commitAuthors: readCommitAuthors(repoDir, sha),
  });
  const text = `${JSON.stringify(manifest, null, 2)}\n`;
  const manifestPath = path.join(opts.outDir, RELEASE_MANIFEST_FILE);
  fs.writeFileSync(manifestPath, text);
  return { manifest, manifestPath, manifestSha256: sha256Hex(text), warnings };
}
