import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CreateBucketCommand, GetObjectCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { loadConfig } from '../../lib/config/loader';
import type { DeployContext } from '../../lib/runtime/deployers/contract';
import { DbtSnowflakeDeployer, type DbtPrevious } from '../../lib/runtime/deployers/dbt-snowflake-deployer';
import { DEPLOYER_FACTORIES } from '../../lib/runtime/deployers/registry';
import { sha256Hex } from '../../lib/runtime/deployers/release-files';
import { loadRelease } from '../../lib/runtime/orchestrator/deploy';
import { packageRelease } from '../../lib/runtime/release/package';
import type { ReleaseManifest } from '../../lib/runtime/release/manifest';
import { SNOWFLAKE_ENDPOINT_ENV } from '../../lib/runtime/snowflake/endpoint';
import { SnowflakeSqlClient } from '../../lib/runtime/snowflake/sql-client';
import { motoClientConfig, uniqueName } from '../helpers/moto';
import { REHEARSAL_CONFIG } from '../helpers/rehearsal';
import { startSnowflake, type LocalServer } from '../helpers/servers';
import { SampleRepo } from './helpers';

// End-to-end: the dbt/Snowflake deployer as the Deploy action builds it (DEPLOYER_FACTORIES.dbt: the
// deploy secret from Secrets Manager, dbt-snowflake and the Node.js driver), on the dbt sample, against
// the Snowflake stand-in (fakesnow's server; test/helpers/snowflake-standin.py) and moto. Each
// assertion reads what is live in the environment's warehouse and bucket.
jest.setTimeout(600_000);

const config = loadConfig(REHEARSAL_CONFIG);
const DB = config.environments.dev.snowflake.database;

describe('dbt deploy of the sample into a Snowflake stand-in: state comparison, dbt build in a build schema, tests as the gate, swap', () => {
  let snowflake: LocalServer;
  let sql: SnowflakeSqlClient;
  let sample: SampleRepo;
  let bucket: string;
  const saved: Record<string, string | undefined> = {};
  const lines: string[] = [];
  const dirs: string[] = [];
  const s3 = new S3Client(motoClientConfig());
  /** The dev environment of the rehearsal configuration, on this suite's bucket and deploy secret. */
  let environment: typeof config.environments.dev;

  const rows = async (q: string) => sql.query(q);
  const release = async (n: number): Promise<{ release: ReleaseManifest; dir: string }> => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-dbt-deploy-rel-'));
    dirs.push(dir);
    await packageRelease({ repoDir: sample.dir, outDir: dir, repoName: 'dbt-models', buildId: String(n), sha: `abcdef${n}`, createdAt: '2026-12-03T09:00:00Z' });
    return { release: loadRelease(path.join(dir, "release-manifest.json")).manifest, dir };
  };
  const deployer = async () => (await DEPLOYER_FACTORIES.dbt!({ config: { ...config, environments: { ...config.environments, dev: environment } }, env: 'dev', repo: 'dbt-models', region: 'us-east-1' })) as DbtSnowflakeDeployer;
  const ctxOf = (r: { release: ReleaseManifest; dir: string }): DeployContext => ({ repo: 'dbt-models', env: 'dev', environment, release: r.release, releaseDir: r.dir, log: (l) => lines.push(l) });
  const deploy = async (r: { release: ReleaseManifest; dir: string }, extra: Partial<DeployContext> = {}) => {
    const d = await deployer();
    const ctx = { ...ctxOf(r), ...extra };
    const plan = d.plan(await d.readCurrent(ctx), ctx);
    return d.apply(plan, ctx);
  };
  const liveManifestSha = async () => {
    const o = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'dbt/dbt-models/manifest.json' }));
    return sha256Hex(Buffer.from(await o.Body!.transformToByteArray()));
  };
  const tableInfo = async (schema: string, name: string) =>
    (await rows(`SELECT "LAST_ALTERED", "COMMENT", "ROW_COUNT" FROM "${DB}"."INFORMATION_SCHEMA"."TABLES" WHERE "TABLE_SCHEMA" = '${schema}' AND "TABLE_NAME" = '${name}'`))[0];

  // GIVEN the environment's warehouse with its landing tables (what the ingestion DAG loads), its bucket
  // and its deploy secret, and the dbt sample committed in git
  beforeAll(async () => {
    snowflake = await startSnowflake();
    for (const v of [SNOWFLAKE_ENDPOINT_ENV, 'AWS_ENDPOINT_URL']) saved[v] = process.env[v];
    process.env[SNOWFLAKE_ENDPOINT_ENV] = snowflake.endpoint;
    process.env.AWS_ENDPOINT_URL = motoClientConfig().endpoint;
    bucket = uniqueName('mwaa-dev');
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    const secret = await new SecretsManagerClient(motoClientConfig()).send(new CreateSecretCommand({ Name: uniqueName('snowflake-deploy-dev'), SecretString: JSON.stringify({ user: 'DATAOPS_DEPLOY', password: 'stand-in' }) }));
    const dev = config.environments.dev;
    environment = { ...dev, mwaa: { ...dev.mwaa, dagBucket: bucket }, snowflake: { ...dev.snowflake, deploySecretArn: secret.ARN! } };
    sql = await SnowflakeSqlClient.connect({ ...environment.snowflake, secret: { user: 'SETUP', password: 'stand-in' }, endpointUrl: snowflake.endpoint });
    await rows(`CREATE DATABASE IF NOT EXISTS "${DB}"`);
    await rows(`CREATE SCHEMA IF NOT EXISTS "${DB}"."RAW"`);
    await rows(`CREATE TABLE "${DB}"."RAW"."RAW_PATIENTS" AS SELECT * FROM (VALUES (501, 1961, 'NRT', '2020-03-14'::date, current_timestamp()), (502, 1984, 'NRT', '2021-07-02'::date, current_timestamp()), (503, 1990, 'STH', '2022-01-20'::date, current_timestamp())) AS t(patient_id, birth_year, home_clinic_code, enrolled_at, loaded_at)`);
    await rows(
      `CREATE TABLE "${DB}"."RAW"."RAW_VISITS" AS SELECT * FROM (VALUES (1001, 501, 'nrt', '2026-11-01 08:15:00'::timestamp, 12500, 'completed', current_timestamp()), (1002, 502, 'NRT', '2026-11-01 09:40:00'::timestamp, 8000, 'completed', current_timestamp()), (1003, 501, 'STH', '2026-11-02 10:00:00'::timestamp, 4000, 'cancelled', current_timestamp())) AS t(visit_id, patient_id, clinic_code, visit_ts, billed_cents, status, loaded_at)`,
    );
    sample = new SampleRepo('dbt-models');
  });
  afterAll(async () => {
    await sql?.close();
    await snowflake?.stop();
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
    sample?.remove();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  let first: { release: ReleaseManifest; dir: string };
  let change: { release: ReleaseManifest; dir: string };
  let changePrevious: DbtPrevious;

  it('builds every model on the first deploy, tests them in the build schema, and creates the live tables and views', async () => {
    first = await release(1);
    const result = await deploy(first);
    expect(lines.join('\n')).toMatch(/none yet: first deploy\), 4 model\(s\) modified, 4 to build/);
    expect(result.summary).toMatch(/4 model\(s\) modified against dev, 4 built with dbt and tested, 0 table\(s\) swapped in, 2 created, 2 view\(s\) re-created, 2 artifact\(s\) published/);
    // THEN the live marts hold the rows dbt built from the landing tables
    expect(await rows(`SELECT "PATIENT_ID", "LIFETIME_VISITS" FROM "${DB}"."ANALYTICS_MARTS"."DIM_PATIENTS" ORDER BY 1`)).toEqual([
      { PATIENT_ID: 501, LIFETIME_VISITS: 2 },
      { PATIENT_ID: 502, LIFETIME_VISITS: 1 },
      { PATIENT_ID: 503, LIFETIME_VISITS: 0 },
    ]);
    expect(await rows(`SELECT "CLINIC_CODE", "VISIT_COUNT" FROM "${DB}"."ANALYTICS_MARTS"."FCT_DAILY_VISITS" ORDER BY 1`)).toEqual([{ CLINIC_CODE: 'NRT', VISIT_COUNT: 2 }]);
    // AND the views live in the staging schema, each table carries the release's mark, and the manifest is published
    expect((await rows(`SELECT COUNT(*) AS "N" FROM "${DB}"."ANALYTICS_STAGING"."STG_VISITS"`))[0].N).toBe(3);
    expect((await tableInfo('ANALYTICS_MARTS', 'DIM_PATIENTS')).COMMENT).toBe(`dataops release ${first.release.version} of dbt-models`);
    expect(await liveManifestSha()).toBe(first.release.dbt!.manifestSha256);
  });

  it('changes nothing when the same release is deployed again', async () => {
    const before = await tableInfo('ANALYTICS_MARTS', 'DIM_PATIENTS');
    const again = await deploy(first);
    expect(again.writes).toBe(0);
    expect(await tableInfo('ANALYTICS_MARTS', 'DIM_PATIENTS')).toEqual(before);
  });

  it('builds only the changed model and its descendants on a one-file change, and swaps it in', async () => {
    const dimBefore = await tableInfo('ANALYTICS_MARTS', 'DIM_PATIENTS');
    // GIVEN a release that counts cancelled visits too
    sample.change('models/marts/fct_daily_visits.sql', (t) => t.replace("where v.visit_status = 'completed'", "where v.visit_status in ('completed', 'cancelled')"));
    change = await release(2);
    lines.length = 0;
    const result = await deploy(change);
    changePrevious = result.previous;
    expect(result.summary).toMatch(/1 model\(s\) modified against dev, 1 built with dbt and tested, 1 table\(s\) swapped in, 0 created, 0 view\(s\) re-created/);
    expect(await rows(`SELECT "CLINIC_CODE", "VISIT_COUNT" FROM "${DB}"."ANALYTICS_MARTS"."FCT_DAILY_VISITS" ORDER BY 1`)).toEqual([
      { CLINIC_CODE: 'NRT', VISIT_COUNT: 2 },
      { CLINIC_CODE: 'STH', VISIT_COUNT: 1 },
    ]);
    // THEN the model that did not change was not touched
    expect(await tableInfo('ANALYTICS_MARTS', 'DIM_PATIENTS')).toEqual(dimBefore);
    expect(changePrevious.tables.map((t) => t.table.name.toUpperCase())).toEqual(['FCT_DAILY_VISITS']);
  });

  it('swaps nothing in when a test of a changed model fails in the build schema', async () => {
    const live = await rows(`SELECT * FROM "${DB}"."ANALYTICS_MARTS"."DIM_PATIENTS" ORDER BY 1`);
    const published = await liveManifestSha();
    // GIVEN a release whose dim_patients repeats each patient (its unique test fails)
    sample.change('models/marts/dim_patients.sql', (t) => t.replace('left join visits as v on p.patient_id = v.patient_id', 'left join visits as v on p.patient_id = v.patient_id\ncross join (select 1 as n union all select 2 as n) as twice'));
    const bad = await release(3);
    await expect(deploy(bad)).rejects.toThrow(/dbt build of release .* in dev failed, so nothing was swapped in .*unique_dim_patients_patient_id\.\w+ fail: Got 3 results/);
    expect(await rows(`SELECT * FROM "${DB}"."ANALYTICS_MARTS"."DIM_PATIENTS" ORDER BY 1`)).toEqual(live);
    expect(await liveManifestSha()).toBe(published);
    sample.change('models/marts/dim_patients.sql', (t) => t.replace('\ncross join (select 1 as n union all select 2 as n) as twice', ''));
  });

  it('swaps the previous data back on a rollback while no load landed since the swap', async () => {
    const d = await deployer();
    const restored = await d.restore(changePrevious, ctxOf(change));
    expect(restored.forPerson ?? []).toEqual([]);
    expect(await rows(`SELECT "CLINIC_CODE", "VISIT_COUNT" FROM "${DB}"."ANALYTICS_MARTS"."FCT_DAILY_VISITS" ORDER BY 1`)).toEqual([{ CLINIC_CODE: 'NRT', VISIT_COUNT: 2 }]);
    expect(await liveManifestSha()).toBe(first.release.dbt!.manifestSha256);
  });

  it("builds no model on a rollback's redeploy of an earlier release: it republishes the project, and the data stays as the restore left it", async () => {
    // GIVEN the change deployed again (its model rebuilt against the first release's manifest)
    await deploy(change);
    const live = await rows(`SELECT "CLINIC_CODE", "VISIT_COUNT" FROM "${DB}"."ANALYTICS_MARTS"."FCT_DAILY_VISITS" ORDER BY 1`);
    expect(live).toHaveLength(2);
    // WHEN a rollback redeploys the first release
    lines.length = 0;
    const redeploy = await deploy(first, { isRollback: true });
    // THEN nothing was built or swapped, the first release's manifest is published again
    expect(lines.join('\n')).toMatch(/a rollback redeploy of .* builds no models/);
    expect(redeploy.summary).toMatch(/0 model\(s\) rebuilt in a clone and swapped in, 2 artifact\(s\) published/);
    expect(await rows(`SELECT "CLINIC_CODE", "VISIT_COUNT" FROM "${DB}"."ANALYTICS_MARTS"."FCT_DAILY_VISITS" ORDER BY 1`)).toEqual(live);
    expect(await liveManifestSha()).toBe(first.release.dbt!.manifestSha256);
  });

  it('re-creates on a rollback the views the release replaced, from the restored project', async () => {
    // GIVEN a release that adds a column to the stg_visits view, deployed
    sample.change('models/staging/stg_visits.sql', (t) => t.replace('lower(status) as visit_status', "lower(status) as visit_status,\n    'v4' as release_tag"));
    const viewChange = await release(4);
    const d = await deployer();
    const ctx = ctxOf(viewChange);
    const deployed = await d.apply(d.plan(await d.readCurrent(ctx), ctx), ctx);
    const view = `"${DB}"."ANALYTICS_STAGING"."STG_VISITS"`;
    expect(Object.keys((await rows(`SELECT * FROM ${view} LIMIT 1`))[0])).toContain('RELEASE_TAG');
    expect(deployed.previous.views).toContain('model.clinic_analytics.stg_visits');
    // WHEN it is rolled back
    lines.length = 0;
    const restored = await (await deployer()).restore(deployed.previous, ctx);
    // THEN the view is the restored project's again, and the summary says so
    expect(Object.keys((await rows(`SELECT * FROM ${view} LIMIT 1`))[0])).not.toContain('RELEASE_TAG');
    expect(restored.summary).toMatch(/[1-9]\d* view\(s\) re-created/);
    expect(lines.join('\n')).toMatch(/re-created \d+ view\(s\) from the restored project: .*stg_visits/);
  });

  it("answers the Node.js driver's DML, as a load between releases runs it (the stand-in adds the row count fakesnow leaves out)", async () => {
    const count = async () => Number((await rows(`SELECT count(*) AS "N" FROM "${DB}"."RAW"."RAW_PATIENTS"`))[0].N);
    const before = await count();
    await rows(`INSERT INTO "${DB}"."RAW"."RAW_PATIENTS" VALUES (599, 2001, 'STH', '2026-01-01'::date, current_timestamp())`);
    expect(await count()).toBe(before + 1);
    await rows(`DELETE FROM "${DB}"."RAW"."RAW_PATIENTS" WHERE patient_id = 599`);
    expect(await count()).toBe(before);
  }, 30_000);
});
