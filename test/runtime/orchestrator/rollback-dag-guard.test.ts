/**
 * A rollback's data restore with the DAGs that use the data paused, in this repo and in other repos:
 * the orchestrator with the real dbt/Snowflake deployer on the behavioural Snowflake model, the
 * cross-repo asset graph registry in moto S3, the MWAA CLI fake with the Airflow model (one
 * environment runs every repo's DAGs), and the ledger on moto DynamoDB.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { AssetKind } from '../../../lib/config/schema';
import { S3Registry } from '../../../lib/checks/graph/registry';
import { airflowInventory } from '../../../lib/checks/inventory/airflow';
import type { AirflowDag, DbtNode } from '../../../lib/checks/inventory/types';
import { DbtSnowflakeDeployer } from '../../../lib/runtime/deployers/dbt-snowflake-deployer';
import { MwaaDagDeployer } from '../../../lib/runtime/deployers/mwaa-dag-deployer';
import { sha256Hex } from '../../../lib/runtime/deployers/release-files';
import { MwaaCliClient } from '../../../lib/runtime/mwaa/cli-client';
import { deployRelease, loadRelease, type AnyDeployer, type OrchestratorDeps } from '../../../lib/runtime/orchestrator/deploy';
import { DagGuard } from '../../../lib/runtime/rollback/dag-guard';
import type { RollbackDataDeps } from '../../../lib/runtime/rollback/data-restore';
import type { Row, SqlClient } from '../../../lib/runtime/snowflake/sql-client';
import { makeTestConfig } from '../../helpers/config';
import { datasetDag, dbtNode, inventoryFragment } from '../../helpers/inventory';
import { createTestLedger } from '../../helpers/ledger';
import { uniqueName } from '../../helpers/moto';
import { manualClock, ModelAirflow, startMwaaCliFake, type MwaaCliFake } from '../../helpers/mwaa-cli-fake';
import { createVersionedBucket, dagFile, deployContext, motoS3, writeRelease } from '../../helpers/s3-fixtures';
import { SnowflakeModel } from '../../helpers/snowflake-model';

const CLAIMS = 'ANALYTICS_DEV.CORE.STG_CLAIMS';
const CLAIMS_URI = 'snowflake://analytics_dev/core/stg_claims';
const environment = makeTestConfig().environments.dev;
const s3 = motoS3();

function manifest(v: string, modelName = 'stg_claims'): string {
  const id = `model.core.${modelName}`;
  return JSON.stringify({
    metadata: { dbt_schema_version: 'https://schemas.getdbt.com/dbt/manifest/v12.json', invocation_id: v },
    nodes: {
      [id]: { unique_id: id, resource_type: 'model', name: modelName, schema: 'core', compiled_code: `select id from raw.${modelName} -- ${v}`, config: { materialized: 'table' } },
    },
  });
}

async function release(repo: string, build: number, modelName = 'stg_claims') {
  const m = manifest(`v${build}`, modelName);
  const { dir } = await writeRelease({
    repo,
    build,
    files: [
      { kind: 'dbt', path: 'dbt_project.yml', body: `name: core\nversion: "${build}"\n` },
      { kind: 'dbt', path: 'target/manifest.json', body: m },
    ],
    dbt: { manifestSha256: sha256Hex(m), modelsToRebuild: [`model.core.${modelName}`] },
  });
  return loadRelease(path.join(dir, 'release-manifest.json'));
}

const fragment = inventoryFragment;
const model = (id: string, relation: string): DbtNode => dbtNode(id, { file: 'models/stg_claims.sql', relation });
const dagOf = datasetDag;

interface World {
  repo: string;
  sf: SnowflakeModel;
  airflow: ModelAirflow;
  fake: MwaaCliFake;
  dagBucket: string;
  guard: DagGuard;
  registry: S3Registry;
  /** Paused state of each other-repo DAG at each SWAP the rollback issued. */
  atSwap: Array<Record<string, boolean | undefined>>;
  deps: (executionId: string, rollbackData?: RollbackDataDeps) => OrchestratorDeps;
  v1: Awaited<ReturnType<typeof release>>;
  v2: Awaited<ReturnType<typeof release>>;
}

const OTHER_DAGS = ['claims_report', 'claims_audit', 'unrelated_report'];
/** A DAG of repo `orchestration` that rebuilds stg_claims with dbt (no Dataset anywhere). */
const DBT_DAG = 'claims_nightly';

/** The orchestration repo's DAGs as its Package step reads them: the real Airflow inventory of a DAG file. */
async function dbtDagInventory(): Promise<AirflowDag[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-orchestration-'));
  try {
    fs.mkdirSync(path.join(dir, 'dags'));
    const text = [
      'from airflow import DAG',
      'from airflow.operators.bash import BashOperator',
      `with DAG("${DBT_DAG}", schedule="@daily", catchup=False) as dag:`,
      '    BashOperator(task_id="build", bash_command="cd /dbt && dbt build --select stg_claims --target prod")',
      '',
    ].join('\n');
    fs.writeFileSync(path.join(dir, 'dags', `${DBT_DAG}.py`), text);
    return (await airflowInventory(dir)).dags;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
const fakes: MwaaCliFake[] = [];
afterEach(async () => {
  for (const f of fakes.splice(0)) await f.stop();
});

/**
 * The dbt repo deployed v1 then v2 (which rebuilt stg_claims in a clone and swapped it in); repo
 * `reporting` has claims_report scheduled on stg_claims' Dataset (unpaused) and unrelated_report on
 * another one (unpaused); repo `audit` has claims_audit writing stg_claims, paused by a person.
 */
async function setup(opts: { dbtDag?: boolean } = {}): Promise<World> {
  const repo = uniqueName('core').replace(/[^a-z0-9]/g, '');
  const sf = new SnowflakeModel();
  sf.createTable(CLAIMS, [{ ID: 1 }, { ID: 2 }]);
  for (const v of ['v1', 'v2']) sf.defineQuery(`select id from raw.stg_claims -- ${v}`, v === 'v1' ? [{ ID: 10 }] : [{ ID: 20 }]);
  const atSwap: World['atSwap'] = [];
  const observed = opts.dbtDag ? [...OTHER_DAGS, DBT_DAG] : OTHER_DAGS;
  let watching = false;
  const airflow = new ModelAirflow();
  // Observes, at each SWAP of the rollback, whether the other repos' DAGs are paused; the SQL goes to the model unchanged.
  const sql: SqlClient = {
    query: async (q: string, binds?: ReadonlyArray<string | number>): Promise<Row[]> => {
      if (watching && /SWAP WITH/.test(q)) atSwap.push(Object.fromEntries(observed.map((d) => [d, airflow.isPaused(d)])));
      return sf.query(q, binds);
    },
    close: () => sf.close(),
  };
  const dagBucket = await createVersionedBucket(s3, 'dags');
  const dagFiles = [['reporting', 'claims_report'], ['audit', 'claims_audit'], ['reporting', 'unrelated_report'], ...(opts.dbtDag ? [['orchestration', DBT_DAG]] : [])];
  for (const [folder, dagId] of dagFiles) {
    await s3.send(new PutObjectCommand({ Bucket: dagBucket, Key: `dags/${folder}/${dagId}.py`, Body: dagFile(dagId) }));
  }
  const fake = await startMwaaCliFake({ environmentName: 'northstar-dev', backend: airflow, s3, dagBucket });
  fakes.push(fake);
  const cli = new MwaaCliClient({ mwaa: fake.mwaaClient(), environmentName: 'northstar-dev', scheme: 'http' });
  await cli.run('dags list -o json');
  airflow.setPausedDirectly('claims_report', false);
  airflow.setPausedDirectly('unrelated_report', false);
  airflow.setPausedDirectly('claims_audit', true);
  if (opts.dbtDag) airflow.setPausedDirectly(DBT_DAG, false);

  const registryBucket = uniqueName('graph');
  await s3.send(new CreateBucketCommand({ Bucket: registryBucket }));
  const registry = new S3Registry(`s3://${registryBucket}/graph`, s3);
  await registry.publish(fragment(repo, { dbt: [{ name: 'core', manifestFile: 'target/manifest.json', schemaVersion: 'v12', dbtVersion: null, nodes: [model('model.core.stg_claims', 'analytics_dev.core.stg_claims')], packages: [], projectDependencies: [] }] }));
  await registry.publish(fragment('reporting', { airflow: [dagOf('claims_report', { readsUri: CLAIMS_URI }), dagOf('unrelated_report', { readsUri: 'snowflake://analytics_dev/core/other' })] }));
  await registry.publish(fragment('audit', { airflow: [dagOf('claims_audit', { writesUri: CLAIMS_URI })] }));
  if (opts.dbtDag) await registry.publish(fragment('orchestration', { airflow: await dbtDagInventory() }));

  const deployer = new DbtSnowflakeDeployer({ sql, s3, artifactBucket: await createVersionedBucket(s3, 'dbt') });
  const { ledger } = await createTestLedger();
  const deps = (executionId: string, rollbackData?: RollbackDataDeps): OrchestratorDeps => ({
    ledger,
    deployers: new Map<AssetKind, AnyDeployer>([['dbt', deployer as AnyDeployer]]),
    executionId,
    actor: 'codebuild:deploy',
    log: () => undefined,
    ...(rollbackData ? { rollbackData } : {}),
  });
  const v1 = await release(repo, 1);
  const v2 = await release(repo, 2);
  for (const [exec, r] of [['exec-1', v1], ['exec-2', v2]] as const) {
    await ledger.putExecution({ executionId: exec, repo, env: 'dev', version: r.manifest.version, manifestSha256: r.manifestSha256, isRollback: false });
    await deployRelease(r, 'dev', environment, deps(exec));
    await ledger.releaseLock(repo, 'dev', exec); // what dataops verify does at the end
    await ledger.recordSuccess({ repo, env: 'dev', version: r.manifest.version, executionId: exec, manifestSha256: r.manifestSha256, wasRollback: false });
  }
  await ledger.putExecution({ executionId: 'exec-rb', repo, env: 'dev', version: v1.manifest.version, manifestSha256: v1.manifestSha256, isRollback: true });
  watching = true;
  const guard = new DagGuard({ airflow: cli, s3, bucket: dagBucket });
  return { repo, sf, airflow, fake, dagBucket, guard, registry, atSwap, deps, v1, v2 };
}

/** The hold record of `dagId` in the DAG bucket: its holders and the prior state it keeps (null: never held). */
async function holdOf(w: World, dagId: string): Promise<{ holders: string[]; prior: boolean | null } | null> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: w.dagBucket, Key: w.guard.holdKey(dagId) }));
    const r = JSON.parse(await out.Body!.transformToString()) as { holders: Record<string, unknown>; prior: boolean | null };
    return { holders: Object.keys(r.holders).sort(), prior: r.prior };
  } catch {
    return null;
  }
}

/** Whether the rollback execution exec-rb still holds any DAG (hold record or its index). */
async function rollbackHolds(w: World): Promise<boolean> {
  const holder = w.guard.holderOf(w.repo, 'exec-rb');
  const records = await Promise.all(OTHER_DAGS.map((d) => holdOf(w, d)));
  const indexed = await s3.send(new GetObjectCommand({ Bucket: w.dagBucket, Key: w.guard.indexKey(holder) })).then(
    () => true,
    () => false,
  );
  return indexed || records.some((r) => r?.holders.includes(holder));
}

describe('rollback data restore with the DAGs that use the data paused', () => {
  it("pauses another repo's DAG that reads the swapped-back table before the swap and puts it back after; a DAG a person paused stays paused", async () => {
    // GIVEN v2 swapped stg_claims in and no load landed since
    const w = await setup();
    // WHEN the rollback execution redeploys v1 with the registry and the environment's MWAA
    const out = await deployRelease(w.v1, 'dev', environment, w.deps('exec-rb', { registry: w.registry, guard: w.guard }));

    // THEN the data was swapped back to v1's
    expect(w.sf.table(CLAIMS)?.rows).toEqual([{ ID: 10 }]);
    // AND at the swap both DAGs that touch stg_claims were paused, in other repos; the unrelated DAG was not touched
    expect(w.atSwap).toEqual([{ claims_report: true, claims_audit: true, unrelated_report: false }]);
    // AND afterwards each is in its prior state: claims_report running again, claims_audit still paused by the person
    expect(OTHER_DAGS.map((d) => w.airflow.isPaused(d))).toEqual([false, true, false]);
    expect(w.fake.commands.filter((c) => /pause/.test(c))).toEqual(['dags pause claims_report -o json', 'dags unpause claims_report -o json']);
    // AND no run was cleared or triggered, and the rollback holds nothing any more
    expect(w.airflow.runCommands).toEqual([]);
    expect(await rollbackHolds(w)).toBe(false);
    // AND the plan lists them with their repo and the table
    expect(out.rollbackPlan?.pauseDags).toEqual([
      { dagId: 'claims_audit', repo: 'audit', reasons: [expect.stringMatching(/^writes ANALYTICS_DEV\.CORE\.STG_CLAIMS, which the rollback restores/)] },
      { dagId: 'claims_report', repo: 'reporting', reasons: [expect.stringMatching(/^reads ANALYTICS_DEV\.CORE\.STG_CLAIMS, which the rollback restores \(dataset snowflake:\/\/analytics_dev\/core\/stg_claims → dataset\)/)] },
    ]);
    // AND the ledger has each pause and resume as a rollback step of the rollback execution, by the deploy actor
    const events = await (w.deps('x').ledger).eventsFor(w.repo, 'dev', { executionId: 'exec-rb' });
    const steps = events.filter((e) => e.kind === 'rollback-step' && /^dag-/.test(e.kind === 'rollback-step' ? e.step : '')).map((e) => (e.kind === 'rollback-step' ? [e.step, e.target, e.actor] : []));
    expect(steps).toEqual([
      ['dag-paused', 'claims_audit', 'codebuild:deploy'],
      ['dag-paused', 'claims_report', 'codebuild:deploy'],
      ['dag-resumed', 'claims_audit', 'codebuild:deploy'],
      ['dag-resumed', 'claims_report', 'codebuild:deploy'],
    ]);
    expect(events.find((e) => e.kind === 'rollback-step' && e.step === 'dag-paused' && e.target === 'claims_report')?.message).toMatch(/paused DAG claims_report of reporting before the data restore \(prior state: unpaused\)/);
  });

  it("pauses another repo's DAG whose task runs 'dbt build --select stg_claims' while stg_claims is restored, and puts it back after", async () => {
    // GIVEN v2 swapped stg_claims in, and repo orchestration has an unpaused DAG that rebuilds it with dbt (no Dataset)
    const w = await setup({ dbtDag: true });
    // WHEN the rollback execution redeploys v1 with the registry and the environment's MWAA
    const out = await deployRelease(w.v1, 'dev', environment, w.deps('exec-rb', { registry: w.registry, guard: w.guard }));
    // THEN the data was swapped back, with the dbt DAG paused at the swap
    expect(w.sf.table(CLAIMS)?.rows).toEqual([{ ID: 10 }]);
    expect(w.atSwap).toEqual([{ claims_report: true, claims_audit: true, unrelated_report: false, [DBT_DAG]: true }]);
    // AND afterwards it runs again (its prior state)
    expect(w.airflow.isPaused(DBT_DAG)).toBe(false);
    // AND the plan says it writes the table through its dbt command
    expect(out.rollbackPlan?.pauseDags).toContainEqual({
      dagId: DBT_DAG,
      repo: 'orchestration',
      reasons: [expect.stringMatching(/^writes ANALYTICS_DEV\.CORE\.STG_CLAIMS, which the rollback restores \(dbt-run → dbt:model\.core\.stg_claims\)/)],
    });
  });

  it('keeps prior states through a failure after the pause and before the restore, and the retry finishes the restore', async () => {
    // GIVEN the same environment, and the swap back fails once (the job dies after pausing)
    const w = await setup();
    w.sf.failNext(/SWAP WITH/);
    const rollbackData = { registry: w.registry, guard: w.guard };
    await expect(deployRelease(w.v1, 'dev', environment, w.deps('exec-rb', rollbackData))).rejects.toThrow();
    // THEN the DAGs stay paused (nothing runs on half-restored data) and their hold records keep the rollback's hold and their prior states
    expect(OTHER_DAGS.map((d) => w.airflow.isPaused(d))).toEqual([true, true, false]);
    const holder = w.guard.holderOf(w.repo, 'exec-rb');
    expect(await holdOf(w, 'claims_report')).toEqual({ holders: [holder], prior: false });
    expect(await holdOf(w, 'claims_audit')).toEqual({ holders: [holder], prior: true });
    expect(await holdOf(w, 'unrelated_report')).toBeNull();
    expect(w.sf.table(CLAIMS)?.rows).toEqual([{ ID: 20 }]);

    // WHEN CodePipeline retries the Deploy action of the same execution
    await deployRelease(w.v1, 'dev', environment, w.deps('exec-rb', rollbackData));
    // THEN the data is restored with the DAGs paused, and each DAG ends in its state from before the first attempt
    expect(w.sf.table(CLAIMS)?.rows).toEqual([{ ID: 10 }]);
    expect(w.atSwap.at(-1)).toEqual({ claims_report: true, claims_audit: true, unrelated_report: false });
    expect(OTHER_DAGS.map((d) => w.airflow.isPaused(d))).toEqual([false, true, false]);
    expect(await rollbackHolds(w)).toBe(false);
  });

  it('puts the DAGs back on the retry when the job failed after the restore, without pausing them again', async () => {
    // GIVEN the restore succeeds but putting claims_report back fails once (the MWAA CLI answers 500)
    const w = await setup();
    w.fake.failNext(/^dags unpause claims_report/, 500);
    const rollbackData = { registry: w.registry, guard: w.guard };
    await expect(deployRelease(w.v1, 'dev', environment, w.deps('exec-rb', rollbackData))).rejects.toThrow(/HTTP 500/);
    expect(w.sf.table(CLAIMS)?.rows).toEqual([{ ID: 10 }]);
    expect(w.airflow.isPaused('claims_report')).toBe(true);
    // WHEN the Deploy action is retried
    await deployRelease(w.v1, 'dev', environment, w.deps('exec-rb', rollbackData));
    // THEN the DAGs are back in their prior states, the data was swapped once, and no DAG was paused a second time
    expect(OTHER_DAGS.map((d) => w.airflow.isPaused(d))).toEqual([false, true, false]);
    expect(w.atSwap).toHaveLength(1);
    expect(w.fake.commands.filter((c) => /^dags pause/.test(c))).toEqual(['dags pause claims_report -o json']);
    expect(await rollbackHolds(w)).toBe(false);
  });

  it.each<[string, (w: World) => RollbackDataDeps | undefined, RegExp]>([
    ['no registry is configured', () => undefined, /no asset graph registry is configured; pass dataops deploy --registry or set DATAOPS_GRAPH_REGISTRY/],
    ['the registry cannot be read', (w) => ({ registry: new S3Registry(`s3://${uniqueName('missing')}/graph`, s3), guard: w.guard }), /the registry s3:\/\/missing-.* cannot be read/],
  ])('fails safe when %s: no data restore, no DAG paused, the table is reported for a person with its times', async (_n, data, why) => {
    // GIVEN v2 swapped stg_claims in WHEN the rollback runs without a readable asset graph
    const w = await setup();
    const out = await deployRelease(w.v1, 'dev', environment, w.deps('exec-rb', data(w)));
    // THEN the table keeps v2's data and no DAG was paused
    expect(w.atSwap).toEqual([]);
    expect(w.sf.table(CLAIMS)?.rows).toEqual([{ ID: 20 }]);
    expect(w.fake.commands.filter((c) => /pause/.test(c))).toEqual([]);
    // AND a person gets the table, why, when it was swapped in, where the old data is and the exact statement
    const line = out.forPerson.find((l) => l.startsWith(`${CLAIMS}: `));
    expect(line).toMatch(why);
    expect(line).toMatch(new RegExp(`swapped it in at \\d{4}-\\d{2}-\\d{2}T[\\d:.]+\\+00:00 \\(watermark before it \\d{4}-\\d{2}-\\d{2}T`));
    expect(line).toContain('ALTER TABLE "ANALYTICS_DEV"."CORE"."STG_CLAIMS" SWAP WITH "ANALYTICS_DEV"."CORE"."STG_CLAIMS__DATAOPS_');
    // AND the ledger records the skipped restore as a rollback step naming the table
    const events = await w.deps('x').ledger.eventsFor(w.repo, 'dev', { executionId: 'exec-rb' });
    expect(events.find((e) => e.kind === 'rollback-step' && e.step === 'data-restore-skipped')).toMatchObject({ result: 'skipped', target: CLAIMS });
  });
});

const MEMBERS = 'ANALYTICS_DEV.CORE.STG_MEMBERS';
const MEMBERS_URI = 'snowflake://analytics_dev/core/stg_members';

interface Pair {
  a: { repo: string; v1: Awaited<ReturnType<typeof release>> };
  b: { repo: string; v1: Awaited<ReturnType<typeof release>> };
  sf: SnowflakeModel;
  airflow: ModelAirflow;
  fake: MwaaCliFake;
  dagBucket: string;
  guard: DagGuard;
  registry: S3Registry;
  deps: (executionId: string) => OrchestratorDeps;
  /** Called before each SWAP statement is forwarded to the model (the table it swaps). */
  onSwap: { fn: (table: string) => Promise<void> };
}

/**
 * Two dbt repos, A (stg_claims) and B (stg_members), each deployed v1 then v2 (which swapped its
 * table in); repo `reporting` has shared_report reading stg_claims and writing stg_members
 * (unpaused), claims_only reading stg_claims (unpaused) and members_audit reading stg_members,
 * paused by a person. One MWAA environment, one DAG bucket, one ledger.
 */
async function setupPair(): Promise<Pair> {
  const sf = new SnowflakeModel();
  sf.createTable(CLAIMS, [{ ID: 1 }]);
  sf.createTable(MEMBERS, [{ ID: 1 }]);
  for (const m of ['stg_claims', 'stg_members']) for (const v of ['v1', 'v2']) sf.defineQuery(`select id from raw.${m} -- ${v}`, v === 'v1' ? [{ ID: 10 }] : [{ ID: 20 }]);
  const onSwap: Pair['onSwap'] = { fn: async () => undefined };
  const sql: SqlClient = {
    query: async (q: string, binds?: ReadonlyArray<string | number>): Promise<Row[]> => {
      const swapped = /^ALTER TABLE "([^"]+)"\."([^"]+)"\."([^"]+)" SWAP WITH/.exec(q);
      if (swapped) await onSwap.fn(swapped.slice(1).join('.'));
      return sf.query(q, binds);
    },
    close: () => sf.close(),
  };
  const airflow = new ModelAirflow();
  const dagBucket = await createVersionedBucket(s3, 'dags');
  for (const dagId of ['shared_report', 'claims_only', 'members_audit']) await s3.send(new PutObjectCommand({ Bucket: dagBucket, Key: `dags/reporting/${dagId}.py`, Body: dagFile(dagId) }));
  const fake = await startMwaaCliFake({ environmentName: 'northstar-dev', backend: airflow, s3, dagBucket });
  fakes.push(fake);
  const cli = new MwaaCliClient({ mwaa: fake.mwaaClient(), environmentName: 'northstar-dev', scheme: 'http' });
  await cli.run('dags list -o json');
  airflow.setPausedDirectly('shared_report', false);
  airflow.setPausedDirectly('claims_only', false);
  airflow.setPausedDirectly('members_audit', true);

  const registryBucket = uniqueName('graph');
  await s3.send(new CreateBucketCommand({ Bucket: registryBucket }));
  const registry = new S3Registry(`s3://${registryBucket}/graph`, s3);
  const repoA = uniqueName('claims').replace(/[^a-z0-9]/g, '');
  const repoB = uniqueName('members').replace(/[^a-z0-9]/g, '');
  const dbt = (m: string) => ({ name: 'core', manifestFile: 'target/manifest.json', schemaVersion: 'v12' as const, dbtVersion: null, nodes: [model(`model.core.${m}`, `analytics_dev.core.${m}`)], packages: [], projectDependencies: [] });
  await registry.publish(fragment(repoA, { dbt: [dbt('stg_claims')] }));
  await registry.publish(fragment(repoB, { dbt: [dbt('stg_members')] }));
  await registry.publish(
    fragment('reporting', {
      airflow: [dagOf('shared_report', { readsUri: CLAIMS_URI, writesUri: MEMBERS_URI }), dagOf('claims_only', { readsUri: CLAIMS_URI }), dagOf('members_audit', { readsUri: MEMBERS_URI })],
    }),
  );

  const deployer = new DbtSnowflakeDeployer({ sql, s3, artifactBucket: await createVersionedBucket(s3, 'dbt') });
  const { ledger } = await createTestLedger();
  const guard = new DagGuard({ airflow: cli, s3, bucket: dagBucket, holds: { pollMs: 50 } });
  const deps = (executionId: string, rollbackData?: RollbackDataDeps): OrchestratorDeps => ({
    ledger,
    deployers: new Map<AssetKind, AnyDeployer>([['dbt', deployer as AnyDeployer]]),
    executionId,
    actor: 'codebuild:deploy',
    log: () => undefined,
    ...(rollbackData ? { rollbackData } : {}),
  });
  const out: Array<{ repo: string; v1: Awaited<ReturnType<typeof release>> }> = [];
  for (const [repo, m] of [[repoA, 'stg_claims'], [repoB, 'stg_members']] as const) {
    const v1 = await release(repo, 1, m);
    const v2 = await release(repo, 2, m);
    for (const [exec, r] of [[`${repo}-1`, v1], [`${repo}-2`, v2]] as const) {
      await ledger.putExecution({ executionId: exec, repo, env: 'dev', version: r.manifest.version, manifestSha256: r.manifestSha256, isRollback: false });
      await deployRelease(r, 'dev', environment, deps(exec));
      await ledger.releaseLock(repo, 'dev', exec);
      await ledger.recordSuccess({ repo, env: 'dev', version: r.manifest.version, executionId: exec, manifestSha256: r.manifestSha256, wasRollback: false });
    }
    await ledger.putExecution({ executionId: `${repo}-rb`, repo, env: 'dev', version: v1.manifest.version, manifestSha256: v1.manifestSha256, isRollback: true });
    out.push({ repo, v1 });
  }
  return { a: out[0], b: out[1], sf, airflow, fake, dagBucket, guard, registry, onSwap, deps: (exec) => deps(exec, { registry, guard }) };
}

/** A promise and the function that settles it. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const opened = new Promise<void>((r) => (open = r));
  return { opened, open };
}

describe('concurrent rollbacks of two repos that pause the same DAG of a third', () => {
  it('keeps the shared DAG paused until the last rollback finishes, then puts it back to its state from before the first one', async () => {
    // GIVEN rollbacks of A (restores stg_claims) and B (restores stg_members) both need shared_report of repo reporting paused
    const w = await setupPair();
    const observed: Record<string, Record<string, boolean | undefined>> = {};
    const snapshot = () => Object.fromEntries(['shared_report', 'claims_only', 'members_audit'].map((d) => [d, w.airflow.isPaused(d)]));
    const bAtSwap = gate();
    const bMayGo = gate();
    let bRun: Promise<unknown> | undefined;
    w.onSwap.fn = async (table) => {
      if (table === CLAIMS && !bRun) {
        // WHEN A has paused its DAGs and is at its swap, B's rollback starts and pauses its DAGs too
        bRun = deployRelease(w.b.v1, 'dev', environment, w.deps(`${w.b.repo}-rb`));
        await bAtSwap.opened;
        observed.aAtSwap = snapshot();
      }
      if (table === MEMBERS) {
        // AND B is still restoring (held at its swap) while A finishes
        bAtSwap.open();
        await bMayGo.opened;
        observed.bAtSwap = snapshot();
      }
    };
    await deployRelease(w.a.v1, 'dev', environment, w.deps(`${w.a.repo}-rb`));
    observed.afterA = snapshot();
    bMayGo.open();
    await bRun;
    observed.afterB = snapshot();

    // THEN both tables were swapped back
    expect([w.sf.table(CLAIMS)?.rows, w.sf.table(MEMBERS)?.rows]).toEqual([[{ ID: 10 }], [{ ID: 10 }]]);
    // AND at each swap every DAG touching the restored table was paused
    expect(observed.aAtSwap).toEqual({ shared_report: true, claims_only: true, members_audit: true });
    // AND after A finished, shared_report stayed paused for B (claims_only, only A's, went back to running)
    expect(observed.afterA).toEqual({ shared_report: true, claims_only: false, members_audit: true });
    expect(observed.bAtSwap).toEqual(observed.afterA);
    // AND after B finished, shared_report runs again (its state before A paused it); members_audit, paused by a person, stays paused
    expect(observed.afterB).toEqual({ shared_report: false, claims_only: false, members_audit: true });
    // AND shared_report was paused once, by the first holder, and unpaused once, by the last
    expect(w.fake.commands.filter((c) => /pause shared_report/.test(c))).toEqual(['dags pause shared_report -o json', 'dags unpause shared_report -o json']);
    // AND A's ledger says B still held it when A resumed
    const events = await w.deps('x').ledger.eventsFor(w.a.repo, 'dev', { executionId: `${w.a.repo}-rb` });
    expect(events.find((e) => e.kind === 'rollback-step' && e.step === 'dag-resumed' && e.target === 'shared_report')?.message).toContain(`left paused after the data restore: rollback:${w.b.repo}:${w.b.repo}-rb still hold`);
  });
});

describe("a deploy of a DAG's own repo while a rollback of another repo holds it", () => {
  it("keeps the DAG paused after the deploy's sync when a rollback took its hold during the sync, and the rollback puts it back to its state from before the deploy", async () => {
    // GIVEN repo reporting's DAG shared_report (unpaused) deployed at v1
    const repo = 'reporting';
    const dagBucket = await createVersionedBucket(s3, 'dags');
    const airflow = new ModelAirflow();
    // the environment's clock, shared with the deployers' waits for the parse, which cost no real time
    const clock = manualClock();
    const fake = await startMwaaCliFake({ environmentName: 'northstar-dev', backend: airflow, s3, dagBucket, now: clock.now });
    fakes.push(fake);
    const cli = new MwaaCliClient({ mwaa: fake.mwaaClient(), environmentName: 'northstar-dev', scheme: 'http' });
    const guard = new DagGuard({ airflow: cli, s3, bucket: dagBucket });
    const file = (schedule: string) => [{ kind: 'airflow' as const, path: 'dags/shared_report.py', body: dagFile('shared_report', { schedule }) }];
    const v1 = await writeRelease({ repo, build: 1, files: file('@daily') });
    const d1 = new MwaaDagDeployer({ s3, airflow: cli, clock, parseWaitMs: 600_000, parsePollMs: 15_000 });
    const c1 = deployContext(v1.release, v1.dir, { dagBucket });
    await d1.apply(d1.plan(await d1.readCurrent(c1), c1), c1);
    await cli.run('dags list -o json');
    airflow.setPausedDirectly('shared_report', false);
    // AND the rollback of repo claims takes its hold on shared_report while v2's file is being uploaded
    const syncing = motoS3();
    let joined = false;
    syncing.middlewareStack.add(
      (next, context) => async (args) => {
        if (!joined && context.commandName === 'PutObjectCommand' && (args.input as { Key?: string }).Key === 'dags/reporting/shared_report.py') {
          joined = true;
          await guard.pause('claims', 'claims-rb', [{ dagId: 'shared_report', repo, reasons: ['reads ANALYTICS_DEV.CORE.STG_CLAIMS'] }], () => undefined);
        }
        return next(args);
      },
      { step: 'initialize', name: 'rollbackJoinsMidSync' },
    );
    // WHEN repo reporting deploys v2, which changes shared_report's file
    const v2 = await writeRelease({ repo, build: 2, files: file('@hourly') });
    const d2 = new MwaaDagDeployer({ s3: syncing, airflow: cli, clock, parseWaitMs: 600_000, parsePollMs: 15_000 });
    const c2 = deployContext(v2.release, v2.dir, { dagBucket });
    await d2.apply(d2.plan(await d2.readCurrent(c2), c2), c2);
    // THEN the deploy paused it for its sync, and after the sync it stays paused: the rollback still holds it
    expect(joined).toBe(true);
    expect(airflow.isPaused('shared_report')).toBe(true);
    expect(fake.commands.filter((c) => /pause shared_report/.test(c))).toEqual(['dags pause shared_report -o json']);
    // AND WHEN the rollback finishes THEN shared_report runs again, its state from before the deploy
    const resumed = await guard.resume('claims', 'claims-rb', () => undefined);
    expect(resumed).toEqual([{ dagId: 'shared_report', prior: false, changed: true, others: [] }]);
    expect(airflow.isPaused('shared_report')).toBe(false);
  });
});
