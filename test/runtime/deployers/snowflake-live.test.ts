/**
 * Opt-in: the dbt/Snowflake deployer against a real Snowflake account. Runs only when
 * SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER and SNOWFLAKE_PASSWORD or SNOWFLAKE_PRIVATE_KEY_PATH are set
 * (plus SNOWFLAKE_ROLE, SNOWFLAKE_WAREHOUSE and SNOWFLAKE_DATABASE, where the user may create a
 * schema). It works in a schema of its own and drops it at the end.
 */
import * as fs from 'fs';
import { DbtSnowflakeDeployer } from '../../../lib/runtime/deployers/dbt-snowflake-deployer';
import { sha256Hex } from '../../../lib/runtime/deployers/release-files';
import { SnowflakeSqlClient } from '../../../lib/runtime/snowflake/sql-client';
import { createVersionedBucket, deployContext, motoS3, writeRelease } from '../../helpers/s3-fixtures';

const env = process.env;
const missing = ['SNOWFLAKE_ACCOUNT', 'SNOWFLAKE_USER', 'SNOWFLAKE_ROLE', 'SNOWFLAKE_WAREHOUSE', 'SNOWFLAKE_DATABASE'].filter((k) => !env[k]);
if (!env.SNOWFLAKE_PASSWORD && !env.SNOWFLAKE_PRIVATE_KEY_PATH) missing.push('SNOWFLAKE_PASSWORD or SNOWFLAKE_PRIVATE_KEY_PATH');
const live = missing.length === 0;

(live ? describe : describe.skip)(`dbt/Snowflake deployer on a live account${live ? '' : ` (skipped: set ${missing.join(', ')} to run it)`}`, () => {
  const schema = `DATAOPS_TEST_${process.pid}_${Date.now()}`;
  let sql: SnowflakeSqlClient;

  beforeAll(async () => {
    sql = await SnowflakeSqlClient.connect({
      account: env.SNOWFLAKE_ACCOUNT!,
      database: env.SNOWFLAKE_DATABASE!,
      role: env.SNOWFLAKE_ROLE!,
      warehouse: env.SNOWFLAKE_WAREHOUSE!,
      secret: { user: env.SNOWFLAKE_USER!, password: env.SNOWFLAKE_PASSWORD, privateKey: env.SNOWFLAKE_PRIVATE_KEY_PATH ? fs.readFileSync(env.SNOWFLAKE_PRIVATE_KEY_PATH, 'utf8') : undefined },
    });
    await sql.query(`CREATE SCHEMA "${schema}"`);
    await sql.query(`CREATE TABLE "${schema}"."STG_CLAIMS" (ID NUMBER) AS SELECT column1 FROM VALUES (1), (2)`);
  });
  afterAll(async () => {
    await sql?.query(`DROP SCHEMA IF EXISTS "${schema}"`).catch(() => undefined);
    await sql?.close();
  });

  it('rebuilds a table in a clone, swaps it in, writes nothing the second time and swaps the old data back on restore', async () => {
    // GIVEN a live table with two rows and a release whose compiled model selects three others
    const s3 = motoS3();
    const manifest = JSON.stringify({
      nodes: { 'model.core.stg_claims': { unique_id: 'model.core.stg_claims', resource_type: 'model', name: 'stg_claims', schema, compiled_code: 'select column1 as id from values (10), (20), (30)', config: { materialized: 'table' } } },
    });
    const { release, dir } = await writeRelease({ repo: 'core-live', files: [{ kind: 'dbt', path: 'target/manifest.json', body: manifest }], dbt: { manifestSha256: sha256Hex(manifest), modelsToRebuild: ['model.core.stg_claims'] } });
    const base = deployContext(release, dir);
    const ctx = { ...base, environment: { ...base.environment, snowflake: { ...base.environment.snowflake, database: env.SNOWFLAKE_DATABASE! } } };
    const deployer = new DbtSnowflakeDeployer({ sql, s3, artifactBucket: await createVersionedBucket(s3, 'artifacts') });
    const ids = async () => (await sql.query(`SELECT ID FROM "${schema}"."STG_CLAIMS" ORDER BY ID`)).map((r) => Number(r.ID));
    // WHEN it is deployed twice
    const first = await deployer.apply(deployer.plan(await deployer.readCurrent(ctx), ctx), ctx);
    const second = await deployer.apply(deployer.plan(await deployer.readCurrent(ctx), ctx), ctx);
    // THEN the table holds the rebuilt rows and the second deploy wrote nothing
    expect(await ids()).toEqual([10, 20, 30]);
    expect(second.writes).toBe(0);
    // AND WHEN restored THEN the old rows are back
    await deployer.restore(first.previous, ctx);
    expect(await ids()).toEqual([1, 2]);
  });
});
