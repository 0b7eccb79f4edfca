import { locations, SampleRepo } from './helpers';

// End-to-end: the real PR buildspec runs `dataops validate` with Airflow 2.10.3 (MWAA constraints),
// ruff and pytest on a copy of examples/airflow-dags with one change each.
jest.setTimeout(300_000);

describe('PR validation of the Airflow sample repo', () => {
  const repos: SampleRepo[] = [];
  const repo = () => {
    const r = new SampleRepo('airflow-dags');
    repos.push(r);
    return r;
  };
  afterAll(() => repos.forEach((r) => r.remove()));

  it('passes a clean PR that changes a DAG task', async () => {
    // GIVEN a PR that changes the ingestion DAG's load command
    const r = repo().change('dags/ingest_visits.py', (s) => s.replace('--table raw_visits --date {{ ds }}', '--table raw_visits --date {{ ds }} --full-refresh'));
    // WHEN the PR buildspec runs
    const { build, report } = await r.prValidate();
    // THEN it passes, ran the DAG import test on that file only, and says why
    expect(locations(report)).toEqual([]);
    expect(build.succeeded).toBe(true);
    const dag = report.selected.find((s) => s.check === 'dag-import');
    expect(dag?.assets).toEqual(['dags/ingest_visits.py']);
    expect(dag?.reason).toMatch(/changed file/);
  });

  it.each([
    {
      fault: 'a DAG with an import error',
      file: 'dags/ingest_visits.py',
      edit: (s: string) => s.replace('from airflow.operators.bash import BashOperator', 'from airflow.operators.bash_v3 import BashOperator'),
      expected: ['DAG_IMPORT_ERROR@dags/ingest_visits.py:7'],
    },
    {
      fault: 'a DAG that breaks the tags policy',
      file: 'dags/clinic_report.py',
      edit: (s: string) => s.replace('    tags=["reporting", "clinic"],\n', ''),
      expected: ['DAG_POLICY_TAGS@dags/clinic_report.py:11'],
    },
    {
      fault: 'a ruff error in a helper module',
      file: 'dags/common/defaults.py',
      edit: (s: string) => s.replace('from datetime import timedelta\n', 'import os\nfrom datetime import timedelta\n'),
      expected: ['PY_LINT@dags/common/defaults.py:7'],
    },
  ])('fails $fault with its own code and location only', async ({ file, edit, expected }) => {
    // GIVEN a PR that injects one fault
    const r = repo().change(file, edit);
    // WHEN the PR buildspec runs
    const { build, report } = await r.prValidate();
    // THEN the build fails with exactly that finding
    expect(locations(report)).toEqual(expected);
    expect(build.succeeded).toBe(false);
    expect(build.phases.find((p) => p.name === 'build')?.status).toBe('FAILED');
    expect(build.phases.find((p) => p.name === 'post_build')?.status).toBe('SUCCEEDED');
  });
});
