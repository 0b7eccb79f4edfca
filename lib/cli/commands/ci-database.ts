import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Command } from 'commander';
import { ENVIRONMENT_NAMES, type EnvironmentName, type PlatformConfig } from '../../config/schema';
import type { SnowflakeTarget } from '../../runtime/snowflake/dbt-env';
import type { SnowflakeSecret, SnowflakeSqlClient } from '../../runtime/snowflake/sql-client';
import { addConfigOption, UsageError } from '../options';

/** File names the create command writes into its output folder. */
export const CI_DATABASE_FILES = { env: 'ci-database.env', key: 'snowflake-ci.p8' } as const;

interface CommonOptions {
  config?: string;
  env?: string;
  region?: string;
}

interface Session {
  readonly env: EnvironmentName;
  readonly target: SnowflakeTarget;
  readonly secret: SnowflakeSecret;
  readonly sql: SnowflakeSqlClient;
}

/** The CI settings, environment, secret and a connection to the environment's database as the CI user. */
async function open(opts: CommonOptions): Promise<Session> {
  const { loadPlatformConfig } = require('../../config/loader') as typeof import('../../config/loader');
  const { CI_SNOWFLAKE_SECRET_ENV, CiDatabaseError } = require('../../runtime/snowflake/ci-database') as typeof import('../../runtime/snowflake/ci-database');
  const config: PlatformConfig = loadPlatformConfig(opts.config);
  const ci = config.ci.snowflake;
  if (!ci) {
    throw new CiDatabaseError(
      'ci.snowflake is not set in the platform configuration, so validation builds have no Snowflake CI user; add ci.snowflake: { environment: dev, secretArn: <tooling-account secret of the CI user> } (docs/validation.md, "CI target")',
    );
  }
  const env = opts.env ?? ci.environment;
  if (!(ENVIRONMENT_NAMES as readonly string[]).includes(env)) throw new UsageError(`--env '${env}' is not an environment, expected one of ${ENVIRONMENT_NAMES.join(', ')}`);
  const sf = config.environments[env as EnvironmentName].snowflake;
  const target: SnowflakeTarget = { account: sf.account, database: sf.database, role: ci.role ?? sf.role, warehouse: sf.warehouse };
  const region = opts.region ?? process.env.AWS_REGION ?? config.region;
  // the project passes the secret it grants access to; a local run reads the configuration's
  const fromEnv = process.env[CI_SNOWFLAKE_SECRET_ENV] || undefined;
  const origin = fromEnv ? CI_SNOWFLAKE_SECRET_ENV : 'ci.snowflake.secretArn';
  const { SecretsManagerClient } = require('@aws-sdk/client-secrets-manager') as typeof import('@aws-sdk/client-secrets-manager');
  const { readSnowflakeSecret } = require('../../runtime/snowflake/dbt-env') as typeof import('../../runtime/snowflake/dbt-env');
  const { SnowflakeSqlClient } = require('../../runtime/snowflake/sql-client') as typeof import('../../runtime/snowflake/sql-client');
  const secret = await readSnowflakeSecret(new SecretsManagerClient({ region }), fromEnv ?? ci.secretArn, 'CI', (m, o) => new CiDatabaseError(`${origin}: ${m}`, o));
  const sql = await SnowflakeSqlClient.connect({ ...target, secret });
  return { env: env as EnvironmentName, target, secret, sql };
}

const log = (line: string) => process.stderr.write(`${line}\n`);

function hours(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--older-than '${value}' is not a positive number of hours; pass how old a CI clone must be to count as left behind, e.g. 6`);
  return n;
}

function common(cmd: Command): Command {
  return addConfigOption(cmd.option('--env <env>', `environment whose database is cloned (${ENVIRONMENT_NAMES.join(', ')}; default: ci.snowflake.environment)`))
    .option('--region <region>', "region of the CI user's secret (default: $AWS_REGION, else the configuration's)");
}

/**
 * `dataops ci-database create|drop`: the zero-copy clone of an environment's Snowflake database that
 * the dbt CI target of a validation build runs in (docs/validation.md, "CI target").
 */
export function registerCiDatabase(program: Command): void {
  const group = program.command('ci-database').description("create or drop the per-build zero-copy clone of an environment's Snowflake database that dbt's CI target builds in");

  common(group.command('create'))
    .description('clone the database as <DB>_CI_<build id> and write the variables of the dbt CI target as a sourceable file; prints its path')
    .requiredOption('--name <build id>', 'the build the clone belongs to, e.g. $CODEBUILD_BUILD_ID')
    .option('--out-dir <dir>', `folder for ${CI_DATABASE_FILES.env} and the CI user's key (${CI_DATABASE_FILES.key}, mode 0600)`, path.join(os.tmpdir(), 'dataops-ci-database'))
    .action(async (opts: CommonOptions & { name: string; outDir: string }) => {
      const s = await open(opts);
      const { createCiDatabase, writeEnvFile } = require('../../runtime/snowflake/ci-database') as typeof import('../../runtime/snowflake/ci-database');
      const { dbtEnvOf } = require('../../runtime/snowflake/dbt-env') as typeof import('../../runtime/snowflake/dbt-env');
      try {
        const clone = await createCiDatabase(s.sql, s.target.database, opts.name);
        const dir = path.resolve(opts.outDir);
        fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
        const env = { ...dbtEnvOf({ ...s.target, database: clone }, s.secret, dir, CI_DATABASE_FILES.key), DBT_CI_DATABASE: clone };
        const file = writeEnvFile(path.join(dir, CI_DATABASE_FILES.env), env);
        log(`created ${clone}, a zero-copy clone of ${s.target.database.toUpperCase()} (${s.env}), as ${s.secret.user} with role ${s.target.role}`);
        process.stdout.write(`${file}\n`);
      } finally {
        await s.sql.close();
      }
    });

  common(group.command('drop'))
    .description("drop the build's clone (nothing to drop is no error) and/or, with --older-than, every CI clone older than that")
    .option('--name <build id>', 'the build whose clone is dropped')
    .option('--older-than <hours>', 'janitor: also drop every CI clone of the database created more than this many hours ago')
    .action(async (opts: CommonOptions & { name?: string; olderThan?: string }) => {
      if (opts.name === undefined && opts.olderThan === undefined) throw new UsageError('nothing to drop; pass --name <build id>, --older-than <hours>, or both');
      const olderThan = opts.olderThan === undefined ? undefined : hours(opts.olderThan);
      const s = await open(opts);
      const { dropCiDatabase, dropStaleCiDatabases } = require('../../runtime/snowflake/ci-database') as typeof import('../../runtime/snowflake/ci-database');
      try {
        if (opts.name !== undefined) log(`dropped ${await dropCiDatabase(s.sql, s.target.database, opts.name)} (if it existed)`);
        if (olderThan !== undefined) {
          const { dropped, kept } = await dropStaleCiDatabases(s.sql, s.target.database, olderThan);
          for (const c of dropped) log(`dropped ${c.name}, created ${c.created}`);
          log(`janitor: dropped ${dropped.length} CI clone(s) of ${s.target.database.toUpperCase()} older than ${olderThan} h, kept ${kept.length} younger one(s)`);
        }
      } finally {
        await s.sql.close();
      }
    });
}
