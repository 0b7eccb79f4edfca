/**
 * The Airflow/MWAA deployer against moto S3 (versioned bucket) and the MWAA CLI fake running the
 * real Airflow 2.10.3 CLI on a SQLite metadata database.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { packageRelease } from '../../../lib/runtime/release/package';
import { MwaaDagDeployer, type MwaaDagDeployerProps } from '../../../lib/runtime/deployers/mwaa-dag-deployer';
import { listDagParses, listDags } from '../../../lib/runtime/mwaa/airflow-commands';
import { MwaaCliClient, type AirflowCli } from '../../../lib/runtime/mwaa/cli-client';
import { RealAirflow, startMwaaCliFake, type MwaaCliFake } from '../../helpers/mwaa-cli-fake';
import { createVersionedBucket, dagFile, deployContext, motoS3, storedSha256s, writeRelease, type ReleaseFile } from '../../helpers/s3-fixtures';

const ENV_NAME = 'northstar-dev';
let s3: S3Client;
let bucket: string;
let fake: MwaaCliFake;
let cli: AirflowCli;
/** S3 writes and CLI commands in the order they happened. */
const events: string[] = [];

beforeAll(async () => {
  s3 = motoS3();
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      if (['PutObjectCommand', 'DeleteObjectCommand', 'CopyObjectCommand'].includes(context.commandName ?? '')) {
        events.push(`s3:${context.commandName}:${(args.input as { Key?: string }).Key}`);
      }
      return next(args);
    },
    { step: 'initialize', name: 'recordWrites' },
  );
  bucket = await createVersionedBucket(s3);
  // The scheduler re-parses every half second, so a verify waits about a second of real time for a parse later than the upload's S3 second.
  fake = await startMwaaCliFake({ environmentName: ENV_NAME, backend: await RealAirflow.start(), s3, dagBucket: bucket, reparseIntervalMs: 500 });
  const client = new MwaaCliClient({ mwaa: fake.mwaaClient(), environmentName: ENV_NAME, scheme: 'http' });
  cli = { run: async (c) => (events.push(`cli:${c}`), client.run(c)) };
});

afterAll(async () => {
  await fake?.stop();
});

/** Verify waits up to 60 s (real time: this file runs the real Airflow, whose parse times come from the system clock). */
const deployer = (over: Partial<MwaaDagDeployerProps> = {}): MwaaDagDeployer => new MwaaDagDeployer({ s3, airflow: cli, sourceRoot: 'dags', parseWaitMs: 60_000, parsePollMs: 200, syncLagMs: 0, ...over });

async function deploy(repo: string, build: number, files: ReleaseFile[]) {
  const { release, dir } = await writeRelease({ repo, build, files });
  const ctx = deployContext(release, dir, { dagBucket: bucket });
  const d = deployer();
  const current = await d.readCurrent(ctx);
  const plan = d.plan(current, ctx);
  const result = await d.apply(plan, ctx);
  return { ctx, plan, result, d };
}

describe('MwaaDagDeployer', () => {
  it('uploads every DAG file under <dagS3Path>/<repo>/ with its sha256 in metadata, and a second deploy of the same release writes nothing', async () => {
    // GIVEN an empty repo folder and a release with two DAG files
    const files: ReleaseFile[] = [
      { kind: 'airflow', path: 'dags/claims_daily.py', body: dagFile('claims_daily') },
      { kind: 'airflow', path: 'dags/sub/eligibility.py', body: dagFile('eligibility_hourly', { schedule: '@hourly' }) },
    ];
    // WHEN it is deployed twice
    const first = await deploy('repo-first', 1, files);
    const second = await deploy('repo-first', 1, files);
    // THEN the first deploy wrote both files, with the sha256 of their bytes, and the second nothing
    expect(first.result.writes).toBe(2);
    expect(second.result.writes).toBe(0);
    const stored = await storedSha256s(s3, bucket, 'dags/repo_first/');
    expect(stored).toEqual(Object.fromEntries(first.ctx.release.assets.map((a) => [a.path.replace(/^dags\//, 'dags/repo_first/'), a.sha256])));
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'dags/repo_first/claims_daily.py' }));
    expect(head.Metadata?.sha256).toBe(stored['dags/repo_first/claims_daily.py']);
    // AND Airflow parsed both DAGs, and verify agrees
    const dags = await listDags(cli);
    expect(dags.map((d) => d.dagId)).toEqual(expect.arrayContaining(['claims_daily', 'eligibility_hourly']));
    await expect(second.d.verify(second.ctx)).resolves.toEqual({ ok: true, problems: [] });
  });

  it('pauses an unpaused DAG whose file changes before the upload and unpauses it after, leaving paused DAGs paused and never touching runs', async () => {
    // GIVEN two deployed DAGs, one unpaused by its owner and one left paused
    await deploy('repo-pause', 1, [
      { kind: 'airflow', path: 'dags/a.py', body: dagFile('pause_a') },
      { kind: 'airflow', path: 'dags/b.py', body: dagFile('pause_b') },
    ]);
    await cli.run('dags unpause pause_a -o json');
    events.length = 0;
    // WHEN a release changes both files
    const { result } = await deploy('repo-pause', 2, [
      { kind: 'airflow', path: 'dags/a.py', body: dagFile('pause_a', { schedule: '@weekly' }) },
      { kind: 'airflow', path: 'dags/b.py', body: dagFile('pause_b', { schedule: '@weekly' }) },
    ]);
    // THEN pause_a was paused before its upload and unpaused after; pause_b was never unpaused
    const pauseA = events.indexOf('cli:dags pause pause_a -o json');
    const upload = events.indexOf('s3:PutObjectCommand:dags/repo_pause/a.py');
    const unpauseA = events.indexOf('cli:dags unpause pause_a -o json');
    expect(pauseA).toBeGreaterThanOrEqual(0);
    expect(upload).toBeGreaterThan(pauseA);
    expect(unpauseA).toBeGreaterThan(upload);
    expect(events.filter((e) => e.includes('pause_b') && e.startsWith('cli:dags '))).toEqual([]);
    const states = Object.fromEntries((await listDags(cli)).map((d) => [d.dagId, d.paused]));
    expect(states).toMatchObject({ pause_a: false, pause_b: true });
    expect(result.previous.paused).toMatchObject({ pause_a: false, pause_b: true });
    // AND no command ever cleared, triggered or backfilled anything
    expect(fake.commands.filter((c) => /^(tasks|dags (trigger|backfill|delete))/.test(c))).toEqual([]);
  });

  it('deletes files the release no longer has and restores the previous object set byte for byte', async () => {
    // GIVEN release 1 with three files deployed, then release 2 that changes one and drops one
    const r1 = await deploy('repo-restore', 1, [
      { kind: 'airflow', path: 'dags/x.py', body: dagFile('restore_x') },
      { kind: 'airflow', path: 'dags/y.py', body: dagFile('restore_y') },
      { kind: 'airflow', path: 'dags/z.py', body: dagFile('restore_z') },
    ]);
    const before = await storedSha256s(s3, bucket, 'dags/repo_restore/');
    const r2 = await deploy('repo-restore', 2, [
      { kind: 'airflow', path: 'dags/x.py', body: dagFile('restore_x', { schedule: '@weekly' }) },
      { kind: 'airflow', path: 'dags/y.py', body: dagFile('restore_y') },
    ]);
    expect(r2.result.writes).toBeGreaterThanOrEqual(2);
    expect(Object.keys(await storedSha256s(s3, bucket, 'dags/repo_restore/')).sort()).toEqual(['dags/repo_restore/x.py', 'dags/repo_restore/y.py']);
    // WHEN the previous state recorded by release 2's apply is restored
    const restored = await r2.d.restore(r2.result.previous, r2.ctx);
    // THEN every object is byte-identical to what release 1 left, and restoring again writes nothing
    expect(await storedSha256s(s3, bucket, 'dags/repo_restore/')).toEqual(before);
    expect(restored.writes).toBeGreaterThan(0);
    expect((await r2.d.restore(r2.result.previous, r2.ctx)).writes).toBe(0);
    expect(r1.result.writes).toBe(3);
  });

  it('fails verification naming the file when the environment reports an import error for it', async () => {
    // GIVEN a release whose DAG file imports a module that does not exist
    const { ctx, d } = await deploy('repo-broken', 1, [
      { kind: 'airflow', path: 'dags/ok.py', body: dagFile('broken_ok') },
      { kind: 'airflow', path: 'dags/bad.py', body: `${dagFile('broken_bad')}import not_installed_anywhere\n` },
    ]);
    // WHEN the environment is verified
    const result = await d.verify(ctx);
    // THEN verification fails and names the file and the error
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([expect.stringMatching(/import error in \/usr\/local\/airflow\/dags\/repo_broken\/bad\.py: ModuleNotFoundError: No module named 'not_installed_anywhere'/)]);
  });

  it('does not pass a broken file while Airflow still shows the previous good version, and fails with its import error once the file is parsed', async () => {
    // GIVEN a good DAG file deployed and parsed, with its parse time recorded by the scheduler
    const r1 = await deploy('repo-stale', 1, [{ kind: 'airflow', path: 'dags/a.py', body: dagFile('stale_real') }]);
    await expect(r1.d.verify(r1.ctx)).resolves.toEqual({ ok: true, problems: [] });
    const parsed = (await listDagParses(cli)).find((d) => d.dagId === 'stale_real');
    expect(parsed?.lastParsedTime).toBeInstanceOf(Date);
    // AND a broken version that reaches Airflow 3 s after the fake sees it (the scheduler re-parses the good file meanwhile); verify allows a 4 s sync lag
    fake.setParseDelay(3_000);
    try {
      const r2 = await deploy('repo-stale', 2, [{ kind: 'airflow', path: 'dags/a.py', body: `${dagFile('stale_real')}import not_installed_anywhere\n` }]);
      // WHEN it is verified at once
      const early = await deployer({ parseWaitMs: 0, syncLagMs: 4_000 }).verify(r2.ctx);
      // THEN it is not green: Airflow still lists the DAG from the previous file's parse
      expect(early.ok).toBe(false);
      expect(early.problems).toEqual([expect.stringMatching(/^\/usr\/local\/airflow\/dags\/repo_stale\/a\.py .* is not re-parsed by the environment after waiting \d+s: DAG stale_real was last parsed at /)]);
      // AND WHEN verified with a wait, it fails with the new file's import error
      await expect(deployer({ syncLagMs: 4_000 }).verify(r2.ctx)).resolves.toEqual({
        ok: false,
        problems: ["import error in /usr/local/airflow/dags/repo_stale/a.py: ModuleNotFoundError: No module named 'not_installed_anywhere'"],
      });
    } finally {
      fake.setParseDelay(0);
    }
  });

  it('deploys what `dataops package` builds: the DAG inventory parses in Airflow, and a changed release is rolled back byte for byte', async () => {
    // GIVEN a repo with two DAG files, packaged by the release packager
    const repoDir = fs.mkdtempSync(path.join(os.tmpdir(), 'orchestration-'));
    fs.writeFileSync(path.join(repoDir, 'dataops.yaml'), 'kinds: [airflow]\npaths:\n  airflow: dags\n');
    fs.mkdirSync(path.join(repoDir, 'dags'));
    const write = (f: string, body: string) => fs.writeFileSync(path.join(repoDir, 'dags', f), body);
    write('members.py', dagFile('pkg_members'));
    write('claims.py', dagFile('pkg_claims'));
    const pack = async (build: number) => {
      const out = fs.mkdtempSync(path.join(os.tmpdir(), 'release-'));
      const r = await packageRelease({ repoDir, outDir: out, repoName: 'repo-packaged', buildId: String(build), sha: `abcdef${build}`, createdAt: '2026-11-28T00:00:00Z' });
      return deployContext(r.manifest, out, { dagBucket: bucket });
    };
    const d = deployer();
    const ctx1 = await pack(1);
    await d.apply(d.plan(await d.readCurrent(ctx1), ctx1), ctx1);
    // THEN Airflow lists every DAG of the release's inventory, without import errors
    expect(ctx1.release.dags.map((x) => x.dagId)).toEqual(['pkg_claims', 'pkg_members']);
    await expect(d.verify(ctx1)).resolves.toEqual({ ok: true, problems: [] });
    const before = await storedSha256s(s3, bucket, 'dags/repo_packaged/');
    // AND WHEN a second release changes one unpaused DAG and is rolled back
    await cli.run('dags unpause pkg_claims -o json');
    write('claims.py', dagFile('pkg_claims', { schedule: '@hourly' }));
    const ctx2 = await pack(2);
    const applied = await d.apply(d.plan(await d.readCurrent(ctx2), ctx2), ctx2);
    expect(applied.writes).toBe(5);
    await d.restore(applied.previous, ctx2);
    // THEN the objects are release 1's, and the DAG is unpaused as before
    expect(await storedSha256s(s3, bucket, 'dags/repo_packaged/')).toEqual(before);
    expect((await listDags(cli)).find((x) => x.dagId === 'pkg_claims')?.paused).toBe(false);
  });
});
