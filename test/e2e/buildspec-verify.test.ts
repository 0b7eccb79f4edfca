import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import type { AssetKind } from '../../lib/config/schema';
import { loadConfig } from '../../lib/config/loader';
import { runBuildspec, type BuildspecRunResult } from '../../lib/checks/buildspec/runner';
import { PROJECT_ROOT } from '../../lib/checks/validate/toolchain';
import { DbtSnowflakeDeployer } from '../../lib/runtime/deployers/dbt-snowflake-deployer';
import type { LedgerEvent, VerificationEvent } from '../../lib/runtime/ledger/model';
import { deployRelease, loadRelease, type AnyDeployer, type ReleaseOnDisk } from '../../lib/runtime/orchestrator/deploy';
import { packageRelease } from '../../lib/runtime/release/package';
import { createTestLedger } from '../helpers/ledger';
import { motoClientConfig, uniqueName } from '../helpers/moto';
import { SnowflakeModel } from '../helpers/snowflake-model';
import { SampleRepo } from './helpers';

// End-to-end: the real buildspecs/verify.yml, run the way CodeBuild runs it (`dataops buildspec run`),
// for a staging release of examples/dbt-models, against moto (ledger table, the environment's dbt
// artifact bucket, the Snowflake deploy secret). The gates' dbt runs are real dbt on dbt-duckdb (the
// sample's `local` output, DBT_TARGET=local) over a DuckDB file standing for the environment's
// warehouse. Snowflake itself is not reachable: the deploy (in this process) and the Verify's
// deployer use the behavioural Snowflake model (test/helpers/snowflake-model.ts; in the build's
// `dataops` process through buildspec-verify-snowflake.preload.js), so the row counts before are
// the ones the real dbt deployer recorded at deploy, and the counts after are the model's.
jest.setTimeout(900_000);

const DBT = path.join(PROJECT_ROOT, '.venv', 'dbt', 'bin', 'dbt');
const PY = path.join(PROJECT_ROOT, '.venv', 'dbt', 'bin', 'python');
const MODEL = 'model.clinic_analytics.fct_daily_visits';
const config = loadConfig(path.join(PROJECT_ROOT, 'config', 'northstar.yaml'));
const staging = config.environments.staging;
const LIVE = `${staging.snowflake.database}.MAIN_MARTS.FCT_DAILY_VISITS`;
const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ ID: i + 1 }));
const utc = (d: Date) => d.toISOString().slice(0, 19).replace('T', ' ');

function motoEnv(): Record<string, string> {
  const moto = motoClientConfig();
  return { AWS_ENDPOINT_URL: moto.endpoint, AWS_REGION: moto.region, AWS_ACCESS_KEY_ID: moto.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: moto.credentials.secretAccessKey };
}

function dbt(dir: string, duckdb: string, args: string[]): void {
  execFileSync(DBT, [...args, '--target', 'local', '--profiles-dir', dir], { cwd: dir, env: { ...process.env, DBT_DUCKDB_PATH: duckdb, DBT_SEND_ANONYMOUS_USAGE_STATS: 'false' }, stdio: 'pipe' });
}

/** Runs one statement on a DuckDB file (the environment's data changing under the release). */
function duckdbSql(file: string, sql: string): void {
  execFileSync(PY, ['-c', 'import duckdb, sys; c = duckdb.connect(sys.argv[1]); c.execute(sys.argv[2]); c.close()', file, sql], { stdio: 'pipe' });
}

/** What one Verify build did. */
interface VerifyRun {
  readonly build: BuildspecRunResult;
  readonly verifyXml: string;
  readonly gatesXml: string;
  readonly events: LedgerEvent[];
  readonly status: string | undefined;
}

describe('buildspecs/verify.yml in staging runs the data-quality gates (dbt-duckdb, moto, Snowflake model)', () => {
  let sample: SampleRepo;
  let work: string;
  let envDb: string;
  let releaseDir: string;
  let release: ReleaseOnDisk;
  let compiled: string;

  // GIVEN the dbt sample with freshness on raw.visits (loaded an hour ago), a release of it that
  // changes fct_daily_visits (marked for rebuild), the environment built from it, and moto set up
  beforeAll(async () => {
    sample = new SampleRepo('dbt-models');
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-verify-e2e-'));
    const sources = path.join(sample.dir, 'models/staging/_sources.yml');
    fs.writeFileSync(sources, fs.readFileSync(sources, 'utf8').replace('        identifier: raw_visits\n        freshness: null\n', '        identifier: raw_visits\n'));
    const seed = path.join(sample.dir, 'seeds/raw_visits.csv');
    const loadedAt = utc(new Date(Date.now() - 3600_000));
    fs.writeFileSync(seed, fs.readFileSync(seed, 'utf8').trim().split('\n').map((l, i) => `${l},${i === 0 ? 'loaded_at' : loadedAt}`).join('\n') + '\n');
    envDb = path.join(work, 'env.duckdb');
    dbt(sample.dir, envDb, ['deps']);
    dbt(sample.dir, envDb, ['parse']);
    const base = path.join(work, 'base-manifest.json');
    fs.copyFileSync(path.join(sample.dir, 'target/manifest.json'), base);
    sample.change('models/marts/fct_daily_visits.sql', (s) => s.replace("where v.visit_status = 'completed'", "where v.visit_status = 'completed' and v.clinic_code is not null"));
    for (const args of [['seed'], ['run']]) dbt(sample.dir, envDb, args);
    releaseDir = path.join(work, 'release');
    await packageRelease({ repoDir: sample.dir, outDir: releaseDir, repoName: uniqueName('clinic'), buildId: '7', sha: 'abcdef0123', createdAt: '2026-11-28T09:00:00Z', baseManifestFile: base });
    release = loadRelease(path.join(releaseDir, 'release-manifest.json'));
    expect(release.manifest.dbt?.modelsToRebuild).toEqual([MODEL]);
    compiled = JSON.parse(fs.readFileSync(path.join(sample.dir, 'target/manifest.json'), 'utf8')).nodes[MODEL].compiled_code;

    const secrets = new SecretsManagerClient(motoClientConfig());
    const secretName = staging.snowflake.deploySecretArn.split(':').slice(-1)[0];
    await secrets.send(new CreateSecretCommand({ Name: secretName, SecretString: JSON.stringify({ user: 'DATAOPS_DEPLOY', privateKey: 'not-used-by-the-model' }) })).catch((e: Error) => {
      if (e.name !== 'ResourceExistsException') throw e;
    });
    const s3 = new S3Client(motoClientConfig());
    await s3.send(new CreateBucketCommand({ Bucket: staging.mwaa.dagBucket })).catch((e: Error) => {
      if (e.name !== 'BucketAlreadyOwnedByYou') throw e;
    });
    await s3.send(new PutBucketVersioningCommand({ Bucket: staging.mwaa.dagBucket, VersioningConfiguration: { Status: 'Enabled' } }));
  });
  afterAll(() => {
    sample?.remove();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  /**
   * Deploys the release to staging (the real dbt deployer rebuilds fct_daily_visits from `before` to
   * `after` rows on the Snowflake model, recording the count before), lets `fault` change the
   * environment's data, then runs the real verify.yml as the Verify action would.
   */
  async function verify(opts: { before: number; after: number; fault?: string }): Promise<VerifyRun> {
    const dir = fs.mkdtempSync(path.join(work, 'case-'));
    const db = path.join(dir, 'env.duckdb');
    fs.copyFileSync(envDb, db);
    if (opts.fault) duckdbSql(db, opts.fault);
    const src = path.join(dir, 'src');
    fs.cpSync(releaseDir, src, { recursive: true });

    const { ledger, tableName } = await createTestLedger();
    const sf = new SnowflakeModel();
    sf.createTable(LIVE, rows(opts.before));
    sf.defineQuery(compiled, rows(opts.after));
    const deployer = new DbtSnowflakeDeployer({ sql: sf, s3: new S3Client(motoClientConfig()), artifactBucket: staging.mwaa.dagBucket });
    const executionId = uniqueName('exec');
    const m = release.manifest;
    await ledger.putExecution({ executionId, repo: m.repo, env: 'staging', version: m.version, manifestSha256: release.manifestSha256, isRollback: false });
    await deployRelease(release, 'staging', staging, { ledger, deployers: new Map<AssetKind, AnyDeployer>([['dbt', deployer as AnyDeployer]]), executionId, actor: 'codebuild:deploy', log: () => undefined });
    const state = path.join(dir, 'snowflake.json');
    const tables = [...new Set(sf.statements.flatMap((q) => [...q.matchAll(/"([^"]+)"\."([^"]+)"\."([^"]+)"/g)].map((x) => `${x[1]}.${x[2]}.${x[3]}`)))];
    fs.writeFileSync(state, JSON.stringify({ tables: tables.map((name) => ({ name, ...sf.table(name) })).filter((t) => t.rows) }));

    const build = await runBuildspec({
      file: path.join(PROJECT_ROOT, 'buildspecs', 'verify.yml'),
      srcDir: src,
      env: {
        ...motoEnv(),
        LEDGER_TABLE: tableName,
        TARGET_ENV: 'staging',
        PIPELINE_EXECUTION_ID: executionId,
        DBT_TARGET: 'local',
        DBT_PROFILES_DIR: sample.dir,
        DBT_DUCKDB_PATH: db,
        NODE_OPTIONS: `--require ${path.join(__dirname, 'buildspec-verify-snowflake.preload.js')}`,
        DATAOPS_TEST_SNOWFLAKE_STATE: state,
      },
    });
    const read = (f: string) => (fs.existsSync(path.join(src, f)) ? fs.readFileSync(path.join(src, f), 'utf8') : `(no ${f}; build log: ${build.log.slice(-3000)})`);
    return {
      build,
      verifyXml: read('reports/verify.xml'),
      gatesXml: read('reports/quality-gates.xml'),
      events: await ledger.eventsFor(m.repo, 'staging', { executionId }),
      status: (await ledger.getReleaseStatus(m.repo, 'staging', m.version))?.status,
    };
  }

  const gateEvent = (r: VerifyRun) => r.events.find((e): e is VerificationEvent => e.kind === 'verification' && e.assetKind === 'dbt' && e.message.startsWith('data-quality gates'));

  it('passes a clean staging verify: tests pass, the source is fresh, the row count moved within the threshold', async () => {
    // GIVEN a deploy that rebuilt fct_daily_visits from 100 to 110 rows (+10 %, staging allows 25 %)
    // WHEN the Verify build runs
    const r = await verify({ before: 100, after: 110 });
    // THEN it succeeds, both reports show every gate passing, and the ledger has the release verified
    expect({ succeeded: r.build.succeeded, log: r.build.succeeded ? '' : r.build.log.slice(-4000) }).toEqual({ succeeded: true, log: '' });
    expect(r.build.reports.map((x) => x.group).sort()).toEqual(['dataops-quality-gates', 'dataops-verify']);
    for (const gate of ['dbt-tests', 'source-freshness', 'row-counts']) expect(r.verifyXml).toContain(`<testcase classname="${release.manifest.repo}.staging.gates" name="${gate}"><system-out>`);
    expect(r.verifyXml).toMatch(/13 dbt test\(s\), [^;]+; failOnTestWarnings false \(qualityGates of staging\)/);
    expect(r.verifyXml).toContain('1 source(s) with freshness; maxSourceStalenessHours 24 (qualityGates of staging)');
    expect(r.verifyXml).toContain('1 table(s) swapped by the deploy; maxRowCountChangePct 25 (qualityGates of staging)');
    expect(r.gatesXml).toMatch(/<testsuites name="dataops validate" tests="3" failures="0"/);
    expect(gateEvent(r)).toMatchObject({ result: 'succeeded', problems: [], message: 'data-quality gates passed in staging: dbt-tests passed, source-freshness passed, row-counts passed' });
    expect(r.status).toBe('verified');
  });

  it.each([
    {
      fault: 'a failing dbt test',
      opts: { before: 100, after: 100, fault: 'update main_marts.fct_daily_visits set billed_amount = -1 where visit_date = (select min(visit_date) from main_marts.fct_daily_visits)' },
      code: 'GATE_TEST_FAILED',
      gate: 'dbt-tests',
      message: /dbt test \w*not_negative_fct_daily_visits_billed_amount of model fct_daily_visits failed with \d+ failing row\(s\); the test gate allows no failing test/,
    },
    {
      fault: 'a stale source',
      opts: { before: 100, after: 100, fault: "update main_raw.raw_visits set loaded_at = current_timestamp::timestamp - interval '30 hours'" },
      code: 'GATE_SOURCE_STALE',
      gate: 'source-freshness',
      message: /source raw\.visits was last loaded 30\.\d h ago .*, over maxSourceStalenessHours 24/,
    },
    {
      fault: 'a row count change over the threshold',
      opts: { before: 100, after: 60 },
      code: 'GATE_ROW_COUNT_CHANGE',
      gate: 'row-counts',
      message: /^fct_daily_visits went from 100 to 60 rows \(-40\.0 %\), over maxRowCountChangePct 25$/,
    },
  ])('fails on $fault, naming the model or source and the threshold in the build, both reports and the ledger', async ({ opts, code, gate, message }) => {
    // GIVEN the deployed release and one fault in the environment
    // WHEN the Verify build runs
    const r = await verify(opts);
    // THEN the build fails (dataops verify exited 1)
    expect(r.build.succeeded).toBe(false);
    expect(r.build.phases.find((p) => p.name === 'build')?.failedCommand).toMatchObject({ exitCode: 1, command: expect.stringMatching(/^dataops verify /) });
    // AND the gate is the only failure, in the verify report and the gates report, with the finding
    const failing = [...r.verifyXml.matchAll(/<testcase classname="[^"]+" name="([^"]+)">\s*<failure type="([^"]+)" message="([^"]+)"/g)].map((x) => ({ name: x[1], code: x[2], message: x[3] }));
    expect(failing).toEqual([{ name: gate, code, message: expect.stringMatching(message) }]);
    expect(r.gatesXml).toMatch(new RegExp(`<testsuite name="${gate}" tests="\\d+" failures="1"`));
    expect(r.gatesXml).toContain(`<failure type="${code}"`);
    // AND the ledger's gate verification failed naming it, and the release is failed in staging
    expect(gateEvent(r)).toMatchObject({ result: 'failed', problems: [expect.stringMatching(new RegExp(`^${code} dbt:`))] });
    expect(gateEvent(r)?.problems[0]).toMatch(new RegExp(message.source.replace(/^\^/, '')));
    expect(r.status).toBe('failed');
  });
});
