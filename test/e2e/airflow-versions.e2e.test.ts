import * as fs from 'fs';
import * as path from 'path';
import { locations, SampleRepo } from './helpers';

// End-to-end: the real PR buildspec checks examples/airflow-dags with the Airflow of its dataops.yaml
// `airflow.version` (.venv/airflow-<version>, MWAA's constraints for that version), not the default 2.10.3.
jest.setTimeout(300_000);

const setVersion = (version: string) => (s: string) => s.replace('version: "2.10.3"', `version: "${version}"`);
// Accepted (deprecated) by Airflow 2, removed in Airflow 3.
const scheduleInterval = (s: string) => s.replace('schedule="0 5 * * *"', 'schedule_interval="0 5 * * *"');

describe('PR validation of the Airflow sample repo on another MWAA Airflow version', () => {
  const repos: SampleRepo[] = [];
  const repo = () => {
    const r = new SampleRepo('airflow-dags');
    repos.push(r);
    return r;
  };
  afterAll(() => repos.forEach((r) => r.remove()));

  it.each(['2.11.2', '3.0.6'])('passes a PR that moves the repo to Airflow %s, importing every DAG and running the tests with it', async (version) => {
    // GIVEN a PR that sets airflow.version
    const r = repo().change('dataops.yaml', setVersion(version));
    // WHEN the PR buildspec runs
    const { build, report } = await r.prValidate();
    // THEN every DAG file was imported by that Airflow, and nothing was found
    expect(locations(report)).toEqual([]);
    expect(build.succeeded).toBe(true);
    const dag = report.selected.find((s) => s.check === 'dag-import');
    expect(dag?.reason).toContain(`(Airflow ${version}`);
    expect(dag?.assets).toEqual(expect.arrayContaining(['dags/clinic_report.py', 'dags/dbt_daily.py', 'dags/ingest_visits.py']));
    expect(report.selected.map((s) => s.check)).toContain('pytest');
  });

  it('fails a DAG that Airflow 3.0.6 no longer imports (schedule_interval) when the repo is on 3.0.6, at the DAG call', async () => {
    // GIVEN a repo on Airflow 3.0.6 and a PR whose DAG passes schedule_interval
    const r = repo().change('dataops.yaml', setVersion('3.0.6'));
    r.change('dags/ingest_visits.py', scheduleInterval);
    const dagLine = fs.readFileSync(path.join(r.dir, 'dags', 'ingest_visits.py'), 'utf8').split('\n').findIndex((l) => l.startsWith('with DAG(')) + 1;
    // WHEN the PR buildspec runs
    const { build, report } = await r.prValidate();
    // THEN Airflow 3's import error is reported at the DAG call
    expect(locations(report)).toEqual([`DAG_IMPORT_ERROR@dags/ingest_visits.py:${dagLine}`]);
    expect(report.findings[0].message).toContain("unexpected keyword argument 'schedule_interval'");
    expect(build.succeeded).toBe(false);
  });

  it('passes the same DAG change when the repo stays on Airflow 2.10.3', async () => {
    // GIVEN the default Airflow 2.10.3 and the same PR
    const r = repo().change('dags/ingest_visits.py', scheduleInterval);
    // WHEN the PR buildspec runs
    const { build, report } = await r.prValidate();
    // THEN Airflow 2.10.3 imports it (schedule_interval is only deprecated there)
    expect(locations(report)).toEqual([]);
    expect(build.succeeded).toBe(true);
    expect(report.selected.find((s) => s.check === 'dag-import')?.reason).toContain('(Airflow 2.10.3');
  });
});
