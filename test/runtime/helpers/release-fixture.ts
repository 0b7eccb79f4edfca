import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { zipSync } from 'fflate';
import { RELEASE_MANIFEST_FILE, sha256Hex } from '../../../lib/runtime/release/checksums';
import type { DagEntry, ReleaseManifest } from '../../../lib/runtime/release/manifest';
import { motoClientConfig, uniqueName } from '../../helpers/moto';

/** Options of a test release. */
export interface FixtureOptions {
  readonly repo?: string;
  readonly version?: string;
  /** Artifact file → content. @default one airflow tarball */
  readonly artifacts?: Record<string, string>;
  readonly dags?: DagEntry[];
  /** Applied to the manifest after checksums are computed (to break it on purpose). */
  readonly tamper?: (m: ReleaseManifest) => ReleaseManifest;
}

/** A release as the files of its directory (manifest + artifacts). */
export function releaseFiles(opts: FixtureOptions = {}): { files: Map<string, Uint8Array>; manifest: ReleaseManifest } {
  const repo = opts.repo ?? 'orchestration';
  const version = opts.version ?? '20260302.41+abc1234';
  const artifacts = opts.artifacts ?? { 'airflow.tar.gz': 'dag bytes' };
  const files = new Map<string, Uint8Array>();
  for (const [name, content] of Object.entries(artifacts)) files.set(name, Buffer.from(content));
  let manifest: ReleaseManifest = {
    schemaVersion: 1,
    repo,
    version,
    gitSha: version.split('+')[1],
    buildId: version.split('.')[1].split('+')[0],
    createdAt: '2026-03-02T09:00:00.000Z',
    assets: [{ kind: 'airflow', id: 'airflow:dags/claims.py', path: 'dags/claims.py', sha256: sha256Hex('dag'), bytes: 3 }],
    artifacts: Object.entries(artifacts).map(([file, content]) => ({ kind: 'airflow' as const, file, sha256: sha256Hex(content), bytes: Buffer.byteLength(content) })),
    dbt: null,
    dags: opts.dags ?? [{ dagId: 'claims_daily', file: 'dags/claims.py', schedule: '@daily', startDate: '2025-01-01T00:00:00+00:00', catchup: false }],
    sparkImages: [],
    terraform: null,
  };
  if (opts.tamper) manifest = opts.tamper(manifest);
  files.set(RELEASE_MANIFEST_FILE, Buffer.from(JSON.stringify(manifest)));
  return { files, manifest };
}

/** Zips release files the way a CodeBuild output artifact is stored. */
export function zipRelease(files: ReadonlyMap<string, Uint8Array>): Uint8Array {
  return zipSync(Object.fromEntries(files));
}

/** An artifact bucket in moto with helpers to upload zipped releases. */
export async function artifactBucket(): Promise<{ s3: S3Client; bucket: string; upload(files: ReadonlyMap<string, Uint8Array>): Promise<{ bucketName: string; objectKey: string; name: string }> }> {
  const s3 = new S3Client(motoClientConfig());
  const bucket = uniqueName('artifacts');
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    s3,
    bucket,
    async upload(files) {
      const objectKey = `pipeline/Package/${uniqueName('art')}`;
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: objectKey, Body: zipRelease(files) }));
      return { bucketName: bucket, objectKey, name: 'Release' };
    },
  };
}
