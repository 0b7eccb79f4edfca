import { CloudWatchClient, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import { CreateTableCommand, DynamoDBClient, ResourceInUseException, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import type { AssemblyStack, CloudAssembly } from './assembly';
import { accountAdmin, clientConfig, type AwsTarget } from './aws';
import type { Resolver } from './intrinsics';
import type { PipelineModel } from './model';

/** What {@link provisionPlatform} created, for the log and for tests. */
export interface ProvisionedPlatform {
  readonly buckets: readonly string[];
  readonly tables: readonly string[];
  readonly alarms: readonly string[];
}

type TableProps = Pick<CreateTableCommandInput, 'AttributeDefinitions' | 'KeySchema' | 'GlobalSecondaryIndexes' | 'BillingMode'>;

async function createBuckets(s3: S3Client, stack: AssemblyStack, resolver: Resolver): Promise<string[]> {
  const made: string[] = [];
  for (const [id, r] of Object.entries(stack.resources)) {
    if (r.Type !== 'AWS::S3::Bucket') continue;
    const name = resolver.resource(stack, id).ref;
    const lock = r.Properties?.ObjectLockEnabled === true;
    try {
      await s3.send(new CreateBucketCommand({ Bucket: name, ...(lock ? { ObjectLockEnabledForBucket: true } : {}) }));
    } catch (e) {
      if (!/BucketAlreadyOwnedByYou|BucketAlreadyExists/.test((e as Error).name)) throw e;
    }
    const versioning = (r.Properties?.VersioningConfiguration as { Status?: string } | undefined)?.Status;
    if (versioning === 'Enabled' && !lock) await s3.send(new PutBucketVersioningCommand({ Bucket: name, VersioningConfiguration: { Status: 'Enabled' } }));
    made.push(name);
  }
  return made;
}

async function createTables(ddb: DynamoDBClient, stack: AssemblyStack, resolver: Resolver): Promise<string[]> {
  const made: string[] = [];
  for (const [id, r] of Object.entries(stack.resources)) {
    if (r.Type !== 'AWS::DynamoDB::Table') continue;
    const name = resolver.resource(stack, id).ref;
    const p = resolver.value(stack, r.Properties ?? {}) as TableProps;
    try {
      await ddb.send(
        new CreateTableCommand({
          TableName: name,
          AttributeDefinitions: p.AttributeDefinitions,
          KeySchema: p.KeySchema,
          GlobalSecondaryIndexes: p.GlobalSecondaryIndexes,
          BillingMode: p.BillingMode ?? 'PAY_PER_REQUEST',
        }),
      );
    } catch (e) {
      if (!(e instanceof ResourceInUseException)) throw e;
    }
    made.push(name);
  }
  return made;
}

/**
 * Creates in the AWS stand-in what the assembly defines and a pipeline run reads or writes: the
 * tooling stack's S3 buckets (with versioning and Object Lock as set) and DynamoDB tables (keys and
 * indexes as synthesized), and the pipeline's alarms, each in its stack's account. Idempotent.
 */
export async function provisionPlatform(target: AwsTarget, assembly: CloudAssembly, resolver: Resolver, pipeline: PipelineModel): Promise<ProvisionedPlatform> {
  const buckets: string[] = [];
  const tables: string[] = [];
  for (const stack of assembly.stacks.values()) {
    const owns = Object.values(stack.resources).some((r) => r.Type === 'AWS::S3::Bucket' || r.Type === 'AWS::DynamoDB::Table');
    if (!owns) continue;
    const creds = await accountAdmin(target, stack.account);
    const s3 = new S3Client(clientConfig(target, creds));
    const ddb = new DynamoDBClient(clientConfig(target, creds));
    buckets.push(...(await createBuckets(s3, stack, resolver)));
    tables.push(...(await createTables(ddb, stack, resolver)));
    s3.destroy();
    ddb.destroy();
  }
  const cw = new CloudWatchClient(clientConfig(target, await accountAdmin(target, pipeline.account)));
  for (const a of pipeline.alarms.values()) {
    await cw.send(
      new PutMetricAlarmCommand({
        AlarmName: a.name,
        Namespace: a.namespace,
        MetricName: a.metricName,
        Dimensions: Object.entries(a.dimensions).map(([Name, Value]) => ({ Name, Value })),
        Statistic: a.statistic as 'Sum',
        Period: a.periodSeconds,
        EvaluationPeriods: a.evaluationPeriods,
        Threshold: a.threshold,
        ComparisonOperator: a.comparisonOperator as 'GreaterThanOrEqualToThreshold',
        TreatMissingData: a.treatMissingData,
      }),
    );
  }
  cw.destroy();
  return { buckets, tables, alarms: [...pipeline.alarms.keys()] };
}
