import { stringify } from 'yaml';
import { configErrorOf, defaultConfigData, makeTestConfig } from '../helpers/config';

const SECRET = 'arn:aws:secretsmanager:us-east-1:111111111111:secret:dataops/snowflake-ci-Qr12St';

/** The default configuration as YAML text with `ci.snowflake` set to `value`. */
function withCiSnowflake(value: unknown): string {
  const raw = defaultConfigData();
  raw.ci = { ...(raw.ci ?? {}), snowflake: value };
  return stringify(raw);
}

describe('ci.snowflake', () => {
  it('is optional', () => {
    // GIVEN a configuration without it WHEN it is loaded THEN there is no CI user
    const config = makeTestConfig({ mutate: (raw) => delete raw.ci?.snowflake });
    expect(config.ci.snowflake).toBeUndefined();
  });

  it('defaults the cloned environment to dev and the role to the environment’s', () => {
    // GIVEN only the secret WHEN loaded THEN dev is cloned and no role override is set
    const config = makeTestConfig({ mutate: (raw) => (raw.ci = { ...(raw.ci ?? {}), snowflake: { secretArn: SECRET } }) });
    expect(config.ci.snowflake).toEqual({ environment: 'dev', secretArn: SECRET });
  });

  it.each([
    ['a secret that is not a Secrets Manager ARN', { secretArn: 'dataops/snowflake-ci' }, /ci\.snowflake\.secretArn \(line \d+\): 'dataops\/snowflake-ci' is not a secretsmanager ARN/],
    ['an unknown environment', { secretArn: SECRET, environment: 'qa' }, /ci\.snowflake\.environment \(line \d+\): 'qa' is not allowed, expected one of dev, staging, prod/],
    ['a key that is not a KMS ARN', { secretArn: SECRET, kmsKeyArn: 'alias/ci' }, /ci\.snowflake\.kmsKeyArn \(line \d+\): 'alias\/ci' is not a kms ARN/],
    ['a role that is not a Snowflake identifier', { secretArn: SECRET, role: 'CI ROLE' }, /ci\.snowflake\.role \(line \d+\): must be a Snowflake identifier/],
    ['an unknown key', { secretArn: SECRET, database: 'X' }, /ci\.snowflake\.database \(line \d+\): unknown key 'database'/],
  ])('fails for %s, naming the key', (_what, value, expected) => {
    expect(configErrorOf(withCiSnowflake(value))).toMatch(expected);
  });
});
