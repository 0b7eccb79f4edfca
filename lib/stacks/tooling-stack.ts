import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { ENVIRONMENT_NAMES, type PlatformConfig } from '../config/schema';
import { acknowledge } from '../constructs/acknowledge';
import { ApprovalPolicies } from '../constructs/approval-policies';
import { encryptedLogGroup } from '../constructs/encrypted-log-group';
import { ToolchainImageBuild } from '../constructs/toolchain-image-build';
import { AuditTrail } from '../constructs/audit-trail';
import { DeploymentLedger } from '../constructs/deployment-ledger';
import { PlatformNames } from '../constructs/names';
import { PipelineEvents } from '../constructs/pipeline-events';
import { PlatformFunction } from '../constructs/platform-function';
import { PlatformKey } from '../constructs/platform-key';
import { PlatformMonitoring } from '../constructs/monitoring';
import { SecureBucket } from '../constructs/secure-bucket';
import type { SharedServices } from '../constructs/shared-services';
import { HANDLER_ENV } from '../runtime/ledger/table';
import type { DataOpsStackMetadata } from './target-stack';

/** Properties of a {@link ToolingStack}. */
export interface ToolingStackProps extends StackProps {
  /** Validated platform configuration. */
  readonly config: PlatformConfig;
}

/**
 * `DataOpsTooling`, the shared services of the tooling account: the platform CMK, the artifact,
 * access-log, audit and trail buckets, CloudTrail, the deployment ledger, the approvals and alerts
 * topics, the toolchain image repository, the Promote, Rollback and Recorder functions and the
 * EventBridge rules that feed the Recorder.
 */
export class ToolingStack extends Stack {
  /** The services the repo pipeline stacks use, as this stack's own constructs. */
  readonly shared: SharedServices;
  /** The platform CMK. */
  readonly key: kms.Key;
  /** Buckets of the stack. */
  readonly buckets: { readonly artifacts: s3.Bucket; readonly accessLogs: s3.Bucket; readonly audit: s3.Bucket; readonly trail: s3.Bucket };
  /** The deployment ledger. */
  readonly ledger: DeploymentLedger;
  /** The audit bucket and CloudTrail trail. */
  readonly audit: AuditTrail;
  /** The three platform functions. */
  readonly functions: { readonly promote: PlatformFunction; readonly rollback: PlatformFunction; readonly recorder: PlatformFunction };
  /** Approvals and alerts topics. */
  readonly topics: { readonly approvals: sns.Topic; readonly alerts: sns.Topic };
  /** The customer-managed approval policies of staging and prod. */
  readonly approvalPolicies: ApprovalPolicies;
  /** The CodeBuild project that builds and pushes the toolchain image. */
  readonly toolchainImageBuild: ToolchainImageBuild;
  /** The delivery dashboard and the alarms to the alerts topic. */
  readonly monitoring: PlatformMonitoring;

  constructor(scope: Construct, id: string, props: ToolingStackProps) {
    super(scope, id, { description: `dataops-cicd tooling: shared services of the ${props.config.name} pipelines`, ...props });
    const { config } = props;
    const names = new PlatformNames(config);
    this.templateOptions.metadata = { DataOps: { StackKind: 'tooling' } satisfies DataOpsStackMetadata };

    this.key = new PlatformKey(this, 'PlatformKey', {
      alias: names.keyAlias(),
      crossAccountDecrypters: ENVIRONMENT_NAMES.map((env) => ({ account: config.environments[env].account, roleArns: names.deployRoleArns(env) })),
    }).key;
    const encryptionKey = this.key;

    const accessLogs = new SecureBucket(this, 'AccessLogsBucket', { encryptionKey, noncurrentVersionExpirationDays: 365 }).bucket;
    acknowledge(
      accessLogs,
      { id: 'AwsSolutions-S1', reason: 'this is the server access log bucket of the platform; logging its own access would log each log delivery' },
      { id: 'HIPAA.Security-S3BucketLoggingEnabled', reason: 'this is the server access log bucket of the platform; logging its own access would log each log delivery' },
    );
    const artifacts = new SecureBucket(this, 'ArtifactBucket', {
      encryptionKey,
      bucketName: names.artifactBucketName(),
      serverAccessLogsBucket: accessLogs,
      noncurrentVersionExpirationDays: 400,
    }).bucket;
    for (const env of ENVIRONMENT_NAMES) {
      artifacts.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: `DeployRole${env}ReadsReleases`,
          principals: [new iam.AccountPrincipal(config.environments[env].account)],
          actions: ['s3:GetObject', 's3:GetObjectVersion'],
          resources: [artifacts.arnForObjects('*')],
          conditions: { ArnEquals: { 'aws:PrincipalArn': oneOrList(names.deployRoleArns(env)) } },
        }),
      );
    }

    this.audit = new AuditTrail(this, 'Audit', {
      encryptionKey,
      accessLogsBucket: accessLogs,
      retentionDays: config.audit.retentionDays,
      dataEventBuckets: [artifacts],
    });
    this.buckets = { artifacts, accessLogs, audit: this.audit.auditBucket, trail: this.audit.trailBucket };

    this.ledger = new DeploymentLedger(this, 'Ledger', { encryptionKey, tableName: names.ledgerTableName() });

    const topic = (tid: string, purpose: 'approvals' | 'alerts', displayName: string) =>
      new sns.Topic(this, tid, { topicName: names.topicName(purpose), displayName, masterKey: encryptionKey, enforceSSL: true });
    this.topics = {
      approvals: topic('ApprovalsTopic', 'approvals', `${config.name} release approvals`),
      alerts: topic('AlertsTopic', 'alerts', `${config.name} platform alerts`),
    };
    if (config.alertEmail) this.topics.alerts.addSubscription(new subscriptions.EmailSubscription(config.alertEmail));

    const toolchainRepository = new ecr.Repository(this, 'ToolchainRepository', {
      repositoryName: names.toolchainRepositoryName(),
      imageTagMutability: ecr.TagMutability.IMMUTABLE,
      imageScanOnPush: true,
      encryption: ecr.RepositoryEncryption.KMS,
      encryptionKey,
      removalPolicy: RemovalPolicy.RETAIN,
      // Only untagged images expire: a tagged image may be the one ci.toolchainImageTag names, and once
      // expired its immutable tag could be pushed again with other content.
      lifecycleRules: [{ description: 'expire untagged images 14 days after push; tagged images are kept', tagStatus: ecr.TagStatus.UNTAGGED, maxImageAge: Duration.days(14) }],
    });

    const pipelines = Object.fromEntries(config.repos.map((r) => [r.name, names.pipelineName(r)]));
    const pipelineArns = config.repos.map((r) => `arn:aws:codepipeline:${config.region}:${config.toolingAccount}:${names.pipelineName(r)}`);
    const environment = {
      [HANDLER_ENV.ledgerTable]: this.ledger.table.tableName,
      [HANDLER_ENV.artifactBucket]: artifacts.bucketName,
      [HANDLER_ENV.auditBucket]: this.audit.auditBucket.bucketName,
      [HANDLER_ENV.eventBus]: 'default',
      [HANDLER_ENV.platformName]: config.name,
      [HANDLER_ENV.pipelines]: JSON.stringify(pipelines),
    };
    const defaultBusArn = `arn:aws:events:${config.region}:${config.toolingAccount}:event-bus/default`;
    const fn = (fid: string, purpose: 'promote' | 'rollback' | 'recorder', description: string, reserved: number, extraEnvironment: Record<string, string> = {}) =>
      new PlatformFunction(this, fid, {
        runtimeModule: purpose,
        functionName: names.functionName(purpose),
        description,
        encryptionKey,
        environment: { ...environment, ...extraEnvironment },
        reservedConcurrentExecutions: reserved,
      });
    const promote = fn('Promote', 'promote', 'Promotion gate: checks the release, the previous environment, the prod approver and the lock, then reports to CodePipeline', 5);
    const rollback = fn('Rollback', 'rollback', 'Rolls a pipeline stage back to its last successful execution, recorded in the ledger', 2);
    const recorder = fn('Recorder', 'recorder', 'Turns pipeline, stage and action state changes into ledger records and audit objects', 5, {
      [HANDLER_ENV.auditRetentionDays]: String(config.audit.retentionDays),
    });
    this.functions = { promote, rollback, recorder };

    // Promote: ledger lock and records, the release it gates, and the CodePipeline job result
    this.ledger.table.grantReadWriteData(promote.role);
    artifacts.grantRead(promote.role);
    promote.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadJobAndReportResult',
        actions: ['codepipeline:GetJobDetails', 'codepipeline:PutJobSuccessResult', 'codepipeline:PutJobFailureResult'],
        resources: ['*'],
      }),
    );
    // Promote reads who approved its execution's prod stage (separation of duties) and whether it is a stage rollback
    promote.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadTheStageApproval',
        actions: ['codepipeline:ListActionExecutions', 'codepipeline:GetPipelineExecution'],
        resources: pipelineArns,
      }),
    );
    // Recorder and Rollback publish the platform metrics (lib/ops/metrics.ts), only in its namespace
    for (const f of [recorder, rollback]) {
      f.role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'PublishDataOpsMetrics',
          actions: ['cloudwatch:PutMetricData'],
          resources: ['*'],
          conditions: { StringEquals: { 'cloudwatch:namespace': names.metricNamespace() } },
        }),
      );
    }
    // Rollback: only this platform's pipelines, by exact ARN
    this.ledger.table.grantReadWriteData(rollback.role);
    rollback.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'RollBackPlatformPipelines',
        actions: ['codepipeline:RollbackStage', 'codepipeline:ListPipelineExecutions', 'codepipeline:GetPipelineState', 'codepipeline:GetPipelineExecution'],
        resources: pipelineArns,
      }),
    );
    // Recorder: ledger records, audit objects, and who approved what
    this.ledger.table.grantReadWriteData(recorder.role);
    this.audit.auditBucket.grantPut(recorder.role);
    recorder.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadExecutions',
        actions: ['codepipeline:ListPipelineExecutions', 'codepipeline:GetPipelineExecution', 'codepipeline:ListActionExecutions'],
        resources: pipelineArns,
      }),
    );
    recorder.role.addToPolicy(new iam.PolicyStatement({ sid: 'PublishLedgerEvents', actions: ['events:PutEvents'], resources: [defaultBusArn] }));

    const eventDeadLetters = new sqs.Queue(this, 'EventDeliveryDeadLetterQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: encryptionKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(eventDeadLetters, {
      id: 'AwsSolutions-SQS3',
      reason: 'this queue is the dead-letter queue of the EventBridge → Recorder deliveries; events stay here 14 days for replay',
    });
    new PipelineEvents(this, 'PipelineEvents', { pipelineNamePrefix: `${config.name}-`, recorder: recorder.function, deadLetterQueue: eventDeadLetters });

    // Dashboard and alarms (lib/constructs/monitoring.ts). It refers to pipelines and projects through
    // PlatformNames, never through the pipeline stacks, so this stack stays independent of them.
    this.monitoring = new PlatformMonitoring(this, 'Monitoring', { config, alertsTopic: this.topics.alerts });

    // Who may approve staging and prod (config `approvers`; README "Deploy")
    this.approvalPolicies = new ApprovalPolicies(this, 'ApprovalPolicies', { config });

    // The toolchain image every CodeBuild project runs in, built from buildspecs/toolchain/Dockerfile
    this.toolchainImageBuild = new ToolchainImageBuild(this, 'ToolchainImage', {
      config,
      repository: toolchainRepository,
      encryptionKey,
      logGroup: encryptedLogGroup(this, 'ToolchainImageBuildLogs', { encryptionKey }),
    });

    this.shared = {
      encryptionKey,
      artifactBucket: artifacts,
      approvalsTopic: this.topics.approvals,
      alertsTopic: this.topics.alerts,
      promoteFunction: promote.function,
      toolchainRepository,
    };
  }
}

/** A condition value: the one ARN as a string (as the templates have always written it), several as a list. */
function oneOrList(arns: readonly string[]): string | string[] {
  return arns.length === 1 ? arns[0] : [...arns];
}
