import { ENVIRONMENT_NAMES } from '../../lib/config/schema';
import { TFE_ADDRESS_ENV } from '../../lib/runtime/deployers/registry';
import { startRehearsalPlatform, type RehearsalPlatform } from '../helpers/rehearsal-scenarios';
import {
  CLASSIFICATION_POLICY,
  HIPAA_POLICY_SET,
  seedTerraformTokens,
  startTerraformEnvironments,
  terraformOutcome,
  terraformScenario,
  type TerraformEnvironments,
  type TerraformScenario,
} from '../helpers/rehearsal-terraform';

// The pipeline rehearsal on the Terraform sample (repo terraform-infra of config/rehearsal.yaml): the
// synthesized pipeline runs whole against moto with IAM enforcement and the Terraform Cloud API fake
// (test/helpers/tfc-fake.ts), which the Deploy and Verify builds reach through TFE_ADDRESS with the
// token each environment's Deploy reads from its secret. Each assertion reads what the fake holds for
// the repo's workspace of each environment: its current state version, the run that wrote it and that
// run's configuration version, not the ledger.
jest.setTimeout(2_400_000);

const TABLE = 'aws_dynamodb_table.ingest_watermarks';
const TOPIC = 'aws_sns_topic.ingest_alerts';

describe('rehearsal of the terraform-infra pipeline from commit to prod', () => {
  let t: TerraformEnvironments;
  let platform: RehearsalPlatform;
  let s: TerraformScenario;

  // GIVEN the synthesized platform, each environment's workspace in Terraform Cloud and its token secret
  beforeAll(async () => {
    t = await startTerraformEnvironments();
    platform = await startRehearsalPlatform({ endpoints: { [TFE_ADDRESS_ENV]: t.tfc.baseUrl } });
    await seedTerraformTokens(platform, t.tfc);
    // WHEN four releases run
    s = await terraformScenario(platform, t);
  });
  afterAll(async () => {
    s?.sample.remove();
    await platform?.stop();
    await t?.stop();
  });

  it('takes the first release through every stage and applies it in every environment', () => {
    const first = s.runs.first;
    expect({ status: first.status, failure: first.failure, log: first.status === 'Succeeded' ? [] : platform.lines.slice(-40) }).toEqual({ status: 'Succeeded', failure: undefined, log: [] });
    expect(first.actions.map((a) => `${a.stage}/${a.action}`).sort()).toEqual(
      ['Source/Source', 'Validate/Validate-terraform', 'Package/Package', ...['Dev', 'Staging', 'Prod'].flatMap((st) => [`${st}/Promote`, `${st}/Deploy`, `${st}/Verify`]), 'Staging/Approve', 'Prod/Approve', 'Prod/Bake'].sort(),
    );
    const version = first.variables.Package.RELEASE_VERSION;
    for (const env of ENVIRONMENT_NAMES) {
      const live = s.live.first[env];
      // THEN the repo's own workspace of the environment holds both resources, written by one applied run of this release
      expect(Object.keys(live.resources).sort()).toEqual([TABLE, TOPIC]);
      expect(live.stateVersion).toEqual({ serial: 1, runId: live.appliedRun?.id });
      expect(live.appliedRun).toMatchObject({ status: 'applied', message: `release ${version} of terraform-infra to ${env}` });
      expect(live.runs).toEqual([{ id: live.appliedRun!.id, status: 'applied' }]);
    }
    // AND the three environments ran three runs, each in its own workspace, from three configuration versions
    expect(new Set(ENVIRONMENT_NAMES.map((env) => s.live.first[env].appliedRun!.cvId)).size).toBe(3);
    // AND each Deploy logged the plan summary and the cost estimate
    const deploy = first.actions.find((a) => a.stage === 'Dev' && a.action === 'Deploy');
    expect(deploy?.log).toMatch(/plan of run run-\w+ in rehearsal\/terraform-infra-dev: 2 to add, 0 to change, 0 to destroy; cost estimate \$25\.50\/month \(\+\$25\.50 from \$0\.00\)/);
  });

  it('deploys a one-file change as an in-place update in every environment', () => {
    expect({ status: s.runs.change.status, failure: s.runs.change.failure }).toEqual({ status: 'Succeeded', failure: undefined });
    const deploy = s.runs.change.actions.find((a) => a.stage === 'Prod' && a.action === 'Deploy');
    expect(deploy?.log).toMatch(/: 0 to add, 1 to change, 0 to destroy;/);
    for (const env of ENVIRONMENT_NAMES) {
      const live = s.live.change[env];
      expect(live.stateVersion?.serial).toBe(2);
      expect(live.appliedRun?.message).toBe(`release ${s.runs.change.variables.Package.RELEASE_VERSION} of terraform-infra to ${env}`);
      expect(live.resources[TOPIC]).toContain('display_name      = "Clinic ingest alerts"');
      // THEN the table, which did not change, is the first release's
      expect(live.resources[TABLE]).toBe(s.live.first[env].resources[TABLE]);
    }
  });

  it("stops a release that fails the staging workspace's hard-mandatory policy in staging: dev applies it, staging discards the run, prod keeps the previous release", () => {
    const r = s.runs.failsInStaging;
    expect(r.status).toBe('Failed');
    expect(r.stages).toEqual({ Source: 'Succeeded', Validate: 'Succeeded', Package: 'Succeeded', Dev: 'Succeeded', Staging: 'Failed' });
    expect(r.failure).toMatchObject({ stage: 'Staging', action: 'Deploy', message: expect.stringContaining(`failed hard-mandatory policy ${HIPAA_POLICY_SET}/${CLASSIFICATION_POLICY}`) });
    // THEN dev (no policy set) runs the new tag
    expect(s.live.failsInStaging.dev.stateVersion?.serial).toBe(3);
    expect(s.live.failsInStaging.dev.resources[TABLE]).toContain('"data-classification" = "sensitive"');
    // AND staging's run ended errored on its policy check and wrote no state; staging and prod keep the change
    const stagingRuns = s.live.failsInStaging.staging.runs;
    expect(stagingRuns.at(-1)?.status).toBe('errored');
    expect(stagingRuns).toHaveLength(s.live.change.staging.runs.length + 1);
    expect(s.live.failsInStaging.staging.stateVersion).toEqual(s.live.change.staging.stateVersion);
    expect(s.live.failsInStaging.prod).toEqual(s.live.change.prod);
  });

  it("rolls the prod stage back when the prod apply errors half way: the rollback's Deploy re-applies the previous release over the partial state", () => {
    const r = s.runs.failsInProd;
    expect(r.status).toBe('Failed');
    expect(r.failure).toMatchObject({ stage: 'Prod', action: 'Deploy', message: expect.stringMatching(/ended errored, not applied; it changed resources before it stopped \(Terraform saved them as state serial 3\)/) });
    expect(r.stages.Prod).toBe('RolledBack');
    expect(r.rollback).toMatchObject({ type: 'ROLLBACK', status: 'Succeeded' });
    expect(r.rollback?.actions.map((a) => a.action)).toEqual(['Approve', 'Promote', 'Deploy', 'Verify', 'Bake']);
    // AND the rollback's Deploy of the previous release saw that the workspace no longer holds the state its run left
    expect(r.rollback?.actions.find((a) => a.action === 'Deploy')?.log).toMatch(/holds state serial 3 saved by run run-\w+, not serial 2 that run run-\w+ of release \S+ left; running configuration [0-9a-f]{12} again/);
    // THEN prod had two more runs: the release's, which errored after writing the table's owner tag to the state, and the rollback's, applied
    const prod = s.live.failsInProd.prod;
    const after = prod.runs.slice(s.live.change.prod.runs.length);
    expect(after.map((x) => x.status)).toEqual(['errored', 'applied']);
    expect(prod.stateVersion).toEqual({ serial: 4, runId: after[1].id });
    expect(prod.appliedRun?.message).toBe(`release ${s.runs.change.variables.Package.RELEASE_VERSION} of terraform-infra to prod`);
    // AND prod's resources are the change's again: the owner tag the failed apply left is gone
    expect(prod.resources).toEqual(s.live.change.prod.resources);
    // AND dev and staging run the new release: the table with its owner tag, the renamed topic
    for (const env of ['dev', 'staging'] as const) {
      const live = s.live.failsInProd[env];
      expect(live.appliedRun?.message).toBe(`release ${r.variables.Package.RELEASE_VERSION} of terraform-infra to ${env}`);
      expect(live.resources[TOPIC]).toContain('"Clinic ingestion alerts"');
      expect(live.resources[TABLE]).toContain('{ "data-classification" = "internal", "owner" = "clinic-data-eng" }');
    }
    expect(terraformOutcome(s)).toEqual({ toProd: true, failedReleasesHeld: 2, failedReleases: 2 });
  });

  it('delivers every state-change event to the Recorder, which succeeds under its own role, the stage rollback included', () => {
    const all = [...Object.values(s.runs), ...(s.runs.failsInProd.rollback ? [s.runs.failsInProd.rollback] : [])].flatMap((r) => r.deliveries);
    expect(all.filter((d) => !d.ok)).toEqual([]);
    expect(all.filter((d) => d.detailType === 'CodePipeline Stage Execution State Change' && d.stage === 'Staging' && d.state === 'FAILED')).toHaveLength(1);
  });
});
