/**
 * The pipeline rehearsal's figures (issue 10), from real runs of the synthesized pipelines of
 * config/rehearsal.yaml against the stand-ins (docs/rehearsal.md). `npm run bench -- rehearsal`
 * (about 30 minutes for the three repos: every prod release bakes for a minute).
 *
 * - rehearsal_repos_to_prod: sample repos whose first release reached prod with its live state
 *   checked in every environment (clinic-dags: its DAG files in each DAG bucket; dbt-models: its
 *   tables built with the release's mark in each warehouse; terraform-infra: both resources in each
 *   workspace's state). Repos without a scenario yet (spark-jobs) do not count.
 * - rehearsal_repos_total: the sample repos of config/rehearsal.yaml.
 * - rehearsal_rollbacks_ok: of the failed releases (clinic-dags: one rejected in staging, one that
 *   fails its prod bake; dbt-models: one whose model fails its test on staging's data, one whose
 *   model fails its test on a load during the prod bake; terraform-infra: one refused by a policy in
 *   staging, one whose prod apply errors and is rolled back), how many
 *   ended with the previous release live and no completed run re-run.
 * - rehearsal_seconds: one repo's full rehearsal (clinic-dags: four releases and a rollback).
 * - rehearsal_dbt_seconds: the dbt-models rehearsal (four releases and a rollback).
 * - rehearsal_terraform_seconds: the terraform-infra rehearsal (four releases and a rollback).
 * - promotion_minutes_modeled: prod approval to the end of prod Deploy and Verify, from the measured
 *   durations of the first release's Promote, Deploy and Verify plus CodeBuild provisioning with an
 *   uncached toolchain image pull (2.5 min a build) and MWAA's S3 sync and parse (1 min).
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { BenchResult } from './run';

/** CodeBuild provisioning plus pulling the ~3 GB toolchain image, uncached (minutes a build). */
const CODEBUILD_PROVISION_MINUTES = 2.5;
/** MWAA copies changed DAG files from S3 to its containers every 30 s, and the scheduler parses them within min_file_process_interval (30 s). */
const MWAA_SYNC_MINUTES = 1;

export async function run(): Promise<BenchResult[]> {
  const { startRehearsalPlatform, airflowScenario, rollbacksOk } = await import('../test/helpers/rehearsal-scenarios');
  const { dbtScenario, dbtOutcome, provisionDbtEnvironments } = await import('../test/helpers/rehearsal-dbt');
  const { seedTerraformTokens, startTerraformEnvironments, terraformOutcome, terraformScenario } = await import('../test/helpers/rehearsal-terraform');
  const { TFE_ADDRESS_ENV } = await import('../lib/runtime/deployers/registry');
  const { rehearsalConfig } = await import('../test/helpers/rehearsal');
  const { startSnowflake } = await import('../test/helpers/servers');
  const { SNOWFLAKE_ENDPOINT_ENV } = await import('../lib/runtime/snowflake/endpoint');
  const { ENVIRONMENT_NAMES } = await import('../lib/config/schema');
  const config = rehearsalConfig();
  const snowflake = await startSnowflake();
  const terraform = await startTerraformEnvironments();
  const platform = await startRehearsalPlatform({ endpoints: { [SNOWFLAKE_ENDPOINT_ENV]: snowflake.endpoint, [TFE_ADDRESS_ENV]: terraform.tfc.baseUrl } });
  try {
    const scenario = await airflowScenario(platform);
    const { first } = scenario.runs;
    // the first release is live when every environment's DAG bucket holds its DAG folder
    let airflowLive = first.status === 'Succeeded';
    for (const env of ENVIRONMENT_NAMES) {
      const listed = await (await platform.mwaa.s3(env)).send(new ListObjectsV2Command({ Bucket: config.environments[env].mwaa.dagBucket, Prefix: 'dags/clinic_dags/' }));
      airflowLive &&= (listed.Contents ?? []).some((o) => o.Key === 'dags/clinic_dags/clinic_report.py');
    }
    const rollbacks = rollbacksOk(scenario, platform.mwaa.fakes.prod.commands);
    const prod = (action: string) => first.actions.find((a) => a.stage === 'Prod' && a.action === action)?.durationMs ?? Number.NaN;
    const promotionMinutes = prod('Promote') / 60_000 + (CODEBUILD_PROVISION_MINUTES + prod('Deploy') / 60_000) + (CODEBUILD_PROVISION_MINUTES + prod('Verify') / 60_000) + MWAA_SYNC_MINUTES;
    scenario.sample.remove();
    const sql = await provisionDbtEnvironments(platform, snowflake.endpoint);
    const dbt = await dbtScenario(platform, sql);
    for (const c of Object.values(sql)) await c.close();
    dbt.sample.remove();
    const dbtOk = dbtOutcome(dbt);
    await seedTerraformTokens(platform, terraform.tfc);
    const tf = await terraformScenario(platform, terraform);
    tf.sample.remove();
    const tfOk = terraformOutcome(tf);
    return [
      { name: 'rehearsal_repos_to_prod', value: Number(airflowLive) + Number(dbtOk.toProd) + Number(tfOk.toProd), unit: 'repos' },
      { name: 'rehearsal_repos_total', value: config.repos.length, unit: 'repos' },
      { name: 'rehearsal_rollbacks_ok', value: rollbacks.ok + Number(dbtOk.failedReleaseHeld) + Number(dbtOk.badBakeRolledBack) + tfOk.failedReleasesHeld, unit: `of ${rollbacks.failed + 2 + tfOk.failedReleases} failed releases` },
      { name: 'rehearsal_seconds', value: Math.round(scenario.durationMs / 1000), unit: 's (clinic-dags, 4 releases + rollback)' },
      { name: 'rehearsal_dbt_seconds', value: Math.round(dbt.durationMs / 1000), unit: 's (dbt-models, 4 releases + rollback)' },
      { name: 'rehearsal_terraform_seconds', value: Math.round(tf.durationMs / 1000), unit: 's (terraform-infra, 4 releases + rollback)' },
      { name: 'rehearsal_first_release_seconds', value: Math.round(first.durationMs / 1000), unit: 's' },
      { name: 'promotion_minutes_modeled', value: Math.round(promotionMinutes * 10) / 10, unit: 'min (target < 15, goal < 8)' },
    ];
  } finally {
    await platform.stop();
    await snowflake.stop();
    await terraform.stop();
  }
}
