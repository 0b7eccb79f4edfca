import * as fs from 'fs';
import * as path from 'path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { EnvironmentConfig } from '../../config/schema';
import { DeployError } from '../deployers/errors';
import type { AwsCredentialIdentity } from '../deployers/registry';
import { SnowflakeSecretSchema, type SnowflakeSecret } from './sql-client';

/** Where a dbt Snowflake output connects: account, database, role and warehouse. */
export interface SnowflakeTarget {
  readonly account: string;
  readonly database: string;
  readonly role: string;
  readonly warehouse: string;
}

/** Makes the error a caller raises for a secret that is not a Snowflake key pair. */
export type SecretErrorFactory = (message: string, options?: { cause?: unknown }) => Error;

const deployError: SecretErrorFactory = (message, options) => new DeployError(message, options);

/**
 * Reads a Snowflake user's credentials ({"user","privateKey"} or {"user","password"}) from a
 * Secrets Manager secret; a secret that cannot be read, is not JSON or lacks fields is an error naming
 * the secret (and `configKey`, the configuration key that names it, when given).
 */
export async function readSnowflakeSecret(client: SecretsManagerClient, secretArn: string, what = 'deploy', makeError: SecretErrorFactory = deployError, configKey?: string): Promise<SnowflakeSecret> {
  const out = await client.send(new GetSecretValueCommand({ SecretId: secretArn })).catch((cause: Error) => {
    const fix = configKey ? `; create it in the environment's account, or correct ${configKey}` : '';
    throw makeError(`cannot read the Snowflake ${what} secret ${secretArn}: ${cause.name}: ${cause.message}${fix}`, { cause });
  });
  let json: unknown;
  try {
    json = JSON.parse(out.SecretString ?? '');
  } catch (cause) {
    throw makeError(`secret ${secretArn} is not JSON; store {"user","privateKey"} for the Snowflake ${what} user`, { cause });
  }
  const secret = SnowflakeSecretSchema.safeParse(json);
  if (!secret.success) throw makeError(`secret ${secretArn} lacks ${secret.error.issues.map((i) => i.path.join('.')).join(', ')}; store {"user","privateKey"} for the Snowflake ${what} user`);
  return secret.data;
}

/**
 * The environment variables a dbt Snowflake output reads with `env_var(...)`: SNOWFLAKE_ACCOUNT,
 * SNOWFLAKE_DATABASE, SNOWFLAKE_ROLE, SNOWFLAKE_WAREHOUSE and SNOWFLAKE_USER, and either
 * SNOWFLAKE_PRIVATE_KEY_PATH (the key written as a 0600 file `keyFile` under `dir`, plus
 * SNOWFLAKE_PRIVATE_KEY_PASSPHRASE when set) or SNOWFLAKE_PASSWORD.
 */
export function dbtEnvOf(target: SnowflakeTarget, secret: SnowflakeSecret, dir: string, keyFile: string): Record<string, string> {
  const env: Record<string, string> = { SNOWFLAKE_ACCOUNT: target.account, SNOWFLAKE_DATABASE: target.database, SNOWFLAKE_ROLE: target.role, SNOWFLAKE_WAREHOUSE: target.warehouse, SNOWFLAKE_USER: secret.user };
  if (secret.privateKey) {
    const key = path.join(dir, keyFile);
    fs.writeFileSync(key, secret.privateKey, { mode: 0o600 });
    env.SNOWFLAKE_PRIVATE_KEY_PATH = key;
    if (secret.privateKeyPassphrase) env.SNOWFLAKE_PRIVATE_KEY_PASSPHRASE = secret.privateKeyPassphrase;
  } else if (secret.password) {
    env.SNOWFLAKE_PASSWORD = secret.password;
  }
  return env;
}

/**
 * Environment of the gate step's dbt processes for a Snowflake output: SNOWFLAKE_ACCOUNT,
 * SNOWFLAKE_DATABASE, SNOWFLAKE_ROLE and SNOWFLAKE_WAREHOUSE from the environment's configuration,
 * SNOWFLAKE_USER and SNOWFLAKE_PRIVATE_KEY_PATH (a 0600 file under `dir`) or SNOWFLAKE_PASSWORD from
 * the environment's deploy secret, read with the deploy role's credentials. A profile output for the
 * environment reads them with `env_var(...)`.
 */
export async function snowflakeDbtEnv(environment: EnvironmentConfig, region: string, credentials: AwsCredentialIdentity | undefined, dir: string): Promise<Record<string, string>> {
  const sf = environment.snowflake;
  const client = new SecretsManagerClient({ region, ...(credentials ? { credentials } : {}) });
  const secret = await readSnowflakeSecret(client, sf.deploySecretArn);
  return dbtEnvOf(sf, secret, dir, 'snowflake-deploy.p8');
}
