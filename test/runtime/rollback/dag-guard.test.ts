import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildAssetGraph } from '../../../lib/checks/graph/graph';
import { airflowInventory } from '../../../lib/checks/inventory/airflow';
import type { AirflowDag, DbtNode } from '../../../lib/checks/inventory/types';
import { dagsTouching, restoreTargetsOf } from '../../../lib/runtime/rollback/dag-guard';
import { datasetDag, dbtNode, inventoryFragment } from '../../helpers/inventory';

const fragment = inventoryFragment;
const dag = datasetDag;
const TABLE = { name: 'ANALYTICS.CORE.STG_CLAIMS', uniqueId: 'model.core.stg_claims' };

describe('dagsTouching (the cross-repo asset graph decides which DAGs use a restored table)', () => {
  it.each<[string, AirflowDag, Array<{ how: string; via: RegExp }>]>([
    ["a DAG scheduled on the table's Dataset reads it", dag('r', { readsUri: 'snowflake://analytics/core/stg_claims' }), [{ how: 'reads', via: /^dataset snowflake:\/\/analytics\/core\/stg_claims → dataset$/ }]],
    ['a DAG with the Dataset as outlet writes it', dag('w', { writesUri: 'snowflake://analytics/core/stg_claims' }), [{ how: 'writes', via: /^dataset → dataset snowflake:/ }]],
    ['the table URI matches in any case, and as table://', dag('r', { readsUri: 'table://ANALYTICS/core/Stg_Claims' }), [{ how: 'reads', via: /table:\/\/ANALYTICS/ }]],
    ['a DAG on a path Dataset does not touch it', dag('p', { readsUri: 's3://lake/core/stg_claims' }), []],
    ['a DAG on another table does not touch it', dag('o', { readsUri: 'snowflake://analytics/core/stg_members' }), []],
  ])('%s', (_n, d, expected) => {
    // GIVEN one DAG in repo reporting WHEN the graph is asked about stg_claims
    const graph = buildAssetGraph([fragment('reporting', { airflow: [d] })]);
    const touches = dagsTouching(graph, [TABLE]);
    // THEN exactly the expected touches, each naming the DAG's repo and the table
    expect(touches.map((t) => ({ how: t.how, via: t.via }))).toEqual(expected.map((e) => ({ how: e.how, via: expect.stringMatching(e.via) })));
    for (const t of touches) expect(t).toMatchObject({ dagId: d.id.value, repo: 'reporting', object: TABLE.name });
  });
});

describe('dagsTouching finds the DAGs that rebuild a restored model with dbt', () => {
  const model = (name: string, dependsOn: string[] = []): DbtNode => dbtNode(`model.core.${name}`, { file: `models/staging/${name}.sql`, dependsOn });
  const core = fragment('core', {
    dbt: [{ name: 'core', manifestFile: 'target/manifest.json', schemaVersion: 'v12', dbtVersion: null, nodes: [model('stg_members'), model('stg_claims', ['model.core.stg_members'])], packages: [], projectDependencies: [] }],
  });
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-guard-dbt-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it.each([
    ['dbt build --select stg_claims', ['claims_nightly'], 'dbt-run → dbt:model.core.stg_claims'],
    ['dbt run -s +stg_claims --target prod', ['claims_nightly'], 'dbt-run → dbt:model.core.stg_claims'],
    ['dbt build --select stg_members+', ['claims_nightly'], 'dbt-run → dbt:model.core.stg_claims'],
    ['dbt build --select stg_members', [], ''],
  ])("a DAG of another repo whose task runs '%s'", async (command, paused, via) => {
    // GIVEN the orchestration repo's DAG file, read by the real Airflow inventory, and core's dbt project
    fs.mkdirSync(path.join(root, 'dags'));
    fs.writeFileSync(
      path.join(root, 'dags', 'claims.py'),
      ['from airflow import DAG', 'from airflow.operators.bash import BashOperator', 'with DAG("claims_nightly") as dag:', `    BashOperator(task_id="build", bash_command="cd /dbt && ${command}")`, ''].join('\n'),
    );
    const { dags } = await airflowInventory(root);
    const graph = buildAssetGraph([core, fragment('orchestration', { airflow: dags })]);
    // WHEN the rollback restores the stg_claims table the deployer swapped
    const touches = dagsTouching(graph, [TABLE]);
    // THEN the DAG that rebuilds it is paused as a writer of the table (and one that builds only its parent is not)
    expect(touches.map((t) => t.dagId)).toEqual(paused);
    for (const t of touches) expect(t).toMatchObject({ repo: 'orchestration', object: TABLE.name, how: 'writes', via });
  });
});

describe('restoreTargetsOf', () => {
  it('reads the swapped tables of a dbt apply record, with the statement that swaps one back', () => {
    // GIVEN what the dbt deployer records as previous after swapping a table
    const t = { database: 'analytics', schema: 'core', name: 'stg_claims' };
    const previous = { releaseVersion: 'v2', bucket: 'b', prefix: 'dbt/core/', objects: {}, preDeployAt: '2026-03-02T00:00:00Z', tables: [{ uniqueId: 'model.core.stg_claims', table: t, keptAs: { ...t, name: 'stg_claims__dataops_v2' }, before: { lastAltered: '2026-03-01T23:00:00Z', rowCount: 2, comment: null }, lastAlteredAfterSwap: '2026-03-02T00:00:05Z' }] };
    // WHEN read THEN the target names the table, the kept table, the times and the SWAP
    expect(restoreTargetsOf(previous)).toEqual([
      {
        name: 'ANALYTICS.CORE.STG_CLAIMS',
        uniqueId: 'model.core.stg_claims',
        keptAs: 'ANALYTICS.CORE.STG_CLAIMS__DATAOPS_V2',
        watermarkAt: '2026-03-01T23:00:00Z',
        swappedAt: '2026-03-02T00:00:05Z',
        preDeployAt: '2026-03-02T00:00:00Z',
        failedVersion: 'v2',
        swapStatement: 'ALTER TABLE "ANALYTICS"."CORE"."STG_CLAIMS" SWAP WITH "ANALYTICS"."CORE"."STG_CLAIMS__DATAOPS_V2"',
      },
    ]);
  });

  it.each([
    ['nothing recorded', null],
    ["another kind's record", { bucket: 'b', prefix: 'dags/x/', objects: {}, paused: {} }],
  ])('finds no table in %s', (_n, previous) => {
    expect(restoreTargetsOf(previous)).toEqual([]);
  });
});
