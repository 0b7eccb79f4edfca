import { ECRClient } from '@aws-sdk/client-ecr';
import { MWAAClient } from '@aws-sdk/client-mwaa';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { AssetKind, EnvironmentName, PlatformConfig } from '../../config/schema';
import { MwaaCliClient } from '../mwaa/cli-client';
import { SnowflakeSqlClient, snowflakeEndpointUrl } from '../snowflake/sql-client';
import { TerraformCloudClient } from '../terraform-cloud/client';
import type { Deployer } from './contract';
import { buildSchemaOf, SnowflakeDbtEnvironment } from './dbt-build';
import { DbtSnowflakeDeployer } from './dbt-snowflake-deployer';
import type { DeployContext } from './contract';
import { dbtEnvOf, readSnowflakeSecret } from '../snowflake/dbt-env';
import { DeployError } from './errors';
import { MwaaDagDeployer } from './mwaa-dag-deployer';
import { SparkImageDeployer } from './spark-image-deployer';
import { TerraformCloudDeployer } from './terraform-cloud-deployer';

/** Temporary credentials of an assumed role. */
export interface AwsCredentialIdentity {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

/** Any deployer, whatever its state types. */
export type AnyDeployer = Deployer<unknown, unknown, unknown>;

/** What a factory gets to build a deployer for one repo and one environment. */
export interface DeployerRuntime {
  readonly config: PlatformConfig;
  readonly env: EnvironmentName;
  readonly repo: string;
  readonly region: string;
  /** Credentials of the environment's deploy role (target account). @default - the default chain */
  readonly targetCredentials?: AwsCredentialIdentity;
  /** Artifact bucket of the tooling account (dbt artifacts, kept Terraform tarballs). */
  readonly artifactBucket?: string;
  /** Terraform Cloud API token. */
  readonly terraformToken?: string;
}

/** Builds one kind's deployer. */
export type DeployerFactory = (rt: DeployerRuntime) => Promise<AnyDeployer>;

function target(rt: DeployerRuntime): { region: string; credentials?: AwsCredentialIdentity } {
  return { region: rt.region, ...(rt.targetCredentials ? { credentials: rt.targetCredentials } : {}) };
}

function need<T>(value: T | undefined, what: string, fix: string): T {
  if (value === undefined || value === '') throw new DeployError(`${what} is not set; ${fix}`);
  return value;
}

/**
 * The MWAA CLI client of an environment. With a custom MWAA endpoint (`AWS_ENDPOINT_URL_MWAA` or
 * `AWS_ENDPOINT_URL`: a VPC endpoint, or a local stand-in) the SDK's `env.` host prefix is turned
 * off, as it would name a host that does not exist, and the web server is called with the
 * endpoint's scheme.
 */
export function mwaaCliClient(rt: Pick<DeployerRuntime, 'region' | 'targetCredentials'>, environmentName: string, envVars: NodeJS.ProcessEnv = process.env): MwaaCliClient {
  const custom = envVars.AWS_ENDPOINT_URL_MWAA || envVars.AWS_ENDPOINT_URL;
  const scheme = custom?.startsWith('http://') ? 'http' : 'https';
  const mwaa = new MWAAClient({ ...target(rt as DeployerRuntime), ...(custom ? { endpoint: custom, disableHostPrefix: true } : {}) });
  return new MwaaCliClient({ mwaa, environmentName, scheme });
}

/** kind → deployer factory. Kinds without an entry (python, sql) ship in the release without a deployer. */
export const DEPLOYER_FACTORIES: Readonly<Partial<Record<AssetKind, DeployerFactory>>> = {
  airflow: async (rt) => {
    const environment = rt.config.environments[rt.env];
    const repo = rt.config.repos.find((r) => r.name === rt.repo);
    return new MwaaDagDeployer({
      s3: new S3Client(target(rt)),
      airflow: mwaaCliClient(rt, environment.mwaa.environmentName),
      sourceRoot: repo?.paths.airflow ?? 'dags',
    });
  },
  dbt: async (rt) => {
    const environment = rt.config.environments[rt.env];
    const secret = await readSnowflakeSecret(new SecretsManagerClient(target(rt)), environment.snowflake.deploySecretArn, 'deploy', undefined, `environments.${rt.env}.snowflake.deploySecretArn`);
    const sql = await SnowflakeSqlClient.connect({ ...environment.snowflake, secret, endpointUrl: snowflakeEndpointUrl()?.toString() });
    // published into the environment's own MWAA bucket with the deploy role (docs/decisions.md, "dbt artifacts")
    // dbt itself builds the changed models in the environment (docs/deployers.md, "dbt/Snowflake")
    const dbtEnvironment = (ctx: DeployContext, workDir: string) =>
      new SnowflakeDbtEnvironment({
        env: rt.env,
        snowflake: environment.snowflake,
        dbtEnv: dbtEnvOf(environment.snowflake, secret, workDir, 'snowflake-deploy.p8'),
        buildSchema: buildSchemaOf(environment.snowflake, ctx.release.version),
        workDir,
        log: ctx.log,
      });
    return new DbtSnowflakeDeployer({ sql, s3: new S3Client(target(rt)), artifactBucket: environment.mwaa.dagBucket, dbtEnvironment });
  },
  spark: async (rt) => new SparkImageDeployer({ ssm: new SSMClient(target(rt)), ecr: new ECRClient(target(rt)) }),
  terraform: async (rt) => {
    const repo = rt.config.repos.find((r) => r.name === rt.repo);
    return new TerraformCloudDeployer({
      tfc: new TerraformCloudClient({ token: need(rt.terraformToken, 'the Terraform Cloud token (TFC_TOKEN)', 'the Deploy action reads it from Secrets Manager into TFC_TOKEN') }),
      s3: new S3Client({ region: rt.region }),
      artifactBucket: need(rt.artifactBucket, 'the artifact bucket (ARTIFACT_BUCKET)', 'the Deploy action sets ARTIFACT_BUCKET; locally pass --artifact-bucket'),
      protectedResourceTypes: [...new Set([...rt.config.protectedResourceTypes, ...(repo?.protectedResourceTypes ?? [])])],
    });
  },
};

/** Builds the deployers for the kinds a release holds (only those with a factory). */
export async function createDeployers(kinds: readonly AssetKind[], rt: DeployerRuntime, factories = DEPLOYER_FACTORIES): Promise<Map<AssetKind, AnyDeployer>> {
  const out = new Map<AssetKind, AnyDeployer>();
  for (const kind of [...new Set(kinds)]) {
    const factory = factories[kind];
    if (factory) out.set(kind, await factory(rt));
  }
  return out;
}
