import { Stack } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import type { PlatformConfig } from '../config/schema';
import { PlatformNames } from './names';

/** What the tooling stack provides to every repo pipeline (same account and region). */
export interface SharedServices {
  /** The platform CMK. */
  readonly encryptionKey: kms.IKey;
  /** Bucket of pipeline artifacts and releases. */
  readonly artifactBucket: s3.IBucket;
  /** Topic that manual approvals notify. */
  readonly approvalsTopic: sns.ITopic;
  /** Topic of operational alerts (alarms). */
  readonly alertsTopic: sns.ITopic;
  /** Promote(λ), the promotion gate of each environment stage. */
  readonly promoteFunction: lambda.IFunction;
  /** Repository of the toolchain image every CodeBuild project runs in. */
  readonly toolchainRepository: ecr.IRepository;
}

/**
 * References to the tooling stack's services by their deterministic names, for a pipeline stack.
 * Only the key travels as a CloudFormation export (log groups need its ARN); everything else is a
 * plain name, so a pipeline stack grants itself access without touching the tooling stack and
 * the tooling stack can change without "export in use" deadlocks.
 */
export function importSharedServices(scope: Construct, config: PlatformConfig, encryptionKey: kms.IKey): SharedServices {
  const names = new PlatformNames(config);
  const { region, account } = Stack.of(scope);
  return {
    encryptionKey,
    artifactBucket: s3.Bucket.fromBucketAttributes(scope, 'ArtifactBucket', { bucketName: names.artifactBucketName(), encryptionKey }),
    approvalsTopic: sns.Topic.fromTopicAttributes(scope, 'ApprovalsTopic', {
      topicArn: `arn:aws:sns:${region}:${account}:${names.topicName('approvals')}`,
      keyArn: encryptionKey.keyArn,
    }),
    alertsTopic: sns.Topic.fromTopicAttributes(scope, 'AlertsTopic', {
      topicArn: `arn:aws:sns:${region}:${account}:${names.topicName('alerts')}`,
      keyArn: encryptionKey.keyArn,
    }),
    promoteFunction: lambda.Function.fromFunctionAttributes(scope, 'PromoteFunction', {
      functionArn: `arn:aws:lambda:${region}:${account}:function:${names.functionName('promote')}`,
      sameEnvironment: true,
    }),
    toolchainRepository: ecr.Repository.fromRepositoryAttributes(scope, 'ToolchainRepository', {
      repositoryName: names.toolchainRepositoryName(),
      repositoryArn: `arn:aws:ecr:${region}:${account}:repository/${names.toolchainRepositoryName()}`,
    }),
  };
}
