import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Readable } from 'stream';
import { createGunzip } from 'zlib';
import { extract } from 'tar-stream';
import type { AssetKind } from '../../config/schema';
import type { ReleaseManifest } from '../release/manifest';
import type { DeployContext } from './contract';
import { DeployError } from './errors';

/** sha256 of some bytes, lowercase hex. */
export function sha256Hex(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Normalises a tar entry name to a repo-relative path (no leading `./` or `/`). */
function entryPath(name: string): string {
  return name.replace(/^(\.\/)+/, '').replace(/^\/+/, '');
}

/**
 * Reads the release artifact (tarball, gzipped or not) of one asset kind and returns its files by
 * repo-relative path. The tarball's bytes are checked against the manifest's sha256 first, so a
 * deployer never applies bytes the release did not promise.
 */
export async function readReleaseFiles(release: ReleaseManifest, releaseDir: string, kind: AssetKind): Promise<Map<string, Buffer>> {
  const artifact = release.artifacts.find((a) => a.kind === kind);
  if (!artifact) throw new DeployError(`release ${release.version} of ${release.repo} has no ${kind} artifact; package the release with 'dataops package' so it holds one tarball per asset kind`);
  const file = path.join(releaseDir, artifact.file);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (cause) {
    throw new DeployError(`release artifact ${file} cannot be read; download the release directory the Package action wrote`, { cause });
  }
  const actual = sha256Hex(bytes);
  if (actual !== artifact.sha256) {
    throw new DeployError(`release artifact ${artifact.file} has sha256 ${actual} but the manifest says ${artifact.sha256}; the artifact was changed after packaging, re-run the pipeline from Package`);
  }
  return tarEntries(bytes);
}

/** The files of a tarball (gzipped or not), by path. */
export async function tarEntries(bytes: Buffer): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const ex = extract();
  const input = bytes[0] === 0x1f && bytes[1] === 0x8b ? Readable.from([bytes]).pipe(createGunzip()) : Readable.from([bytes]);
  input.pipe(ex);
  for await (const entry of ex) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    if (entry.header.type === 'file') files.set(entryPath(entry.header.name), Buffer.concat(chunks));
  }
  return files;
}

/**
 * The release's assets of one kind with their bytes, each checked against its own sha256.
 * Fails naming the first asset that is missing from the tarball or differs from the manifest.
 */
export async function readReleaseAssets(release: ReleaseManifest, releaseDir: string, kind: AssetKind): Promise<Array<{ path: string; sha256: string; body: Buffer }>> {
  const assets = release.assets.filter((a) => a.kind === kind);
  if (assets.length === 0) return [];
  const files = await readReleaseFiles(release, releaseDir, kind);
  return assets.map((a) => {
    const body = files.get(a.path);
    if (!body) throw new DeployError(`asset ${a.id} (${a.path}) is in the release manifest but not in the ${kind} tarball; re-package the release`);
    const actual = sha256Hex(body);
    if (actual !== a.sha256) throw new DeployError(`asset ${a.id} (${a.path}) has sha256 ${actual} in the tarball but ${a.sha256} in the manifest; re-package the release`);
    return { path: a.path, sha256: a.sha256, body };
  });
}

/** Writes the release's dbt files under `dir` and returns the dbt project folder (where its target/manifest.json sits). */
export async function extractDbtProject(ctx: Pick<DeployContext, 'release' | 'releaseDir'>, dir: string): Promise<string> {
  return writeDbtProject(await readReleaseFiles(ctx.release, ctx.releaseDir, 'dbt'), dir, ctx.release.dbt?.manifestSha256, `the dbt tarball of release ${ctx.release.version}`);
}

/**
 * Writes a dbt project's files (from its tarball) under `dir` and returns the project's root: the
 * folder whose `target/manifest.json` has sha256 `manifestSha256`. `label` names the tarball in errors.
 */
export function writeDbtProject(files: ReadonlyMap<string, Buffer>, dir: string, manifestSha256: string | undefined, label: string): string {
  let root: string | undefined;
  for (const [rel, bytes] of files) {
    const abs = path.join(dir, rel);
    if (!abs.startsWith(dir + path.sep)) throw new DeployError(`${label} holds ${rel}, outside the project; re-package the release`);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, bytes);
    if ((rel === 'target/manifest.json' || rel.endsWith('/target/manifest.json')) && sha256Hex(bytes) === manifestSha256) root = rel.slice(0, -'target/manifest.json'.length);
  }
  if (root === undefined) throw new DeployError(`${label} holds no target/manifest.json with the manifest's sha256; package the release with 'dataops package'`);
  return path.join(dir, root);
}
