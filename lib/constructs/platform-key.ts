import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/** Properties of a {@link PlatformKey}. */
export interface PlatformKeyProps {
  /** Alias of the key, e.g. `alias/northstar-platform`. */
  readonly alias: string;
  /**
   * Roles in other accounts that may decrypt pipeline artifacts, as plain ARNs (they live in
   * another account, so they are matched by `aws:PrincipalArn`, which does not need them to exist
   * when the key policy is written). @default - none
   */
  readonly crossAccountDecrypters?: ReadonlyArray<{ account: string; roleArns: readonly string[] }>;
}

/**
 * The platform's one customer-managed key (tooling account): artifacts, audit objects, the
 * ledger, topics, queues, log groups and Lambda environments are encrypted with it. Rotation is
 * on. The key policy admits the AWS services that write encrypted data for the platform, each
 * scoped to this account, and the target environments' deploy roles for decryption only.
 */
export class PlatformKey extends Construct {
  /** The key. */
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: PlatformKeyProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.key = new kms.Key(this, 'Key', {
      alias: props.alias,
      description: 'dataops-cicd platform key: artifacts, audit, ledger, topics, queues, logs',
      enableKeyRotation: true,
      rotationPeriod: Duration.days(365),
      pendingWindow: Duration.days(30),
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchLogsEncryptPlatformLogGroups',
        principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:*` } },
      }),
    );
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudTrailEncryptLogs',
        principals: [new iam.ServicePrincipal('cloudtrail.amazonaws.com')],
        actions: ['kms:GenerateDataKey*', 'kms:DescribeKey'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          StringLike: { 'kms:EncryptionContext:aws:cloudtrail:arn': `arn:${stack.partition}:cloudtrail:*:${stack.account}:trail/*` },
        },
      }),
    );
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublishToEncryptedTopics',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'EventBridgeDeadLetterEncryptedQueues',
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
    for (const { account, roleArns } of props.crossAccountDecrypters ?? []) {
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: `DeployRoleDecryptsArtifacts${account}`,
          principals: [new iam.AccountPrincipal(account)],
          actions: ['kms:Decrypt', 'kms:DescribeKey'],
          resources: ['*'],
          conditions: { ArnEquals: { 'aws:PrincipalArn': roleArns.length === 1 ? roleArns[0] : [...roleArns] } },
        }),
      );
    }
  }
}
