import { locations, SampleRepo } from './helpers';

// End-to-end: the real PR buildspec runs `dataops validate` with dbt-core + dbt-duckdb and sqlfluff
// (Snowflake dialect, dbt templater) on a copy of examples/dbt-models with one change each. Scoped
// runs build state:modified+ and defer to the base environment (built once per base tree, cached).
jest.setTimeout(600_000);

describe('PR validation of the dbt sample repo', () => {
  const repos: SampleRepo[] = [];
  const repo = () => {
    const r = new SampleRepo('dbt-models');
    repos.push(r);
    return r;
  };
  afterAll(() => repos.forEach((r) => r.remove()));

  it('passes a clean PR that changes one mart model, building only it and its children', async () => {
    // GIVEN a PR that adds a column-preserving change to fct_daily_visits
    const r = repo().change('models/marts/fct_daily_visits.sql', (s) => s.replace("where v.visit_status = 'completed'", "where v.visit_status = 'completed' and v.clinic_code is not null"));
    // WHEN the PR buildspec runs
    const { build, report } = await r.prValidate();
    // THEN it passes, and the dbt selection is the changed model (not its parents), with the reason
    expect(locations(report)).toEqual([]);
    expect(build.succeeded).toBe(true);
    const dbt = report.selected.find((s) => s.check === 'dbt');
    expect(dbt?.assets).toEqual(['model.clinic_analytics.fct_daily_visits', 'exposure.clinic_analytics.clinic_operations_report']);
    expect(dbt?.reason).toMatch(/state:modified\+ against main/);
    expect(report.selected.find((s) => s.check === 'sqlfluff')?.assets).toEqual(['models/marts/fct_daily_visits.sql']);
  });

  it.each([
    {
      fault: 'a model with a broken ref',
      file: 'models/marts/fct_daily_visits.sql',
      edit: (s: string) => s.replace("ref('stg_visits')", "ref('stg_visit')"),
      expected: ['DBT_REF_MISSING@models/marts/fct_daily_visits.sql:7'],
    },
    {
      fault: 'a model whose contract breaks',
      file: 'models/marts/dim_patients.sql',
      edit: (s: string) => s.replace('    p.birth_year,', '    cast(p.birth_year as varchar) as birth_year,'),
      expected: ['DBT_CONTRACT_VIOLATION@models/marts/_marts.yml:25'],
    },
    {
      fault: 'a failing dbt test',
      file: 'models/staging/stg_visits.sql',
      edit: (s: string) => s.replace("{{ cents_to_dollars('billed_cents') }} as billed_amount", "{{ cents_to_dollars('billed_cents') }} - 50 as billed_amount"),
      expected: ['DBT_TEST_FAILED@models/staging/_staging.yml:16'],
    },
    {
      fault: 'an SQL lint error',
      file: 'models/staging/stg_patients.sql',
      edit: (s: string) => s.replace('select * from', 'SELECT * from'),
      expected: ['SQL_LINT@models/staging/stg_patients.sql:2'],
    },
  ])('fails $fault with its own code and location only', async ({ file, edit, expected }) => {
    // GIVEN a PR that injects one fault
    const r = repo().change(file, edit);
    // WHEN the PR buildspec runs
    const { build, report } = await r.prValidate();
    // THEN the build fails with exactly that finding
    expect(locations(report)).toEqual(expected);
    expect(build.succeeded).toBe(false);
  });
});
