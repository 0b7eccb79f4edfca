/**
 * Fault injection on the deploy path: every write of an Airflow deploy fails in turn, a deploy
 * crashes between apply and its ledger record, a CodePipeline job is retried, and two deploys
 * contend for the lock. Each time, running again converges, and a rollback puts back exactly the
 * previous object set (same sha256 for every object), with the ledger showing both.
 * Servers: moto (S3 versioned bucket, DynamoDB ledger) and the MWAA CLI fake (Airflow model).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { Ledger } from '../../../lib/runtime/ledger/ledger';
import { MwaaDagDeployer } from '../../../lib/runtime/deployers/mwaa-dag-deployer';
import { recordedPrevious, runDeployStep, runRestoreStep } from '../../../lib/runtime/deployers/step';
import { listDags } from '../../../lib/runtime/mwaa/airflow-commands';
import { MwaaCliClient, type AirflowCli } from '../../../lib/runtime/mwaa/cli-client';
import { createTestLedger, type TestLedger } from '../../helpers/ledger';
import { motoClientConfig, uniqueName } from '../../helpers/moto';
import { manualClock, ModelAirflow, startMwaaCliFake, type MwaaCliFake } from '../../helpers/mwaa-cli-fake';
import { createVersionedBucket, dagFile, deployContext, motoS3, storedSha256s, writeRelease, type ReleaseFile } from '../../helpers/s3-fixtures';
import { dagFolderPrefix } from '../../../lib/runtime/mwaa/dag-package';

const ENV_NAME = 'northstar-dev';
let s3: S3Client;
let bucket: string;
let fake: MwaaCliFake;
let cli: AirflowCli;
let airflow: ModelAirflow;
let test: TestLedger;

/** Fault plan: fail the n-th write (S3 put/delete/copy or DAG pause/unpause) after arming. */
const fault = { armed: false, count: 0, failAt: 0 };
function maybeFail(what: string): void {
  if (!fault.armed) return;
  fault.count++;
  if (fault.count === fault.failAt) throw new Error(`injected fault on write ${fault.count}: ${what}`);
}

beforeAll(async () => {
  s3 = motoS3();
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      if (['PutObjectCommand', 'DeleteObjectCommand', 'CopyObjectCommand'].includes(context.commandName ?? '')) maybeFail(`${context.commandName} ${(args.input as { Key?: string }).Key}`);
      return next(args);
    },
    { step: 'initialize', name: 'faultInjection' },
  );
  bucket = await createVersionedBucket(s3);
  airflow = new ModelAirflow();
  fake = await startMwaaCliFake({ environmentName: ENV_NAME, backend: airflow, s3: motoS3(), dagBucket: bucket, now: clock.now });
  const client = new MwaaCliClient({ mwaa: fake.mwaaClient(), environmentName: ENV_NAME, scheme: 'http' });
  cli = {
    run: async (command) => {
      if (/^dags (pause|unpause) /.test(command)) maybeFail(command);
      return client.run(command);
    },
  };
  test = await createTestLedger();
});
afterAll(async () => fake?.stop());

/** The environment's clock, shared with the deployer's waits for the parse (MWAA-like: 30 s sync lag, a look every 15 s), which cost no real time. */
const clock = manualClock();
const deployer = (): MwaaDagDeployer => new MwaaDagDeployer({ s3, airflow: cli, clock, parseWaitMs: 600_000, parsePollMs: 15_000 });

/** Release 1: five DAGs. Release 2: changes three, deletes one, adds one. */
function releases(repo: string): { r1: ReleaseFile[]; r2: ReleaseFile[] } {
  const id = (n: string) => `${repo.replace(/-/g, '_')}_${n}`;
  const f = (n: string, schedule?: string): ReleaseFile => ({ kind: 'airflow', path: `dags/${n}.py`, body: dagFile(id(n), { schedule }) });
  return {
    r1: [f('a'), f('b'), f('c'), f('d'), f('e')],
    r2: [f('a', '@weekly'), f('b', '@weekly'), f('c', '@weekly'), f('e'), f('new')],
  };
}

async function ctxOf(repo: string, build: number, files: ReleaseFile[]) {
  const { release, dir } = await writeRelease({ repo, build, files });
  return deployContext(release, dir, { dagBucket: bucket });
}

async function pausedStates(repo: string): Promise<Record<string, boolean>> {
  const prefix = repo.replace(/-/g, '_');
  return Object.fromEntries((await listDags(cli)).filter((d) => d.dagId.startsWith(prefix)).map((d) => [d.dagId, d.paused]));
}

describe('fault injection on the Airflow deploy path', () => {
  // Release 2's apply makes 21 writes: pause marker, the hold records of a, b, c, d (4), pause a, 4 uploads (a, b, c, new),
  // 1 delete (d), each hold marked releasing (4), unpause a, each hold freed (4), marker delete.
  const WRITES = Array.from({ length: 21 }, (_, i) => i + 1);

  it.each(WRITES)('converges after write %i of the deploy fails, and a rollback restores every object of the previous release byte for byte', async (failAt) => {
    // GIVEN release 1 deployed by execution e1, with DAG a unpaused by its owner
    const repo = uniqueName('fault');
    const { r1, r2 } = releases(repo);
    const ctx1 = await ctxOf(repo, 1, r1);
    const deps = (executionId: string) => ({ ledger: test.ledger, executionId, actor: 'codepipeline' });
    await runDeployStep(deployer(), ctx1, deps(`${repo}-e1`));
    await cli.run(`dags unpause ${repo.replace(/-/g, '_')}_a -o json`);
    const objects1 = await storedSha256s(s3, bucket, dagFolderPrefix(repo));
    const paused1 = await pausedStates(repo);
    // WHEN release 2's deploy fails at write `failAt`
    const ctx2 = await ctxOf(repo, 2, r2);
    Object.assign(fault, { armed: true, count: 0, failAt });
    const failure = await runDeployStep(deployer(), ctx2, deps(`${repo}-e2`)).catch((e: Error) => e);
    fault.armed = false;
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toMatch(new RegExp(`injected fault on write ${failAt}`));
    // AND CodePipeline retries the action (same execution)
    const retry = await runDeployStep(deployer(), ctx2, deps(`${repo}-e2`));
    // THEN the environment holds exactly release 2 and DAG a is unpaused again
    const objects2 = await storedSha256s(s3, bucket, dagFolderPrefix(repo));
    expect(objects2).toEqual(Object.fromEntries(ctx2.release.assets.map((a) => [a.path.replace(/^dags\//, dagFolderPrefix(repo)), a.sha256])));
    expect(retry.replayed).toBe(false);
    expect(await pausedStates(repo)).toMatchObject({ [`${repo.replace(/-/g, '_')}_a`]: false });
    // AND WHEN release 2 is rolled back with the previous state the ledger recorded for e2
    const previous = await recordedPrevious(test.ledger, ctx2, `${repo}-e2`, 'airflow');
    await runRestoreStep(deployer(), previous as Parameters<MwaaDagDeployer['restore']>[0], ctx2, deps(`${repo}-rollback`));
    // THEN every object is byte-identical to release 1, with the same paused states
    expect(await storedSha256s(s3, bucket, dagFolderPrefix(repo))).toEqual(objects1);
    expect(await pausedStates(repo)).toEqual(paused1);
    // AND the ledger shows the failed attempt, the converged retry and the restore
    const steps = (await test.ledger.eventsFor(repo, 'dev')).filter((e) => e.kind === 'deploy-step').map((e) => `${e.executionId?.replace(`${repo}-`, '')}:${e.kind === 'deploy-step' ? e.step : ''}:${e.result}`);
    expect(steps).toEqual(['e1:apply:started', 'e1:apply:succeeded', 'e2:apply:started', 'e2:apply:failed', 'e2:apply:succeeded', 'rollback:restore:succeeded']);
  });

  it('counts the writes of release 2 so that every one of them is failed in turn above', async () => {
    // GIVEN release 1 deployed with DAG a unpaused
    const repo = uniqueName('count');
    const { r1, r2 } = releases(repo);
    await runDeployStep(deployer(), await ctxOf(repo, 1, r1), { ledger: test.ledger, executionId: `${repo}-e1`, actor: 'test' });
    await cli.run(`dags unpause ${repo.replace(/-/g, '_')}_a -o json`);
    // WHEN release 2 is deployed without faults, counting writes
    Object.assign(fault, { armed: true, count: 0, failAt: 0 });
    const result = await runDeployStep(deployer(), await ctxOf(repo, 2, r2), { ledger: test.ledger, executionId: `${repo}-e2`, actor: 'test' });
    fault.armed = false;
    // THEN the deploy made exactly the writes the table above fails one by one
    expect(fault.count).toBe(WRITES.length);
    // AND the deploy reports the 9 that change the environment (the 12 hold-record writes are bookkeeping)
    expect(result.writes).toBe(WRITES.length - 12);
  });

  it('a crash between apply and its ledger record loses nothing: the retry takes the claim over, writes nothing and keeps the first previous state', async () => {
    // GIVEN release 1 deployed, and a process that dies when it records the success of release 2
    const repo = uniqueName('crash');
    const { r1, r2 } = releases(repo);
    await runDeployStep(deployer(), await ctxOf(repo, 1, r1), { ledger: test.ledger, executionId: `${repo}-e1`, actor: 'test' });
    const objects1 = await storedSha256s(s3, bucket, dagFolderPrefix(repo));
    const dying = new DynamoDBClient(motoClientConfig());
    let dead = false;
    dying.middlewareStack.add(
      (next) => async (args) => {
        // The document client may hand over the item before or after marshalling.
        const result = (args.input as { Item?: { result?: unknown } }).Item?.result;
        if (result === 'succeeded' || (result as { S?: string } | undefined)?.S === 'succeeded') dead = true;
        if (dead) throw new Error('process died');
        return next(args);
      },
      { step: 'initialize', name: 'crash' },
    );
    const ctx2 = await ctxOf(repo, 2, r2);
    await expect(runDeployStep(deployer(), ctx2, { ledger: Ledger.fromClient(dying, test.tableName), executionId: `${repo}-e2`, actor: 'test' })).rejects.toThrow('process died');
    // WHEN CodePipeline retries the job after the claim's lease ran out (a new process, two hours later)
    const later = Ledger.fromClient(new DynamoDBClient(motoClientConfig()), test.tableName, { now: () => new Date(Date.now() + 2 * 3600_000) });
    const retry = await runDeployStep(deployer(), ctx2, { ledger: later, executionId: `${repo}-e2`, actor: 'test' });
    // THEN the retry wrote nothing, and the previous state is release 1's, recorded before the crash
    expect(retry.writes).toBe(0);
    const previous = retry.previous as Parameters<MwaaDagDeployer['restore']>[0];
    expect(Object.fromEntries(Object.entries(previous.objects).map(([k, v]) => [k, v.sha256]))).toEqual(objects1);
    // AND a rollback from the ledger's record restores release 1 exactly
    await runRestoreStep(deployer(), (await recordedPrevious(later, ctx2, `${repo}-e2`, 'airflow')) as typeof previous, ctx2, { ledger: later, executionId: `${repo}-rb`, actor: 'test' });
    expect(await storedSha256s(s3, bucket, dagFolderPrefix(repo))).toEqual(objects1);
  });

  it('a CodePipeline retry of a completed deploy does nothing twice', async () => {
    // GIVEN release 1 deployed by execution e1
    const repo = uniqueName('retry');
    const ctx = await ctxOf(repo, 1, releases(repo).r1);
    const first = await runDeployStep(deployer(), ctx, { ledger: test.ledger, executionId: `${repo}-e1`, actor: 'test' });
    // WHEN the same job runs again (counting writes)
    Object.assign(fault, { armed: true, count: 0, failAt: 0 });
    const again = await runDeployStep(deployer(), ctx, { ledger: test.ledger, executionId: `${repo}-e1`, actor: 'test' });
    fault.armed = false;
    // THEN it is a replay: no write at all, and one success in the ledger
    expect(first.writes).toBe(5);
    expect(again).toMatchObject({ replayed: true, writes: 0 });
    expect(fault.count).toBe(0);
    expect((await test.ledger.eventsFor(repo, 'dev')).filter((e) => e.kind === 'deploy-step' && e.result === 'succeeded')).toHaveLength(1);
  });

  it('deploys the same execution to the next environment instead of replaying the first one (the claim names the environment)', async () => {
    // GIVEN execution e1 deployed release 1 to dev
    const repo = uniqueName('promote');
    const { release, dir } = await writeRelease({ repo, build: 1, files: releases(repo).r1 });
    await runDeployStep(deployer(), deployContext(release, dir, { dagBucket: bucket }), { ledger: test.ledger, executionId: `${repo}-e1`, actor: 'test' });
    // WHEN the same execution deploys it to staging (its own DAG bucket)
    const stagingBucket = await createVersionedBucket(s3, 'staging-dags');
    const staging = await runDeployStep(deployer(), deployContext(release, dir, { env: 'staging', dagBucket: stagingBucket }), { ledger: test.ledger, executionId: `${repo}-e1`, actor: 'test' });
    // THEN staging really got the files (5 uploads; the one Airflow of this test lists the repo's 5 DAGs, paused, so the
    // deploy holds them for the sync: pause marker written and deleted)
    expect(staging).toMatchObject({ replayed: false, writes: 7 });
    expect(Object.keys(await storedSha256s(s3, stagingBucket, dagFolderPrefix(repo)))).toHaveLength(5);
  });

  it('fails the second of two concurrent deploys of one repo to one environment on the lock, and it proceeds once the first releases it', async () => {
    // GIVEN execution e1 holds the lock of repo/dev
    const repo = uniqueName('lock');
    expect(await test.ledger.acquireLock(repo, 'dev', `${repo}-e1`)).toMatchObject({ acquired: true });
    // WHEN execution e2 tries to take it THEN it is refused, naming the holder
    expect(await test.ledger.acquireLock(repo, 'dev', `${repo}-e2`)).toMatchObject({ acquired: false, holder: `${repo}-e1` });
    // AND WHEN e1 releases it THEN e2 gets it
    await test.ledger.releaseLock(repo, 'dev', `${repo}-e1`);
    expect(await test.ledger.acquireLock(repo, 'dev', `${repo}-e2`)).toMatchObject({ acquired: true });
  });
});
