import { probeRelease, ProbeError, type ProbeDeps } from '../../../lib/runtime/bake/probe';
import { writeRelease } from '../../helpers/s3-fixtures';

// The prod bake's probe of a dbt release: the release's tests (the `dbtTests` the bake gives it, which
// runs dbt against prod; exercised whole by test/e2e/rehearsal-dbt.test.ts) run at the probes the bake
// asks for, an error finding is a failure, and a probe that cannot run them fails instead of reading healthy.
describe('probeRelease on a dbt release', () => {
  const release = async () => (await writeRelease({ repo: 'dbt-models', files: [{ kind: 'dbt', path: 'models/a.sql', body: 'select 1' }], dbt: { manifestSha256: 'a'.repeat(64), modelsToRebuild: [] } })).release;
  const since = new Date('2026-12-04T00:00:00Z');

  it('counts each failing test as a failure and says what it tested', async () => {
    let runs = 0;
    const deps: ProbeDeps = {
      dbtTests: async () => {
        runs++;
        return { ran: true, detail: 'dbt: 5 test(s) of the 2 model(s) the deploy built', findings: [{ severity: 'error', asset: 'dbt:model.p.stg_visits', message: 'accepted_values_stg_visits_visit_status failed with 1 failing row(s)' }, { severity: 'warning', asset: 'dbt:model.p.x', message: 'warned' }] };
      },
    };
    const r = await probeRelease(await release(), since, deps);
    expect(r.failures).toEqual([{ kind: 'dbt', asset: 'dbt:model.p.stg_visits', detail: 'accepted_values_stg_visits_visit_status failed with 1 failing row(s)' }]);
    expect(r.checked).toEqual(['dbt: 5 test(s) of the 2 model(s) the deploy built']);
    expect(r.notProbed).toEqual([]);
    // a probe between the first and the last reports the last run's result without running dbt
    const between = await probeRelease(await release(), since, deps, { dbt: false, lastDbt: r });
    expect(runs).toBe(1);
    expect(between.failures).toEqual(r.failures);
    expect(between.checked).toEqual(['dbt: 5 test(s) of the 2 model(s) the deploy built (last run)']);
  });

  it('fails the probe when the tests cannot run, and says dbt is not probed when the bake has no dbt', async () => {
    await expect(probeRelease(await release(), since, { dbtTests: async () => Promise.reject(new Error('no such warehouse')) })).rejects.toThrow(ProbeError);
    await expect(probeRelease(await release(), since, { dbtTests: async () => Promise.reject(new Error('no such warehouse')) })).rejects.toThrow(/the dbt tests of release .* could not be run: no such warehouse/);
    expect((await probeRelease(await release(), since, {})).notProbed).toEqual([expect.stringMatching(/^dbt: no dbt to run the release's tests with/)]);
  });
});
