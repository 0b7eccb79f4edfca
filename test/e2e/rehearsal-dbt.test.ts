import { ENVIRONMENT_NAMES, type EnvironmentName } from '../../lib/config/schema';
import { SNOWFLAKE_ENDPOINT_ENV } from '../../lib/runtime/snowflake/endpoint';
import type { SnowflakeSqlClient } from '../../lib/runtime/snowflake/sql-client';
import { dbtScenario, provisionDbtEnvironments, type DbtScenario } from '../helpers/rehearsal-dbt';
import { startRehearsalPlatform, type RehearsalPlatform } from '../helpers/rehearsal-scenarios';
import { startSnowflake, type LocalServer } from '../helpers/servers';

// The pipeline rehearsal on the dbt sample (repo dbt-models of config/rehearsal.yaml): the synthesized
// pipeline runs whole against moto with IAM enforcement and the Snowflake stand-in, whose one server
// holds each environment's database. Each assertion reads the environment's live tables.
jest.setTimeout(2_400_000);

describe('rehearsal of the dbt-models pipeline from commit to prod', () => {
  let snowflake: LocalServer;
  let platform: RehearsalPlatform;
  let sql: Record<EnvironmentName, SnowflakeSqlClient>;
  let s: DbtScenario;

  // GIVEN the synthesized platform, each environment's warehouse with its landing tables and deploy secret
  beforeAll(async () => {
    snowflake = await startSnowflake();
    platform = await startRehearsalPlatform({ endpoints: { [SNOWFLAKE_ENDPOINT_ENV]: snowflake.endpoint } });
    sql = await provisionDbtEnvironments(platform, snowflake.endpoint);
    // WHEN three releases run
    s = await dbtScenario(platform, sql);
  });
  afterAll(async () => {
    for (const c of Object.values(sql ?? {})) await c.close();
    s?.sample.remove();
    await platform?.stop();
    await snowflake?.stop();
  });

  it('takes the first release through every stage and builds the models in every environment', () => {
    expect({ status: s.runs.first.status, failure: s.runs.first.failure, log: s.runs.first.status === 'Succeeded' ? [] : platform.lines.slice(-40) }).toEqual({ status: 'Succeeded', failure: undefined, log: [] });
    const version = s.runs.first.variables.Package.RELEASE_VERSION;
    for (const env of ENVIRONMENT_NAMES) expect(s.live.first[env]).toEqual({ visits: [{ CLINIC_CODE: 'NRT', VISIT_COUNT: 2 }], dimRelease: `dataops release ${version} of dbt-models`, statuses: ['cancelled', 'completed'] });
  });

  it('deploys a one-file change: every environment runs the new model', () => {
    expect({ status: s.runs.change.status, failure: s.runs.change.failure }).toEqual({ status: 'Succeeded', failure: undefined });
    const deploy = s.runs.change.actions.find((a) => a.stage === 'Dev' && a.action === 'Deploy');
    expect(deploy?.log).toMatch(/1 model\(s\) modified, 1 to build/);
    // THEN the staging and prod gates ran the tests of the model the release built, not every test
    for (const stage of ['Staging', 'Prod']) {
      const verify = s.runs.change.actions.find((a) => a.stage === stage && a.action === 'Verify');
      expect(verify?.log).toMatch(/dbt test --select fqn:clinic_analytics\.marts\.fct_daily_visits \(target/);
    }
    for (const env of ENVIRONMENT_NAMES) {
      expect(s.live.change[env].visits).toEqual([{ CLINIC_CODE: 'NRT', VISIT_COUNT: 2 }, { CLINIC_CODE: 'STH', VISIT_COUNT: 1 }]);
      // THEN the model that did not change keeps the first release's build
      expect(s.live.change[env].dimRelease).toBe(s.live.first[env].dimRelease);
    }
  });

  it('delivers every state-change event to the Recorder, which records each stage under its own role', () => {
    const all = [s.runs.first, s.runs.change, s.runs.failsInStaging, s.runs.badBake, ...(s.runs.badBake.rollback ? [s.runs.badBake.rollback] : [])].flatMap((r) => r.deliveries);
    expect(all.filter((d) => !d.ok)).toEqual([]);
    // one per pipeline, stage and action state change of the three executions
    expect(all.filter((d) => d.detailType === 'CodePipeline Stage Execution State Change' && d.stage === 'Staging' && d.state === 'FAILED')).toHaveLength(1);
  });

  it("stops a release whose model fails its test on staging's data in the staging build: dev runs it, staging and prod keep the previous build", () => {
    const r = s.runs.failsInStaging;
    expect(r.status).toBe('Failed');
    expect(r.failure).toMatchObject({ stage: 'Staging', action: 'Deploy', message: expect.stringMatching(/nothing was swapped in .*unique_dim_patients_patient_id/s) });
    expect(s.live.failsInStaging.dev.dimRelease).toBe(`dataops release ${r.variables.Package.RELEASE_VERSION} of dbt-models`);
    expect(s.live.failsInStaging.staging).toEqual(s.live.change.staging);
    expect(s.live.failsInStaging.prod).toEqual(s.live.change.prod);
  });

  it("rolls the prod stage back when the release's model fails its test on a load during the bake: prod runs the previous release's tables and view again", () => {
    const bad = s.runs.badBake;
    // THEN the prod bake's probe ran the release's tests on prod's data and found the failing one
    expect({ status: bad.status, failure: bad.failure?.stage, action: bad.failure?.action }).toEqual({ status: 'Failed', failure: 'Prod', action: 'ProdBake' });
    const bake = bad.actions.find((a) => a.stage === 'Prod' && a.action === 'Bake');
    expect(bake?.log).toMatch(/failure\(s\): .*accepted_values_stg_visits_visit_status/);
    expect(bake?.log).toMatch(/dbt: \d+ test\(s\) of the \d+ model\(s\) the deploy built/);
    // AND the rollback execution restored prod: the previous release's tables (swapped back) and its view (re-created)
    expect(bad.rollback).toMatchObject({ type: 'ROLLBACK', status: 'Succeeded' });
    const redeploy = bad.rollback?.actions.find((a) => a.action === 'Deploy');
    expect(redeploy?.log).toMatch(/re-created \d+ view\(s\) from the restored project: .*stg_visits/);
    expect({ ...s.live.badBake.prod, statuses: undefined }).toEqual({ ...s.live.change.prod, statuses: undefined });
    // the load that came during the bake is read by the restored view as it was written before the release
    expect(s.live.badBake.prod.statuses).toEqual(['cancelled', 'completed']);
    // AND dev and staging keep the new release, whose view passes the status through unchanged
    expect(s.live.badBake.staging.statuses).toEqual(['cancelled', 'completed']);
    expect(s.live.badBake.dev.dimRelease).toBe(`dataops release ${bad.variables.Package.RELEASE_VERSION} of dbt-models`);
  });
});
