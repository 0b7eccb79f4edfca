import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { airflowInventory } from '../../../lib/checks/inventory/airflow';
import type { AirflowDag } from '../../../lib/checks/inventory/types';

const NOW = new Date('2026-06-01T00:00:00Z');
let root: string;

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-airflow-'));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

async function inventory(files: Record<string, string>): ReturnType<typeof airflowInventory> {
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  }
  return airflowInventory(root, { now: NOW });
}

async function one(text: string): Promise<AirflowDag> {
  const { dags, problems } = await inventory({ 'dags/d.py': `from airflow import DAG\n${text}` });
  expect(problems).toEqual([]);
  expect(dags).toHaveLength(1);
  return dags[0];
}

describe('static Airflow inventory (ast helper, imports nothing from the repo)', () => {
  it.each([
    ['with DAG(...)', 'with DAG("a", schedule=None) as d:\n    pass\n', 'a', 'with'],
    ['DAG(...) assigned', 'd = DAG(dag_id="b", schedule=None)\n', 'b', 'call'],
    ['@dag using the function name', 'from airflow.decorators import dag\n@dag(schedule=None)\ndef c():\n    pass\nc()\n', 'c', 'decorator'],
    ['@dag(dag_id=...)', 'from airflow.decorators import dag\n@dag(dag_id="d2", schedule=None)\ndef f():\n    pass\nf()\n', 'd2', 'decorator'],
    ['a module constant', 'NAME = "claims"\nwith DAG(dag_id=f"{NAME}_daily" + "_v2") as d:\n    pass\n', 'claims_daily_v2', 'with'],
  ])('reads the DAG id from %s', async (_how, text, id, declaredBy) => {
    // GIVEN a DAG file WHEN it is read THEN the id and how it was declared are recorded
    expect(await one(text)).toMatchObject({ id: { value: id, expr: null }, declaredBy });
  });

  it.each([
    ['a loop variable', 'for n in ["a", "b"]:\n    with DAG(f"x_{n}") as d:\n        pass\n', 'f"x_{n}"'],
    ['a function argument', 'def make(name):\n    return DAG(name)\nmake("z")\n', 'name'],
    ['a name assigned twice', 'N = "a"\nN = "b"\nDAG(N)\n', 'N'],
    ['an environment variable', 'import os\nDAG(os.environ["DAG"])\n', 'os.environ["DAG"]'],
  ])('reports an id computed at run time from %s as unresolved, never guessed', async (_how, text, expr) => {
    expect((await one(text)).id).toEqual({ value: null, expr });
  });

  it('records task ids, with TaskGroup prefixes, @task functions and dag= tasks', async () => {
    const dag = await one(
      [
        'from airflow.decorators import task',
        'from airflow.utils.task_group import TaskGroup',
        'from airflow.operators.empty import EmptyOperator',
        '@task(task_id="renamed")',
        'def f():',
        '    pass',
        'with DAG("t") as d:',
        '    EmptyOperator(task_id="a")',
        '    with TaskGroup("grp"):',
        '        EmptyOperator(task_id="inner")',
        '    f()',
        'EmptyOperator(task_id="late", dag=d)',
        '',
      ].join('\n'),
    );
    expect(dag.tasks.map((t) => t.id.value).sort()).toEqual(['a', 'grp.inner', 'late', 'renamed']);
    expect(dag.hasUnresolvedTasks).toBe(false);
  });

  it('records ExternalTaskSensor, ExternalTaskMarker and TriggerDagRunOperator targets', async () => {
    const dag = await one(
      [
        'from airflow.sensors.external_task import ExternalTaskSensor, ExternalTaskMarker',
        'from airflow.operators.trigger_dagrun import TriggerDagRunOperator',
        'with DAG("r") as d:',
        '    ExternalTaskSensor(task_id="s", external_dag_id="up", external_task_id="load")',
        '    ExternalTaskSensor(task_id="w", external_dag_id="whole", external_task_id=None)',
        '    ExternalTaskMarker(task_id="m", external_dag_id="down", external_task_ids=["a", "b"])',
        '    TriggerDagRunOperator(task_id="t", trigger_dag_id="next")',
        '',
      ].join('\n'),
    );
    expect(dag.refs.map((r) => [r.kind, r.taskId, r.dagId.value, r.taskIds.map((t) => t.value), r.line])).toEqual([
      ['sensor', 's', 'up', ['load'], 5],
      ['sensor', 'w', 'whole', [], 6],
      ['marker', 'm', 'down', ['a', 'b'], 7],
      ['trigger', 't', 'next', [], 8],
    ]);
  });

  it('records Dataset and Asset outlets and schedules with & and |', async () => {
    const dag = await one(
      [
        'from airflow.datasets import Dataset',
        'from airflow.sdk import Asset',
        'from airflow.operators.empty import EmptyOperator',
        'A = Dataset("s3://a")',
        'with DAG("ds", schedule=(A & Asset(name="b", uri="s3://b")) | [Dataset("s3://c"), Dataset("s3://d")]) as d:',
        '    EmptyOperator(task_id="out", outlets=[A, Asset("s3://e")])',
        '',
      ].join('\n'),
    );
    expect(dag.schedule.kind).toBe('datasets');
    expect(dag.schedule.datasets).toEqual({
      op: 'or',
      items: [
        { op: 'and', items: [{ op: 'uri', uri: 's3://a', expr: null }, { op: 'uri', uri: 's3://b', expr: null }] },
        { op: 'and', items: [{ op: 'uri', uri: 's3://c', expr: null }, { op: 'uri', uri: 's3://d', expr: null }] },
      ],
    });
    expect(dag.outlets.map((o) => [o.uri, o.taskId])).toEqual([['s3://a', 'out'], ['s3://e', 'out']]);
  });

  it.each([
    ['catchup on the DAG', 'DAG("c", catchup=True)', { value: true, setIn: 'dag' }],
    ['catchup only in default_args', 'args = {"catchup": False}\nDAG("c", default_args=args)', { value: false, setIn: 'default_args' }],
    ['no catchup', 'DAG("c")', { value: null, setIn: 'none' }],
  ])('records %s and where it is set', async (_what, text, catchup) => {
    expect((await one(`${text}\n`)).catchup).toMatchObject(catchup);
  });

  it.each([
    ['datetime(...)', 'from datetime import datetime\nDAG("s", start_date=datetime(2021, 3, 4), schedule="0 5 * * *")', '2021-03-04T00:00:00+00:00', 'dag', 'cron'],
    ['pendulum.datetime(...) in default_args', 'import pendulum\nDAG("s", default_args={"start_date": pendulum.datetime(2022, 1, 1, tz="UTC")}, schedule="@hourly")', '2022-01-01T00:00:00+00:00', 'default_args', 'preset'],
    ['days_ago(2)', 'from airflow.utils.dates import days_ago\nDAG("s", start_date=days_ago(2), schedule_interval=timedelta(hours=1))', '2026-05-30T00:00:00+00:00', 'dag', 'timedelta'],
  ])('records start_date from %s and the schedule', async (_what, text, iso, setIn, kind) => {
    const dag = await one(`${text}\n`);
    expect(dag.startDate).toMatchObject({ iso, setIn });
    expect(dag.schedule.kind).toBe(kind);
  });

  it('resolves constants and Datasets imported from modules inside the repo, as Airflow puts the DAG folder on sys.path', async () => {
    // GIVEN a shared module in the DAG folder and a DAG importing from it (and from a module outside the repo)
    const { dags } = await inventory({
      'dags/common/names.py': 'PREFIX = "claims"\nURI = "s3://lake/" + PREFIX\nOUT = Dataset(URI)\ndef computed():\n    return "x"\n',
      'dags/d.py': [
        'from airflow import DAG',
        'from airflow.operators.empty import EmptyOperator',
        'from common.names import PREFIX, OUT, computed',
        'from elsewhere import OTHER',
        'with DAG(f"{PREFIX}_daily", schedule=[OUT]) as d:',
        '    EmptyOperator(task_id="t", outlets=[OUT])',
        '    EmptyOperator(task_id=OTHER)',
        '',
      ].join('\n'),
    });
    // THEN the constants resolve, and the names that are not constants stay unresolved
    const dag = dags.find((d) => d.file === 'dags/d.py');
    expect(dag?.id.value).toBe('claims_daily');
    expect(dag?.outlets.map((o) => o.uri)).toEqual(['s3://lake/claims']);
    expect(dag?.schedule.datasets).toEqual({ op: 'and', items: [{ op: 'uri', uri: 's3://lake/claims', expr: null }] });
    expect(dag?.tasks.map((t) => t.id)).toEqual([
      { value: 't', expr: null },
      { value: null, expr: 'OTHER' },
    ]);
  });

  it('resolves constants imported through the package the DAG folder is on MWAA (<package>.common)', async () => {
    // GIVEN a DAG that imports its shared module as MWAA requires: through the repo's package
    const { dags } = await inventory({
      'dags/common/names.py': 'URI = "s3://lake/claims"\n',
      'dags/d.py': 'from airflow import DAG\nfrom airflow.datasets import Dataset\nfrom ingest_claims.common.names import URI\nDAG("d", schedule=[Dataset(URI)])\n',
    });
    // THEN the Dataset URI resolves from dags/common/names.py
    expect(dags[0].schedule.datasets).toEqual({ op: 'and', items: [{ op: 'uri', uri: 's3://lake/claims', expr: null }] });
  });

  it('reports a file with a syntax error as a problem and still reads the others', async () => {
    // GIVEN one broken and one good DAG file
    const { dags, problems } = await inventory({ 'dags/bad.py': 'from airflow import DAG\nwith DAG("x" as d:\n', 'dags/good.py': 'from airflow import DAG\nDAG("good")\n' });
    // THEN the good DAG is read and the broken file is named with its line
    expect(dags.map((d) => d.id.value)).toEqual(['good']);
    expect(problems).toEqual([expect.objectContaining({ file: 'dags/bad.py', line: 2, severity: 'error', message: expect.stringMatching(/syntax error/) })]);
  });

  it('skips tests, files that do not mention airflow and dag, and files .airflowignore excludes', async () => {
    const { dags } = await inventory({
      'tests/test_dags.py': 'from airflow import DAG\nDAG("from_test")\n',
      'dags/test_x.py': 'from airflow import DAG\nDAG("from_test2")\n',
      'lib/util.py': 'def DAG(x):\n    return x\nDAG("plain_python")\n',
      'dags/real.py': 'from airflow import DAG\nDAG("real")\n',
      'dags/.airflowignore': '# templates are not DAGs\ntemplates/\n_draft\\.py$\n',
      'dags/templates/t.py': 'from airflow import DAG\nDAG("from_template")\n',
      'dags/old_draft.py': 'from airflow import DAG\nDAG("draft")\n',
    });
    expect(dags.map((d) => d.id.value)).toEqual(['real']);
  });
});

describe('dbt commands a DAG task runs (read from string literals, never guessed)', () => {
  const task = async (text: string, extra: Record<string, string> = {}) => {
    const { dags, problems } = await inventory({ 'dags/d.py': `from airflow import DAG\nwith DAG("d") as dag:\n${text}`, ...extra });
    expect(problems).toEqual([]);
    return dags[0].tasks;
  };

  it.each([
    ['a plain name', '--select stg_visits', [{ value: 'stg_visits', expr: null }]],
    ['the + graph operators and -s', '-s stg_visits+ +fct_visits 2+dim_patients', [{ value: 'stg_visits+', expr: null }, { value: '+fct_visits', expr: null }, { value: '2+dim_patients', expr: null }]],
    ['--models=', '--models=marts.finance', [{ value: 'marts.finance', expr: null }]],
  ])('records the verb and %s of a bash_command', async (_how, args, select) => {
    // GIVEN a BashOperator that runs dbt build after a cd, with a --target and an --exclude
    const tasks = await task(`    BashOperator(task_id="b", bash_command="cd /p && dbt build ${args} --target prod --exclude stg_old")\n`);
    // THEN the task records one dbt build with those selectors and the exclusion
    expect(tasks[0].dbt).toEqual([{ verb: 'build', verbExpr: null, select, exclude: [{ value: 'stg_old', expr: null }], line: 3 }]);
  });

  it.each([
    ['an f-string over a run-time value', 'f"dbt run --select {dag.params}+"', '{dag.params}+'],
    ['a Jinja template', '"dbt run --select {{ params.models }}"', '{{ params.models }}'],
    ['a tag: method', '"dbt run --select tag:nightly"', 'tag:nightly'],
    ['a state: method', '"dbt run -s state:modified+"', 'state:modified+'],
    ['no --select (the whole project)', '"dbt run"', '<no --select: every model of the project>'],
  ])('records a selector from %s as unresolved', async (_how, command, expr) => {
    // GIVEN a selector the reader cannot follow statically WHEN the DAG is read
    const tasks = await task(`    BashOperator(task_id="b", bash_command=${command})\n`);
    // THEN it is recorded with value null and its text, never guessed
    expect(tasks[0].dbt?.[0].select).toEqual([{ value: null, expr }]);
  });

  it('resolves a module constant in an f-string and reads a pod\'s cmds followed by its arguments', async () => {
    // GIVEN a constant model name and a KubernetesPodOperator running dbt seed
    const dagFile = [
      'from airflow import DAG',
      'M = "stg_visits"',
      'with DAG("d") as dag:',
      '    BashOperator(task_id="a", bash_command=f"dbt snapshot --select {M}")',
      '    KubernetesPodOperator(task_id="k", cmds=["dbt"], arguments=["seed", "--select", "clinics"])',
      '',
    ].join('\n');
    const tasks = (await inventory({ 'dags/d.py': dagFile })).dags[0].tasks;
    // THEN both commands are resolved
    expect(tasks.map((t) => [t.id.value, t.dbt?.[0].verb, t.dbt?.[0].select])).toEqual([
      ['a', 'snapshot', [{ value: 'stg_visits', expr: null }]],
      ['k', 'seed', [{ value: 'clinics', expr: null }]],
    ]);
  });

  it('follows a simple helper of the repo with literal arguments (as examples/airflow-dags does), and leaves a complex one unresolved', async () => {
    // GIVEN a helper module with a simple dbt_command (guard + one return) and one with a loop
    const helpers = [
      'DIR = "/p"',
      'def dbt_command(verb, select):',
      '    """The dbt command line."""',
      '    if verb not in {"build", "run"}:',
      '        raise ValueError(verb)',
      '    return f"dbt {verb} --project-dir {DIR} --select {select}"',
      'def dbt_loop(select):',
      '    out = ""',
      '    for s in select:',
      '        out += s',
      '    return "dbt run --select " + out',
      '',
    ].join('\n');
    const dagFile = [
      'from airflow import DAG',
      'from common.helpers import dbt_command, dbt_loop',
      'with DAG("d") as dag:',
      '    BashOperator(task_id="a", bash_command=dbt_command("build", "staging+"))',
      '    BashOperator(task_id="b", bash_command=dbt_loop(["x"]))',
      '',
    ].join('\n');
    const { dags } = await inventory({ 'dags/d.py': dagFile, 'dags/common/helpers.py': helpers });
    const tasks = dags[0].tasks;
    // WHEN the DAG file imports them from the repo's package
    // THEN the simple call is resolved, the other recorded as unresolved with the call's text
    expect(tasks[0].dbt).toEqual([{ verb: 'build', verbExpr: null, select: [{ value: 'staging+', expr: null }], exclude: [], line: 4 }]);
    expect(tasks[1].dbt).toEqual([{ verb: null, verbExpr: 'dbt_loop(["x"])', select: [{ value: null, expr: 'dbt_loop(["x"])' }], exclude: [], line: 5 }]);
  });

  it('records no dbt run for a command that does not run dbt', async () => {
    // GIVEN an echo and a dbt deps (not a verb that builds or tests) WHEN read THEN no dbt runs
    const tasks = await task('    BashOperator(task_id="a", bash_command="echo dbt && dbt deps")\n');
    expect(tasks[0].dbt).toBeUndefined();
  });
});
