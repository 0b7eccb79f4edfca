import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { record, type RecorderDeps } from '../../../lib/runtime/recorder/recorder';
import { rollback } from '../../../lib/runtime/rollback/rollback';
import type { Ledger } from '../../../lib/runtime/ledger/ledger';
import { CodePipelineFake } from '../../helpers/codepipeline-fake';
import { createTestLedger, memoryLog, testClock } from '../../helpers/ledger';
import { motoClientConfig, uniqueName } from '../../helpers/moto';

const envelope = { version: '0', source: 'aws.codepipeline', account: '111111111111', region: 'us-east-1', resources: [] };
const STAGES = ['Source', 'Package', 'Dev', 'Staging', 'Prod'];
const DAY = '2026-03-02';

/**
 * The DataOps metrics the dashboard and alarms read, published by the Recorder and Rollback(λ) into
 * moto's CloudWatch and read back with GetMetricData by name and exact dimensions. Each test run uses
 * its own repo name, so the per-repo series hold only what this file published.
 */
describe('DataOps metrics in CloudWatch (moto) from the Recorder and Rollback(λ)', () => {
  const fake = new CodePipelineFake();
  const cloudwatch = new CloudWatchClient(motoClientConfig());
  const repo = uniqueName('metrics');
  const pipeline = `northstar-${repo}`;
  let ledger: Ledger;
  let deps: RecorderDeps;

  const at = (hhmmss: string) => `${DAY}T${hhmmss}Z`;
  const pipelineEvent = (executionId: string, state: string, time: string) => ({
    ...envelope,
    id: uniqueName('p'),
    time,
    'detail-type': 'CodePipeline Pipeline Execution State Change',
    detail: { pipeline, version: 1, 'execution-id': executionId, state },
  });
  const stageEvent = (executionId: string, state: string, time: string) => ({
    ...envelope,
    id: uniqueName('s'),
    time,
    'detail-type': 'CodePipeline Stage Execution State Change',
    detail: { pipeline, version: 1, 'execution-id': executionId, stage: 'Prod', state },
  });

  /** One execution's Prod stage from `start` to `end` (deployed by `dataops deploy`, commit at `commitAt`). */
  async function prodStage(version: string, start: string, end: string, outcome: 'SUCCEEDED' | 'FAILED', commitAt: string): Promise<string> {
    const executionId = fake.startExecution(pipeline, new Date(start));
    await ledger.putExecution({ executionId, repo, env: 'prod', version, manifestSha256: null, isRollback: false });
    await record(pipelineEvent(executionId, 'STARTED', start), deps);
    await record(stageEvent(executionId, 'STARTED', start), deps);
    await ledger.appendEvent({ kind: 'deployment', repo, env: 'prod', actor: 'codebuild', version, executionId, result: 'succeeded', message: `deployed ${version}`, manifestSha256: null, writes: 1, isRollback: false, commitAt, at: start });
    fake.setStage(pipeline, executionId, 'Prod', outcome === 'SUCCEEDED' ? 'Succeeded' : 'Failed', outcome === 'SUCCEEDED' ? 'Succeeded' : 'Failed');
    await record(stageEvent(executionId, outcome, end), deps);
    await record(pipelineEvent(executionId, outcome, end), deps);
    return executionId;
  }

  /** Sum, maximum and sample count of one series over the test day. */
  async function series(name: string, dims: Record<string, string>): Promise<{ sum: number; max: number; count: number }> {
    const metric = { Namespace: 'DataOps', MetricName: name, Dimensions: Object.entries(dims).map(([Name, Value]) => ({ Name, Value })) };
    const stat = (Stat: string, Id: string) => ({ Id, MetricStat: { Metric: metric, Period: 86_400, Stat } });
    const out = await cloudwatch.send(
      new GetMetricDataCommand({ StartTime: new Date(`${DAY}T00:00:00Z`), EndTime: new Date(`${DAY}T23:59:59Z`), MetricDataQueries: [stat('Sum', 'sum'), stat('Maximum', 'max'), stat('SampleCount', 'n')] }),
    );
    const total = (id: string) => (out.MetricDataResults?.find((r) => r.Id === id)?.Values ?? []).reduce((a, b) => a + b, 0);
    return { sum: total('sum'), max: total('max'), count: total('n') };
  }

  beforeAll(async () => {
    await fake.start();
    fake.addPipeline(pipeline, STAGES);
    ({ ledger } = await createTestLedger());
    const s3 = new S3Client(motoClientConfig());
    const auditBucket = uniqueName('audit');
    await s3.send(new CreateBucketCommand({ Bucket: auditBucket, ObjectLockEnabledForBucket: true }));
    deps = { codepipeline: fake.client(), s3, eventbridge: new EventBridgeClient(motoClientConfig()), ledger, pipelines: { [repo]: pipeline }, auditBucket, eventBusName: 'default', retentionDays: 1, cloudwatch, log: memoryLog() };
    // GIVEN on one day: v1 and v2 reach prod (7 and 9 minute Prod stages, committed a day and an hour before),
    await prodStage('v1', at('08:00:00'), at('08:07:00'), 'SUCCEEDED', '2026-03-01T08:07:00Z');
    await prodStage('v2', at('09:00:00'), at('09:09:00'), 'SUCCEEDED', at('08:09:00'));
    // v3's Prod stage fails after 3 minutes,
    await prodStage('v3', at('10:00:00'), at('10:03:00'), 'FAILED', at('09:30:00'));
    // on-call rolls prod back (the request 5 s before the RollbackStage call),
    const clock = testClock(at('10:10:05'));
    const rb = await rollback(
      { repo, env: 'prod', reason: 'v3 broke claims', requestedBy: 'arn:aws:iam::111111111111:user/oncall', requestedAt: at('10:10:00') },
      { codepipeline: fake.client(), ledger, pipelines: { [repo]: pipeline }, log: memoryLog(), now: clock.now, cloudwatch },
    );
    expect(rb.status).toBe('started');
    // and the rollback execution's Prod stage succeeds at 10:20
    const rbId = rb.rollbackExecutionId as string;
    await record(stageEvent(rbId, 'STARTED', at('10:15:00')), deps);
    fake.setStage(pipeline, rbId, 'Prod', 'Succeeded', 'Succeeded');
    await record(stageEvent(rbId, 'SUCCEEDED', at('10:20:00')), deps);
  });
  afterAll(() => fake.stop());

  it.each<{ metric: string; dims: Record<string, string>; sum: number; count: number }>([
    { metric: 'PipelineExecutionSucceeded', dims: {}, sum: 2, count: 2 },
    { metric: 'PipelineExecutionFailed', dims: {}, sum: 1, count: 1 },
    { metric: 'Deployments', dims: {}, sum: 4, count: 4 },
    { metric: 'FailedDeployments', dims: {}, sum: 1, count: 4 },
    { metric: 'RollbackStarted', dims: {}, sum: 1, count: 1 },
    { metric: 'RollbackStartSeconds', dims: { Environment: 'prod' }, sum: 5, count: 1 },
    { metric: 'StageDurationSeconds', dims: { Environment: 'prod' }, sum: 7 * 60 + 9 * 60 + 3 * 60 + 5 * 60, count: 4 },
    { metric: 'LeadTimeSeconds', dims: {}, sum: 86_400 + 3600, count: 2 },
    { metric: 'TimeToRestoreSeconds', dims: {}, sum: 17 * 60, count: 1 },
  ])('publishes $metric for the repo with the dimensions the dashboard reads', async ({ metric, dims, sum, count }) => {
    // WHEN the repo's series is read by name and exact dimensions
    const s = await series(metric, { Repo: repo, ...dims });
    // THEN it holds exactly what the day's events give
    expect(s).toMatchObject({ sum, count });
  });

  it('publishes every datum again in the overall series (Repo=all)', async () => {
    // WHEN the overall series is read THEN it holds at least this repo's data (other tests add theirs)
    const mine = await series('StageDurationSeconds', { Repo: repo, Environment: 'prod' });
    const all = await series('StageDurationSeconds', { Repo: 'all', Environment: 'prod' });
    expect(all.count).toBeGreaterThanOrEqual(mine.count);
    expect(all.sum).toBeGreaterThanOrEqual(mine.sum);
  });

  it('publishes nothing under a series without the Environment dimension for per-environment metrics', async () => {
    // WHEN a per-environment metric is read with the Repo dimension only THEN CloudWatch has no such series
    expect(await series('StageDurationSeconds', { Repo: repo })).toMatchObject({ count: 0 });
  });
});
