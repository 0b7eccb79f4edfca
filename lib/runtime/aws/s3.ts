import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

/** GetObject: the whole object as bytes. */
export async function getObjectBytes(client: S3Client, bucket: string, key: string): Promise<Uint8Array> {
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!out.Body) throw new Error(`s3://${bucket}/${key} has no body`);
  return out.Body.transformToByteArray();
}

/** Options of an evidence object in the Object Lock audit bucket. */
export interface LockedPutOptions {
  /** Days the object stays locked in COMPLIANCE mode. */
  readonly retentionDays: number;
  /** Clock, for tests. */
  readonly now?: Date;
  /** Leave retention to the bucket's default Object Lock configuration (retentionDays is ignored). */
  readonly useBucketDefault?: boolean;
}

/**
 * PutObject into an Object Lock bucket with COMPLIANCE retention; the SDK adds the checksum Object
 * Lock requires. Returns the version id.
 */
export async function putLockedObject(client: S3Client, bucket: string, key: string, body: string, opts: LockedPutOptions): Promise<string | undefined> {
  const now = opts.now ?? new Date();
  const out = await client.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: body,
      ContentType: 'application/json',
      ...(opts.useBucketDefault
        ? {}
        : { ObjectLockMode: 'COMPLIANCE' as const, ObjectLockRetainUntilDate: new Date(now.getTime() + opts.retentionDays * 86_400_000) }),
      ChecksumAlgorithm: 'SHA256',
    }),
  );
  return out.VersionId;
}
