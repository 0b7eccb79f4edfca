import { locations, SampleRepo } from './helpers';

// End-to-end: the real PR buildspec runs `dataops validate` with PySpark 3.5 (local session, Java 17)
// and ruff on a copy of examples/spark-jobs.
jest.setTimeout(300_000);

describe('PR validation of the Spark sample repo', () => {
  const repos: SampleRepo[] = [];
  const repo = () => {
    const r = new SampleRepo('spark-jobs');
    repos.push(r);
    return r;
  };
  afterAll(() => repos.forEach((r) => r.remove()));

  it('passes a clean PR that changes the job and runs its tests on local PySpark', async () => {
    // GIVEN a PR that renames an internal variable of the job
    const r = repo().change('jobs/visit_rollup/job.py', (s) => s.replace('    completed = visits.where', '    completed_visits = visits.where').replace('        completed.withColumn', '        completed_visits.withColumn'));
    // WHEN the PR buildspec runs
    const { build, report } = await r.prValidate();
    // THEN the Spark tests ran and passed
    expect(locations(report)).toEqual([]);
    expect(build.succeeded).toBe(true);
    expect(report.selected.map((s) => s.check).sort()).toEqual(['dependency-graph', 'ruff', 'spark-tests']);
  });

  it('fails a failing Spark unit test with its own code and location only', async () => {
    // GIVEN a PR that counts visits instead of distinct patients
    const r = repo().change('jobs/visit_rollup/job.py', (s) => s.replace('F.countDistinct("patient_id")', 'F.count("patient_id")'));
    // WHEN the PR buildspec runs
    const { build, report } = await r.prValidate();
    // THEN the one test that checks patient counts fails, at its assertion
    expect(locations(report)).toEqual(['SPARK_TEST_FAILED@tests/test_visit_rollup.py:19']);
    expect(report.findings[0].asset).toBe('spark:tests/test_visit_rollup.py::test_rollup_counts_completed_visits_per_clinic_and_week');
    expect(build.succeeded).toBe(false);
  });
});
