import { GetObjectCommand, ListObjectsV2Command, NoSuchKey, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { RepoInventory } from '../../inventory/types';
import { fragmentName, parseFragment, RegistryError, type FragmentRegistry } from './registry';

/** Parses `s3://bucket/prefix` into bucket and key prefix (no leading slash, trailing slash added). */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m) throw new RegistryError(`registry '${url}' is not an S3 URL; expected s3://bucket[/prefix]`);
  const prefix = (m[2] ?? '').replace(/^\/+|\/+$/g, '');
  return { bucket: m[1], prefix: prefix ? `${prefix}/` : '' };
}

/** The registry in S3 (the platform's artifact bucket): `s3://bucket/prefix/<repo>.json`. */
export class S3Registry implements FragmentRegistry {
  readonly location: string;
  private readonly bucket: string;
  private readonly prefix: string;

  /** @param client an S3 client; tests pass one pointed at moto. @default - a client from the environment */
  constructor(url: string, private readonly client: S3Client = new S3Client({} satisfies S3ClientConfig)) {
    const { bucket, prefix } = parseS3Url(url);
    this.bucket = bucket;
    this.prefix = prefix;
    this.location = `s3://${bucket}/${prefix}`;
  }

  async list(): Promise<RepoInventory[]> {
    const keys: string[] = [];
    let token: string | undefined;
    try {
      do {
        const res = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, ContinuationToken: token }));
        for (const o of res.Contents ?? []) {
          if (o.Key && o.Key.endsWith('.json') && !o.Key.slice(this.prefix.length).includes('/')) keys.push(o.Key);
        }
        token = res.IsTruncated ? res.NextContinuationToken : undefined;
      } while (token);
    } catch (cause) {
      throw new RegistryError(`cannot list fragments in ${this.location}: ${(cause as Error).message}; check the bucket name and s3:ListBucket permission`, { cause });
    }
    const out: RepoInventory[] = [];
    for (const key of keys.sort()) {
      const f = await this.read(key);
      if (f) out.push(f);
    }
    return out;
  }

  async get(repo: string): Promise<RepoInventory | undefined> {
    return this.read(`${this.prefix}${fragmentName(repo)}`);
  }

  private async read(key: string): Promise<RepoInventory | undefined> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const text = (await res.Body?.transformToString('utf8')) ?? '';
      return parseFragment(text, `s3://${this.bucket}/${key}`);
    } catch (cause) {
      if (cause instanceof RegistryError) throw cause;
      if (cause instanceof NoSuchKey || (cause as { name?: string }).name === 'NoSuchKey') return undefined;
      throw new RegistryError(`cannot read s3://${this.bucket}/${key}: ${(cause as Error).message}; check s3:GetObject permission`, { cause });
    }
  }

  async publish(fragment: RepoInventory): Promise<void> {
    const key = `${this.prefix}${fragmentName(fragment.repo)}`;
    try {
      await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: JSON.stringify(fragment), ContentType: 'application/json' }),
      );
    } catch (cause) {
      throw new RegistryError(`cannot publish the fragment of ${fragment.repo} to s3://${this.bucket}/${key}: ${(cause as Error).message}; check s3:PutObject permission`, { cause });
    }
  }
}
