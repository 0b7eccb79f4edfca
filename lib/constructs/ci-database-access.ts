import type * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { PlatformConfig, RepoConfig } from '../config/schema';
import { CI_SNOWFLAKE_SECRET_ENV } from '../runtime/snowflake/ci-database';

/** The CI user's settings when a repo validates dbt in a Snowflake clone; undefined otherwise. */
export function ciSnowflakeOf(config: PlatformConfig, repo: RepoConfig): NonNullable<PlatformConfig['ci']['snowflake']> | undefined {
  return repo.kinds.includes('dbt') ? config.ci.snowflake : undefined;
}

/**
 * Build variables of a dbt repo's PR-validation and Validate projects for `dataops ci-database`
 * (buildspecs/pr-validate.yml, validate.yml): the ARN of the CI user's secret. Empty for repos
 * without dbt and when `ci.snowflake` is not configured.
 */
export function ciDatabaseEnvironment(config: PlatformConfig, repo: RepoConfig): Record<string, codebuild.BuildEnvironmentVariable> {
  const ci = ciSnowflakeOf(config, repo);
  return ci ? { [CI_SNOWFLAKE_SECRET_ENV]: { value: ci.secretArn } } : {};
}

/**
 * Lets a dbt repo's PR-validation or Validate build read the CI user's secret: exactly that secret,
 * and `kms:Decrypt` through Secrets Manager on its customer-managed key when one is configured.
 * Nothing for repos without dbt or when `ci.snowflake` is not configured.
 */
export function grantCiDatabaseSecret(grantee: iam.IGrantable, config: PlatformConfig, repo: RepoConfig): void {
  const ci = ciSnowflakeOf(config, repo);
  if (!ci) return;
  const principal = grantee.grantPrincipal;
  principal.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'ReadSnowflakeCiSecret', actions: ['secretsmanager:GetSecretValue'], resources: [ci.secretArn] }));
  if (ci.kmsKeyArn) {
    principal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'DecryptSnowflakeCiSecret',
        actions: ['kms:Decrypt'],
        resources: [ci.kmsKeyArn],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${config.region}.amazonaws.com` } },
      }),
    );
  }
}
