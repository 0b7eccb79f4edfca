import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { PlatformConfig, RepoConfig } from '../config/schema';
import { PlatformNames } from './names';

/** Key prefix of the cross-repo graph registry in the artifact bucket: one `graph/<repo>.json` per repo. */
export const GRAPH_REGISTRY_PREFIX = 'graph';

/** Build variable with the registry URL that `dataops validate` (dependency-graph check) and rollbacks read. */
export const GRAPH_REGISTRY_ENV = 'DATAOPS_GRAPH_REGISTRY';

/**
 * Where each repo's Package build publishes its inventory fragment and where PR validation,
 * Validate and Deploy read the other repos' fragments: `s3://<artifact bucket>/graph`
 * (lib/checks/graph/registry/s3-registry.ts).
 */
export function graphRegistryUrl(config: PlatformConfig): string {
  return `s3://${new PlatformNames(config).artifactBucketName()}/${GRAPH_REGISTRY_PREFIX}`;
}

/** ARN of a repo's fragment object. */
export function graphFragmentArn(config: PlatformConfig, repo: RepoConfig | string): string {
  return `arn:aws:s3:::${new PlatformNames(config).artifactBucketName()}/${GRAPH_REGISTRY_PREFIX}/${typeof repo === 'string' ? repo : repo.name}.json`;
}

/** Only through S3: the CMK encrypts and decrypts objects of the artifact bucket, nothing else, for these grants. */
function viaS3(config: PlatformConfig): Record<string, Record<string, string>> {
  return { StringEquals: { 'kms:ViaService': `s3.${config.region}.amazonaws.com` } };
}

/**
 * Lets a build read every repo's fragment: `s3:ListBucket` on the artifact bucket limited to the
 * `graph/` prefix, `s3:GetObject` on `graph/*`, and decryption with the platform CMK through S3.
 */
export function grantReadGraphRegistry(grantee: iam.IGrantable, config: PlatformConfig, key: kms.IKey): void {
  const bucket = new PlatformNames(config).artifactBucketName();
  const principal = grantee.grantPrincipal;
  principal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'ListGraphFragments',
      actions: ['s3:ListBucket'],
      resources: [`arn:aws:s3:::${bucket}`],
      conditions: { StringLike: { 's3:prefix': [`${GRAPH_REGISTRY_PREFIX}/`, `${GRAPH_REGISTRY_PREFIX}/*`] } },
    }),
  );
  principal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'ReadGraphFragments',
      actions: ['s3:GetObject'],
      resources: [`arn:aws:s3:::${bucket}/${GRAPH_REGISTRY_PREFIX}/*`],
    }),
  );
  principal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'DecryptGraphFragments',
      actions: ['kms:Decrypt'],
      resources: [key.keyArn],
      conditions: viaS3(config),
    }),
  );
}

/**
 * Lets a repo's Package build publish its own fragment (`graph/<repo>.json`, an exact key) and
 * denies it writing or deleting the fragment of any other configured repo. The deny matters: the
 * Package project also writes the pipeline's output artifact, for which CodePipeline grants it
 * writes on the whole artifact bucket.
 */
export function grantPublishGraphFragment(grantee: iam.IGrantable, config: PlatformConfig, repo: RepoConfig, key: kms.IKey): void {
  const principal = grantee.grantPrincipal;
  principal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'PublishOwnGraphFragment',
      actions: ['s3:PutObject'],
      resources: [graphFragmentArn(config, repo)],
    }),
  );
  const others = config.repos.filter((r) => r.name !== repo.name);
  if (others.length > 0) {
    principal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'NeverWriteOtherReposGraphFragments',
        effect: iam.Effect.DENY,
        actions: ['s3:PutObject', 's3:DeleteObject', 's3:DeleteObjectVersion'],
        resources: others.map((r) => graphFragmentArn(config, r)),
      }),
    );
  }
  principal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'EncryptOwnGraphFragment',
      actions: ['kms:GenerateDataKey', 'kms:Encrypt'],
      resources: [key.keyArn],
      conditions: viaS3(config),
    }),
  );
}
