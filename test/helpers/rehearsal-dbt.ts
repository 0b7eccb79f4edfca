import { ENVIRONMENT_NAMES, type EnvironmentName } from '../../lib/config/schema';
import { SnowflakeSqlClient, type Row } from '../../lib/runtime/snowflake/sql-client';
import { seedSecretAt } from '../../tools/rehearsal/aws';
import type { ExecutionOptions } from '../../tools/rehearsal/rehearse';
import { rehearsalConfig } from './rehearsal';
import type { RehearsalPlatform, Scenario } from './rehearsal-scenarios';
import { SampleRepo } from '../e2e/helpers';

/** The user and password every environment's deploy secret holds in the rehearsal (the stand-in accepts any). */
const DEPLOY_USER = { user: 'DATAOPS_DEPLOY', password: 'rehearsal' };

/**
 * Sets up what each environment's warehouse and account hold before the dbt repo's first release:
 * the deploy secret at the name the configuration's ARN names (in the environment's account), the
 * environment's database and its landing tables (what the ingestion DAG loads in Snowflake).
 */
export async function provisionDbtEnvironments(platform: RehearsalPlatform, snowflakeEndpoint: string): Promise<Record<EnvironmentName, SnowflakeSqlClient>> {
  const config = rehearsalConfig();
  const out = {} as Record<EnvironmentName, SnowflakeSqlClient>;
  for (const env of ENVIRONMENT_NAMES) {
    const e = config.environments[env];
    await seedSecretAt(platform.aws, e.snowflake.deploySecretArn, JSON.stringify(DEPLOY_USER));
    const sql = await SnowflakeSqlClient.connect({ ...e.snowflake, secret: { user: 'REHEARSAL_SETUP', password: 'rehearsal' }, endpointUrl: snowflakeEndpoint });
    const db = e.snowflake.database;
    await sql.query(`CREATE DATABASE IF NOT EXISTS "${db}"`);
    await sql.query(`CREATE SCHEMA IF NOT EXISTS "${db}"."RAW"`);
    await sql.query(
      `CREATE OR REPLACE TABLE "${db}"."RAW"."RAW_PATIENTS" AS SELECT * FROM (VALUES (501, 1961, 'NRT', '2020-03-14'::date, current_timestamp()), (502, 1984, 'NRT', '2021-07-02'::date, current_timestamp()), (503, 1990, 'STH', '2022-01-20'::date, current_timestamp())) AS t(patient_id, birth_year, home_clinic_code, enrolled_at, loaded_at)`,
    );
    await sql.query(
      `CREATE OR REPLACE TABLE "${db}"."RAW"."RAW_VISITS" AS SELECT * FROM (VALUES (1001, 501, 'nrt', '2026-11-01 08:15:00'::timestamp, 12500, 'completed', current_timestamp()), (1002, 502, 'NRT', '2026-11-01 09:40:00'::timestamp, 8000, 'completed', current_timestamp()), (1003, 501, 'STH', '2026-11-02 10:00:00'::timestamp, 4000, 'cancelled', current_timestamp())) AS t(visit_id, patient_id, clinic_code, visit_ts, billed_cents, status, loaded_at)`,
    );
    out[env] = sql;
  }
  return out;
}

/** Visit counts per clinic in an environment's live FCT_DAILY_VISITS (undefined: no table). */
export async function liveVisitCounts(sql: SnowflakeSqlClient, env: EnvironmentName): Promise<Row[] | undefined> {
  const db = rehearsalConfig().environments[env].snowflake.database;
  return sql.query(`SELECT "CLINIC_CODE", "VISIT_COUNT" FROM "${db}"."ANALYTICS_MARTS"."FCT_DAILY_VISITS" ORDER BY 1`).catch(() => undefined);
}

/** The release mark (`dataops release <version> of <repo>`) on an environment's live DIM_PATIENTS. */
export async function liveDimRelease(sql: SnowflakeSqlClient, env: EnvironmentName): Promise<string | undefined> {
  const db = rehearsalConfig().environments[env].snowflake.database;
  const rows = await sql.query(`SELECT "COMMENT" FROM "${db}"."INFORMATION_SCHEMA"."TABLES" WHERE "TABLE_SCHEMA" = 'ANALYTICS_MARTS' AND "TABLE_NAME" = 'DIM_PATIENTS'`);
  return rows[0]?.COMMENT === undefined || rows[0]?.COMMENT === null ? undefined : String(rows[0].COMMENT);
}

/** What is live in one environment: the daily visit counts and the release that built DIM_PATIENTS. */
export interface DbtLive {
  readonly visits: Row[] | undefined;
  readonly dimRelease: string | undefined;
  /** The visit statuses the live STG_VISITS view gives. */
  readonly statuses: string[] | undefined;
}

/** The statuses an environment's live STG_VISITS view gives (undefined: no view). */
export async function liveStatuses(sql: SnowflakeSqlClient, env: EnvironmentName): Promise<string[] | undefined> {
  const db = rehearsalConfig().environments[env].snowflake.database;
  const rows = await sql.query(`SELECT DISTINCT "VISIT_STATUS" FROM "${db}"."ANALYTICS_STAGING"."STG_VISITS" ORDER BY 1`).catch(() => undefined);
  return rows?.map((r) => String(r.VISIT_STATUS));
}

type Release = 'first' | 'change' | 'failsInStaging' | 'badBake';

/** What the dbt scenario ran and what was live after each release. */
export type DbtScenario = Scenario<Release, DbtLive>;

/**
 * The dbt-models (examples/dbt-models) scenario: a first release, a one-file change (the daily visits
 * count cancelled visits too), and a release that changes dim_patients after a load landed a patient
 * twice in staging's landing table: the model's unique test passes on the CI seeds and in dev, and
 * fails in the staging build, so staging and prod keep the previous release. Then, with staging's
 * load corrected, a release that stops lower-casing the visit status passes everywhere until a load
 * during prod's bake brings 'Completed': its accepted_values test fails in the bake's probe, and the
 * prod stage is rolled back.
 */
export async function dbtScenario(platform: RehearsalPlatform, sql: Record<EnvironmentName, SnowflakeSqlClient>): Promise<DbtScenario> {
  const started = Date.now();
  const rehearsal = await platform.rehearsal('dbt-models');
  const sample = new SampleRepo('dbt-models');
  const snapshot = async (): Promise<Record<EnvironmentName, DbtLive>> => {
    const out = {} as Record<EnvironmentName, DbtLive>;
    for (const env of ENVIRONMENT_NAMES) out[env] = { visits: await liveVisitCounts(sql[env], env), dimRelease: await liveDimRelease(sql[env], env), statuses: await liveStatuses(sql[env], env) };
    return out;
  };
  const first = await rehearsal.run({ sourceDir: sample.dir });
  const afterFirst = await snapshot();
  sample.change('models/marts/fct_daily_visits.sql', (t) => t.replace("where v.visit_status = 'completed'", "where v.visit_status in ('completed', 'cancelled')"));
  const change = await rehearsal.run({ sourceDir: sample.dir });
  const afterChange = await snapshot();
  const staging = rehearsalConfig().environments.staging.snowflake.database;
  await sql.staging.query(`INSERT INTO "${staging}"."RAW"."RAW_PATIENTS" VALUES (503, 1990, 'STH', '2022-01-20'::date, current_timestamp())`);
  sample.change('models/marts/dim_patients.sql', (t) => `-- One row per patient, with their visit history.\n${t}`);
  const failsInStaging = await rehearsal.run({ sourceDir: sample.dir });
  const afterFailsInStaging = await snapshot();
  // the duplicate load in staging is corrected; then a release stops lower-casing the visit status,
  // which every environment's data passes until, during prod's bake, a load brings a status in
  // another case ('Completed'): the release's accepted_values test fails on prod's data
  await sql.staging.query(`DELETE FROM "${staging}"."RAW"."RAW_PATIENTS" WHERE patient_id = 503`);
  await sql.staging.query(`INSERT INTO "${staging}"."RAW"."RAW_PATIENTS" VALUES (503, 1990, 'STH', '2022-01-20'::date, current_timestamp())`);
  sample.change('models/staging/stg_visits.sql', (t) => t.replace('lower(status) as visit_status', 'status as visit_status'));
  const prod = rehearsalConfig().environments.prod.snowflake.database;
  const loadDuringBake: ExecutionOptions['whileRunning'] = (stage, action, type) =>
    stage === 'Prod' && action === 'Bake' && type === 'STANDARD'
      ? sql.prod.query(`INSERT INTO "${prod}"."RAW"."RAW_VISITS" VALUES (1004, 502, 'NRT', '2026-11-03 08:00:00'::timestamp, 3000, 'Completed', current_timestamp())`).then(() => undefined)
      : undefined;
  const badBake = await rehearsal.run({ sourceDir: sample.dir, whileRunning: loadDuringBake });
  const afterBadBake = await snapshot();
  return {
    sample,
    runs: { first, change, failsInStaging, badBake },
    live: { first: afterFirst, change: afterChange, failsInStaging: afterFailsInStaging, badBake: afterBadBake },
    durationMs: Date.now() - started,
  };
}

/**
 * What the bench counts of the dbt scenario: whether the first release reached prod with its models
 * live in every environment, and whether the release that failed in staging left staging and prod
 * with the previous release's tables (nothing swapped in, no row changed).
 */
export function dbtOutcome(s: DbtScenario): { toProd: boolean; failedReleaseHeld: boolean; badBakeRolledBack: boolean } {
  const version = s.runs.first.variables.Package?.RELEASE_VERSION;
  const toProd = s.runs.first.status === 'Succeeded' && ENVIRONMENT_NAMES.every((env) => (s.live.first[env].visits?.length ?? 0) > 0 && s.live.first[env].dimRelease === `dataops release ${version} of dbt-models`);
  const same = (a: DbtLive, b: DbtLive) => JSON.stringify(a) === JSON.stringify(b);
  const failedReleaseHeld = s.runs.failsInStaging.status === 'Failed' && same(s.live.failsInStaging.staging, s.live.change.staging) && same(s.live.failsInStaging.prod, s.live.change.prod);
  const badBakeRolledBack = s.runs.badBake.status === 'Failed' && s.runs.badBake.rollback?.status === 'Succeeded' && same({ ...s.live.badBake.prod, statuses: undefined }, { ...s.live.change.prod, statuses: undefined }) && !(s.live.badBake.prod.statuses ?? []).includes('Completed');
  return { toProd, failedReleaseHeld, badBakeRolledBack };
}
