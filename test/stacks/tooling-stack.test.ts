import { Match, type Template } from 'aws-cdk-lib/assertions';
import type { CfnKey } from 'aws-cdk-lib/aws-kms';
import { PlatformNames } from '../../lib/constructs/names';
import { PIPELINE_EVENT_TYPES } from '../../lib/constructs/pipeline-events';
import { HANDLER_ENV, LEDGER_TABLE } from '../../lib/runtime/ledger/table';
import { makeTestConfig } from '../helpers/config';
import { synthPlatform, synthToolingStack } from '../helpers/synth';

type Resource = { Properties: Record<string, any>; DeletionPolicy?: string };
const config = makeTestConfig();
const names = new PlatformNames(config);
const resources = (t: Template, type: string) => Object.values(t.findResources(type)) as Resource[];
let keyRef: { 'Fn::GetAtt': [string, 'Arn'] };

describe('DataOpsTooling', () => {
  let template: Template;
  // GIVEN the embedded default configuration, synthesized once for the whole file
  beforeAll(() => {
    template = synthToolingStack();
    const { tooling } = synthPlatform().platform;
    keyRef = { 'Fn::GetAtt': [tooling.getLogicalId(tooling.key.node.defaultChild as CfnKey), 'Arn'] };
  });

  it('lives in the tooling account and region', () => {
    const { tooling } = synthPlatform().platform;
    expect([tooling.stackName, tooling.account, tooling.region]).toEqual(['DataOpsTooling', config.toolingAccount, config.region]);
  });

  it('has one customer-managed key with yearly rotation, retained on deletion', () => {
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResource('AWS::KMS::Key', { Properties: Match.objectLike({ EnableKeyRotation: true, RotationPeriodInDays: 365 }), DeletionPolicy: 'Retain' });
    template.hasResourceProperties('AWS::KMS::Alias', { AliasName: names.keyAlias() });
  });

  it('lets each environment deploy role decrypt artifacts, and no other principal of those accounts', () => {
    const [key] = resources(template, 'AWS::KMS::Key');
    const statements = key.Properties.KeyPolicy.Statement as Array<Record<string, any>>;
    for (const env of ['dev', 'staging', 'prod'] as const) {
      const account = config.environments[env].account;
      const forAccount = statements.filter((s) => JSON.stringify(s.Principal).includes(account));
      expect(forAccount).toHaveLength(1);
      expect(forAccount[0]).toMatchObject({ Action: ['kms:Decrypt', 'kms:DescribeKey'], Condition: { ArnEquals: { 'aws:PrincipalArn': names.deployRoleArn(env) } } });
    }
  });

  it('encrypts every bucket with the platform key, versions it, blocks public access and keeps it on deletion', () => {
    const buckets = resources(template, 'AWS::S3::Bucket');
    expect(buckets).toHaveLength(4); // access logs, artifacts, audit, trail
    for (const b of buckets) {
      expect(b.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0]).toMatchObject({
        BucketKeyEnabled: true,
        ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyRef },
      });
      expect(b.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
      expect(b.Properties.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
      expect(b.DeletionPolicy).toBe('Retain');
    }
    // AND every bucket but the access-log bucket sends its access logs to it
    expect(buckets.filter((b) => b.Properties.LoggingConfiguration).length).toBe(3);
    // AND every bucket refuses plain HTTP
    for (const p of resources(template, 'AWS::S3::BucketPolicy')) {
      expect(p.Properties.PolicyDocument.Statement).toEqual(
        expect.arrayContaining([expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      );
    }
  });

  it('names the artifact bucket deterministically so other accounts can reference it', () => {
    template.hasResourceProperties('AWS::S3::Bucket', { BucketName: names.artifactBucketName() });
  });

  it.each([
    ['the default', undefined, 2190],
    ['a longer configured', 3650, 3650],
  ])('locks audit and trail objects in COMPLIANCE mode for %s retention', (_label, retentionDays, expected) => {
    // GIVEN a configuration with (or without) audit.retentionDays
    const t =
      retentionDays === undefined
        ? template
        : synthToolingStack({ config: makeTestConfig({ mutate: (raw) => (raw.audit = { retentionDays }) }) });
    // THEN two buckets carry Object Lock with that many days in COMPLIANCE mode
    const locked = resources(t, 'AWS::S3::Bucket').filter((b) => b.Properties.ObjectLockEnabled);
    expect(locked).toHaveLength(2);
    for (const b of locked) {
      expect(b.Properties.ObjectLockConfiguration).toEqual({ ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: expected } } });
    }
  });

  it('records a multi-region, validated, encrypted trail with CloudWatch Logs and S3 data events on the artifact and audit buckets', () => {
    template.hasResourceProperties('AWS::CloudTrail::Trail', {
      IsMultiRegionTrail: true,
      EnableLogFileValidation: true,
      IncludeGlobalServiceEvents: true,
      KMSKeyId: keyRef,
      CloudWatchLogsLogGroupArn: Match.anyValue(),
      EventSelectors: [
        {
          DataResources: [
            {
              Type: 'AWS::S3::Object',
              Values: [
                { 'Fn::Join': ['', [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^ArtifactBucket'), 'Arn'] }, '/']] },
                { 'Fn::Join': ['', [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^AuditAuditBucket'), 'Arn'] }, '/']] },
              ],
            },
          ],
          IncludeManagementEvents: true,
          ReadWriteType: 'All',
        },
      ],
    });
  });

  it('keeps the ledger in a table with the shared key layout, PITR, the CMK, deletion protection, TTL and daily backups', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        KeySchema: [
          { AttributeName: LEDGER_TABLE.partitionKey, KeyType: 'HASH' },
          { AttributeName: LEDGER_TABLE.sortKey, KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: [
          Match.objectLike({
            IndexName: LEDGER_TABLE.timeIndex.name,
            KeySchema: [
              { AttributeName: LEDGER_TABLE.timeIndex.partitionKey, KeyType: 'HASH' },
              { AttributeName: LEDGER_TABLE.timeIndex.sortKey, KeyType: 'RANGE' },
            ],
          }),
        ],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: keyRef },
        DeletionProtectionEnabled: true,
        TimeToLiveSpecification: { AttributeName: LEDGER_TABLE.ttlAttribute, Enabled: true },
      }),
    });
    template.hasResourceProperties('AWS::Backup::BackupVault', { EncryptionKeyArn: keyRef });
    template.resourceCountIs('AWS::Backup::BackupSelection', 1);
  });

  it('encrypts the approvals and alerts topics with the platform key and refuses plain HTTP', () => {
    for (const purpose of ['approvals', 'alerts'] as const) {
      template.hasResourceProperties('AWS::SNS::Topic', { TopicName: names.topicName(purpose), KmsMasterKeyId: keyRef });
    }
    for (const p of resources(template, 'AWS::SNS::TopicPolicy')) {
      expect(JSON.stringify(p.Properties.PolicyDocument)).toContain('aws:SecureTransport');
    }
  });

  it('encrypts every queue and log group with the platform key', () => {
    for (const q of resources(template, 'AWS::SQS::Queue')) expect(q.Properties.KmsMasterKeyId).toEqual(keyRef);
    for (const g of resources(template, 'AWS::Logs::LogGroup')) {
      expect(g.Properties.KmsKeyId).toEqual(keyRef);
      expect(g.Properties.RetentionInDays).toBeGreaterThanOrEqual(365);
    }
  });

  it('keeps the toolchain image in an immutable, scanned, KMS-encrypted ECR repository', () => {
    template.hasResourceProperties('AWS::ECR::Repository', {
      RepositoryName: names.toolchainRepositoryName(),
      ImageTagMutability: 'IMMUTABLE',
      ImageScanningConfiguration: { ScanOnPush: true },
      EncryptionConfiguration: { EncryptionType: 'KMS', KmsKey: keyRef },
    });
  });

  it('expires only untagged toolchain images, so the tag ci.toolchainImageTag names is never expired and pushed again', () => {
    // GIVEN the toolchain repository's lifecycle policy
    const repo = resources(template, 'AWS::ECR::Repository').find((r) => r.Properties.RepositoryName === names.toolchainRepositoryName());
    const policy = JSON.parse(String((repo!.Properties.LifecyclePolicy as { LifecyclePolicyText: string }).LifecyclePolicyText)) as {
      rules: Array<{ selection: { tagStatus: string } }>;
    };
    // THEN it has rules, and every rule selects untagged images only (none selects 'tagged' or 'any')
    expect(policy.rules.length).toBeGreaterThan(0);
    expect(policy.rules.map((r) => r.selection.tagStatus)).toEqual(policy.rules.map(() => 'untagged'));
  });

  it.each([
    ['promote', 5],
    ['rollback', 2],
    ['recorder', 5],
  ] as const)('runs the %s function on Node.js 22+ with a DLQ, reserved concurrency %d, an encrypted environment and its own KMS log group', (purpose, reserved) => {
    const fn = resources(template, 'AWS::Lambda::Function').find((f) => f.Properties.FunctionName === names.functionName(purpose));
    expect(fn).toBeDefined();
    const p = fn!.Properties;
    expect(Number(/^nodejs(\d+)\.x$/.exec(p.Runtime)?.[1])).toBeGreaterThanOrEqual(22);
    expect(p.Handler).toBe('index.handler');
    expect(p.ReservedConcurrentExecutions).toBe(reserved);
    expect(p.DeadLetterConfig.TargetArn).toBeDefined();
    expect(p.KmsKeyArn).toEqual(keyRef);
    expect(p.TracingConfig).toEqual({ Mode: 'Active' });
    expect(p.LoggingConfig.LogGroup).toBeDefined();
    template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: `/aws/lambda/${names.functionName(purpose)}`, KmsKeyId: keyRef });
    // AND the handler gets the ledger and the repo → pipeline map
    expect(p.Environment.Variables[HANDLER_ENV.ledgerTable]).toBeDefined();
    expect(JSON.parse(p.Environment.Variables[HANDLER_ENV.pipelines])).toEqual(
      Object.fromEntries(config.repos.map((r) => [r.name, names.pipelineName(r)])),
    );
  });

  it('lets Rollback roll back only the platform pipelines, each named exactly', () => {
    const statements = resources(template, 'AWS::IAM::Policy').flatMap((p) => p.Properties.PolicyDocument.Statement as Array<Record<string, any>>);
    const rollback = statements.find((s) => s.Sid === 'RollBackPlatformPipelines');
    expect(rollback?.Action).toEqual(expect.arrayContaining(['codepipeline:RollbackStage', 'codepipeline:ListPipelineExecutions']));
    expect([...rollback?.Resource].sort()).toEqual(config.repos.map((r) => `arn:aws:codepipeline:${config.region}:${config.toolingAccount}:${names.pipelineName(r)}`).sort());
  });

  it.each(Object.entries(PIPELINE_EVENT_TYPES))('routes %s state changes of the platform pipelines to the Recorder, with retries and a dead-letter queue', (_level, detailType) => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.codepipeline'], 'detail-type': [detailType], detail: { pipeline: [{ prefix: `${config.name}-` }] } },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^RecorderFunction'), 'Arn'] },
          DeadLetterConfig: Match.objectLike({ Arn: Match.anyValue() }),
          RetryPolicy: Match.objectLike({ MaximumRetryAttempts: Match.anyValue() }),
        }),
      ],
    });
  });
});
