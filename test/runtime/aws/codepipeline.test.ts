import { randomUUID } from 'crypto';
import { CodePipelineFake } from '../../helpers/codepipeline-fake';
import { getJobContext, getStageStates, listPipelineExecutions, putJobFailure, putJobSuccess, rollbackStage } from '../../../lib/runtime/aws/codepipeline';

describe('CodePipeline adapters against the job API fake', () => {
  const fake = new CodePipelineFake();
  beforeAll(() => fake.start());
  afterAll(() => fake.stop());

  it('reads a job\'s pipeline context and reports success once', async () => {
    // GIVEN a job of a running execution
    fake.addPipeline('p1', ['Source', 'Dev']);
    const exec = fake.startExecution('p1');
    const job = fake.createJob({ pipelineName: 'p1', stageName: 'Dev', actionName: 'Promote', executionId: exec });
    const client = fake.client();
    // WHEN the adapter reads it and reports success
    const ctx = await getJobContext(client, job.id);
    await putJobSuccess(client, job.id, 'ok');
    // THEN the context names the execution, the job succeeded, and a second report is refused
    expect(ctx).toEqual({ jobId: job.id, pipelineName: 'p1', stageName: 'Dev', actionName: 'Promote', pipelineExecutionId: exec });
    expect(fake.jobs.get(job.id)).toMatchObject({ status: 'Succeeded', result: { kind: 'success', summary: 'ok' } });
    await expect(putJobFailure(client, job.id, 'late')).rejects.toMatchObject({ name: 'InvalidJobStateException' });
  });

  it('fails with JobNotFoundException for an unknown job', async () => {
    // GIVEN no such job WHEN read THEN the SDK raises the modeled exception
    await expect(getJobContext(fake.client(), randomUUID())).rejects.toMatchObject({ name: 'JobNotFoundException' });
  });

  it('reports failure with a message trimmed to the 5000 characters the API allows', async () => {
    // GIVEN a job
    fake.addPipeline('p2', ['Source', 'Dev']);
    const job = fake.createJob({ pipelineName: 'p2', stageName: 'Dev', actionName: 'Promote', executionId: fake.startExecution('p2') });
    // WHEN a 6000-character failure is reported
    await putJobFailure(fake.client(), job.id, 'x'.repeat(6000));
    // THEN the job failed with JobFailed and 5000 characters
    const r = fake.jobs.get(job.id)?.result;
    expect(r).toMatchObject({ kind: 'failure', type: 'JobFailed' });
    expect(r?.kind === 'failure' && r.message.length).toBe(5000);
  });

  it('rolls a stage back to an execution that succeeded in it, and lists the rollback execution first', async () => {
    // GIVEN two executions, the older succeeded in Prod and the newer failed there
    fake.addPipeline('p3', ['Source', 'Prod']);
    const good = fake.startExecution('p3', new Date('2026-03-01T00:00:00Z'));
    fake.setStage('p3', good, 'Prod', 'Succeeded', 'Succeeded');
    const bad = fake.startExecution('p3', new Date('2026-03-02T00:00:00Z'));
    fake.setStage('p3', bad, 'Prod', 'Failed', 'Failed');
    const client = fake.client();
    // WHEN Prod is rolled back to the good one
    const id = await rollbackStage(client, 'p3', 'Prod', good);
    const list = await listPipelineExecutions(client, 'p3');
    const states = await getStageStates(client, 'p3');
    // THEN a ROLLBACK execution runs the stage, targeting the good one
    expect(list[0]).toMatchObject({ pipelineExecutionId: id, executionType: 'ROLLBACK', status: 'InProgress', rollbackMetadata: { rollbackTargetPipelineExecutionId: good } });
    expect(list.map((e) => e.pipelineExecutionId)).toEqual([id, bad, good]);
    expect(list[2].startTime).toEqual(new Date('2026-03-01T00:00:00Z'));
    expect(states.find((s) => s.stageName === 'Prod')?.latestExecution).toEqual({ pipelineExecutionId: id, status: 'InProgress' });
  });

  it.each([
    ['an execution that failed in the stage', 'failed', 'UnableToRollbackStageException'],
    ['a rollback execution', 'rollback', 'UnableToRollbackStageException'],
    ['an unknown execution', 'unknown', 'PipelineExecutionNotFoundException'],
    ['an execution id that is not a UUID', 'not-uuid', 'ValidationException'],
  ])('fails to roll back to %s', async (_what, kind, error) => {
    // GIVEN a pipeline with a good, a failed and a rollback execution
    const name = `p-${randomUUID().slice(0, 8)}`;
    fake.addPipeline(name, ['Source', 'Prod']);
    const good = fake.startExecution(name);
    fake.setStage(name, good, 'Prod', 'Succeeded', 'Succeeded');
    const failed = fake.startExecution(name);
    fake.setStage(name, failed, 'Prod', 'Failed', 'Failed');
    const client = fake.client();
    const rb = await rollbackStage(client, name, 'Prod', good);
    fake.setStage(name, rb, 'Prod', 'Succeeded', 'Succeeded');
    const target = { failed, rollback: rb, unknown: randomUUID(), 'not-uuid': 'exec-1' }[kind] as string;
    // WHEN the stage is rolled back to it THEN CodePipeline's error comes back
    await expect(rollbackStage(client, name, 'Prod', target)).rejects.toMatchObject({ name: error });
  });

  it('pages ListPipelineExecutions with nextToken', async () => {
    // GIVEN 150 executions
    fake.addPipeline('p4', ['Source', 'Dev']);
    for (let i = 0; i < 150; i++) fake.startExecution('p4');
    // WHEN listed up to 120 THEN 120 come back over two pages
    const before = fake.callsOf('ListPipelineExecutions').length;
    expect(await listPipelineExecutions(fake.client(), 'p4', 120)).toHaveLength(120);
    expect(fake.callsOf('ListPipelineExecutions').length - before).toBe(2);
  });
});
