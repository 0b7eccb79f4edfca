import { ENVIRONMENT_NAMES, terraformWorkspaceName, type EnvironmentName } from '../../lib/config/schema';
import { seedSecretAt } from '../../tools/rehearsal/aws';
import type { ExecutionOptions } from '../../tools/rehearsal/rehearse';
import { rehearsalConfig } from './rehearsal';
import type { RehearsalPlatform, Scenario } from './rehearsal-scenarios';
import { startTfcFake, type TfcFake } from './tfc-fake';
import { SampleRepo } from '../e2e/helpers';

/** The repo of config/rehearsal.yaml whose sources are examples/terraform-infra. */
export const TERRAFORM_REPO = 'terraform-infra';

/** The organization's Sentinel policy set that the staging and prod workspaces carry (dev has none). */
export const HIPAA_POLICY_SET = 'hipaa-guardrails';
/** Its hard-mandatory policy: every data-classification tag names one of the organization's levels. */
export const CLASSIFICATION_POLICY = 'data-classification-is-known';
const CLASSIFICATIONS = ['public', 'internal', 'confidential', 'phi'];

/** Monthly prices (USD) the fake's cost estimation gives each resource type of the sample. */
export const PRICES: Readonly<Record<string, number>> = { aws_dynamodb_table: 25, aws_sns_topic: 0.5 };

/** What each environment holds in Terraform Cloud before the repo's first release. */
export interface TerraformEnvironments {
  readonly tfc: TfcFake;
  /** The repo's own workspace of each environment: name and id. */
  readonly workspaces: Readonly<Record<EnvironmentName, { readonly name: string; readonly id: string }>>;
  stop(): Promise<void>;
}

/**
 * Starts the Terraform Cloud stand-in (test/helpers/tfc-fake.ts, runs settling between two polls)
 * and sets up what the organization holds before the first release: the repo's workspace in each
 * environment (terraformCloud.workspace of the configuration), cost estimation, and the HIPAA policy
 * set on the staging and prod workspaces; and each environment's token secret at the ARN the
 * configuration names (in the tooling account). Pass `tfc.baseUrl` to the platform as TFE_ADDRESS.
 */
export async function startTerraformEnvironments(): Promise<TerraformEnvironments> {
  const tfc = await startTfcFake(`rehearsal-${Math.random().toString(36).slice(2, 10)}`, { progress: 'at-once' });
  const config = rehearsalConfig();
  const workspaces = {} as Record<EnvironmentName, { name: string; id: string }>;
  for (const env of ENVIRONMENT_NAMES) {
    const e = config.environments[env];
    const name = terraformWorkspaceName(e, TERRAFORM_REPO, env);
    workspaces[env] = { name, id: tfc.addWorkspace(e.terraformCloud.organization, name) };
  }
  tfc.enableCostEstimation(PRICES);
  tfc.addPolicySet({
    name: HIPAA_POLICY_SET,
    workspaceIds: [workspaces.staging.id, workspaces.prod.id],
    policies: [{ name: CLASSIFICATION_POLICY, enforcement: 'hard-mandatory', fails: (resources) => resources.some((r) => [...r.body.matchAll(/"data-classification"\s*=\s*"([^"]*)"/g)].some((m) => !CLASSIFICATIONS.includes(m[1]))) }],
  });
  return { tfc, workspaces, stop: () => tfc.stop() };
}

/** Seeds each environment's Terraform Cloud token secret (environments.<env>.terraformCloud.tokenSecretArn) with the fake's token. */
export async function seedTerraformTokens(platform: RehearsalPlatform, tfc: TfcFake): Promise<void> {
  const config = rehearsalConfig();
  for (const env of ENVIRONMENT_NAMES) {
    const arn = config.environments[env].terraformCloud.tokenSecretArn;
    if (!arn) throw new Error(`config/rehearsal.yaml has no environments.${env}.terraformCloud.tokenSecretArn; the terraform-infra pipeline needs one`);
    await seedSecretAt(platform.aws, arn, tfc.token);
  }
}

/** What is live in one environment's workspace. */
export interface TerraformLive {
  /** The current state version: its serial and the run that wrote it (null: never applied). */
  readonly stateVersion: { readonly serial: number; readonly runId: string } | null;
  /** Resource address → its body in the current state. */
  readonly resources: Readonly<Record<string, string>>;
  /** The run that wrote the current state: its configuration version, status and message. */
  readonly appliedRun: { readonly id: string; readonly cvId: string; readonly status: string; readonly message: string; readonly comments: readonly string[] } | null;
  /** Runs the workspace has had, in order: id and status. */
  readonly runs: ReadonlyArray<{ readonly id: string; readonly status: string }>;
}

/** The workspace of `env` as the fake holds it. */
export function liveWorkspace(t: TerraformEnvironments, env: EnvironmentName): TerraformLive {
  const wsId = t.workspaces[env].id;
  const sv = t.tfc.currentStateVersion(wsId);
  const runs = t.tfc.runs().filter((r) => r.workspaceId === wsId);
  const applied = sv ? runs.find((r) => r.id === sv.runId) : undefined;
  return {
    stateVersion: sv && { serial: sv.serial, runId: sv.runId },
    resources: { ...(sv?.resources ?? {}) },
    appliedRun: applied ? { id: applied.id, cvId: applied.cvId, status: applied.status, message: applied.message, comments: [...applied.comments] } : null,
    runs: runs.map((r) => ({ id: r.id, status: r.status })),
  };
}

type Release = 'first' | 'change' | 'failsInStaging' | 'failsInProd';

/** What the Terraform scenario ran and what was live in each workspace after each release. */
export type TerraformScenario = Scenario<Release, TerraformLive>;

const TOPIC = 'main.tf';
/** The sample's SNS topic with a display name (`terraform fmt` alignment kept). */
export const withDisplayName = (tf: string, name: string): string =>
  tf.replace(/(resource "aws_sns_topic" "ingest_alerts" \{\n  name\s+= [^\n]+\n)(  display_name\s+= [^\n]+\n)?/, `$1  display_name      = "${name}"\n`);

/**
 * The terraform-infra (examples/terraform-infra) scenario: a first release (both resources created in
 * every workspace), a one-file change (the alerts topic gets a display name: an in-place update), a
 * release that tags the watermark table with an unknown data classification (dev has no policy set
 * and applies it; the staging workspace's hard-mandatory policy fails, so staging and prod keep the
 * change), and a release that puts the tag back, adds an owner tag to the table and renames the topic,
 * whose prod apply errors after updating the table (Terraform saves that partial state); the prod
 * stage rolls back to the change's execution, whose Deploy must put the table back.
 */
export async function terraformScenario(platform: RehearsalPlatform, t: TerraformEnvironments): Promise<TerraformScenario> {
  const started = Date.now();
  const rehearsal = await platform.rehearsal(TERRAFORM_REPO);
  const sample = new SampleRepo('terraform-infra');
  const snapshot = (): Record<EnvironmentName, TerraformLive> => Object.fromEntries(ENVIRONMENT_NAMES.map((env) => [env, liveWorkspace(t, env)])) as Record<EnvironmentName, TerraformLive>;
  /** The prod apply fails (a provider error) after the plan's first change was applied, which stays in the workspace's state. */
  const prodApplyFails: ExecutionOptions['whileRunning'] = (stage, action, type) => {
    if (stage === 'Prod' && action === 'Deploy' && type === 'STANDARD') t.tfc.failNextApply({ applyFirst: 1 });
    return undefined;
  };

  const first = await rehearsal.run({ sourceDir: sample.dir });
  const afterFirst = snapshot();
  sample.change(TOPIC, (tf) => withDisplayName(tf, 'Clinic ingest alerts'));
  const change = await rehearsal.run({ sourceDir: sample.dir });
  const afterChange = snapshot();
  sample.change(TOPIC, (tf) => tf.replace('{ "data-classification" = "internal" }', '{ "data-classification" = "sensitive" }'));
  const failsInStaging = await rehearsal.run({ sourceDir: sample.dir });
  const afterFailsInStaging = snapshot();
  sample.change(TOPIC, (tf) => withDisplayName(tf.replace('{ "data-classification" = "sensitive" }', `{ "data-classification" = "internal", "owner" = "clinic-data-eng" }`), 'Clinic ingestion alerts'));
  const failsInProd = await rehearsal.run({ sourceDir: sample.dir, whileRunning: prodApplyFails });
  const afterFailsInProd = snapshot();
  return {
    sample,
    runs: { first, change, failsInStaging, failsInProd },
    live: { first: afterFirst, change: afterChange, failsInStaging: afterFailsInStaging, failsInProd: afterFailsInProd },
    durationMs: Date.now() - started,
  };
}

/**
 * What the bench counts of the Terraform scenario: whether the first release reached prod with both
 * resources in every workspace's state, and of the two failed releases, how many ended with the
 * previous release live where they failed: the one refused in staging wrote no state in staging or
 * prod; the one whose prod apply errored was rolled back to the previous release's resources.
 */
export function terraformOutcome(s: TerraformScenario): { toProd: boolean; failedReleasesHeld: number; failedReleases: number } {
  const toProd = s.runs.first.status === 'Succeeded' && ENVIRONMENT_NAMES.every((env) => Object.keys(s.live.first[env].resources).length === 2);
  const sameState = (a: TerraformLive, b: TerraformLive) => JSON.stringify(a.stateVersion) === JSON.stringify(b.stateVersion);
  const sameResources = (a: TerraformLive, b: TerraformLive) => JSON.stringify(a.resources) === JSON.stringify(b.resources);
  const stagingHeld = s.runs.failsInStaging.status === 'Failed' && sameState(s.live.failsInStaging.staging, s.live.change.staging) && sameState(s.live.failsInStaging.prod, s.live.change.prod);
  const prodHeld = s.runs.failsInProd.status === 'Failed' && s.runs.failsInProd.rollback?.status === 'Succeeded' && sameResources(s.live.failsInProd.prod, s.live.change.prod);
  return { toProd, failedReleasesHeld: Number(stagingHeld) + Number(prodHeld), failedReleases: 2 };
}
