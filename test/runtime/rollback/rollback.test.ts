import { CloudWatchClient, ListMetricsCommand } from '@aws-sdk/client-cloudwatch';
import { datasetDag, inventoryFragment, motoRegistry } from '../../helpers/inventory';
import { rollback, RollbackResponseSchema, type RollbackDeps } from '../../../lib/runtime/rollback/rollback';
import { motoClientConfig } from '../../helpers/moto';
import type { DagEntry } from '../../../lib/runtime/release/manifest';
import { CodePipelineFake } from '../../helpers/codepipeline-fake';
import { createTestLedger, memoryLog, testClock } from '../../helpers/ledger';

const STAGES = ['Source', 'Package', 'Dev', 'Staging', 'Prod'];
const dag = (over: Partial<DagEntry> = {}): DagEntry => ({ dagId: 'claims_daily', file: 'dags/claims.py', schedule: '@daily', startDate: '2025-01-01T00:00:00+00:00', catchup: true, ...over });

describe('Rollback(λ) against moto DynamoDB and the CodePipeline fake', () => {
  const fake = new CodePipelineFake();
  beforeAll(() => fake.start());
  afterAll(() => fake.stop());

  /** prod ran v1 (good), then v2 (current); both succeeded in Prod. */
  async function setup(opts: { currentDags?: DagEntry[] } = {}) {
    const clock = testClock();
    const { ledger } = await createTestLedger({ now: clock.now });
    const pipeline = `northstar-orchestration-${Math.random().toString(36).slice(2, 8)}`;
    fake.addPipeline(pipeline, STAGES);
    const good = fake.startExecution(pipeline, new Date('2026-03-01T00:00:00Z'));
    fake.setStage(pipeline, good, 'Prod', 'Succeeded', 'Succeeded');
    const current = fake.startExecution(pipeline, new Date('2026-03-02T00:00:00Z'));
    fake.setStage(pipeline, current, 'Prod', 'Succeeded', 'Succeeded');
    const base = { repo: 'orchestration', env: 'prod' as const, manifestSha256: null, isRollback: false };
    await ledger.putExecution({ ...base, executionId: good, version: 'v1', dags: [dag()], assets: { 'dags/claims.py': 'a'.repeat(64) } });
    await ledger.putExecution({ ...base, executionId: current, version: 'v2', dags: opts.currentDags ?? [dag()], assets: { 'dags/claims.py': 'b'.repeat(64), 'dags/new.py': 'c'.repeat(64) } });
    await ledger.recordSuccess({ repo: 'orchestration', env: 'prod', version: 'v1', executionId: good, manifestSha256: null, wasRollback: false });
    clock.advance(60);
    await ledger.recordSuccess({ repo: 'orchestration', env: 'prod', version: 'v2', executionId: current, manifestSha256: null, wasRollback: false });
    const deps: RollbackDeps = { codepipeline: fake.client(), ledger, pipelines: { orchestration: pipeline }, log: memoryLog(), now: clock.now };
    return { ledger, deps, pipeline, good, current, clock };
  }
  const request = { repo: 'orchestration', env: 'prod', reason: 'claims_daily fails on v2', requestedBy: 'oncall@northstar' };

  it('rolls prod back to the last successful execution, records it and returns the plan', async () => {
    // GIVEN prod runs v2 and v1 succeeded before
    const { ledger, deps, pipeline, good } = await setup();
    // WHEN a rollback is requested
    const out = await rollback(request, deps);
    // THEN RollbackStage was called with v1's execution, and the answer carries the plan and the new execution
    expect(RollbackResponseSchema.parse(out)).toMatchObject({ status: 'started', fromVersion: 'v2', toVersion: 'v1', targetExecutionId: good, stage: 'Prod', pipeline });
    expect(fake.callsOf('RollbackStage').at(-1)?.input).toEqual({ pipelineName: pipeline, stageName: 'Prod', targetPipelineExecutionId: good });
    expect(out.plan).toMatchObject({ pauseDags: [{ dagId: 'claims_daily', repo: 'orchestration', reasons: ['its file or definition changes in the rollback'] }], putAssets: { 'dags/claims.py': 'a'.repeat(64) }, deleteAssets: ['dags/new.py'] });
    // AND the ledger holds the rollback and knows the new execution is a rollback of v1
    const events = await ledger.eventsFor('orchestration', 'prod');
    expect(events).toEqual([expect.objectContaining({ kind: 'rollback', result: 'started', requestedBy: 'oncall@northstar', toVersion: 'v1', targetExecutionId: good })]);
    expect(await ledger.getExecution(out.rollbackExecutionId as string, 'prod')).toMatchObject({ version: 'v1', isRollback: true });
  });

  it('plans without calling CodePipeline on a dry run', async () => {
    // GIVEN prod runs v2 WHEN a dry run is requested
    const { ledger, deps, pipeline } = await setup();
    const out = await rollback({ ...request, dryRun: true }, deps);
    // THEN it answers planned, no RollbackStage for this pipeline, and records a skipped rollback
    expect(out).toMatchObject({ status: 'planned', toVersion: 'v1' });
    expect(fake.callsOf('RollbackStage').filter((c) => c.input.pipelineName === pipeline)).toHaveLength(0);
    expect((await ledger.eventsFor('orchestration', 'prod'))[0]).toMatchObject({ kind: 'rollback', result: 'skipped', dryRun: true });
  });

  it('fails a second request while the first rollback is running (no rollback of a rollback)', async () => {
    // GIVEN a started rollback
    const { deps, pipeline } = await setup();
    await rollback(request, deps);
    // WHEN another request comes (an alarm firing again)
    const again = await rollback({ ...request, requestedBy: 'alarm:prod-bake' }, deps);
    // THEN it is refused and CodePipeline was asked once
    expect(again).toMatchObject({ status: 'refused', message: expect.stringMatching(/rollback in progress/) });
    expect(fake.callsOf('RollbackStage').filter((c) => c.input.pipelineName === pipeline)).toHaveLength(1);
  });

  it('fails to roll back an environment that a rollback put where it is', async () => {
    // GIVEN the rollback execution finished and the Recorder recorded it
    const { ledger, deps, pipeline } = await setup();
    const first = await rollback(request, deps);
    fake.setStage(pipeline, first.rollbackExecutionId as string, 'Prod', 'Succeeded', 'Succeeded');
    await ledger.recordSuccess({ repo: 'orchestration', env: 'prod', version: 'v1', executionId: first.rollbackExecutionId as string, manifestSha256: null, wasRollback: true });
    // WHEN another rollback is requested THEN it is refused as a rollback of a rollback
    const out = await rollback(request, deps);
    expect(out).toMatchObject({ status: 'refused', message: expect.stringMatching(/a rollback of a rollback is refused/) });
  });

  it('fails a rollback that would start catch-up runs, naming the DAG and the change', async () => {
    // GIVEN v2 moved claims_daily's start_date; v1 catches up
    const { deps, pipeline } = await setup({ currentDags: [dag({ startDate: '2025-06-01T00:00:00+00:00' })] });
    // WHEN a rollback is requested
    const out = await rollback(request, deps);
    // THEN refused with the hazard, and no RollbackStage call
    expect(out).toMatchObject({ status: 'refused', hazards: [{ dagId: 'claims_daily', change: expect.stringMatching(/start_date 2025-06-01.* → 2025-01-01/) }] });
    expect(fake.callsOf('RollbackStage').filter((c) => c.input.pipelineName === pipeline)).toHaveLength(0);
  });

  it.each([
    ['without a reason', { reason: '' }, /reason: give a reason/],
    ['for an unknown environment', { env: 'qa' }, /env: env must be one of dev, staging, prod/],
    ['without who asked', { requestedBy: ' ' }, /requestedBy: name who requests/],
    ['with an unknown field', { force: true }, /Unrecognized key/],
  ])('fails a request %s, naming the field', async (_n, change, message) => {
    // GIVEN a request with one thing wrong WHEN handled THEN invalid, naming it
    const { deps } = await setup();
    const out = await rollback({ ...request, ...change }, deps);
    expect(out).toMatchObject({ status: 'invalid', message: expect.stringMatching(message) });
  });

  it('fails for a repo without a pipeline, listing the known repos', async () => {
    const { deps } = await setup();
    expect(await rollback({ ...request, repo: 'nope' }, deps)).toMatchObject({ status: 'invalid', message: expect.stringMatching(/known repos: orchestration/) });
  });

  it('frees a lock left by a finished execution so the rollback execution can deploy', async () => {
    // GIVEN the current (finished) execution still holds the prod lock
    const { ledger, deps, current } = await setup();
    await ledger.acquireLock('orchestration', 'prod', current);
    // WHEN a rollback starts THEN the lock is free
    await rollback(request, deps);
    expect(await ledger.getLock('orchestration', 'prod')).toBeNull();
  });

  it('publishes RollbackStarted and the seconds from the request to the RollbackStage call', async () => {
    // GIVEN a request made 2 s before the handler's clock WHEN the rollback starts
    const { deps, clock } = await setup();
    const cloudwatch = new CloudWatchClient(motoClientConfig());
    const requestedAt = new Date(clock.now().getTime() - 2000).toISOString();
    const out = await rollback({ ...request, requestedAt }, { ...deps, cloudwatch });
    // THEN the call happened and both metrics exist for the repo
    expect(out.status).toBe('started');
    const names = (await cloudwatch.send(new ListMetricsCommand({ Namespace: 'DataOps' }))).Metrics?.map((m) => m.MetricName);
    expect(names).toEqual(expect.arrayContaining(['RollbackStarted', 'RollbackStartSeconds']));
  });

  /** v2's dbt apply swapped in ANALYTICS.CORE.STG_CLAIMS (as the dbt deployer records it). */
  async function swappedByCurrent(ledger: Awaited<ReturnType<typeof setup>>['ledger'], current: string) {
    const t = { database: 'ANALYTICS', schema: 'CORE', name: 'STG_CLAIMS' };
    await ledger.appendEvent({
      kind: 'deploy-step', repo: 'orchestration', env: 'prod', actor: 'codebuild', version: 'v2', executionId: current, assetKind: 'dbt', step: 'apply', result: 'succeeded', writes: 4, summary: 'swapped', message: 'swapped',
      previous: { releaseVersion: 'v2', bucket: 'b', prefix: 'dbt/orchestration/', objects: {}, preDeployAt: '2026-03-02T00:00:00Z', tables: [{ uniqueId: 'model.core.stg_claims', table: t, keptAs: { ...t, name: 'STG_CLAIMS__DATAOPS_V2' }, before: { lastAltered: '2026-03-01T23:00:00Z', rowCount: 2, comment: null }, lastAlteredAfterSwap: '2026-03-02T00:00:05Z' }] },
    });
  }

  it('lists in a dry run the DAGs of other repos that read a table the rollback may restore, from the registry', async () => {
    // GIVEN v2 swapped stg_claims in, and repo reporting has a DAG scheduled on its Dataset (registry in moto S3)
    const { ledger, deps, current } = await setup();
    await swappedByCurrent(ledger, current);
    const registry = await motoRegistry(inventoryFragment('reporting', { airflow: [datasetDag('claims_report', { readsUri: 'snowflake://analytics/core/stg_claims' })] }));
    // WHEN a dry run is requested of a Rollback(λ) that has the registry
    const out = await rollback({ ...request, dryRun: true }, { ...deps, registry });
    // THEN the plan pauses that DAG, with its repo and the table, beside the repo's own changed DAG
    expect(out.plan?.pauseDags).toEqual([
      { dagId: 'claims_daily', repo: 'orchestration', reasons: ['its file or definition changes in the rollback'] },
      { dagId: 'claims_report', repo: 'reporting', reasons: [expect.stringMatching(/^reads ANALYTICS\.CORE\.STG_CLAIMS, which the rollback restores/)] },
    ]);
    expect(out.plan?.pauseNote).toBeNull();
    expect(out.message).toMatch(/pause 2 DAGs \(1 of other repos\)/);
  });

  it('says in a dry run without a registry that the DAGs of other repos are found by the Deploy action', async () => {
    // GIVEN v2 swapped stg_claims in WHEN a dry run is requested of a Rollback(λ) without a registry
    const { ledger, deps, current } = await setup();
    await swappedByCurrent(ledger, current);
    const out = await rollback({ ...request, dryRun: true }, deps);
    // THEN only the repo's own DAG is listed and the note says why the others are not
    expect(out.plan?.pauseDags.map((d) => d.dagId)).toEqual(['claims_daily']);
    expect(out.plan?.pauseNote).toMatch(/Rollback\(λ\) has no asset graph registry \(DATAOPS_GRAPH_REGISTRY\)/);
  });

  it('rolls back to a requested version', async () => {
    // GIVEN v1 and v2 WHEN asked for v1 explicitly THEN it targets v1
    const { deps, good } = await setup();
    expect(await rollback({ ...request, toVersion: 'v1' }, deps)).toMatchObject({ status: 'started', targetExecutionId: good });
  });
});
