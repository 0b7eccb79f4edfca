import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { gzipSync } from 'zlib';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { pack } from 'tar-stream';
import type { AssetKind, EnvironmentName } from '../../lib/config/schema';
import type { DeployContext } from '../../lib/runtime/deployers/contract';
import { sha256Hex } from '../../lib/runtime/deployers/release-files';
import { ReleaseManifestSchema, type ReleaseManifest } from '../../lib/runtime/release/manifest';
import { makeTestConfig } from './config';
import { motoClientConfig, uniqueName } from './moto';

/** An S3 client on the moto server. */
export function motoS3(): S3Client {
  return new S3Client(motoClientConfig());
}

/** Creates a versioned bucket with a unique name on moto and returns its name. */
export async function createVersionedBucket(s3: S3Client, prefix = 'dags'): Promise<string> {
  const bucket = uniqueName(prefix);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  return bucket;
}

/** The sha256 of the bytes actually stored under `prefix` (reads every object; not the metadata). */
export async function storedSha256s(s3: S3Client, bucket: string, prefix: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }));
      out[o.Key!] = sha256Hex(Buffer.from(await got.Body!.transformToByteArray()));
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/** A file of a test release. */
export interface ReleaseFile {
  readonly kind: AssetKind;
  readonly path: string;
  readonly body: string | Buffer;
}

/** Writes a gzipped tarball with fixed mtimes and sorted entries. */
export async function tarGz(files: ReadonlyArray<{ path: string; body: Buffer }>): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    p.on('end', resolve);
    p.on('error', reject);
  });
  for (const f of [...files].sort((a, b) => a.path.localeCompare(b.path))) p.entry({ name: f.path, size: f.body.length, mtime: new Date(0), mode: 0o644 }, f.body);
  p.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}

/** Options of {@link writeRelease}. */
export interface TestReleaseOptions {
  readonly repo?: string;
  readonly build?: number;
  readonly files: readonly ReleaseFile[];
  readonly dags?: ReleaseManifest['dags'];
  readonly dbt?: ReleaseManifest['dbt'];
  readonly sparkImages?: ReleaseManifest['sparkImages'];
  readonly terraform?: ReleaseManifest['terraform'];
  /** terraform.allowDestroy when `terraform` is not given and the release has Terraform files. @default [] */
  readonly allowDestroy?: string[];
  /** Directory to write into. @default a new temp dir */
  readonly dir?: string;
}

/**
 * Writes a release directory as the Package action lays it out (one tarball per asset kind plus
 * the manifest) and returns the validated manifest and the directory.
 */
export async function writeRelease(o: TestReleaseOptions): Promise<{ release: ReleaseManifest; dir: string }> {
  const dir = o.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'release-'));
  const build = o.build ?? 1;
  const gitSha = sha256Hex(`${build}`).slice(0, 40);
  const byKind = new Map<AssetKind, Array<{ path: string; body: Buffer }>>();
  for (const f of o.files) {
    const list = byKind.get(f.kind) ?? [];
    list.push({ path: f.path, body: Buffer.isBuffer(f.body) ? f.body : Buffer.from(f.body) });
    byKind.set(f.kind, list);
  }
  const artifacts: ReleaseManifest['artifacts'] = [];
  for (const [kind, files] of [...byKind].sort(([a], [b]) => a.localeCompare(b))) {
    const bytes = await tarGz(files);
    const file = `${kind}.tar.gz`;
    fs.writeFileSync(path.join(dir, file), bytes);
    artifacts.push({ kind, file, sha256: sha256Hex(bytes), bytes: bytes.length });
  }
  const release = ReleaseManifestSchema.parse({
    schemaVersion: 1,
    repo: o.repo ?? 'orchestration',
    version: `20261128.${build}+${gitSha.slice(0, 7)}`,
    gitSha,
    buildId: `build-${build}`,
    createdAt: '2026-11-28T12:00:00.000Z',
    assets: o.files.map((f) => {
      const body = Buffer.isBuffer(f.body) ? f.body : Buffer.from(f.body);
      return { kind: f.kind, id: `${f.kind}:${f.path}`, path: f.path, sha256: sha256Hex(body), bytes: body.length };
    }),
    artifacts,
    dbt: o.dbt ?? null,
    dags: o.dags ?? [],
    sparkImages: o.sparkImages ?? [],
    terraform: o.terraform !== undefined ? o.terraform : terraformArtifact(artifacts, o.allowDestroy ?? []),
  });
  fs.writeFileSync(path.join(dir, 'release-manifest.json'), JSON.stringify(release, null, 2));
  return { release, dir };
}

function terraformArtifact(artifacts: ReleaseManifest['artifacts'], allowDestroy: string[]): ReleaseManifest['terraform'] {
  const a = artifacts.find((x) => x.kind === 'terraform');
  return a ? { tarballSha256: a.sha256, allowDestroy } : null;
}

/** A deploy context for one environment of the default test config, with the DAG bucket replaced. */
export function deployContext(release: ReleaseManifest, releaseDir: string, opts: { env?: EnvironmentName; dagBucket?: string; log?: string[] } = {}): DeployContext {
  const env = opts.env ?? 'dev';
  const config = makeTestConfig();
  const environment = { ...config.environments[env], mwaa: { ...config.environments[env].mwaa, dagBucket: opts.dagBucket ?? config.environments[env].mwaa.dagBucket } };
  return { repo: release.repo, env, environment, release, releaseDir, log: (l) => opts.log?.push(l) };
}

/** A small Airflow DAG file with the given id (and schedule), parseable by Airflow 2.10. */
export function dagFile(dagId: string, opts: { schedule?: string; extra?: string } = {}): string {
  return [
    'import pendulum',
    'from airflow import DAG',
    'from airflow.operators.empty import EmptyOperator',
    '',
    `with DAG(dag_id="${dagId}", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule="${opts.schedule ?? '@daily'}", catchup=False) as dag:`,
    '    EmptyOperator(task_id="start")',
    opts.extra ?? '',
    '',
  ].join('\n');
}
