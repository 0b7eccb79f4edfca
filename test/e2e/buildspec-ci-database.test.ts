import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { stringify } from 'yaml';
import { defaultConfigData } from '../helpers/config';
import { motoClientConfig, uniqueName } from '../helpers/moto';
import { SampleRepo } from './helpers';

// End-to-end: the real buildspecs/pr-validate.yml on the dbt sample repo. With the CI target
// (DATAOPS_DBT_TARGET=ci, as the CodeBuild project sets it) the build creates the Snowflake clone
// with `dataops ci-database create` (the CI user's secret in moto, Snowflake the behavioural model
// through buildspec-ci-database-snowflake.preload.js), runs `dataops validate` with the CI target's
// variables and drops the clone in `finally`; without it (a local run on DuckDB) nothing is cloned.
jest.setTimeout(600_000);

interface LogEntry {
  argv?: string[];
  DBT_CI_DATABASE?: string | null;
  keyFile?: boolean | null;
  sql?: string;
}

describe('the CI database in the PR buildspec', () => {
  let work: string;
  let configFile: string;
  const repos: SampleRepo[] = [];

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'ci-database-e2e-'));
    const out = await new SecretsManagerClient(motoClientConfig()).send(
      new CreateSecretCommand({ Name: uniqueName('dataops/snowflake-ci'), SecretString: JSON.stringify({ user: 'DATAOPS_CI', privateKey: 'not-used-by-the-model' }) }),
    );
    const raw = defaultConfigData();
    raw.ci = { ...(raw.ci ?? {}), snowflake: { environment: 'dev', secretArn: out.ARN } };
    configFile = path.join(work, 'platform.yaml');
    fs.writeFileSync(configFile, stringify(raw));
  });
  afterAll(() => {
    repos.forEach((r) => r.remove());
    fs.rmSync(work, { recursive: true, force: true });
  });

  /** Runs the PR buildspec on a one-change PR of the dbt sample and returns the build and what the `dataops` processes logged. */
  async function prBuild(env: Record<string, string>) {
    const r = new SampleRepo('dbt-models').change('models/marts/fct_daily_visits.sql', (s) => s.replace("where v.visit_status = 'completed'", "where v.visit_status = 'completed' and v.clinic_code is not null"));
    repos.push(r);
    const log = path.join(work, `${uniqueName('log')}.jsonl`);
    const moto = motoClientConfig();
    const { build } = await r.prValidate({
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_REGION: moto.region,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      DATAOPS_CONFIG: configFile,
      NODE_OPTIONS: `--require ${path.join(__dirname, 'buildspec-ci-database-snowflake.preload.js')}`,
      DATAOPS_TEST_SNOWFLAKE_LOG: log,
      ...env,
    });
    const entries = fs.existsSync(log) ? (fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l)) as LogEntry[]) : [];
    return { build, entries };
  }

  it('creates the clone before validation, validates with its variables and drops it in finally', async () => {
    // GIVEN the CodeBuild project's CI target
    // WHEN the PR buildspec runs (dbt cannot reach Snowflake here, so validation fails)
    const { build, entries } = await prBuild({ DATAOPS_DBT_TARGET: 'ci' });
    // THEN the first dataops process created the build's clone of dev's database
    // (entries without arguments are other node processes of the build, not dataops commands)
    const processes = entries.filter((e) => e.argv?.length).map((e) => e.argv!.slice(0, 2).join(' '));
    expect(processes).toEqual(['ci-database create', 'validate --repo', 'ci-database drop']);
    const [create, drop] = entries.filter((e) => e.sql).map((e) => e.sql!);
    const clone = /^CREATE OR REPLACE DATABASE "(ANALYTICS_DEV_CI_DATAOPS_LOCAL_[0-9A-F_]+)" CLONE "ANALYTICS_DEV" /.exec(create)?.[1];
    expect(clone).toBeDefined();
    // AND dataops validate ran with DBT_CI_DATABASE naming the clone and the CI user's key on disk
    expect(entries.find((e) => e.argv?.[0] === 'validate')).toMatchObject({ DBT_CI_DATABASE: clone, keyFile: true });
    // AND the clone was dropped after the failed validation
    expect(build.succeeded).toBe(false);
    expect(drop).toBe(`DROP DATABASE IF EXISTS "${clone}"`);
  });

  it('clones nothing when the dbt target is not the CI target (a local run on DuckDB)', async () => {
    // GIVEN no DATAOPS_DBT_TARGET WHEN the PR buildspec runs
    const { build, entries } = await prBuild({});
    // THEN only dataops validate ran, it passed, and no statement reached Snowflake
    expect({ succeeded: build.succeeded, log: build.succeeded ? '' : build.log.slice(-3000) }).toEqual({ succeeded: true, log: '' });
    expect(entries.filter((e) => e.argv?.length).map((e) => e.argv![0])).toEqual(['validate']);
    expect(entries.filter((e) => e.sql)).toEqual([]);
  });
});
