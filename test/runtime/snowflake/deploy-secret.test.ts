import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DeployError } from '../../../lib/runtime/deployers/errors';
import { readSnowflakeSecret } from '../../../lib/runtime/snowflake/dbt-env';
import { motoClientConfig, uniqueName } from '../../helpers/moto';

// The Snowflake deploy secret read against moto's Secrets Manager: a secret that is missing, not JSON
// or lacks fields is an error naming the secret (and the configuration key that names it), not the
// service's bare message.
describe('readSnowflakeSecret', () => {
  const client = new SecretsManagerClient(motoClientConfig());
  const put = async (value: string) => (await client.send(new CreateSecretCommand({ Name: uniqueName('snowflake-deploy'), SecretString: value }))).ARN!;
  const KEY = 'environments.dev.snowflake.deploySecretArn';
  afterAll(() => client.destroy());

  it('reads a key-pair secret', async () => {
    const arn = await put(JSON.stringify({ user: 'DATAOPS_DEPLOY', privateKey: '-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----' }));
    await expect(readSnowflakeSecret(client, arn, 'deploy', undefined, KEY)).resolves.toMatchObject({ user: 'DATAOPS_DEPLOY' });
  });

  it('names the secret, the service error and the configuration key when the secret cannot be read', async () => {
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:dataops/snowflake-deploy-dev-Zz99Zz';
    const err = await readSnowflakeSecret(client, arn, 'deploy', undefined, KEY).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeployError);
    expect((err as Error).message).toMatch(new RegExp(`^cannot read the Snowflake deploy secret ${arn}: ResourceNotFoundException: .+; create it in the environment's account, or correct ${KEY.replace(/\./g, '\\.')}$`));
  });

  it('names the secret when it is not JSON or lacks the user', async () => {
    const notJson = await put('user=x');
    await expect(readSnowflakeSecret(client, notJson)).rejects.toThrow(`secret ${notJson} is not JSON; store {"user","privateKey"} for the Snowflake deploy user`);
    const noUser = await put(JSON.stringify({ password: 'p' }));
    await expect(readSnowflakeSecret(client, noUser)).rejects.toThrow(new RegExp(`secret ${noUser.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} lacks user`));
  });
});
