import type { S3Client } from '@aws-sdk/client-s3';
import { DirRegistry } from './dir-registry';
import type { FragmentRegistry } from './registry';
import { S3Registry } from './s3-registry';

export { DirRegistry } from './dir-registry';
export { S3Registry, parseS3Url } from './s3-registry';
export { RegistryError, parseFragment, type FragmentRegistry } from './registry';

/** Opens `s3://bucket/prefix` as an S3 registry and anything else as a local folder. */
export function openRegistry(spec: string | FragmentRegistry, opts: { s3Client?: S3Client } = {}): FragmentRegistry {
  if (typeof spec !== 'string') return spec;
  return spec.startsWith('s3://') ? new S3Registry(spec, opts.s3Client) : new DirRegistry(spec);
}
