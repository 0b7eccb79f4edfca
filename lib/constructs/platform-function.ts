import * as path from 'path';
import { Duration, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledge } from './acknowledge';
import { encryptedLogGroup } from './encrypted-log-group';

/** Root of the project, where package.json and package-lock.json live. */
export const PROJECT_ROOT = path.join(__dirname, '..', '..');

/** Lambda's limit on the total size of a function's environment variables, in bytes. */
export const LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4096;

/** Bytes assumed for a value that is only known at deploy time (a generated bucket or table name). */
const UNRESOLVED_VALUE_BYTES = 64;

/** Estimated size of an environment as Lambda counts it (keys and values). */
export function environmentBytes(environment: Record<string, string>): number {
  return Object.entries(environment).reduce(
    (sum, [k, v]) => sum + Buffer.byteLength(k) + (Token.isUnresolved(v) ? UNRESOLVED_VALUE_BYTES : Buffer.byteLength(v)),
    0,
  );
}

/** Properties of a {@link PlatformFunction}. */
export interface PlatformFunctionProps {
  /** Handler module under lib/runtime, e.g. `promote` for lib/runtime/promote/index.ts (exports `handler`). */
  readonly runtimeModule: string;
  /** Physical function name. */
  readonly functionName: string;
  /** One line describing what the function does. */
  readonly description: string;
  /** The CMK for the environment variables, the log group and the dead-letter queue. */
  readonly encryptionKey: kms.IKey;
  /** Environment variables. */
  readonly environment: Record<string, string>;
  /** Reserved concurrency: caps the function and guarantees it capacity. */
  readonly reservedConcurrentExecutions: number;
  /** Timeout. @default 1 minute */
  readonly timeout?: Duration;
  /** Memory in MB. @default 512 */
  readonly memorySize?: number;
}

/**
 * A platform Lambda function (Promote, Rollback, Recorder): Node.js 24 on arm64, bundled with
 * esbuild from node_modules (no Docker), its own role (no managed policies), a KMS-encrypted
 * environment, a KMS-encrypted log group with the platform retention, a KMS-encrypted SQS
 * dead-letter queue for failed asynchronous invocations, reserved concurrency and X-Ray tracing.
 */
export class PlatformFunction extends Construct {
  /** The function. */
  readonly function: nodejs.NodejsFunction;
  /** The function's execution role. */
  readonly role: iam.Role;
  /** Dead-letter queue of failed asynchronous invocations. */
  readonly deadLetterQueue: sqs.Queue;
  /** The function's log group. */
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: PlatformFunctionProps) {
    super(scope, id);
    this.logGroup = encryptedLogGroup(this, 'LogGroup', {
      encryptionKey: props.encryptionKey,
      logGroupName: `/aws/lambda/${props.functionName}`,
    });
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.encryptionKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(this.deadLetterQueue, {
      id: 'AwsSolutions-SQS3',
      reason: 'this queue is itself the dead-letter queue of the function; failed events stay here 14 days for replay',
    });

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `execution role of ${props.functionName}`,
    });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      functionName: props.functionName,
      description: props.description,
      entry: path.join(PROJECT_ROOT, 'lib', 'runtime', props.runtimeModule, 'index.ts'),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      role: this.role,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.minutes(1),
      environment: { ...props.environment, NODE_OPTIONS: '--enable-source-maps' },
      environmentEncryption: props.encryptionKey,
      logGroup: this.logGroup,
      deadLetterQueue: this.deadLetterQueue,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      tracing: lambda.Tracing.ACTIVE,
      bundling: {
        format: nodejs.OutputFormat.CJS,
        target: 'node24',
        minify: true,
        sourceMap: true,
        // the Node.js 24 runtime ships AWS SDK v3; bundling our pinned copy keeps behaviour the same as in tests
        externalModules: [],
        forceDockerBundling: false,
      },
    });
    const environment = { ...props.environment, NODE_OPTIONS: '--enable-source-maps' };
    this.node.addValidation({
      validate: () => {
        const bytes = environmentBytes(environment);
        return bytes <= LAMBDA_ENVIRONMENT_LIMIT_BYTES
          ? []
          : [
              `${props.functionName}: environment variables take about ${bytes} bytes, over Lambda's ${LAMBDA_ENVIRONMENT_LIMIT_BYTES}; ` +
                'the PIPELINES map grows with every repo, so shorten the platform or repo names in the configuration',
            ];
      },
    });
    acknowledge(this.function, {
      id: 'HIPAA.Security-LambdaInsideVPC',
      reason:
        'the function calls only AWS APIs (DynamoDB, S3, CodePipeline, EventBridge) over TLS with IAM authentication and holds no PHI; a VPC would need NAT or five interface endpoints per AZ for no reduction of exposure',
    });
  }
}
