import { execFile } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';
import { CreateRepositoryCommand, ECRClient, PutImageCommand } from '@aws-sdk/client-ecr';
import { CloudWatchClient, ListMetricsCommand } from '@aws-sdk/client-cloudwatch';
import { GetParametersByPathCommand, SSMClient } from '@aws-sdk/client-ssm';
import { VERIFY_FAILURES_METRIC as CONSTRUCT_METRIC } from '../../../lib/constructs/repo-pipeline';
import { VERIFY_FAILURES_METRIC } from '../../../lib/runtime/orchestrator/runtime';
import { loadConfig } from '../../../lib/config/loader';
import { createTestLedger } from '../../helpers/ledger';
import { motoClientConfig, uniqueName } from '../../helpers/moto';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..', '..');
const sha = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;

/** Runs the real `dataops` command against moto; resolves with exit code and output. */
async function dataops(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [path.join(ROOT, 'bin/dataops.js'), ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('dataops package → deploy → verify through the CLI, against moto (Spark release: ECR + SSM, ledger)', () => {
  it('deploys a packaged release, verifies it with a JUnit report, and writes nothing when deployed again', async () => {
    // GIVEN a ledger table, an ECR image, and a Spark repo packaged with that image's digest
    const { ledger, tableName } = await createTestLedger();
    const ecr = new ECRClient(motoClientConfig());
    const repository = uniqueName('northstar/dev/claims');
    await ecr.send(new CreateRepositoryCommand({ repositoryName: repository }));
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: 7023, digest: sha(`c-${repository}`) },
      layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: 1024, digest: sha(`l-${repository}`) }],
    });
    const digest = (await ecr.send(new PutImageCommand({ repositoryName: repository, imageManifest: manifest, imageTag: 'v1' }))).image?.imageId?.imageDigest as string;
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-'));
    const repoDir = path.join(work, 'spark-claims');
    fs.mkdirSync(path.join(repoDir, 'jobs', 'claims'), { recursive: true });
    fs.writeFileSync(path.join(repoDir, 'dataops.yaml'), 'kinds: [spark]\npaths:\n  spark: jobs\n');
    fs.writeFileSync(path.join(repoDir, 'jobs', 'claims', 'job.py'), 'print("claims")\n');
    fs.writeFileSync(path.join(work, 'images.json'), JSON.stringify([{ job: 'claims', repository, digest }]));
    const env = { AWS_ENDPOINT_URL: motoClientConfig().endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', LEDGER_TABLE: tableName };
    const pkg = await dataops(['package', '--repo', repoDir, '--out', path.join(work, 'release'), '--build-id', '3', '--sha', 'abcdef0123', '--created-at', '2026-03-02T09:00:00Z', '--spark-images', path.join(work, 'images.json')], env);
    expect(pkg).toMatchObject({ code: 0, stdout: expect.stringMatching(/release spark-claims 20260302\.3\+abcdef0123/) });
    const releaseArg = ['--release', path.join(work, 'release', 'release-manifest.json'), '--env', 'dev'];

    // WHEN the Deploy action runs
    const deploy = await dataops(['deploy', ...releaseArg, '--execution-id', 'exec-1'], env);
    // THEN it succeeds with one write: the SSM pointer of the job in dev now names the digest
    expect(deploy.stderr).not.toMatch(/^dataops:/m);
    expect(deploy).toMatchObject({ code: 0, stdout: expect.stringMatching(/spark-claims 20260302\.3\+abcdef0123 → dev: deployed, 1 writes/) });
    const ssmPath = loadConfig(path.join(ROOT, 'config/northstar.yaml')).environments.dev.ssmParameterPath;
    const params = await new SSMClient(motoClientConfig()).send(new GetParametersByPathCommand({ Path: `${ssmPath}/spark-claims`, Recursive: true }));
    expect(params.Parameters?.map((p) => p.Value)).toEqual([expect.stringContaining(digest)]);

    // WHEN the Verify action runs with a JUnit report
    const report = path.join(work, 'reports', 'verify.xml');
    const verify = await dataops(['verify', ...releaseArg, '--execution-id', 'exec-1', '--format', 'junit', '--out', report], env);
    // THEN it passes, the report has the spark case, the release is verified and the lock is free
    expect(verify.code).toBe(0);
    expect(fs.readFileSync(report, 'utf8')).toMatch(/<testcase classname="spark-claims.dev" name="spark"\/>/);
    expect((await ledger.getReleaseStatus('spark-claims', 'dev', '20260302.3+abcdef0123'))?.status).toBe('verified');
    expect(await ledger.getLock('spark-claims', 'dev')).toBeNull();
    // AND the metric the bake alarm watches was published for the repo and env
    const metrics = await new CloudWatchClient(motoClientConfig()).send(new ListMetricsCommand({ Namespace: 'DataOps', MetricName: VERIFY_FAILURES_METRIC }));
    expect(metrics.Metrics?.some((m) => m.Dimensions?.some((d) => d.Name === 'Repo' && d.Value === 'spark-claims'))).toBe(true);

    // WHEN another execution deploys the same release THEN nothing is written
    const again = await dataops(['deploy', ...releaseArg, '--execution-id', 'exec-2'], env);
    expect(again).toMatchObject({ code: 0, stdout: expect.stringMatching(/deployed, 0 writes/) });
  });

  it('publishes the verify metric under the name the prod bake alarm watches', () => {
    expect(VERIFY_FAILURES_METRIC).toBe(CONSTRUCT_METRIC);
  });

  it('fails deploy of a release manifest that does not exist, naming the path', async () => {
    const out = await dataops(['deploy', '--release', path.join(ROOT, 'nope.json'), '--env', 'dev'], { LEDGER_TABLE: 't', PIPELINE_EXECUTION_ID: '' });
    expect(out.code).not.toBe(0);
    expect(out.stderr).toMatch(/release manifest .*nope\.json does not exist/);
  });
});
