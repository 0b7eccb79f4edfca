/**
 * The dbt/Snowflake deployer's logic against the behavioural Snowflake model (clone, swap, Time
 * Travel, watermarks) and moto S3 for the published artifacts.
 */
import { DbtSnowflakeDeployer } from '../../../lib/runtime/deployers/dbt-snowflake-deployer';
import { sha256Hex } from '../../../lib/runtime/deployers/release-files';
import { createVersionedBucket, deployContext, motoS3, storedSha256s, writeRelease } from '../../helpers/s3-fixtures';
import { SnowflakeModel } from '../../helpers/snowflake-model';

const s3 = motoS3();
let bucket: string;
beforeAll(async () => {
  bucket = await createVersionedBucket(s3, 'artifacts');
});

const CLAIMS = 'ANALYTICS_DEV.CORE.STG_CLAIMS';
const MEMBERS = 'ANALYTICS_DEV.CORE.DIM_MEMBERS';

function manifest(version: string): string {
  return JSON.stringify({
    metadata: { dbt_schema_version: 'https://schemas.getdbt.com/dbt/manifest/v12.json', invocation_id: version },
    nodes: {
      'model.core.stg_claims': { unique_id: 'model.core.stg_claims', resource_type: 'model', name: 'stg_claims', schema: 'core', compiled_code: `select id from raw.claims -- ${version}`, config: { materialized: 'table' } },
      'model.core.dim_members': { unique_id: 'model.core.dim_members', resource_type: 'model', name: 'dim_members', schema: 'core', compiled_code: `select id from raw.members where id > 2 -- ${version}`, config: { materialized: 'incremental' } },
      'model.core.new_model': { unique_id: 'model.core.new_model', resource_type: 'model', name: 'new_model', schema: 'core', compiled_code: 'select 1', config: { materialized: 'table' } },
    },
  });
}

async function release(repo: string, build: number, rebuild: string[]) {
  const m = manifest(`v${build}`);
  return writeRelease({
    repo,
    build,
    files: [
      { kind: 'dbt', path: 'dbt_project.yml', body: `name: core\nversion: "${build}"\n` },
      { kind: 'dbt', path: 'models/stg_claims.sql', body: `select id from {{ source('raw', 'claims') }} -- v${build}` },
      { kind: 'dbt', path: 'target/manifest.json', body: m },
    ],
    dbt: { manifestSha256: sha256Hex(m), modelsToRebuild: rebuild },
  });
}

function setup() {
  const sf = new SnowflakeModel();
  sf.createTable(CLAIMS, [{ ID: 1 }, { ID: 2 }], 'dataops release 20261127.1+0000000 of core');
  sf.createTable(MEMBERS, [{ ID: 1 }, { ID: 2 }]);
  sf.defineQuery('select id from raw.claims -- v2', [{ ID: 10 }, { ID: 20 }, { ID: 30 }]);
  sf.defineQuery('select id from raw.members where id > 2 -- v2', [{ ID: 3 }]);
  const deployer = new DbtSnowflakeDeployer({ sql: sf, s3, artifactBucket: bucket });
  return { sf, deployer };
}

async function deploy(deployer: DbtSnowflakeDeployer, r: Awaited<ReturnType<typeof release>>) {
  const ctx = deployContext(r.release, r.dir);
  const plan = deployer.plan(await deployer.readCurrent(ctx), ctx);
  return { ctx, plan, result: await deployer.apply(plan, ctx) };
}

describe('DbtSnowflakeDeployer', () => {
  it('rebuilds each marked model in a zero-copy clone, swaps it in and publishes the project and manifest; the same release again writes nothing', async () => {
    // GIVEN two live tables and a release that marks both for rebuild (and one model without a table yet)
    const { sf, deployer } = setup();
    const r = await release('core-a', 2, ['model.core.stg_claims', 'model.core.dim_members', 'model.core.new_model']);
    // WHEN it is deployed
    const first = await deploy(deployer, r);
    // THEN the table model holds the rebuilt rows, the incremental model its live rows plus the new ones
    expect(sf.table(CLAIMS)!.rows).toEqual([{ ID: 10 }, { ID: 20 }, { ID: 30 }]);
    expect(sf.table(MEMBERS)!.rows).toEqual([{ ID: 1 }, { ID: 2 }, { ID: 3 }]);
    // AND the statements were clone → build → comment → swap for each model, after taking the pre-deploy time
    const ddl = sf.statements.filter((s) => !s.startsWith('SELECT'));
    const build = (t: string) => `"ANALYTICS_DEV"."CORE"."${t}__DATAOPS_20261128_2_${r.release.gitSha.slice(0, 7).toUpperCase()}"`;
    expect(ddl).toEqual([
      `CREATE OR REPLACE TABLE ${build('STG_CLAIMS')} CLONE "ANALYTICS_DEV"."CORE"."STG_CLAIMS"`,
      `INSERT OVERWRITE INTO ${build('STG_CLAIMS')} select id from raw.claims -- v2`,
      `ALTER TABLE ${build('STG_CLAIMS')} SET COMMENT = 'dataops release ${r.release.version} of core-a'`,
      `ALTER TABLE "ANALYTICS_DEV"."CORE"."STG_CLAIMS" SWAP WITH ${build('STG_CLAIMS')}`,
      `CREATE OR REPLACE TABLE ${build('DIM_MEMBERS')} CLONE "ANALYTICS_DEV"."CORE"."DIM_MEMBERS"`,
      `INSERT INTO ${build('DIM_MEMBERS')} select id from raw.members where id > 2 -- v2`,
      `ALTER TABLE ${build('DIM_MEMBERS')} SET COMMENT = 'dataops release ${r.release.version} of core-a'`,
      `ALTER TABLE "ANALYTICS_DEV"."CORE"."DIM_MEMBERS" SWAP WITH ${build('DIM_MEMBERS')}`,
    ]);
    // AND the previous state holds the pre-deploy time and each table's watermark before the deploy
    expect(first.result.previous.preDeployAt).toMatch(/^2026-11-28T12:00:0\d\.000000000\+00:00$/);
    expect(first.result.previous.tables.map((t) => [t.uniqueId, t.before.rowCount, t.before.lastAltered < first.result.previous.preDeployAt!])).toEqual([
      ['model.core.stg_claims', 2, true],
      ['model.core.dim_members', 2, true],
    ]);
    expect(first.plan.absent).toEqual(['model.core.new_model']);
    // AND the artifacts are published with the release's bytes
    const stored = await storedSha256s(s3, bucket, 'dbt/core-a/');
    expect(stored).toEqual({ 'dbt/core-a/manifest.json': r.release.dbt!.manifestSha256, 'dbt/core-a/project.tar.gz': r.release.artifacts[0].sha256 });
    expect(first.result.writes).toBe(10);
    // AND WHEN the same release is deployed again THEN nothing is written and no DDL is sent
    const before = sf.statements.length;
    const second = await deploy(deployer, r);
    expect(second.result.writes).toBe(0);
    expect(sf.statements.slice(before).filter((s) => !s.startsWith('SELECT'))).toEqual([]);
    await expect(deployer.verify(second.ctx)).resolves.toEqual({ ok: true, problems: [] });
  });

  it('restores the previous data by swapping back when no load landed, and the artifacts byte for byte', async () => {
    // GIVEN release 1 published, then release 2 deployed with a rebuild
    const { sf, deployer } = setup();
    await deploy(deployer, await release('core-b', 1, []));
    const artifactsBefore = await storedSha256s(s3, bucket, 'dbt/core-b/');
    const r2 = await deploy(deployer, await release('core-b', 2, ['model.core.stg_claims']));
    // WHEN the previous state is restored
    const restored = await deployer.restore(r2.result.previous, r2.ctx);
    // THEN the table holds its data from before the deploy, and the artifacts are release 1's
    expect(sf.table(CLAIMS)!.rows).toEqual([{ ID: 1 }, { ID: 2 }]);
    expect(sf.table(CLAIMS)!.comment).toBe('dataops release 20261127.1+0000000 of core');
    expect(await storedSha256s(s3, bucket, 'dbt/core-b/')).toEqual(artifactsBefore);
    expect(restored.forPerson).toEqual([]);
    // AND restoring again writes nothing
    expect((await deployer.restore(r2.result.previous, r2.ctx)).writes).toBe(0);
  });

  it('keeps the data and names the table and times for a person when a load landed after the swap', async () => {
    // GIVEN release 2 swapped in, then a load landed on the table
    const { sf, deployer } = setup();
    const r2 = await deploy(deployer, await release('core-c', 2, ['model.core.stg_claims']));
    sf.load(CLAIMS, [{ ID: 40 }]);
    // WHEN the previous state is restored
    const restored = await deployer.restore(r2.result.previous, r2.ctx);
    // THEN the table keeps the rebuilt rows and the load, and the decision names the table, the load time and the swap time
    expect(sf.table(CLAIMS)!.rows).toEqual([{ ID: 10 }, { ID: 20 }, { ID: 30 }, { ID: 40 }]);
    const t = r2.result.previous.tables[0];
    expect(restored.forPerson).toEqual([expect.stringContaining(`ANALYTICS_DEV.CORE.STG_CLAIMS: a load landed at ${sf.table(CLAIMS)!.lastAltered}, after release ${r2.ctx.release.version} swapped it in at ${t.lastAlteredAfterSwap}`)]);
    expect(restored.forPerson![0]).toContain(`ALTER TABLE "ANALYTICS_DEV"."CORE"."STG_CLAIMS" SWAP WITH "ANALYTICS_DEV"."CORE"."${t.keptAs.name.toUpperCase()}"`);
  });

  it('restores from a previous state recorded before the apply (crash recovery), using the kept table as the swap time', async () => {
    // GIVEN the previous state computed before the apply, as an orchestrator records it first
    const { sf, deployer } = setup();
    const r = await release('core-f', 2, ['model.core.stg_claims']);
    const ctx = deployContext(r.release, r.dir);
    const current = await deployer.readCurrent(ctx);
    const plan = deployer.plan(current, ctx);
    const recorded = deployer.previousOf(current, plan, ctx);
    await deployer.apply(plan, ctx);
    expect(recorded.tables[0].lastAlteredAfterSwap).toBeNull();
    // WHEN it is restored with no load since THEN the old data is back
    await deployer.restore(recorded, ctx);
    expect(sf.table(CLAIMS)!.rows).toEqual([{ ID: 1 }, { ID: 2 }]);
  });

  it('undrops the table holding the previous data when someone dropped it, then swaps back', async () => {
    // GIVEN release 2 swapped in and the kept table dropped by someone
    const { sf, deployer } = setup();
    const r2 = await deploy(deployer, await release('core-d', 2, ['model.core.stg_claims']));
    const kept = r2.result.previous.tables[0].keptAs;
    sf.drop(`${kept.database}.${kept.schema}.${kept.name}`);
    // WHEN the previous state is restored THEN the data from before the deploy is back
    await deployer.restore(r2.result.previous, r2.ctx);
    expect(sf.table(CLAIMS)!.rows).toEqual([{ ID: 1 }, { ID: 2 }]);
    expect(sf.statements).toContain(`UNDROP TABLE "ANALYTICS_DEV"."CORE"."${kept.name.toUpperCase()}"`);
  });

  it('fails when the build of a model fails, leaving the live table untouched, and converges when run again', async () => {
    // GIVEN a build statement that fails once
    const { sf, deployer } = setup();
    sf.failNext(/^INSERT OVERWRITE INTO/);
    const r = await release('core-e', 2, ['model.core.stg_claims']);
    // WHEN it is deployed THEN it fails and the live table still holds its old rows
    await expect(deploy(deployer, r)).rejects.toThrow(/injected failure of: INSERT OVERWRITE INTO/);
    expect(sf.table(CLAIMS)!.rows).toEqual([{ ID: 1 }, { ID: 2 }]);
    // AND WHEN deployed again THEN it converges
    await deploy(deployer, r);
    expect(sf.table(CLAIMS)!.rows).toEqual([{ ID: 10 }, { ID: 20 }, { ID: 30 }]);
    expect((await deploy(deployer, r)).result.writes).toBe(0);
  });
});
