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
