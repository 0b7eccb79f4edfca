import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CloudWatchClient, ListMetricsCommand } from '@aws-sdk/client-cloudwatch';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { record, RecorderInputError, type RecorderDeps } from '../../../lib/runtime/recorder/recorder';
import { CodePipelineFake } from '../../helpers/codepipeline-fake';
import { createTestLedger, memoryLog } from '../../helpers/ledger';
import { motoClientConfig, uniqueName } from '../../helpers/moto';

const envelope = { version: '0', source: 'aws.codepipeline', account: '111111111111', region: 'us-east-1', resources: [] };

describe('Recorder against moto (DynamoDB, S3 Object Lock, EventBridge) and the CodePipeline fake', () => {
  const fake = new CodePipelineFake();
  beforeAll(() => fake.start());
  afterAll(() => fake.stop());

  async function setup() {
    const { ledger } = await createTestLedger();
    const s3 = new S3Client(motoClientConfig());
    const auditBucket = uniqueName('audit');
    await s3.send(new CreateBucketCommand({ Bucket: auditBucket, ObjectLockEnabledForBucket: true }));
    const pipeline = `northstar-orchestration-${Math.random().toString(36).slice(2, 8)}`;
    fake.addPipeline(pipeline, ['Source', 'Package', 'Dev', 'Staging', 'Prod']);
    const executionId = fake.startExecution(pipeline);
    await ledger.putExecution({ executionId, repo: 'orchestration', env: 'prod', version: '20260302.41+abc1234', manifestSha256: 'f'.repeat(64), isRollback: false, assets: { 'dags/claims.py': 'a'.repeat(64) } });
    await ledger.acquireLock('orchestration', 'prod', executionId);
    const deps: RecorderDeps = {
      codepipeline: fake.client(),
      s3,
      eventbridge: new EventBridgeClient(motoClientConfig()),
      ledger,
      pipelines: { orchestration: pipeline },
      auditBucket,
      eventBusName: 'default',
      retentionDays: 2190,
      log: memoryLog(),
    };
    const stageEvent = (stage: string, state: string, id = uniqueName('ev'), time = '2026-03-02T10:00:00Z') => ({
      ...envelope,
      id,
      time,
      'detail-type': 'CodePipeline Stage Execution State Change',
      detail: { pipeline, version: 1, 'execution-id': executionId, stage, state },
    });
    return { ledger, deps, pipeline, executionId, s3, auditBucket, stageEvent };
  }

  it('records a prod success: moves CURRENT, frees the lock, writes locked evidence and publishes an event', async () => {
    // GIVEN a promoted execution holding the prod lock
    const { ledger, deps, executionId, s3, auditBucket, stageEvent } = await setup();
    // WHEN the Prod stage succeeds
    const out = await record(stageEvent('Prod', 'SUCCEEDED'), deps);
    // THEN prod runs the release, the lock is free, the release succeeded there
    expect(await ledger.getCurrent('orchestration', 'prod')).toMatchObject({ version: '20260302.41+abc1234', executionId, viaRollback: false });
    expect(await ledger.getLock('orchestration', 'prod')).toBeNull();
    expect((await ledger.getReleaseStatus('orchestration', 'prod', '20260302.41+abc1234'))?.status).toBe('succeeded');
    // AND the evidence object is locked in COMPLIANCE mode for six years and lists the ledger events
    const key = out.evidenceKey as string;
    expect(key).toBe(`evidence/orchestration/prod/2026/03/02/${executionId}-succeeded.json`);
    // (moto's GetObjectRetention body does not parse in SDK v3; HeadObject carries the same lock headers)
    const head = await s3.send(new HeadObjectCommand({ Bucket: auditBucket, Key: key }));
    expect(head.ObjectLockMode).toBe('COMPLIANCE');
    expect(head.ObjectLockRetainUntilDate?.getTime()).toBeGreaterThan(Date.now() + 2189 * 86_400_000);
    const body = JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: auditBucket, Key: key }))).Body!.transformToString());
    expect(body).toMatchObject({ schemaVersion: 1, executionId, state: 'SUCCEEDED', release: { version: '20260302.41+abc1234' }, events: [expect.objectContaining({ kind: 'stage-state', state: 'SUCCEEDED' })] });
    expect(out.publishedEventId).toEqual(expect.any(String));
  });

  it('publishes the stage duration and the prod deployment to CloudWatch', async () => {
    // GIVEN a Prod stage that started at 10:00 and a Recorder with CloudWatch
    const { deps, stageEvent, pipeline } = await setup();
    const cloudwatch = new CloudWatchClient(motoClientConfig());
    await record(stageEvent('Prod', 'STARTED', uniqueName('s'), '2026-03-02T10:00:00Z'), { ...deps, cloudwatch });
    // WHEN it succeeds at 10:07
    const out = await record(stageEvent('Prod', 'SUCCEEDED', uniqueName('s'), '2026-03-02T10:07:00Z'), { ...deps, cloudwatch });
    // THEN the duration and the deployment are published, per repo and overall
    expect(out.metrics).toEqual(['StageDurationSeconds', 'Deployments', 'FailedDeployments']);
    const listed = await cloudwatch.send(new ListMetricsCommand({ Namespace: 'DataOps', MetricName: 'StageDurationSeconds' }));
    expect(listed.Metrics?.some((m) => m.Dimensions?.some((d) => d.Name === 'Environment' && d.Value === 'prod'))).toBe(true);
    void pipeline;
  });

  describe('manual approvals', () => {
    const approvalEvent = (pipeline: string, executionId: string, state: string) => ({
      ...envelope,
      id: uniqueName('ap'),
      time: '2026-03-02T09:59:00Z',
      'detail-type': 'CodePipeline Action Execution State Change',
      detail: { pipeline, version: 1, 'execution-id': executionId, stage: 'Prod', action: 'Approve', state, type: { owner: 'AWS', category: 'Approval', provider: 'Manual', version: 1 } },
    });

    it.each([
      { decision: 'Succeeded' as const, state: 'SUCCEEDED', result: 'succeeded', word: 'approved' },
      { decision: 'Failed' as const, state: 'FAILED', result: 'failed', word: 'rejected' },
    ])('records the $word approval with the approver ARN as actor and their comment as summary', async ({ decision, state, result, word }) => {
      // GIVEN a Prod approval CodePipeline says was decided by a named person with a comment
      const { ledger, deps, pipeline, executionId } = await setup();
      const approver = 'arn:aws:sts::111111111111:assumed-role/ReleaseManager/jane.doe';
      fake.setApproval(pipeline, executionId, 'Prod', 'Approve', { status: decision, updatedBy: approver, summary: 'CAB-1234 reviewed', at: new Date('2026-03-02T09:58:30Z') });
      // WHEN the Recorder gets the action's state change
      await record(approvalEvent(pipeline, executionId, state), deps);
      // THEN the ledger names the approver and their comment
      const [ev] = (await ledger.eventsFor('orchestration', 'prod')).filter((e) => e.kind === 'action-state');
      expect(ev).toMatchObject({ actor: approver, summary: 'CAB-1234 reviewed', result, action: 'Approve' });
      expect(ev.message).toContain(`${word} by ${approver}: CAB-1234 reviewed`);
    });

    it('records a decided approval without an approver when CodePipeline has no record of it', async () => {
      // GIVEN no approval in CodePipeline's action history
      const { ledger, deps, pipeline, executionId } = await setup();
      // WHEN the approval's state change arrives
      await record(approvalEvent(pipeline, executionId, 'SUCCEEDED'), deps);
      // THEN it is recorded as CodePipeline's, for audit export to complete later
      const [ev] = (await ledger.eventsFor('orchestration', 'prod')).filter((e) => e.kind === 'action-state');
      expect(ev.actor).toBe('codepipeline');
      expect('summary' in ev).toBe(false);
    });

    it('does not read approvers for actions that are not approvals', async () => {
      // GIVEN a Deploy (CodeBuild) action with an approval-looking record in the fake for the same stage
      const { ledger, deps, pipeline, executionId } = await setup();
      fake.setApproval(pipeline, executionId, 'Prod', 'Deploy', { status: 'Succeeded', updatedBy: 'arn:aws:iam::111111111111:user/x', summary: 'no' });
      // WHEN the Deploy action succeeds
      const ev = approvalEvent(pipeline, executionId, 'SUCCEEDED');
      await record({ ...ev, detail: { ...ev.detail, action: 'Deploy', type: { owner: 'AWS', category: 'Build', provider: 'CodeBuild', version: 1 } } }, deps);
      // THEN the actor stays CodePipeline
      const [rec] = (await ledger.eventsFor('orchestration', 'prod')).filter((e) => e.kind === 'action-state');
      expect(rec.actor).toBe('codepipeline');
    });

    it('audit export takes the approver and comment from the ledger record before CodePipeline history', async () => {
      // GIVEN an approval recorded with its approver, and CodePipeline's history later saying something else
      const { ledger, deps, pipeline, executionId, stageEvent, s3, auditBucket } = await setup();
      const approver = 'arn:aws:sts::111111111111:assumed-role/ReleaseManager/jane.doe';
      fake.setApproval(pipeline, executionId, 'Prod', 'Approve', { status: 'Succeeded', updatedBy: approver, summary: 'CAB-1234 reviewed' });
      await record(approvalEvent(pipeline, executionId, 'SUCCEEDED'), deps);
      await record(stageEvent('Prod', 'SUCCEEDED', uniqueName('s'), '2026-03-02T10:07:00Z'), deps);
      fake.setApproval(pipeline, executionId, 'Prod', 'Approve', { status: 'Succeeded', updatedBy: 'arn:aws:iam::111111111111:user/someone-else', summary: 'history rewritten' });
      // WHEN the audit report is collected with CodePipeline available
      const { collectAudit } = await import('../../../lib/ops/audit/collect');
      const report = await collectAudit(
        { platform: 'northstar', ledger, ledgerTable: 't', s3, auditBucket, pipelines: deps.pipelines, codepipeline: fake.client() },
        '2026-03-02T00:00:00Z',
        '2026-03-02T23:59:59Z',
      );
      // THEN the approval is the ledger's
      const d = report.deployments.find((x) => x.executionId === executionId);
      expect(d?.approvals).toEqual([expect.objectContaining({ action: 'Prod/Approve', approver, summary: 'CAB-1234 reviewed', result: 'succeeded' })]);
    });
  });

  it('records an event delivered twice only once', async () => {
    // GIVEN one stage event WHEN delivered twice
    const { ledger, deps, stageEvent } = await setup();
    const ev = stageEvent('Prod', 'SUCCEEDED', 'eb-dup-1');
    await record(ev, deps);
    await record(ev, deps);
    // THEN one ledger event and one success
    expect((await ledger.eventsFor('orchestration', 'prod')).filter((e) => e.kind === 'stage-state')).toHaveLength(1);
    expect(await ledger.successes('orchestration', 'prod')).toHaveLength(1);
  });

  it('marks the release failed on a failed stage and frees the lock without moving CURRENT', async () => {
    const { ledger, deps, stageEvent } = await setup();
    await record(stageEvent('Prod', 'FAILED'), deps);
    expect((await ledger.getReleaseStatus('orchestration', 'prod', '20260302.41+abc1234'))?.status).toBe('failed');
    expect(await ledger.getCurrent('orchestration', 'prod')).toBeNull();
    expect(await ledger.getLock('orchestration', 'prod')).toBeNull();
  });

  it('marks the env as rolled back when a CodePipeline ROLLBACK execution succeeds (automatic stage rollback)', async () => {
    // GIVEN an execution that succeeded, and a rollback execution CodePipeline started on failure
    const { ledger, deps, pipeline, executionId, stageEvent } = await setup();
    fake.setStage(pipeline, executionId, 'Prod', 'Succeeded', 'Succeeded');
    await record(stageEvent('Prod', 'SUCCEEDED'), deps);
    const failed = fake.startExecution(pipeline);
    fake.setStage(pipeline, failed, 'Prod', 'Failed', 'Failed');
    const rb = await fake.client().send(new (await import('@aws-sdk/client-codepipeline')).RollbackStageCommand({ pipelineName: pipeline, stageName: 'Prod', targetPipelineExecutionId: executionId }));
    const rbId = rb.pipelineExecutionId as string;
    // Promote of the rollback execution recorded it as an ordinary promotion; only CodePipeline knows it is a rollback.
    await ledger.putExecution({ executionId: rbId, repo: 'orchestration', env: 'prod', version: '20260302.41+abc1234', manifestSha256: null, isRollback: false });
    // WHEN its Prod stage succeeds
    await record({ ...stageEvent('Prod', 'SUCCEEDED'), detail: { pipeline, version: 1, 'execution-id': rbId, stage: 'Prod', state: 'SUCCEEDED' } }, deps);
    // THEN CURRENT says the env got there by rollback
    expect(await ledger.getCurrent('orchestration', 'prod')).toMatchObject({ executionId: rbId, viaRollback: true });
  });

  it('records action and pipeline events without evidence', async () => {
    const { ledger, deps, pipeline, executionId } = await setup();
    const action = await record({ ...envelope, id: uniqueName('a'), time: '2026-03-02T10:00:01Z', 'detail-type': 'CodePipeline Action Execution State Change', detail: { pipeline, version: 1, 'execution-id': executionId, stage: 'Prod', action: 'Deploy', state: 'STARTED', type: { owner: 'AWS', category: 'Build', provider: 'CodeBuild', version: 1 } } }, deps);
    const pipe = await record({ ...envelope, id: uniqueName('p'), time: '2026-03-02T10:00:02Z', 'detail-type': 'CodePipeline Pipeline Execution State Change', detail: { pipeline, version: 1, 'execution-id': executionId, state: 'STARTED' } }, deps);
    expect([action.evidenceKey, pipe.evidenceKey]).toEqual([null, null]);
    expect((await ledger.eventsFor('orchestration', 'prod')).map((e) => e.kind)).toEqual(['action-state']);
    expect((await ledger.eventsFor('orchestration', 'pipeline')).map((e) => e.kind)).toEqual(['pipeline-state']);
  });

  it('fails on an event that is not a CodePipeline state change', async () => {
    const { deps } = await setup();
    await expect(record({ ...envelope, id: 'x', time: '2026-03-02T10:00:00Z', 'detail-type': 'Something Else', detail: {} }, deps)).rejects.toBeInstanceOf(RecorderInputError);
  });

  it('fails when EventBridge does not accept the completion event (so the DLQ keeps it)', async () => {
    // GIVEN an EventBridge that refuses the entry
    const { deps, stageEvent } = await setup();
    const eb = mockClient(EventBridgeClient);
    eb.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' }] });
    try {
      // WHEN the stage ends THEN the error names the bus and the cause
      await expect(record(stageEvent('Prod', 'SUCCEEDED'), { ...deps, eventbridge: new EventBridgeClient({ region: 'us-east-1' }) })).rejects.toThrow(/refused 'DataOps Deployment Completed' on bus 'default': ThrottlingException/);
    } finally {
      eb.restore();
    }
  });
});
