import { locations, SampleRepo } from './helpers';

// End-to-end: the real PR buildspec runs `dataops validate` with Airflow 2.10.3 (MWAA constraints),
// ruff and pytest on a copy of examples/airflow-dags (repo name clinic-dags, so its DAG folder is the
// package clinic_dags on MWAA) with one change each.
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
    // THEN it passes, ran the DAG import test on that file only (as dags/clinic_dags/, the hyphenated
    // repo name with underscores), and says why
    expect(locations(report)).toEqual([]);
    expect(build.succeeded).toBe(true);
    const dag = report.selected.find((s) => s.check === 'dag-import');
    expect(dag?.assets).toEqual(['dags/ingest_visits.py']);
    expect(dag?.reason).toMatch(/changed file.*as dags\/clinic_dags\//);
  });

  it('fails a DAG that imports the repo helpers as a top-level module, saying how to import them on MWAA', async () => {
    // GIVEN a PR whose DAG imports `common` as a top-level module (works with dags/ on sys.path, not on MWAA)
    const r = repo().change('dags/clinic_report.py', (s) => s.replace('\n\nfrom clinic_dags.common.defaults import', '\nfrom common.defaults import'));
    // WHEN the PR buildspec runs
    const { build, report } = await r.prValidate();
    // THEN the DAG file fails to import at the import line, with the import that works on MWAA
    expect(locations(report)).toEqual(['DAG_IMPORT_ERROR@dags/clinic_report.py:8']);
    expect(report.findings[0].message).toMatch(/No module named 'common'; on MWAA only dags\/ is on sys\.path; import it as clinic_dags\.common\.defaults$/);
    expect(build.succeeded).toBe(false);
  });

  it('takes the repo name from DATAOPS_REPO over dataops.yaml, as CodeBuild sets it', async () => {
    // GIVEN a clean PR built with DATAOPS_REPO naming another repo than the dataops.yaml name
    const r = repo().change('dags/ingest_visits.py', (s) => s.replace('--table raw_visits --date {{ ds }}', '--table raw_visits --date {{ ds }} --full-refresh'));
    // WHEN the PR buildspec runs
    const { report } = await r.prValidate({ DATAOPS_REPO: 'ingest-postgres' });
    // THEN the DAG folder is checked as dags/ingest_postgres/, where clinic_dags does not exist
    expect(locations(report)).toEqual(['DAG_IMPORT_ERROR@dags/ingest_visits.py:11']);
    expect(report.findings[0].message).toMatch(/import it as ingest_postgres\.common\.defaults$/);
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
