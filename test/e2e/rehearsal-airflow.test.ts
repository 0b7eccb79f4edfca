import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ENVIRONMENT_NAMES } from '../../lib/config/schema';
import { listDags, listImportErrors } from '../../lib/runtime/mwaa/airflow-commands';
import { rehearsalConfig } from '../helpers/rehearsal';
import { airflowScenario, mwaaCli, rollbacksOk, startRehearsalPlatform, type AirflowScenario, type RehearsalPlatform } from '../helpers/rehearsal-scenarios';

// The pipeline rehearsal on the Airflow sample (repo clinic-dags of config/rehearsal.yaml): the
// pipeline `cdk synth` wrote runs whole, Source → Validate → Package → Dev → Staging → Prod (with its
// Bake), against moto with IAM enforcement, the CodePipeline stand-in and one MWAA stand-in per
// environment running real Airflow. Four releases (test/helpers/rehearsal-scenarios.ts): the first, a
// one-file change, one rejected at the staging approval, and one whose DAG fails during the prod bake
// and is rolled back. Each assertion reads what is live in an environment: its DAG bucket, its
// Airflow's DAGs, paused flags and DAG runs. The bench (bench/rehearsal.bench.ts) measures the same run.
jest.setTimeout(2_400_000);

const config = rehearsalConfig();

describe('rehearsal of the clinic-dags pipeline, four releases from commit to prod', () => {
  let platform: RehearsalPlatform;
  let s: AirflowScenario;

  // GIVEN the synthesized rehearsal platform and its stand-ins, WHEN the four releases run
  beforeAll(async () => {
    platform = await startRehearsalPlatform();
    s = await airflowScenario(platform);
  });
  afterAll(async () => {
    s?.sample.remove();
    await platform?.stop();
  });

  it('takes the first release through every stage of the synthesized pipeline', () => {
    const first = s.runs.first;
    expect({ status: first.status, failure: first.failure, log: first.status === 'Succeeded' ? [] : platform.lines }).toEqual({ status: 'Succeeded', failure: undefined, log: [] });
    expect(Object.entries(first.stages)).toEqual(['Source', 'Validate', 'Package', 'Dev', 'Staging', 'Prod'].map((st) => [st, 'Succeeded']));
    // THEN every action of the template ran: one Validate per kind, Promote, Deploy, Verify in each environment, the prod Bake
    expect(first.actions.map((a) => `${a.stage}/${a.action}`).sort()).toEqual(
      [
        'Source/Source',
        'Validate/Validate-airflow',
        'Validate/Validate-python',
        'Package/Package',
        ...['Dev', 'Staging', 'Prod'].flatMap((st) => [`${st}/Promote`, `${st}/Deploy`, `${st}/Verify`]),
        'Staging/Approve',
        'Prod/Approve',
        'Prod/Bake',
      ].sort(),
    );
  });

  it('shows each approver the release version, its asset count, manifest sha256 and commit, resolved', () => {
    const first = s.runs.first;
    const pkg = first.variables.Package;
    expect(pkg.RELEASE_VERSION).toMatch(/^\d{8}\.1\+[0-9a-f]{7}/);
    expect(first.approvals.map((a) => a.stage)).toEqual(['Staging', 'Prod']);
    for (const approval of first.approvals) {
      expect(approval.customData).toContain(`release ${pkg.RELEASE_VERSION} (${pkg.RELEASE_ASSETS} assets, manifest sha256 ${pkg.RELEASE_MANIFEST_SHA256}, commit ${first.variables.SourceVariables.CommitId})`);
      expect(approval.customData).not.toMatch(/#\{/);
    }
  });

  it.each(ENVIRONMENT_NAMES)('leaves the releases live in %s: the DAG files under dags/clinic_dags/ and the DAGs imported by Airflow', async (env) => {
    const s3 = await platform.mwaa.s3(env);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: config.environments[env].mwaa.dagBucket, Prefix: 'dags/clinic_dags/' }));
    const keys = (listed.Contents ?? []).map((o) => o.Key!).filter((k) => !k.includes('/.dataops/'));
    expect(keys).toEqual(expect.arrayContaining(['dags/clinic_dags/clinic_report.py', 'dags/clinic_dags/ingest_visits.py', 'dags/clinic_dags/dbt_daily.py', 'dags/clinic_dags/common/defaults.py', 'dags/clinic_dags/heartbeat.py']));
    expect(await listImportErrors(mwaaCli(platform, env))).toEqual([]);
    expect((await listDags(mwaaCli(platform, env))).map((d) => d.dagId)).toEqual(expect.arrayContaining(['clinic_report', 'dbt_daily', 'ingest_visits', 'heartbeat']));
  });

  it('deploys a one-file change to every environment', () => {
    expect({ status: s.runs.change.status, failure: s.runs.change.failure }).toEqual({ status: 'Succeeded', failure: undefined });
    for (const env of ENVIRONMENT_NAMES) {
      expect(s.live.first[env]).toBeUndefined();
      expect(s.live.change[env]).toContain('tags=["v1"]');
    }
  });

  it('stops a release rejected at the staging approval in staging: dev runs it, staging and prod keep the previous release', () => {
    expect(s.runs.rejected.status).toBe('Failed');
    expect(s.runs.rejected.failure).toMatchObject({ stage: 'Staging', action: 'Approve', message: expect.stringContaining('rejected by arn:aws:iam::111111111111:user/lead') });
    expect(s.runs.rejected.stages).toEqual({ Source: 'Succeeded', Validate: 'Succeeded', Package: 'Succeeded', Dev: 'Succeeded', Staging: 'Failed' });
    expect(s.live.rejected.dev).toContain('tags=["v2"]');
    expect(s.live.rejected.staging).toBe(s.live.change.staging);
    expect(s.live.rejected.prod).toBe(s.live.change.prod);
  });

  it("rolls the prod stage back when the release's DAG fails during the bake, leaving the previous release live", () => {
    const bad = s.runs.badBake;
    // THEN the prod stage failed on its bake alarm and was rolled back to the last execution that succeeded in prod
    expect(bad.status).toBe('Failed');
    expect(bad.failure).toMatchObject({ stage: 'Prod', action: 'ProdBake', message: expect.stringMatching(/went to ALARM during the bake/) });
    expect(bad.stages.Prod).toBe('RolledBack');
    expect(bad.rollback).toMatchObject({ type: 'ROLLBACK', status: 'Succeeded' });
    expect(bad.rollback?.actions.map((a) => a.action)).toEqual(['Approve', 'Promote', 'Deploy', 'Verify', 'Bake']);
    // AND the Bake probe saw the failed run
    expect(bad.actions.find((a) => a.stage === 'Prod' && a.action === 'Bake')?.log).toMatch(/1 failure\(s\): heartbeat run .* failed/);
    // AND prod runs the previous release's file again; dev and staging keep the new one
    expect(s.live.badBake.prod).toBe(s.live.change.prod);
    expect(s.live.badBake.staging).toContain('exit 1');
  });

  it('never re-runs a completed load in prod: the earlier successful run stays the only success, and no run was triggered or cleared', () => {
    // THEN prod has exactly the runs its scheduler made: the success during the second release's bake, the failure during the fourth's
    expect(s.prodRuns.beforeBadBake.map((r) => r.state)).toEqual(['success']);
    expect(s.prodRuns.after.map((r) => r.state).sort()).toEqual(['failed', 'success']);
    expect(s.prodRuns.after).toEqual(expect.arrayContaining(s.prodRuns.beforeBadBake));
    // AND the platform never triggered, cleared or backfilled a run in prod
    expect(platform.mwaa.fakes.prod.commands.filter((c) => /^(dags trigger|tasks clear|dags backfill|tasks run)/.test(c))).toEqual([]);
    expect(rollbacksOk(s, platform.mwaa.fakes.prod.commands)).toEqual({ ok: 2, failed: 2 });
  });

  it('delivers every state-change event to the Recorder, which succeeds under its own role, the stage rollback included', () => {
    const all = [...Object.values(s.runs), ...(s.runs.badBake.rollback ? [s.runs.badBake.rollback] : [])].flatMap((r) => r.deliveries);
    expect(all.filter((d) => !d.ok)).toEqual([]);
    expect(s.runs.badBake.rollback?.deliveries.map((d) => `${d.stage ?? ''}/${d.action ?? ''}/${d.state}`)).toEqual(expect.arrayContaining(['//STARTED', 'Prod//STARTED', 'Prod/Deploy/SUCCEEDED', 'Prod//SUCCEEDED', '//SUCCEEDED']));
  });

  it('leaves every DAG of the repo in prod paused as it was created (the deploys and the rollback put each paused flag back)', async () => {
    const dags = await listDags(mwaaCli(platform, 'prod'));
    expect(Object.fromEntries(dags.map((d) => [d.dagId, d.paused]))).toMatchObject({ clinic_report: true, ingest_visits: true, dbt_daily: true, heartbeat: true });
  });
});
