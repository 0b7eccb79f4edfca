import { execFileSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CreateBucketCommand, ListObjectsV2Command, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { runBuildspec, type BuildspecRunResult } from '../../lib/checks/buildspec/runner';
import { S3Registry } from '../../lib/checks/graph/registry';
import { PROJECT_ROOT } from '../../lib/checks/validate/toolchain';
import { PACKAGE_EXPORTED_VARIABLES, PIPELINE_NAME_ENV, STAGE_NAMES } from '../../lib/constructs/repo-pipeline';
import { graphRegistryUrl, GRAPH_REGISTRY_ENV } from '../../lib/constructs/graph-registry';
import { PlatformNames } from '../../lib/constructs/names';
import { loadConfig, DEFAULT_CONFIG_PATH } from '../../lib/config/loader';
import { ReleaseManifestSchema, type ReleaseManifest } from '../../lib/runtime/release/manifest';
import { listDags, listImportErrors } from '../../lib/runtime/mwaa/airflow-commands';
import { MwaaCliClient } from '../../lib/runtime/mwaa/cli-client';
import { CodePipelineFake } from '../helpers/codepipeline-fake';
import { createTestLedger } from '../helpers/ledger';
import { motoClientConfig, uniqueName } from '../helpers/moto';
import { RealAirflow, startMwaaCliFake, type MwaaCliFake } from '../helpers/mwaa-cli-fake';
import { SampleRepo } from './helpers';

// End-to-end: the real buildspecs/package.yml, run the way CodeBuild runs it (`dataops buildspec run`),
// on a copy of examples/airflow-dags in a git repo, with the variables the Package project sets
// (DATAOPS_REPO, ARTIFACT_BUCKET) and the AWS endpoint pointed at moto.
jest.setTimeout(300_000);

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** AWS settings of a build whose AWS calls go to moto (the SDK reads AWS_ENDPOINT_URL). */
function motoEnv(): Record<string, string> {
  const moto = motoClientConfig();
  return { AWS_ENDPOINT_URL: moto.endpoint, AWS_REGION: moto.region, AWS_ACCESS_KEY_ID: moto.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: moto.credentials.secretAccessKey };
}

describe('buildspecs/package.yml on the Airflow sample repo, against moto', () => {
  const repoName = 'ingest-s3-landing';
  const s3 = new S3Client(motoClientConfig());
  let sample: SampleRepo;
  let bucket: string;
  let artifactsDir: string;
  let build: BuildspecRunResult;

  // GIVEN the sample repo committed in git, and the artifact bucket in moto
  beforeAll(async () => {
    sample = new SampleRepo('airflow-dags');
    bucket = uniqueName('artifacts');
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    artifactsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-package-artifacts-'));
    // WHEN the Package build runs with the project's variables (and the build page CodeBuild sets)
    build = await runBuildspec({
      file: path.join(PROJECT_ROOT, 'buildspecs', 'package.yml'),
      srcDir: sample.dir,
      artifactsDir,
      env: { ...motoEnv(), DATAOPS_REPO: repoName, ARTIFACT_BUCKET: bucket, CODEBUILD_BUILD_URL: 'https://console.aws.amazon.com/codesuite/codebuild/projects/p/build/p:1' },
    });
  });
  afterAll(() => {
    sample.remove();
    fs.rmSync(artifactsDir, { recursive: true, force: true });
  });

  const manifest = (): ReleaseManifest => ReleaseManifestSchema.parse(JSON.parse(fs.readFileSync(path.join(artifactsDir, 'release-manifest.json'), 'utf8')));

  it('succeeds and hands the release folder to CodePipeline as the artifact', () => {
    // THEN every phase succeeded
    expect({ succeeded: build.succeeded, log: build.succeeded ? '' : build.log.slice(-3000) }).toEqual({ succeeded: true, log: '' });
    // AND the artifact is the manifest and one tarball per asset kind, at the root (base-directory: release)
    const files = fs.readdirSync(artifactsDir).sort();
    expect(files).toEqual(['release-manifest.json', ...manifest().artifacts.map((a) => a.file)].sort());
  });

  it('builds a release of the repo, named after DATAOPS_REPO and the commit, whose tarballs match the manifest', () => {
    const m = manifest();
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: sample.dir, encoding: 'utf8' }).trim();
    // THEN the release names the configured repo, this build and the commit
    expect(m).toMatchObject({ repo: repoName, buildId: '1', gitSha: head });
    expect(m.version).toMatch(new RegExp(`^\\d{8}\\.1\\+${head.slice(0, 7)}`));
    // AND it holds the sample's DAG files and DAGs, with one tarball per asset kind
    const dagFiles = fs.readdirSync(path.join(sample.dir, 'dags')).filter((f) => f.endsWith('.py')).map((f) => `dags/${f}`);
    expect(m.assets.filter((a) => a.kind === 'airflow').map((a) => a.path)).toEqual(expect.arrayContaining(dagFiles));
    expect(m.artifacts.map((a) => a.kind).sort()).toEqual([...new Set(m.assets.map((a) => a.kind))].sort());
    expect(m.dags.map((d) => d.dagId)).toEqual(expect.arrayContaining(['clinic_report']));
    // AND each tarball has the size and sha256 the manifest records
    for (const a of m.artifacts) {
      const file = path.join(artifactsDir, a.file);
      expect({ file: a.file, sha256: sha256(file), bytes: fs.statSync(file).size }).toEqual({ file: a.file, sha256: a.sha256, bytes: a.bytes });
    }
  });

  it('exports the release variables the approval requests show', () => {
    const m = manifest();
    // THEN the exported variables are exactly the ones the pipeline reads, with the release's values
    expect(Object.keys(build.exportedVariables).sort()).toEqual([...PACKAGE_EXPORTED_VARIABLES].sort());
    expect(build.exportedVariables).toEqual({
      RELEASE_VERSION: m.version,
      RELEASE_ASSETS: String(m.assets.length),
      RELEASE_MANIFEST_SHA256: sha256(path.join(artifactsDir, 'release-manifest.json')),
      RELEASE_SUMMARY_URL: 'https://console.aws.amazon.com/codesuite/codebuild/projects/p/build/p:1',
    });
  });

  it('publishes the repo\'s graph fragment to s3://$ARTIFACT_BUCKET/graph/<repo>.json, and nothing else', async () => {
    // THEN the registry holds exactly this repo's fragment
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual([`graph/${repoName}.json`]);
    // AND the fragment is this repo's inventory, with the DAGs the release holds
    const fragment = await new S3Registry(`s3://${bucket}/graph`, s3).get(repoName);
    expect(fragment).toMatchObject({ repo: repoName, commit: execFileSync('git', ['rev-parse', 'HEAD'], { cwd: sample.dir, encoding: 'utf8' }).trim() });
    expect(fragment?.airflow.map((d) => d.id.value).sort()).toEqual(manifest().dags.map((d) => d.dagId).sort());
  });

  it('fails when ARTIFACT_BUCKET is not set, naming the variable and where to set it', async () => {
    // GIVEN the same repo, WHEN the build runs without ARTIFACT_BUCKET
    const out = await runBuildspec({
      file: path.join(PROJECT_ROOT, 'buildspecs', 'package.yml'),
      srcDir: sample.dir,
      env: { ...motoEnv(), DATAOPS_REPO: repoName, ARTIFACT_BUCKET: '' },
    });
    // THEN the build fails after packaging, at the graph publish, with the fix in the message
    expect(out.succeeded).toBe(false);
    expect(out.log).toMatch(/release .* assets\), manifest sha256/);
    expect(out.log).toMatch(/ARTIFACT_BUCKET: set ARTIFACT_BUCKET on the Package project to the artifact bucket name/);
  });
});

/** Runs the real buildspecs/package.yml on a sample repo; returns the build and the release folder it handed on. */
async function packageRelease(sample: SampleRepo, env: Record<string, string>): Promise<{ build: BuildspecRunResult; releaseDir: string }> {
  const releaseDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-release-'));
  const build = await runBuildspec({ file: path.join(PROJECT_ROOT, 'buildspecs', 'package.yml'), srcDir: sample.dir, artifactsDir: releaseDir, env });
  return { build, releaseDir };
}

/** A sample packaged by the real package.yml into a fresh artifact bucket, a ledger table, and the variables the Dev Deploy project and action set (lib/constructs/repo-pipeline.ts). */
interface PackagedForDev {
  readonly releaseDir: string;
  readonly ledger: Awaited<ReturnType<typeof createTestLedger>>['ledger'];
  readonly deployEnv: Record<string, string>;
}

async function packageForDevDeploy(sample: SampleRepo, repoName: string): Promise<PackagedForDev> {
  const config = loadConfig(DEFAULT_CONFIG_PATH);
  const names = new PlatformNames(config);
  const bucket = uniqueName('artifacts');
  await new S3Client(motoClientConfig()).send(new CreateBucketCommand({ Bucket: bucket }));
  const test = await createTestLedger();
  const pkg = await packageRelease(sample, { ...motoEnv(), DATAOPS_REPO: repoName, ARTIFACT_BUCKET: bucket });
  if (!pkg.build.succeeded) throw new Error(`package.yml failed:\n${pkg.build.log.slice(-3000)}`);
  const deployEnv = {
    ...motoEnv(),
    TARGET_ENV: 'dev',
    DEPLOY_ROLE_ARN: names.deployRoleArn('dev'),
    DATAOPS_REPO: repoName,
    LEDGER_TABLE: test.tableName,
    ARTIFACT_BUCKET: bucket,
    [GRAPH_REGISTRY_ENV]: graphRegistryUrl(config).replace(names.artifactBucketName(), bucket),
  };
  return { releaseDir: pkg.releaseDir, ledger: test.ledger, deployEnv };
}

describe('buildspecs/deploy.yml on a packaged release, against moto', () => {
  // The Spark sample: its deployer (SSM pointers, ECR) talks only to services moto serves.
  const repoName = 'spark-claims';
  let sample: SampleRepo;
  let releaseDir: string;
  let deployEnv: Record<string, string>;
  let ledger: Awaited<ReturnType<typeof createTestLedger>>['ledger'];

  // GIVEN the Spark sample packaged by the real package.yml, the artifact bucket and the ledger table in moto
  beforeAll(async () => {
    sample = new SampleRepo('spark-jobs');
    ({ releaseDir, ledger, deployEnv } = await packageForDevDeploy(sample, repoName));
  });
  afterAll(() => {
    sample.remove();
    fs.rmSync(releaseDir, { recursive: true, force: true });
  });

  const deploy = (executionId: string, ledgerTable = deployEnv.LEDGER_TABLE) =>
    runBuildspec({ file: path.join(PROJECT_ROOT, 'buildspecs', 'deploy.yml'), srcDir: releaseDir, env: { ...deployEnv, PIPELINE_EXECUTION_ID: executionId, LEDGER_TABLE: ledgerTable } });

  it('deploys the release to dev with the Deploy project\'s variables (role ARN, ledger, bucket, registry), and the ledger records it', async () => {
    const manifest = ReleaseManifestSchema.parse(JSON.parse(fs.readFileSync(path.join(releaseDir, 'release-manifest.json'), 'utf8')));
    // WHEN the Deploy action runs on the release (the input artifact is the release folder)
    const build = await deploy('exec-deploy-1');
    // THEN it succeeds and says what it deployed
    expect({ succeeded: build.succeeded, log: build.succeeded ? '' : build.log.slice(-3000) }).toEqual({ succeeded: true, log: '' });
    expect(build.log).toContain(`${repoName} ${manifest.version} → dev: deployed`);
    // AND the ledger holds the release as deployed in dev by this execution, with a succeeded deployment event
    expect(await ledger.getReleaseStatus(repoName, 'dev', manifest.version)).toMatchObject({ status: 'deployed', executionId: 'exec-deploy-1' });
    const events = await ledger.eventsFor(repoName, 'dev', { executionId: 'exec-deploy-1' });
    expect(events.filter((e) => e.kind === 'deployment').map((e) => e.result)).toEqual(['succeeded']);
    // AND the execution keeps the repo/env lock for its Verify action
    expect(await ledger.getLock(repoName, 'dev')).toMatchObject({ holder: 'exec-deploy-1' });
  });

  it('does nothing twice when CodePipeline retries the action of the same execution', async () => {
    // GIVEN a ledger of its own, and a deploy of execution exec-retry that completed
    const own = await createTestLedger();
    const first = await deploy('exec-retry', own.tableName);
    expect(first.succeeded).toBe(true);
    // WHEN the action is retried with the same execution id
    const retry = await deploy('exec-retry', own.tableName);
    // THEN it succeeds as a replay and the ledger has one deployment for the execution
    expect(retry.succeeded).toBe(true);
    expect(retry.log).toMatch(/→ dev: replayed, 0 writes/);
    const events = await own.ledger.eventsFor(repoName, 'dev', { executionId: 'exec-retry' });
    expect(events.filter((e) => e.kind === 'deployment')).toHaveLength(1);
  });

  it('deploys to staging only an execution whose Staging approval succeeded, checked in CodePipeline through the project\'s DATAOPS_PIPELINE_NAME', async () => {
    // GIVEN the repo's pipeline in the CodePipeline fake, one execution waiting for its Staging approval and one approved,
    // and the variables the Staging Deploy project sets (lib/constructs/repo-pipeline.ts)
    const config = loadConfig(DEFAULT_CONFIG_PATH);
    const names = new PlatformNames(config);
    const pipeline = names.pipelineName(repoName);
    const cp = new CodePipelineFake();
    await cp.start();
    try {
      cp.addPipeline(pipeline, [...STAGE_NAMES]);
      const waiting = cp.startExecution(pipeline);
      cp.setApproval(pipeline, waiting, 'Staging', 'Approve', { status: 'InProgress' });
      const approved = cp.startExecution(pipeline);
      cp.setApproval(pipeline, approved, 'Staging', 'Approve', { status: 'Succeeded', updatedBy: 'arn:aws:sts::111111111111:assumed-role/data-engineering-leads/sam', summary: 'ok' });
      const staging = (executionId: string, extra: Record<string, string> = {}) =>
        runBuildspec({
          file: path.join(PROJECT_ROOT, 'buildspecs', 'deploy.yml'),
          srcDir: releaseDir,
          env: { ...deployEnv, TARGET_ENV: 'staging', DEPLOY_ROLE_ARN: names.deployRoleArn('staging'), [PIPELINE_NAME_ENV]: pipeline, AWS_ENDPOINT_URL_CODEPIPELINE: cp.endpoint, PIPELINE_EXECUTION_ID: executionId, ...extra },
        });
      // WHEN the Deploy action runs for the waiting execution THEN it fails naming the execution and the approval, and nothing is deployed
      const refused = await staging(waiting);
      expect(refused.succeeded).toBe(false);
      expect(refused.log).toContain(`execution ${waiting} of pipeline ${pipeline} has not passed the approval Staging/Approve: it is inprogress`);
      const manifest = ReleaseManifestSchema.parse(JSON.parse(fs.readFileSync(path.join(releaseDir, 'release-manifest.json'), 'utf8')));
      expect(await ledger.getReleaseStatus(repoName, 'staging', manifest.version)).toBeNull();
      // AND without DATAOPS_PIPELINE_NAME (a build started by hand with it cleared) it is refused too
      const unchecked = await staging(approved, { [PIPELINE_NAME_ENV]: '' });
      expect(unchecked.succeeded).toBe(false);
      expect(unchecked.log).toContain(`the approval of execution ${approved} cannot be checked: ${PIPELINE_NAME_ENV} is not set`);
      // AND WHEN it runs for the approved execution THEN it deploys, having read the approval from CodePipeline
      const build = await staging(approved);
      expect({ succeeded: build.succeeded, log: build.succeeded ? '' : build.log.slice(-3000) }).toEqual({ succeeded: true, log: '' });
      expect(build.log).toContain(`approval: Staging/Approve of execution ${approved} approved by arn:aws:sts::111111111111:assumed-role/data-engineering-leads/sam`);
      expect(await ledger.getReleaseStatus(repoName, 'staging', manifest.version)).toMatchObject({ status: 'deployed', executionId: approved });
      expect(cp.callsOf('ListActionExecutions').map((c) => (c.input.filter as { pipelineExecutionId: string }).pipelineExecutionId)).toEqual(expect.arrayContaining([waiting, approved]));
    } finally {
      await cp.stop();
    }
  });

  it('fails without the pipeline execution id, naming the variable the action must set', async () => {
    // WHEN the action runs without PIPELINE_EXECUTION_ID (the buildspec's empty default)
    const build = await deploy('');
    // THEN the build fails and says how to set it
    expect(build.succeeded).toBe(false);
    expect(build.log).toMatch(/set PIPELINE_EXECUTION_ID to #\{codepipeline.PipelineExecutionId\} on the action/);
  });
});

describe('buildspecs/deploy.yml on an Airflow release, against moto and the MWAA CLI fake running real Airflow', () => {
  // The Airflow sample, named as the configured repo ingest-s3-landing: its DAGs import their shared code as
  // ingest_s3_landing.common (lib/runtime/mwaa/dag-package.ts), which resolves only when the deployer puts the
  // files under dags/ingest_s3_landing/ as MWAA loads them.
  const repoName = 'ingest-s3-landing';
  const dev = loadConfig(DEFAULT_CONFIG_PATH).environments.dev;
  const s3 = new S3Client(motoClientConfig());
  let sample: SampleRepo;
  let releaseDir: string;
  let deployEnv: Record<string, string>;
  let fake: MwaaCliFake;
  let ledger: Awaited<ReturnType<typeof createTestLedger>>['ledger'];

  // GIVEN the sample packaged by the real package.yml, dev's DAG bucket in moto and dev's MWAA environment behind the fake
  beforeAll(async () => {
    sample = new SampleRepo('airflow-dags');
    for (const file of ['dataops.yaml', 'dags/dbt_daily.py', 'dags/clinic_report.py', 'dags/ingest_visits.py', 'tests/conftest.py', 'tests/test_defaults.py', 'pyproject.toml']) {
      sample.change(file, (text) => text.replaceAll('clinic_dags', 'ingest_s3_landing').replaceAll('clinic-dags', repoName));
    }
    await s3.send(new CreateBucketCommand({ Bucket: dev.mwaa.dagBucket }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: dev.mwaa.dagBucket, VersioningConfiguration: { Status: 'Enabled' } }));
    fake = await startMwaaCliFake({ environmentName: dev.mwaa.environmentName, backend: await RealAirflow.start(), s3, dagBucket: dev.mwaa.dagBucket });
    const packaged = await packageForDevDeploy(sample, repoName);
    ({ releaseDir, ledger } = packaged);
    deployEnv = { ...packaged.deployEnv, AWS_ENDPOINT_URL_MWAA: fake.apiEndpoint };
  });
  afterAll(async () => {
    await fake?.stop();
    sample?.remove();
    if (releaseDir) fs.rmSync(releaseDir, { recursive: true, force: true });
  });

  it('puts the DAG folder under dags/<package>/ of the environment\'s bucket, where MWAA imports it without errors', async () => {
    const manifest = ReleaseManifestSchema.parse(JSON.parse(fs.readFileSync(path.join(releaseDir, 'release-manifest.json'), 'utf8')));
    // WHEN the Deploy action runs on the release with the MWAA endpoint pointed at the fake
    const build = await runBuildspec({ file: path.join(PROJECT_ROOT, 'buildspecs', 'deploy.yml'), srcDir: releaseDir, env: { ...deployEnv, PIPELINE_EXECUTION_ID: 'exec-airflow-1' } });
    // THEN it succeeds and the ledger records the release as deployed
    expect({ succeeded: build.succeeded, log: build.succeeded ? '' : build.log.slice(-3000) }).toEqual({ succeeded: true, log: '' });
    expect(await ledger.getReleaseStatus(repoName, 'dev', manifest.version)).toMatchObject({ status: 'deployed', executionId: 'exec-airflow-1' });
    // AND every DAG file of the release sits under dags/ingest_s3_landing/ and nowhere else
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: dev.mwaa.dagBucket, Prefix: 'dags/' }));
    const keys = (listed.Contents ?? []).map((o) => o.Key!).filter((k) => !k.includes('/.dataops/'));
    const airflowAssets = manifest.assets.filter((a) => a.kind === 'airflow').map((a) => a.path.replace(/^dags\//, 'dags/ingest_s3_landing/'));
    expect(keys.sort()).toEqual(airflowAssets.sort());
    // AND the environment's Airflow imports them: the sample's DAGs are listed and there is no import error
    const cli = new MwaaCliClient({ mwaa: fake.mwaaClient(), environmentName: dev.mwaa.environmentName, scheme: 'http' });
    expect(await listImportErrors(cli)).toEqual([]);
    const dagIds = (await listDags(cli)).map((d) => d.dagId).sort();
    expect(dagIds).toEqual(expect.arrayContaining(['clinic_report', 'dbt_daily', 'ingest_visits']));
    // AND the deploy went through the MWAA CLI endpoint (it lists the DAGs it may have to pause) and never triggered or cleared a run
    expect(fake.commands.some((c) => c.startsWith('dags list'))).toBe(true);
    expect(fake.commands.filter((c) => /^(dags trigger|tasks clear|dags backfill)/.test(c))).toEqual([]);
  });
});
