import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadGraph } from '../../../lib/checks/graph';
import { checkDagDbtSelects } from '../../../lib/checks/graph/checks/dag-dbt';
import type { CheckContext } from '../../../lib/checks/graph/context';
import { buildAssetGraph, type AssetGraph } from '../../../lib/checks/graph/graph';
import { writeFixtureManifest } from './dbt-fixture';
import type { AirflowDag, AirflowDbtRun, DbtNode, RepoInventory } from '../../../lib/checks/inventory/types';
import { dbtNode, inventoryFragment } from '../../helpers/inventory';

const fragment = inventoryFragment;
const node = (id: string, file: string, dependsOn: string[] = []): DbtNode => dbtNode(id, { file, dependsOn });
const project = (name: string, nodes: DbtNode[]): RepoInventory['dbt'][number] => ({
  name,
  manifestFile: 'target/manifest.json',
  schemaVersion: 'v12',
  dbtVersion: null,
  nodes,
  packages: [],
  projectDependencies: [],
});
const run = (verb: AirflowDbtRun['verb'], select: Array<string | null>, exclude: string[] = []): AirflowDbtRun => ({
  verb,
  verbExpr: null,
  select: select.map((s) => (s === null ? { value: null, expr: '{{ params.sel }}' } : { value: s, expr: null })),
  exclude: exclude.map((s) => ({ value: s, expr: null })),
  line: 7,
});
const dagRunning = (runs: AirflowDbtRun[]): AirflowDag => ({
  id: { value: 'nightly', expr: null },
  declaredBy: 'with',
  file: 'dags/nightly.py',
  line: 1,
  tasks: [{ id: { value: 'dbt', expr: null }, operator: 'BashOperator', line: 7, dbt: runs }],
  hasUnresolvedTasks: false,
  refs: [],
  outlets: [],
  schedule: { kind: 'cron', text: '@daily', datasets: null, arg: 'schedule' },
  startDate: { iso: null, expr: null, setIn: 'none' },
  catchup: { value: false, expr: null, setIn: 'dag', line: null },
});

/** core: source raw.visits → stg_visits (models/staging) → fct_visits (models/marts); finance: fin_revenue refs core's fct_visits. */
const CORE = fragment('core', {
  dbt: [
    project('core', [
      node('source.core.raw.visits', 'models/sources.yml'),
      node('model.core.stg_visits', 'models/staging/stg_visits.sql', ['source.core.raw.visits']),
      node('model.core.fct_visits', 'models/marts/fct_visits.sql', ['model.core.stg_visits']),
      node('model.core.dim_clinics', 'models/marts/dim_clinics.sql'),
    ]),
  ],
});
const FINANCE = fragment('finance', { dbt: [project('finance', [node('model.finance.fin_revenue', 'models/fin_revenue.sql', ['model.core.fct_visits'])])] });

function graphWith(...runs: AirflowDbtRun[]): AssetGraph {
  return buildAssetGraph([CORE, FINANCE, fragment('orchestration', { airflow: [dagRunning(runs)] })]);
}
const DAG = 'orchestration/airflow:nightly';
const edgesOf = (g: AssetGraph): string[] =>
  g.edges.filter((e) => e.from === DAG || e.to === DAG).map((e) => `${e.kind} ${e.from === DAG ? e.to : e.from}`).sort();

describe('DAG → dbt model edges for the dbt commands a DAG runs', () => {
  it.each<[string, AirflowDbtRun, string[]]>([
    ['a plain model name', run('build', ['stg_visits']), ['dbt-run core/dbt:model.core.stg_visits']],
    [
      'model+ (descendants, across repos)',
      run('build', ['stg_visits+']),
      ['dbt-run core/dbt:model.core.fct_visits', 'dbt-run core/dbt:model.core.stg_visits', 'dbt-run finance/dbt:model.finance.fin_revenue'],
    ],
    ['+model (ancestors, never sources)', run('run', ['+fct_visits']), ['dbt-run core/dbt:model.core.fct_visits', 'dbt-run core/dbt:model.core.stg_visits']],
    ['n+model from another repo (depth-limited ancestors)', run('run', ['1+fin_revenue']), ['dbt-run core/dbt:model.core.fct_visits', 'dbt-run finance/dbt:model.finance.fin_revenue']],
    ['a folder under models/', run('build', ['marts']), ['dbt-run core/dbt:model.core.dim_clinics', 'dbt-run core/dbt:model.core.fct_visits']],
    ['a dotted fqn', run('build', ['core.marts.dim_clinics']), ['dbt-run core/dbt:model.core.dim_clinics']],
    ['an --exclude', run('build', ['stg_visits+'], ['finance']), ['dbt-run core/dbt:model.core.fct_visits', 'dbt-run core/dbt:model.core.stg_visits']],
    ['dbt test (the DAG reads the model)', run('test', ['fct_visits']), ['dbt-test core/dbt:model.core.fct_visits']],
    ['an unresolved selector (no edge, never guessed)', run('build', [null]), []],
  ])('links %s', (_how, r, expected) => {
    // GIVEN a DAG in orchestration whose task runs the dbt command WHEN the graph is built
    const g = graphWith(r);
    // THEN the DAG is linked to exactly the selected models, in whichever repo defines them
    expect(edgesOf(g)).toEqual(expected);
  });

  it('puts the models a DAG builds downstream of the DAG (impact of a DAG change)', () => {
    // GIVEN a DAG running dbt build --select stg_visits+ WHEN asked what is downstream of the DAG
    const g = graphWith(run('build', ['stg_visits+']));
    // THEN the models it rebuilds, in both repos
    expect(g.downstream([DAG])).toEqual(['core/dbt:model.core.fct_visits', 'core/dbt:model.core.stg_visits', 'finance/dbt:model.finance.fin_revenue']);
  });
});

describe('DAG_DBT_SELECT_MISSING', () => {
  const ctx = (graph: AssetGraph): CheckContext => ({
    graph,
    baseGraph: null,
    local: new Set(['orchestration']),
    repoDirs: new Map(),
    base: new Map(),
    strict: false,
    now: new Date('2026-11-28T00:00:00Z'),
    catchupByDefault: true,
    catchupHorizonDays: 1,
    catalog: null,
  });

  it('warns about a selector that names no model, folder or project of any known repo, with the fix', () => {
    // GIVEN a DAG selecting a model that no repo defines (and one that exists)
    const findings = checkDagDbtSelects(ctx(graphWith(run('build', ['stg_visit+', 'fct_visits']))));
    // THEN one warning, on the DAG's task line, naming the selector and what to do
    expect(findings).toEqual([
      expect.objectContaining({ code: 'DAG_DBT_SELECT_MISSING', severity: 'warning', asset: 'airflow:nightly', repo: 'orchestration', file: 'dags/nightly.py', line: 7 }),
    ]);
    expect(findings[0].message).toMatch(/task 'dbt' runs 'dbt build --select stg_visit\+'.*named 'stg_visit'; fix the selector/);
  });

  it.each([
    ['every selector resolves', [CORE, FINANCE], ['stg_visits+']],
    ['the selector is unresolved (computed)', [CORE], [null]],
    ['no known repo has a dbt project (nothing to look it up in)', [], ['stg_visit']],
  ])('says nothing when %s', (_how, others, select) => {
    // GIVEN the DAG with the given other repos WHEN the check runs THEN no finding
    const g = buildAssetGraph([...others, fragment('orchestration', { airflow: [dagRunning([run('build', select)])] })]);
    expect(checkDagDbtSelects(ctx(g))).toEqual([]);
  });
});

describe('the example repos', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-dag-dbt-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it("links dbt_daily, which builds through defaults.dbt_command('build', 'staging'/'marts'), to every model of dbt-models", async () => {
    // GIVEN copies of examples/airflow-dags and examples/dbt-models with a manifest
    const examples = path.resolve(__dirname, '..', '..', '..', 'examples');
    execFileSync('cp', ['-r', path.join(examples, 'airflow-dags'), path.join(examples, 'dbt-models'), root]);
    writeFixtureManifest(path.join(root, 'dbt-models'));
    // WHEN the graph of both is built
    const { graph } = await loadGraph({ repos: [path.join(root, 'airflow-dags'), path.join(root, 'dbt-models')] });
    // THEN the DAG writes the staging and marts models (folder selectors under models/)
    const built = graph.edges.filter((e) => e.kind === 'dbt-run').map((e) => `${e.from} → ${e.to}`).sort();
    expect(built).toEqual(
      ['dim_patients', 'fct_daily_visits', 'stg_patients', 'stg_visits'].map((m) => `airflow-dags/airflow:dbt_daily → dbt-models/dbt:model.clinic_analytics.${m}`),
    );
  });
});
