/** MWAA deployer rules that need many DAG layouts: against moto S3 and the MWAA CLI fake with the Airflow model. */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { MwaaDagDeployer } from '../../../lib/runtime/deployers/mwaa-dag-deployer';
import { MwaaCliClient } from '../../../lib/runtime/mwaa/cli-client';
import { ModelAirflow, startMwaaCliFake, type MwaaCliFake } from '../../helpers/mwaa-cli-fake';
import { createVersionedBucket, dagFile, deployContext, motoS3, writeRelease } from '../../helpers/s3-fixtures';

const s3 = motoS3();
let bucket: string;
let fake: MwaaCliFake;
let airflow: ModelAirflow;
let deployer: MwaaDagDeployer;

beforeAll(async () => {
  bucket = await createVersionedBucket(s3);
  airflow = new ModelAirflow();
  fake = await startMwaaCliFake({ environmentName: 'northstar-dev', backend: airflow, s3, dagBucket: bucket });
  deployer = new MwaaDagDeployer({ s3, airflow: new MwaaCliClient({ mwaa: fake.mwaaClient(), environmentName: 'northstar-dev', scheme: 'http' }), parseWaitMs: 0 });
});
afterAll(async () => fake?.stop());

describe('MwaaDagDeployer with many repos in one environment', () => {
  it("ignores another repo's DAGs and import errors even when their path contains this repo's name", async () => {
    // GIVEN repo `other` with a sub-folder named `core`, holding an unpaused DAG and a broken file
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'dags/other/core/x.py', Body: dagFile('other_core_x') }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'dags/other/core/broken.py', Body: `${dagFile('other_broken')}raise ImportError("nope")\n` }));
    // WHEN repo `core` deploys a release that also has a file x.py, then verifies
    const { release, dir } = await writeRelease({ repo: 'core', files: [{ kind: 'airflow', path: 'dags/x.py', body: dagFile('core_x') }] });
    const ctx = deployContext(release, dir, { dagBucket: bucket });
    const current = await deployer.readCurrent(ctx);
    airflow.setPausedDirectly('other_core_x', false);
    await deployer.apply(deployer.plan(current, ctx), ctx);
    // THEN repo core saw none of repo other's DAGs, never paused them, and its verification is clean
    expect(current.dags).toEqual([]);
    expect(fake.commands.filter((c) => c.includes('other_core_x'))).toEqual([]);
    await expect(deployer.verify(ctx)).resolves.toEqual({ ok: true, problems: [] });
  });

  it('leaves a paused DAG paused without writing a pause marker when its file changes', async () => {
    // GIVEN a deployed DAG that is paused
    const files = (schedule: string) => [{ kind: 'airflow' as const, path: 'dags/p.py', body: dagFile('stay_paused', { schedule }) }];
    const r1 = await writeRelease({ repo: 'paused-repo', build: 1, files: files('@daily') });
    const c1 = deployContext(r1.release, r1.dir, { dagBucket: bucket });
    await deployer.apply(deployer.plan(await deployer.readCurrent(c1), c1), c1);
    // WHEN its file changes
    const r2 = await writeRelease({ repo: 'paused-repo', build: 2, files: files('@hourly') });
    const c2 = deployContext(r2.release, r2.dir, { dagBucket: bucket });
    const result = await deployer.apply(deployer.plan(await deployer.readCurrent(c2), c2), c2);
    // THEN the only write is the upload, and the DAG is still paused
    expect(result.writes).toBe(1);
    expect(airflow.isPaused('stay_paused')).toBe(true);
  });
});
