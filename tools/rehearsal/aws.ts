import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { RehearsalError } from './errors';

/** AWS credentials, as a build or a function receives them. */
export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** Where the rehearsal's AWS calls go: a local AWS stand-in (moto in server mode) and its region. */
export interface AwsTarget {
  readonly endpoint: string;
  readonly region: string;
  /** Credentials the rehearsal itself uses to provision the platform and assume roles. */
  readonly credentials: Credentials;
}

/** Client settings for an SDK client of `target` with `credentials`. */
export function clientConfig(target: AwsTarget, credentials: Credentials = target.credentials) {
  return { endpoint: target.endpoint, region: target.region, credentials, forcePathStyle: true as const, maxAttempts: 2 };
}

/** The environment variables that point an AWS SDK or CLI at `target` with `credentials`. */
export function awsEnvironment(target: AwsTarget, credentials: Credentials): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: target.endpoint,
    AWS_REGION: target.region,
    AWS_DEFAULT_REGION: target.region,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    ...(credentials.sessionToken ? { AWS_SESSION_TOKEN: credentials.sessionToken } : {}),
  };
}

/**
 * Credentials of a synthesized role, as the service that runs it (CodeBuild, Lambda) receives them:
 * an STS AssumeRole of the role's ARN, so every call is made as that role (and, with IAM enforcement
 * on, allowed only by that role's policies).
 */
export async function assumeRole(target: AwsTarget, roleArn: string, sessionName: string): Promise<Credentials> {
  const sts = new STSClient(clientConfig(target));
  let out;
  try {
    out = await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: sessionName.replace(/[^\w+=,.@-]/g, '-').slice(0, 64), DurationSeconds: 3600 }));
  } catch (e) {
    throw new RehearsalError(`the rehearsal could not assume ${roleArn} at ${target.endpoint} (${(e as Error).message}); check that the AWS stand-in is running and the role is provisioned`, { cause: e });
  } finally {
    sts.destroy();
  }
  const c = out.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey) throw new RehearsalError(`AssumeRole of ${roleArn} returned no credentials`);
  return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken };
}

/** Credentials of an account itself (its administrator), for provisioning what the templates define there. */
export function accountAdmin(target: AwsTarget, account: string): Promise<Credentials> {
  return assumeRole(target, `arn:aws:iam::${account}:role/dataops-rehearsal-admin`, `rehearsal-admin-${account}`);
}

/**
 * Stores `value` as the secret a configuration names by its full ARN, in that ARN's account. Secrets
 * Manager (and moto) picks a secret's six-character ARN suffix itself, so the secret is created under
 * the ARN's whole last part as its name (`dataops/snowflake-deploy-dev-Ab12Cd`): a GetSecretValue of
 * the configured ARN, which moto reads as a partial ARN, then finds it, and IAM is checked against
 * exactly that ARN. An existing secret gets the new value.
 */
export async function seedSecretAt(target: AwsTarget, secretArn: string, value: string): Promise<void> {
  const m = /^arn:aws[\w-]*:secretsmanager:([\w-]+):(\d{12}):secret:(.+)$/.exec(secretArn);
  if (!m) throw new RehearsalError(`${secretArn} is not a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)`);
  const { SecretsManagerClient, CreateSecretCommand, PutSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  const client = new SecretsManagerClient({ ...clientConfig(target, await accountAdmin(target, m[2])), region: m[1] });
  try {
    await client.send(new CreateSecretCommand({ Name: m[3], SecretString: value })).catch(async (e: Error) => {
      if (!/ResourceExists/.test(e.name)) throw e;
      await client.send(new PutSecretValueCommand({ SecretId: m[3], SecretString: value }));
    });
  } finally {
    client.destroy();
  }
}
