import { promote, type PromoteDeps } from '../../../lib/runtime/promote/promote';
import { CodePipelineFake } from '../../helpers/codepipeline-fake';
import { createTestLedger, memoryLog } from '../../helpers/ledger';
import { artifactBucket, releaseFiles } from '../helpers/release-fixture';

describe('Promote(λ) against moto (S3, DynamoDB) and the CodePipeline fake', () => {
  const fake = new CodePipelineFake();
  beforeAll(() => fake.start());
  afterAll(() => fake.stop());

  async function setup(env: 'dev' | 'staging' | 'prod' = 'dev', files = releaseFiles().files) {
    const { ledger } = await createTestLedger();
    const bucket = await artifactBucket();
    const pipeline = `northstar-orchestration-${Math.random().toString(36).slice(2, 8)}`;
    fake.addPipeline(pipeline, ['Source', 'Package', 'Dev', 'Staging', 'Prod']);
    const executionId = fake.startExecution(pipeline);
    const artifact = await bucket.upload(files);
    const deps: PromoteDeps = { codepipeline: fake.client(), s3: bucket.s3, ledger, log: memoryLog() };
    const newJob = (exec = executionId, e = env) =>
      fake.createJob({ pipelineName: pipeline, stageName: e, actionName: 'Promote', executionId: exec, configuration: { UserParameters: JSON.stringify({ repo: 'orchestration', env: e }) }, inputArtifacts: [artifact] });
    return { ledger, deps, pipeline, executionId, newJob, bucket };
  }

  it('promotes a valid release into dev, takes the lock, records it and reports success', async () => {
    // GIVEN a valid release in the artifact bucket and a Promote job
    const { ledger, deps, executionId, newJob } = await setup('dev');
    const job = newJob();
    // WHEN Promote runs
    const out = await promote(fake.lambdaEvent(job), deps);
    // THEN CodePipeline got success, the lock is the execution's, and the ledger holds the promotion
    expect(out).toMatchObject({ reported: 'success', replayed: false });
    expect(fake.jobs.get(job.id)?.status).toBe('Succeeded');
    expect((await ledger.getLock('orchestration', 'dev'))?.holder).toBe(executionId);
    expect((await ledger.getReleaseStatus('orchestration', 'dev', '20260302.41+abc1234'))?.status).toBe('promoted');
    expect(await ledger.getExecution(executionId, 'dev')).toMatchObject({ version: '20260302.41+abc1234', isRollback: false, assets: { 'dags/claims.py': expect.any(String) } });
    const events = await ledger.eventsFor('orchestration', 'dev');
    expect(events).toEqual([expect.objectContaining({ kind: 'promotion', result: 'succeeded', executionId, checksums: { 'airflow.tar.gz': expect.stringMatching(/^[0-9a-f]{64}$/) } })]);
  });

  it('does nothing twice when CodePipeline retries the action of the same execution', async () => {
    // GIVEN a promotion that already succeeded for an execution
    const { ledger, deps, newJob } = await setup('dev');
    await promote(fake.lambdaEvent(newJob()), deps);
    // WHEN the action is retried (a new job id, the same execution)
    const retry = newJob();
    const out = await promote(fake.lambdaEvent(retry), deps);
    // THEN it reports success again without writing a second promotion
    expect(out).toMatchObject({ reported: 'success', replayed: true });
    expect(fake.jobs.get(retry.id)?.status).toBe('Succeeded');
    expect(await ledger.eventsFor('orchestration', 'dev')).toHaveLength(1);
  });

  it('fails a release whose artifact does not match its checksum, naming the file and the fix', async () => {
    // GIVEN a release whose tarball changed after packaging
    const { files } = releaseFiles();
    files.set('airflow.tar.gz', Buffer.from('tampered'));
    const { ledger, deps, newJob } = await setup('dev', files);
    const job = newJob();
    // WHEN Promote runs
    await promote(fake.lambdaEvent(job), deps);
    // THEN CodePipeline got a failure naming the artifact, no lock was taken, the refusal is recorded
    expect(fake.jobs.get(job.id)?.result).toMatchObject({ kind: 'failure', type: 'JobFailed', message: expect.stringMatching(/airflow\.tar\.gz has sha256 .* re-run the Package stage/) });
    expect(await ledger.getLock('orchestration', 'dev')).toBeNull();
    expect((await ledger.eventsFor('orchestration', 'dev'))[0]).toMatchObject({ kind: 'promotion', result: 'refused' });
  });

  it('fails to promote into staging a release that did not succeed in dev (no skipping)', async () => {
    // GIVEN a valid release never verified in dev
    const { deps, newJob } = await setup('staging');
    const job = newJob(undefined, 'staging');
    // WHEN Promote runs for staging THEN it fails naming dev
    await promote(fake.lambdaEvent(job), deps);
    expect(fake.jobs.get(job.id)?.result).toMatchObject({ kind: 'failure', message: expect.stringMatching(/has not succeeded in dev/) });
  });

  it('promotes into staging once the release is verified in dev', async () => {
    // GIVEN the release verified in dev
    const { ledger, deps, newJob, executionId } = await setup('staging');
    await ledger.putReleaseStatus({ repo: 'orchestration', env: 'dev', version: '20260302.41+abc1234', status: 'verified', manifestSha256: null, executionId });
    const job = newJob(undefined, 'staging');
    // WHEN Promote runs for staging THEN it succeeds
    expect(await promote(fake.lambdaEvent(job), deps)).toMatchObject({ reported: 'success' });
  });

  it('fails while another execution holds the repo/env lock, and succeeds on retry once it is free', async () => {
    // GIVEN another execution holds the dev lock
    const { ledger, deps, newJob, executionId } = await setup('dev');
    await ledger.acquireLock('orchestration', 'dev', 'other-execution');
    const first = newJob();
    // WHEN Promote runs, then the lock is released and CodePipeline retries
    await promote(fake.lambdaEvent(first), deps);
    await ledger.releaseLock('orchestration', 'dev', 'other-execution');
    const retry = newJob();
    await promote(fake.lambdaEvent(retry), deps);
    // THEN the first failed naming the holder, the retry succeeded and holds the lock
    expect(fake.jobs.get(first.id)?.result).toMatchObject({ kind: 'failure', message: expect.stringMatching(/locked by pipeline execution other-execution/) });
    expect(fake.jobs.get(retry.id)?.status).toBe('Succeeded');
    expect((await ledger.getLock('orchestration', 'dev'))?.holder).toBe(executionId);
  });

  it('fails with a readable message when UserParameters is not the expected JSON', async () => {
    // GIVEN a job whose UserParameters misses env
    const { deps, pipeline, executionId } = await setup('dev');
    const job = fake.createJob({ pipelineName: pipeline, stageName: 'Dev', actionName: 'Promote', executionId, configuration: { UserParameters: '{"repo":"orchestration"}' } });
    // WHEN Promote runs THEN CodePipeline gets a failure that shows the expected shape
    await promote(fake.lambdaEvent(job), deps);
    expect(fake.jobs.get(job.id)?.result).toMatchObject({ kind: 'failure', message: expect.stringMatching(/env .*expected \{"repo":"<repo>","env":"dev\|staging\|prod"\}/) });
  });

  it('reports again on the invocation retry when PutJobSuccessResult failed, without promoting twice', async () => {
    // GIVEN CodePipeline answers the first PutJobSuccessResult with an error
    const { ledger, deps, newJob } = await setup('dev');
    const job = newJob();
    fake.faults.set('PutJobSuccessResult', { type: 'ThrottlingException', times: 1 });
    // WHEN Promote runs, fails to report, and Lambda retries the same event
    await expect(promote(fake.lambdaEvent(job), deps)).rejects.toMatchObject({ name: 'ThrottlingException' });
    const retry = await promote(fake.lambdaEvent(job), deps);
    // THEN the retry reports success, the job succeeded, and there is one promotion in the ledger
    expect(retry).toMatchObject({ reported: 'success', replayed: true });
    expect(fake.jobs.get(job.id)?.status).toBe('Succeeded');
    expect((await ledger.eventsFor('orchestration', 'dev')).filter((e) => e.kind === 'promotion')).toHaveLength(1);
  });

  describe('separation of duties in prod (issue 11, item 8)', () => {
    const ALICE = 'arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_DataOpsProdApprover_0a1b2c3d4e5f6a7b/alice@northstar.health';
    const DANA = 'arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_DataOpsProdApprover_0a1b2c3d4e5f6a7b/dana@northstar.health';
    /** A schema-2 release whose commit alice@northstar.health wrote, verified in staging, in a prod Promote job. */
    async function prodSetup() {
      const { files } = releaseFiles({ tamper: (m) => ({ ...m, schemaVersion: 2, commitAuthors: [{ name: 'Alice Author', email: 'alice@northstar.health' }] }) });
      const s = await setup('prod', files);
      await s.ledger.putReleaseStatus({ repo: 'orchestration', env: 'staging', version: '20260302.41+abc1234', status: 'succeeded', manifestSha256: null, executionId: s.executionId });
      const approve = (exec: string, updatedBy: string) => fake.setApproval(s.pipeline, exec, 'Prod', 'Approve', { status: 'Succeeded', updatedBy, summary: 'looks good' });
      return { ...s, approve };
    }

    it("fails a prod approval given by the release's commit author, naming the approver and the author, and promotes once another approver approves", async () => {
      // GIVEN the author approved their own release for prod (the attack)
      const { ledger, deps, executionId, newJob, approve, pipeline } = await prodSetup();
      approve(executionId, ALICE);
      const job = newJob();
      // WHEN Promote runs in the Prod stage
      const out = await promote(fake.lambdaEvent(job), deps);
      // THEN CodePipeline gets a failure naming both, no lock is taken, and the refusal is in the ledger
      expect(out).toMatchObject({ reported: 'failure' });
      const message = (fake.jobs.get(job.id)?.result as { message: string }).message;
      expect(message).toContain(`approved for prod (Prod/Approve) by ${ALICE}, who is the author of its commit abc1234, Alice Author <alice@northstar.health>`);
      expect(message).toContain('retry-mode ALL_ACTIONS');
      expect(await ledger.getLock('orchestration', 'prod')).toBeNull();
      expect((await ledger.eventsFor('orchestration', 'prod'))[0]).toMatchObject({ kind: 'promotion', result: 'refused', message });
      // AND it read the approval of its own execution from CodePipeline
      expect(fake.callsOf('ListActionExecutions').at(-1)?.input).toMatchObject({ pipelineName: pipeline, filter: { pipelineExecutionId: executionId } });
      // WHEN the stage is retried with all actions and another prod approver approves
      approve(executionId, DANA);
      const retry = newJob();
      // THEN the release is promoted, naming the approver it checked
      expect(await promote(fake.lambdaEvent(retry), deps)).toMatchObject({ reported: 'success', message: expect.stringContaining(`approved by ${DANA}, not an author of the commit`) });
      expect((await ledger.getLock('orchestration', 'prod'))?.holder).toBe(executionId);
    });

    it('fails prod when the execution has no succeeded approval, and passes a stage rollback, which skips it', async () => {
      // GIVEN an execution whose approval never ran
      const { deps, executionId, newJob, approve, pipeline } = await prodSetup();
      const job = newJob();
      await promote(fake.lambdaEvent(job), deps);
      expect(fake.jobs.get(job.id)?.result).toMatchObject({ kind: 'failure', message: expect.stringMatching(/has not passed the approval Prod\/Approve \(it is not run\)/) });
      // WHEN a later execution was approved by someone else and succeeded, and the stage is rolled back to it
      const good = fake.startExecution(pipeline);
      approve(good, DANA);
      fake.setStage(pipeline, good, 'Prod', 'Succeeded', 'Succeeded');
      const { RollbackStageCommand } = await import('@aws-sdk/client-codepipeline');
      const rollback = (await fake.client().send(new RollbackStageCommand({ pipelineName: pipeline, stageName: 'Prod', targetPipelineExecutionId: good }))).pipelineExecutionId!;
      // THEN Promote of the rollback execution succeeds without an approval of its own
      const rollbackJob = newJob(rollback);
      expect(await promote(fake.lambdaEvent(rollbackJob), deps)).toMatchObject({ reported: 'success', message: expect.stringContaining(`a stage rollback to execution ${good}`) });
      expect(executionId).not.toBe(rollback);
      // AND it records the execution as a rollback, so that its Deploy restores the replaced release's data instead of rebuilding
      expect(await deps.ledger.getExecution(rollback, 'prod')).toMatchObject({ isRollback: true });
    });

    it('records a standard approved execution as no rollback', async () => {
      const { deps, executionId, newJob, approve } = await prodSetup();
      approve(executionId, DANA);
      expect(await promote(fake.lambdaEvent(newJob()), deps)).toMatchObject({ reported: 'success' });
      expect(await deps.ledger.getExecution(executionId, 'prod')).toMatchObject({ isRollback: false });
    });
  });

  it('fails when invoked with something that is not a CodePipeline job event', async () => {
    // GIVEN an EventBridge-shaped event WHEN Promote runs THEN it throws (the DLQ keeps the event)
    const { deps } = await setup('dev');
    await expect(promote({ source: 'aws.codepipeline' }, deps)).rejects.toThrow(/not a CodePipeline job/);
  });

  it('reports a failure and lets a retry run again when reading the artifact fails', async () => {
    // GIVEN an artifact that is not a zip
    const { deps, pipeline, executionId, bucket } = await setup('dev');
    const bad = { name: 'Release', bucketName: bucket.bucket, objectKey: 'missing/object' };
    const job = fake.createJob({ pipelineName: pipeline, stageName: 'Dev', actionName: 'Promote', executionId, configuration: { UserParameters: '{"repo":"orchestration","env":"dev"}' }, inputArtifacts: [bad] });
    // WHEN Promote runs
    await promote(fake.lambdaEvent(job), deps);
    // THEN the job failed with a message that says to retry, and the claim is free again
    expect(fake.jobs.get(job.id)?.result).toMatchObject({ kind: 'failure', message: expect.stringMatching(/failed: .*retry the action/) });
    expect(await deps.ledger.claim(executionId, 'promote:dev', 'next-job')).toMatchObject({ status: 'claimed', takeover: true });
  });
});
