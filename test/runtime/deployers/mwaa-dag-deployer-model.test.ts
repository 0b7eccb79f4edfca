/**
 * MWAA deployer rules that need many DAG layouts or a slow environment: against moto S3 and the
 * MWAA CLI fake with the Airflow model. Each test gets its own fake and a manual clock shared by the
 * fake (sync delay, parse times) and verify (its wait), so waiting minutes costs no real time. As on
 * MWAA, the fake's scheduler re-parses every file every 10 s, the old files too while a change is
 * still on its way from S3 (which verify's 30 s sync lag covers).
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { MwaaDagDeployer, type MwaaDagDeployerProps } from '../../../lib/runtime/deployers/mwaa-dag-deployer';
import type { DeployContext } from '../../../lib/runtime/deployers/contract';
import { MwaaCliClient, type AirflowCli } from '../../../lib/runtime/mwaa/cli-client';
import { ModelAirflow, manualClock, startMwaaCliFake, type ManualClock, type MwaaCliFake } from '../../helpers/mwaa-cli-fake';
import { createVersionedBucket, dagFile, deployContext, motoS3, writeRelease, type ReleaseFile } from '../../helpers/s3-fixtures';

const s3 = motoS3();
let bucket: string;
let fake: MwaaCliFake;
let airflow: ModelAirflow;
let cli: AirflowCli;
let clock: ManualClock;
let logs: string[];

async function startEnvironment(reparseIntervalMs: number): Promise<void> {
  airflow = new ModelAirflow();
  fake = await startMwaaCliFake({ environmentName: 'northstar-dev', backend: airflow, s3, dagBucket: bucket, now: clock.now, reparseIntervalMs });
  cli = new MwaaCliClient({ mwaa: fake.mwaaClient(), environmentName: 'northstar-dev', scheme: 'http' });
}

beforeEach(async () => {
  bucket = await createVersionedBucket(s3);
  clock = manualClock();
  logs = [];
  await startEnvironment(10_000);
});
afterEach(async () => fake?.stop());

/** MWAA-like waits on the manual clock: up to 10 minutes, a look every 15 s, 30 s S3 sync lag. */
const deployer = (over: Partial<MwaaDagDeployerProps> = {}): MwaaDagDeployer =>
  new MwaaDagDeployer({ s3, airflow: cli, clock, parseWaitMs: 600_000, parsePollMs: 15_000, syncLagMs: 30_000, ...over });

async function apply(repo: string, build: number, files: ReleaseFile[], dags: Array<{ dagId: string; file: string }> = []): Promise<DeployContext> {
  const { release, dir } = await writeRelease({ repo, build, files, dags: dags.map((d) => ({ ...d, schedule: '@daily', startDate: null, catchup: false })) });
  const ctx = { ...deployContext(release, dir, { dagBucket: bucket }), log: (l: string) => logs.push(l) };
  const d = deployer();
  await d.apply(d.plan(await d.readCurrent(ctx), ctx), ctx);
  return ctx;
}

const dag = (path: string, dagId: string, extra = ''): ReleaseFile => ({ kind: 'airflow', path, body: `${dagFile(dagId)}${extra}` });

/** Lets the environment take what the bucket holds now, with no delay (release 1 of a test). */
async function environmentCatchesUp(): Promise<void> {
  fake.setParseDelay(0);
  await cli.run('dags list -o json');
}

describe('MwaaDagDeployer with many repos in one environment', () => {
  it("ignores another repo's DAGs and import errors even when their path contains this repo's name", async () => {
    // GIVEN repo `other` with a sub-folder named `core`, holding an unpaused DAG and a broken file
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'dags/other/core/x.py', Body: dagFile('other_core_x') }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'dags/other/core/broken.py', Body: `${dagFile('other_broken')}raise ImportError("nope")\n` }));
    // WHEN repo `core` deploys a release that also has a file x.py, then verifies
    const { release, dir } = await writeRelease({ repo: 'core', files: [{ kind: 'airflow', path: 'dags/x.py', body: dagFile('core_x') }] });
    const ctx = deployContext(release, dir, { dagBucket: bucket });
    const d = deployer();
    const current = await d.readCurrent(ctx);
    airflow.setPausedDirectly('other_core_x', false);
    await d.apply(d.plan(current, ctx), ctx);
    // THEN repo core saw none of repo other's DAGs, never paused them, and its verification is clean
    expect(current.dags).toEqual([]);
    expect(fake.commands.filter((c) => c.includes('other_core_x'))).toEqual([]);
    await expect(d.verify(ctx)).resolves.toEqual({ ok: true, problems: [] });
  });

  it('leaves a paused DAG paused when its file changes, sending it no pause or unpause', async () => {
    // GIVEN a deployed DAG that is paused
    const files = (schedule: string) => [{ kind: 'airflow' as const, path: 'dags/p.py', body: dagFile('stay_paused', { schedule }) }];
    await apply('paused-repo', 1, files('@daily'));
    // WHEN its file changes
    const r2 = await writeRelease({ repo: 'paused-repo', build: 2, files: files('@hourly') });
    const c2 = deployContext(r2.release, r2.dir, { dagBucket: bucket });
    const d = deployer();
    const result = await d.apply(d.plan(await d.readCurrent(c2), c2), c2);
    // THEN the writes are the upload and the pause marker (written and deleted: the DAG is held for the sync, see docs/rollback.md "Holds"),
    // no pause or unpause was sent, and the DAG is still paused
    expect(result.writes).toBe(3);
    expect(fake.commands.filter((c) => /^dags (un)?pause stay_paused/.test(c))).toEqual([]);
    expect(airflow.isPaused('stay_paused')).toBe(true);
  });
});

describe('MwaaDagDeployer.verify while the environment is still parsing', () => {
  it('waits until the scheduler has parsed the changed files, then passes', async () => {
    // GIVEN release 1 parsed by the environment, then release 2 changing one file and adding one, which reach the environment 25 s after upload
    await apply('slow', 1, [dag('dags/a.py', 'slow_a')], [{ dagId: 'slow_a', file: 'dags/a.py' }]);
    await environmentCatchesUp();
    fake.setParseDelay(25_000);
    const ctx = await apply('slow', 2, [dag('dags/a.py', 'slow_a', '# v2\n'), dag('dags/b.py', 'slow_b')], [
      { dagId: 'slow_a', file: 'dags/a.py' },
      { dagId: 'slow_b', file: 'dags/b.py' },
    ]);
    // WHEN the release is verified
    const result = await deployer().verify(ctx);
    // THEN it passes, after waiting at least the delay, and said what it waited for
    expect(result).toEqual({ ok: true, problems: [] });
    expect(clock.slept()).toBeGreaterThanOrEqual(25_000);
    expect(logs.some((l) => /waiting for the environment to parse 2 file\(s\) \(a\.py, b\.py\)/.test(l))).toBe(true);
  });

  it('fails naming each file not yet re-parsed and how long it waited when parsing takes longer than the wait', async () => {
    // GIVEN a stalled scheduler (no periodic parse), release 1 parsed, then release 2 changing both files, which reach the environment only after an hour
    await fake.stop();
    await startEnvironment(Number.POSITIVE_INFINITY);
    await apply('stuck', 1, [dag('dags/a.py', 'stuck_a'), dag('dags/b.py', 'stuck_b')]);
    await environmentCatchesUp();
    fake.setParseDelay(3_600_000);
    const ctx = await apply('stuck', 2, [dag('dags/a.py', 'stuck_a', '# v2\n'), dag('dags/b.py', 'stuck_b', '# v2\n')]);
    // WHEN the release is verified with a five-minute wait
    const result = await deployer({ parseWaitMs: 300_000 }).verify(ctx);
    // THEN it fails with one problem per file, naming it, the wait, the stale parse and what to check
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      expect.stringMatching(/^\/usr\/local\/airflow\/dags\/stuck\/a\.py \(s3:\/\/[^/]+\/dags\/stuck\/a\.py\) is not re-parsed by the environment after waiting 300s: DAG stuck_a was last parsed at .*, not after its upload at .*check the scheduler of MWAA environment/),
      expect.stringMatching(/^\/usr\/local\/airflow\/dags\/stuck\/b\.py .* after waiting 300s: DAG stuck_b was last parsed at /),
    ]);
  });

  it('does not pass a broken file while the environment still shows the previous good version, and fails with its import error once parsed', async () => {
    // GIVEN a good DAG file parsed by the environment, then a broken version uploaded that reaches the environment 25 s later (re-parses of the good file meanwhile)
    await apply('stale', 1, [dag('dags/a.py', 'stale_a')], [{ dagId: 'stale_a', file: 'dags/a.py' }]);
    await environmentCatchesUp();
    fake.setParseDelay(25_000);
    const ctx = await apply('stale', 2, [dag('dags/a.py', 'stale_a', 'raise ImportError("broken on purpose")\n')], [{ dagId: 'stale_a', file: 'dags/a.py' }]);
    // WHEN it is verified at once, without waiting
    const early = await deployer({ parseWaitMs: 0 }).verify(ctx);
    // THEN it is not green: the listed DAG is the previous file's parse
    expect(early.ok).toBe(false);
    expect(early.problems).toEqual([expect.stringMatching(/stale\/a\.py .* is not re-parsed by the environment after waiting 0s: DAG stale_a was last parsed at /)]);
    // AND WHEN verified with the usual wait, it fails with the new file's import error
    const late = await deployer().verify(ctx);
    expect(late).toEqual({ ok: false, problems: ['import error in /usr/local/airflow/dags/stale/a.py: ImportError("broken on purpose")'] });
    expect(clock.slept()).toBeGreaterThanOrEqual(25_000);
  });

  it('waits until the DAGs of deleted files are no longer listed', async () => {
    // GIVEN two parsed DAG files, then a release that deletes one, which the environment notices 25 s later
    await apply('gone', 1, [dag('dags/a.py', 'gone_a'), dag('dags/b.py', 'gone_b')]);
    await environmentCatchesUp();
    fake.setParseDelay(25_000);
    const ctx = await apply('gone', 2, [dag('dags/a.py', 'gone_a')]);
    // WHEN it is verified at once, and then with the usual wait
    const early = await deployer({ parseWaitMs: 0 }).verify(ctx);
    const late = await deployer().verify(ctx);
    // THEN the first names the deleted file whose DAG is still listed; the second passes once the DAG is gone
    expect(early.ok).toBe(false);
    expect(early.problems).toContainEqual(expect.stringMatching(/gone\/b\.py .*: the file is deleted, but DAG\(s\) gone_b are still listed from it/));
    expect(late).toEqual({ ok: true, problems: [] });
  });
});

describe('MwaaDagDeployer.apply puts a paused flag back only after the environment parsed the new files', () => {
  it("unpauses a DAG whose file changed only once the scheduler has parsed the new version, not right after the upload", async () => {
    // GIVEN an unpaused DAG of release 1, then release 2 changing its file, which reaches the environment 25 s after upload
    await apply('late', 1, [dag('dags/a.py', 'late_a')], [{ dagId: 'late_a', file: 'dags/a.py' }]);
    await environmentCatchesUp();
    airflow.setPausedDirectly('late_a', false);
    fake.setParseDelay(25_000);
    const sleptBefore = clock.slept();
    // WHEN release 2 is deployed
    await apply('late', 2, [dag('dags/a.py', 'late_a', '# v2\n')], [{ dagId: 'late_a', file: 'dags/a.py' }]);
    // THEN the deploy paused it, waited for the parse (at least the sync delay) and only then unpaused it
    const last = (re: RegExp) => fake.commands.map((c, i) => (re.test(c) ? i : -1)).reduce((a, b) => Math.max(a, b), -1);
    const pauseAt = last(/^dags pause late_a\b/);
    const unpauseAt = last(/^dags unpause late_a\b/);
    expect(pauseAt).toBeGreaterThanOrEqual(0);
    expect(unpauseAt).toBeGreaterThan(pauseAt);
    expect(clock.slept() - sleptBefore).toBeGreaterThanOrEqual(25_000);
    expect(logs).toContainEqual("airflow: waiting for dev's scheduler to parse the release before unpausing late_a");
    expect(airflow.isPaused('late_a')).toBe(false);
  });

  it('fails the deploy and keeps the DAG paused when the new file does not import; the next deploy puts it back', async () => {
    // GIVEN an unpaused DAG of release 1
    await apply('bad', 1, [dag('dags/a.py', 'bad_a')], [{ dagId: 'bad_a', file: 'dags/a.py' }]);
    await environmentCatchesUp();
    airflow.setPausedDirectly('bad_a', false);
    // WHEN release 2 breaks its file
    const broken = apply('bad', 2, [dag('dags/a.py', 'bad_a', 'raise ImportError("broken on purpose")\n')], [{ dagId: 'bad_a', file: 'dags/a.py' }]);
    // THEN the deploy fails naming the import error and that the DAG stays paused
    await expect(broken).rejects.toThrow(/dev's scheduler did not parse release .* of bad cleanly, so bad_a stay paused .*import error in \/usr\/local\/airflow\/dags\/bad\/a\.py: ImportError\("broken on purpose"\)/);
    expect(airflow.isPaused('bad_a')).toBe(true);
    // AND WHEN a fixed release 3 is deployed, the DAG is unpaused again, as it was before release 2
    await apply('bad', 3, [dag('dags/a.py', 'bad_a', '# fixed\n')], [{ dagId: 'bad_a', file: 'dags/a.py' }]);
    expect(airflow.isPaused('bad_a')).toBe(false);
  });
});
