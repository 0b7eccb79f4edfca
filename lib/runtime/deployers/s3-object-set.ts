import { CopyObjectCommand, DeleteObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DeployError, mapLimit } from './errors';

/** User metadata key (`x-amz-meta-sha256`) that holds the sha256 of an object's bytes. */
export const SHA256_METADATA_KEY = 'sha256';

/** One object under a deployer's prefix: its content hash and the S3 version that holds it. */
export interface ObjectVersion {
  /** sha256 from the object's metadata; null when the object was written without it. */
  readonly sha256: string | null;
  /** S3 VersionId; null in an unversioned bucket. */
  readonly versionId: string | null;
}

/** Objects under a prefix, by key. */
export type ObjectSet = Readonly<Record<string, ObjectVersion>>;

/** One desired object: its key and the hash of the bytes it must hold. */
export interface DesiredObject {
  readonly key: string;
  readonly sha256: string;
}

/** Gives the bytes of a desired object (checked against its sha256 by the caller). */
export type BodyOf = (o: DesiredObject) => Buffer;

/** The difference between an object set and what it should be. */
export interface ObjectSetPlan {
  readonly uploads: readonly DesiredObject[];
  readonly deletes: readonly string[];
}

/** How many S3 calls a deployer keeps in flight. */
const CONCURRENCY = 16;

/** Reads every object under `prefix` with its sha256 metadata and VersionId (one HEAD per object). */
export async function readObjectSet(s3: S3Client, bucket: string, prefix: string, ignore: (key: string) => boolean = () => false): Promise<ObjectSet> {
  const keys: string[] = [];
  let token: string | undefined;
  try {
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) if (o.Key && !ignore(o.Key)) keys.push(o.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } catch (cause) {
    throw new DeployError(`cannot list s3://${bucket}/${prefix}: ${(cause as Error).message}; check that the bucket exists and the deploy role may s3:ListBucket on it`, { cause });
  }
  keys.sort();
  const heads = await mapLimit(keys, CONCURRENCY, async (key) => {
    try {
      const h = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return [key, { sha256: h.Metadata?.[SHA256_METADATA_KEY] ?? null, versionId: h.VersionId ?? null }] as const;
    } catch (cause) {
      throw new DeployError(`cannot read s3://${bucket}/${key}: ${(cause as Error).message}; check that the deploy role may s3:GetObject under ${prefix}`, { cause });
    }
  });
  return Object.fromEntries(heads);
}

/** Pure: what to upload and delete so that `current` becomes exactly `desired` (compared by sha256). */
export function planObjectSet(current: ObjectSet, desired: readonly DesiredObject[]): ObjectSetPlan {
  const wanted = new Set(desired.map((d) => d.key));
  const uploads = desired.filter((d) => current[d.key]?.sha256 !== d.sha256).sort((a, b) => a.key.localeCompare(b.key));
  const deletes = Object.keys(current).filter((k) => !wanted.has(k)).sort();
  return { uploads, deletes };
}

/** Uploads one object with its sha256 in metadata. */
export async function putObject(s3: S3Client, bucket: string, o: DesiredObject, body: Buffer): Promise<void> {
  try {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: o.key, Body: body, Metadata: { [SHA256_METADATA_KEY]: o.sha256 } }));
  } catch (cause) {
    throw new DeployError(`upload of s3://${bucket}/${o.key} failed: ${(cause as Error).message}; run the deploy again, it uploads only what still differs`, { cause });
  }
}

/** Deletes one object (a delete marker in a versioned bucket, so the bytes stay restorable). */
export async function deleteObject(s3: S3Client, bucket: string, key: string): Promise<void> {
  try {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  } catch (cause) {
    throw new DeployError(`delete of s3://${bucket}/${key} failed: ${(cause as Error).message}; run the deploy again, it deletes only what is still there`, { cause });
  }
}

/** Copies an earlier version of an object over the current one, byte for byte with its metadata. */
export async function restoreVersion(s3: S3Client, bucket: string, key: string, versionId: string): Promise<void> {
  try {
    await s3.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: key,
        CopySource: `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}?versionId=${encodeURIComponent(versionId)}`,
        MetadataDirective: 'COPY',
      }),
    );
  } catch (cause) {
    throw new DeployError(`restore of s3://${bucket}/${key} to version ${versionId} failed: ${(cause as Error).message}; the bucket must be versioned and keep noncurrent versions for as long as a rollback may need them`, { cause });
  }
}

/** Applies an object-set plan (uploads, then deletes) and returns the number of writes. */
export async function applyObjectSet(s3: S3Client, bucket: string, plan: ObjectSetPlan, bodyOf: BodyOf): Promise<number> {
  await mapLimit(plan.uploads, CONCURRENCY, (o) => putObject(s3, bucket, o, bodyOf(o)));
  await mapLimit(plan.deletes, CONCURRENCY, (k) => deleteObject(s3, bucket, k));
  return plan.uploads.length + plan.deletes.length;
}

/** Pure: the copies and deletes that turn `current` back into `previous`. */
export function planRestore(current: ObjectSet, previous: ObjectSet): { copies: Array<{ key: string; versionId: string }>; deletes: string[] } {
  const copies: Array<{ key: string; versionId: string }> = [];
  for (const [key, prev] of Object.entries(previous).sort(([a], [b]) => a.localeCompare(b))) {
    const cur = current[key];
    if (cur && cur.sha256 !== null && cur.sha256 === prev.sha256) continue;
    if (!prev.versionId) throw new DeployError(`s3 object ${key} has no recorded VersionId, so it cannot be restored byte for byte; enable versioning on the DAG bucket`);
    copies.push({ key, versionId: prev.versionId });
  }
  const deletes = Object.keys(current).filter((k) => !(k in previous)).sort();
  return { copies, deletes };
}

/** Puts back exactly `previous` (same bytes and metadata for every key) and returns the number of writes. */
export async function restoreObjectSet(s3: S3Client, bucket: string, current: ObjectSet, previous: ObjectSet): Promise<number> {
  const plan = planRestore(current, previous);
  await mapLimit(plan.copies, CONCURRENCY, (c) => restoreVersion(s3, bucket, c.key, c.versionId));
  await mapLimit(plan.deletes, CONCURRENCY, (k) => deleteObject(s3, bucket, k));
  return plan.copies.length + plan.deletes.length;
}
