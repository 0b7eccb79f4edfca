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

/**
 * The variable that names the Terraform Cloud (or Terraform Enterprise) API address, as go-tfe and the
 * Terraform CLI's `tfe` integrations read it: a Terraform Enterprise host, or a local stand-in.
 */
export const TFE_ADDRESS_ENV = 'TFE_ADDRESS';

/** The address of HCP Terraform (Terraform Cloud), used when {@link TFE_ADDRESS_ENV} is unset. */
export const DEFAULT_TFE_ADDRESS = 'https://app.terraform.io';

/**
 * The Terraform Cloud API address of this process: `TFE_ADDRESS` when set (scheme, host, optional port
 * and base path; the client appends /api/v2), else {@link DEFAULT_TFE_ADDRESS}. An address that is not
 * an http(s) URL, or that carries credentials, a query or a fragment, fails naming the variable.
 */
export function terraformCloudAddress(envVars: Readonly<Record<string, string | undefined>> = process.env): string {
  const raw = envVars[TFE_ADDRESS_ENV]?.trim();
  if (!raw) return DEFAULT_TFE_ADDRESS;
  const fix = `set it to the Terraform Cloud or Enterprise address, e.g. ${DEFAULT_TFE_ADDRESS} or https://tfe.example.com, or unset it for ${DEFAULT_TFE_ADDRESS}`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch (cause) {
    throw new DeployError(`${TFE_ADDRESS_ENV} '${raw}' is not a URL; ${fix}`, { cause });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new DeployError(`${TFE_ADDRESS_ENV} '${raw}' is not an http(s) URL (got scheme ${url.protocol.replace(/:$/, '')}); ${fix}`);
  if (url.username || url.password || url.search || url.hash) throw new DeployError(`${TFE_ADDRESS_ENV} '${raw}' has credentials, a query or a fragment, which an API address does not take (the token comes from TFC_TOKEN); ${fix}`);
  return url.toString().replace(/\/+$/, '');
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
      tfc: new TerraformCloudClient({
        token: need(rt.terraformToken, 'the Terraform Cloud token (TFC_TOKEN)', 'the Deploy action reads it from Secrets Manager into TFC_TOKEN'),
        baseUrl: terraformCloudAddress(),
      }),
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
