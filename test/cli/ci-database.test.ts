/**
 * `dataops ci-database` end to end in this process: the CI user's secret in moto's Secrets Manager,
 * the platform configuration in a file, and the Snowflake connection the command opens
 * (SnowflakeSqlClient.connect, after it read the secret) answered by the behavioural Snowflake
 * model of test/helpers/snowflake-model.ts, as test/e2e/buildspec-verify-snowflake.preload.js does.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { stringify } from 'yaml';
import { SnowflakeSqlClient, type SnowflakeConnectionProps } from '../../lib/runtime/snowflake/sql-client';
import { defaultConfigData } from '../helpers/config';
import { motoClientConfig, uniqueName } from '../helpers/moto';
import { SnowflakeModel } from '../helpers/snowflake-model';
import { runDataops } from './run-command';

const BUILD = 'northstar-clinic-analytics-pr-validate:0b7c1d2e-3f40-4a5b-9c6d-7e8f90a1b2c3';
const CLONE = 'ANALYTICS_DEV_CI_NORTHSTAR_CLINIC_ANALYTICS_PR_VALIDATE_0B7C1D2E_3F40_4A5B_9C6D_7E8F90A1B2C3';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIIE-not-a-real-key\n-----END PRIVATE KEY-----\n';

describe('dataops ci-database', () => {
  const saved = { ...process.env };
  let work: string;
  let configFile: string;
  let secretArn: string;
  let model: SnowflakeModel;
  let connections: SnowflakeConnectionProps[];

  /** Writes the default configuration with `ci.snowflake` set to `ci` (or removed). */
  function writeConfig(ci: Record<string, unknown> | undefined): string {
    const raw = defaultConfigData();
    raw.ci = { ...(raw.ci ?? {}), snowflake: ci };
    if (!ci) delete raw.ci.snowflake;
    const file = path.join(work, `config-${Math.random().toString(36).slice(2)}.yaml`);
    fs.writeFileSync(file, stringify(raw));
    return file;
  }

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'ci-database-cli-'));
    const secrets = new SecretsManagerClient(motoClientConfig());
    const out = await secrets.send(new CreateSecretCommand({ Name: uniqueName('dataops/snowflake-ci'), SecretString: JSON.stringify({ user: 'DATAOPS_CI', privateKey: KEY }) }));
    secretArn = out.ARN!;
    configFile = writeConfig({ environment: 'dev', secretArn, role: 'DATAOPS_CI' });
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  beforeEach(() => {
    const moto = motoClientConfig();
    Object.assign(process.env, { AWS_ENDPOINT_URL: moto.endpoint, AWS_REGION: moto.region, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' });
    delete process.env.DATAOPS_CONFIG;
    delete process.env.DATAOPS_CONFIG_SHA256;
    delete process.env.DATAOPS_CI_SNOWFLAKE_SECRET_ARN;
    model = new SnowflakeModel();
    model.createTable('ANALYTICS_DEV.ANALYTICS.FCT_VISITS', [{ ID: 1 }]);
    connections = [];
    jest.spyOn(SnowflakeSqlClient, 'connect').mockImplementation(async (props) => {
      connections.push(props);
      return model as unknown as SnowflakeSqlClient;
    });
  });
  afterEach(() => {
    jest.restoreAllMocks();
    process.env = { ...saved };
  });

  it("creates the build's clone as the CI user and writes a sourceable file with the dbt CI target's variables", async () => {
    // GIVEN ci.snowflake naming dev, the CI user's secret and role
    const outDir = path.join(work, 'create');
    // WHEN the create command runs for a CodeBuild build id
    const run = await runDataops(['ci-database', 'create', '--config', configFile, '--name', BUILD, '--out-dir', outDir]);
    // THEN it connects to dev's account as the CI user with the CI role and clones dev's database
    expect(run.exitCode).toBe(0);
    expect(connections).toEqual([expect.objectContaining({ account: 'northstar-dev', database: 'ANALYTICS_DEV', role: 'DATAOPS_CI', secret: expect.objectContaining({ user: 'DATAOPS_CI' }) })]);
    expect(model.databases()).toContain(CLONE);
    expect(run.stderr).toContain(`created ${CLONE}`);
    // AND stdout is the env file, which a shell sources into the CI target's variables
    const file = run.stdout.trim();
    expect(file).toBe(path.join(outDir, 'ci-database.env'));
    const vars = execFileSync('bash', ['-c', `. "${file}" && env | grep -E '^(DBT_CI_DATABASE|SNOWFLAKE_)' | sort`], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    const key = path.join(outDir, 'snowflake-ci.p8');
    expect(vars.trim().split('\n')).toEqual(
      [
        `DBT_CI_DATABASE=${CLONE}`,
        'SNOWFLAKE_ACCOUNT=northstar-dev',
        `SNOWFLAKE_DATABASE=${CLONE}`,
        `SNOWFLAKE_PRIVATE_KEY_PATH=${key}`,
        'SNOWFLAKE_ROLE=DATAOPS_CI',
        'SNOWFLAKE_USER=DATAOPS_CI',
        'SNOWFLAKE_WAREHOUSE=DATAOPS_DEV_WH',
      ].sort(),
    );
    // AND the key and the env file are readable by the owner only
    expect(fs.readFileSync(key, 'utf8')).toBe(KEY);
    expect(fs.statSync(key).mode & 0o777).toBe(0o600);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it("drops the build's clone, and dropping it again succeeds", async () => {
    // GIVEN the build's clone
    await runDataops(['ci-database', 'create', '--config', configFile, '--name', BUILD, '--out-dir', path.join(work, 'drop')]);
    // WHEN it is dropped twice
    const first = await runDataops(['ci-database', 'drop', '--config', configFile, '--name', BUILD]);
    const second = await runDataops(['ci-database', 'drop', '--config', configFile, '--name', BUILD]);
    // THEN both succeed and only the source database is left
    expect([first.exitCode, second.exitCode]).toEqual([0, 0]);
    expect(model.databases()).toEqual(['ANALYTICS_DEV']);
  });

  it('drops clones older than --older-than hours as the janitor', async () => {
    // GIVEN a clone of a build that crashed 10 hours ago and one of a running build
    await runDataops(['ci-database', 'create', '--config', configFile, '--name', 'crashed:1', '--out-dir', path.join(work, 'j1')]);
    model.elapse(10);
    await runDataops(['ci-database', 'create', '--config', configFile, '--name', 'running:2', '--out-dir', path.join(work, 'j2')]);
    // WHEN the janitor runs with 6 hours
    const run = await runDataops(['ci-database', 'drop', '--config', configFile, '--older-than', '6']);
    // THEN the crashed build's clone is gone and the running build's is kept
    expect(run.exitCode).toBe(0);
    expect(model.databases()).toEqual(['ANALYTICS_DEV', 'ANALYTICS_DEV_CI_RUNNING_2']);
    expect(run.stderr).toContain('janitor: dropped 1 CI clone(s) of ANALYTICS_DEV older than 6 h, kept 1 younger one(s)');
  });

  it('reads the configuration named by DATAOPS_CONFIG when no --config is given', async () => {
    // GIVEN DATAOPS_CONFIG naming the configuration with ci.snowflake
    process.env.DATAOPS_CONFIG = configFile;
    // WHEN create runs without --config THEN it clones dev's database
    const run = await runDataops(['ci-database', 'create', '--name', BUILD, '--out-dir', path.join(work, 'env')]);
    expect(run.exitCode).toBe(0);
    expect(model.databases()).toContain(CLONE);
  });

  it('reads the secret the CodeBuild project names in DATAOPS_CI_SNOWFLAKE_SECRET_ARN', async () => {
    // GIVEN another CI secret named by the project's build variable
    const out = await new SecretsManagerClient(motoClientConfig()).send(new CreateSecretCommand({ Name: uniqueName('dataops/snowflake-ci-project'), SecretString: JSON.stringify({ user: 'DATAOPS_CI_PROJECT', password: 'pw' }) }));
    process.env.DATAOPS_CI_SNOWFLAKE_SECRET_ARN = out.ARN;
    // WHEN create runs THEN it connects as that secret's user
    const run = await runDataops(['ci-database', 'create', '--config', configFile, '--name', BUILD, '--out-dir', path.join(work, 'project-secret')]);
    expect(run.exitCode).toBe(0);
    expect(connections.map((c) => c.secret.user)).toEqual(['DATAOPS_CI_PROJECT']);
  });

  it('fails for a build id with an injection attempt before connecting to Snowflake', async () => {
    // GIVEN a name with a quote and a statement WHEN create runs
    const run = await runDataops(['ci-database', 'create', '--config', configFile, '--name', 'x"; DROP DATABASE ANALYTICS_PROD; --', '--out-dir', path.join(work, 'bad')]);
    // THEN it fails naming the input, and nothing reached Snowflake
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain(`build id 'x"; DROP DATABASE ANALYTICS_PROD; --' is not a build id`);
    expect(model.statements).toEqual([]);
  });

  it('fails naming ci.snowflake and how to set it when the configuration has no CI user', async () => {
    // GIVEN a configuration without ci.snowflake WHEN create runs
    const run = await runDataops(['ci-database', 'create', '--config', writeConfig(undefined), '--name', BUILD, '--out-dir', path.join(work, 'none')]);
    // THEN it fails, telling what to add
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('ci.snowflake is not set in the platform configuration');
    expect(run.stderr).toContain('add ci.snowflake: { environment: dev, secretArn:');
    expect(connections).toEqual([]);
  });

  it('fails naming the secret when it lacks the user', async () => {
    // GIVEN a CI secret without "user"
    const out = await new SecretsManagerClient(motoClientConfig()).send(new CreateSecretCommand({ Name: uniqueName('dataops/snowflake-ci-bad'), SecretString: JSON.stringify({ privateKey: KEY }) }));
    // WHEN create runs THEN it fails naming the config key, the secret and what it lacks
    const run = await runDataops(['ci-database', 'create', '--config', writeConfig({ secretArn: out.ARN }), '--name', BUILD, '--out-dir', path.join(work, 'bad-secret')]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain(`ci.snowflake.secretArn: secret ${out.ARN} lacks user; store {"user","privateKey"} for the Snowflake CI user`);
  });

  it('fails when drop is given neither --name nor --older-than', async () => {
    const run = await runDataops(['ci-database', 'drop', '--config', configFile]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('nothing to drop; pass --name <build id>, --older-than <hours>, or both');
  });

  it('fails for an --older-than that is not a positive number of hours', async () => {
    const run = await runDataops(['ci-database', 'drop', '--config', configFile, '--older-than', 'six']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain("--older-than 'six' is not a positive number of hours");
  });

  it('fails for an --env that is not an environment', async () => {
    const run = await runDataops(['ci-database', 'drop', '--config', configFile, '--env', 'qa', '--name', BUILD]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain("--env 'qa' is not an environment, expected one of dev, staging, prod");
  });
});
