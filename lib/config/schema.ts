import { z } from 'zod';

/** The kinds of deployable asset a repo may hold. */
export const ASSET_KINDS = ['airflow', 'dbt', 'spark', 'terraform', 'python', 'sql'] as const;
export type AssetKind = (typeof ASSET_KINDS)[number];

/** The environments every release walks through, in order. */
export const ENVIRONMENT_NAMES = ['dev', 'staging', 'prod'] as const;
export type EnvironmentName = (typeof ENVIRONMENT_NAMES)[number];

/** Airflow versions whose MWAA constraints this project vendors (shared/data/mwaa). */
export const AIRFLOW_VERSIONS = ['2.10.3', '2.11.2', '3.0.6'] as const;

/** CodeBuild compute types the platform may use. */
export const COMPUTE_TYPES = ['BUILD_GENERAL1_SMALL', 'BUILD_GENERAL1_MEDIUM', 'BUILD_GENERAL1_LARGE'] as const;

const accountId = z
  .string({ error: 'expected a 12-digit AWS account id in quotes, e.g. "123456789012"' })
  .regex(/^\d{12}$/, { error: (i) => `account id '${String(i.input)}' is not 12 digits; write the AWS account id as a quoted 12-digit string` });

const region = z
  .string()
  .regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, { error: (i) => `'${String(i.input)}' is not an AWS region; use a region code such as us-east-1` });

const arn = (service: string, example: string) =>
  z.string().regex(new RegExp(`^arn:aws[a-z-]*:${service}:[a-z0-9-]*:(\\d{12})?:.+$`), {
    error: (i) => `'${String(i.input)}' is not a ${service} ARN; expected something like ${example}`,
  });

const name = (what: string) =>
  z.string().regex(/^[a-z][a-z0-9-]{1,62}$/, {
    error: (i) => `${what} '${String(i.input)}' must be 2-63 lowercase letters, digits or hyphens, starting with a letter`,
  });

const bucketName = z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, {
  error: (i) => `'${String(i.input)}' is not a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)`,
});

const ssmPath = z.string().regex(/^(\/[A-Za-z0-9_.-]+)+$/, {
  error: (i) => `'${String(i.input)}' is not an SSM parameter path; start with / and use letters, digits, _ . -, e.g. /dataops/prod`,
});

const assetKind = z.enum(ASSET_KINDS, {
  error: (i) => `unknown asset kind '${String(i.input)}', expected one of ${ASSET_KINDS.join(', ')}; fix the spelling`,
});

const relativePath = z.string().min(1).refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), {
  error: 'must be a path relative to the repo root, without .. segments',
});

/** Data-quality gate thresholds checked by the Verify action of staging and prod. */
export const QualityGatesSchema = z.strictObject({
  /** Largest allowed row-count change of a model between deployments, in percent. @default 25 */
  maxRowCountChangePct: z.number().positive().default(25),
  /**
   * Tables with fewer rows than this both before and after a deploy are not held to
   * maxRowCountChangePct: a few rows more or less in a small table is no signal (1 → 2 rows is +100 %).
   * A table that had rows and has none after the deploy is always a finding. @default 100
   */
  rowCountChangeMinRows: z.number().int().nonnegative().default(100),
  /** Largest allowed source staleness, in hours. @default 24 */
  maxSourceStalenessHours: z.number().positive().default(24),
  /** Whether dbt test warnings fail the gate. @default false */
  failOnTestWarnings: z.boolean().default(false),
});

/** One deployment environment (a separate AWS account). */
export const EnvironmentSchema = z.strictObject({
  /** The environment's AWS account id. */
  account: accountId,
  /** The environment's Amazon MWAA environment, where the repos' DAGs run. */
  mwaa: z.strictObject({
    /** MWAA environment name. */
    environmentName: name('MWAA environment name'),
    /** S3 bucket that holds the environment's DAGs. */
    dagBucket: bucketName,
    /** Airflow version the environment runs. @default 2.10.3 */
    airflowVersion: z.enum(AIRFLOW_VERSIONS).default('2.10.3'),
  }),
  /** Prefix of the environment's ECR repositories, e.g. northstar/prod. */
  ecrRepositoryPrefix: z.string().regex(/^[a-z0-9]+([._/-][a-z0-9]+)*$/, {
    error: (i) => `'${String(i.input)}' is not a valid ECR repository prefix (lowercase, digits, . _ - /)`,
  }),
  /** SSM parameter path under which the platform keeps this environment's pointers. */
  ssmParameterPath: ssmPath,
  /** The environment's Snowflake account and the objects the dbt deployer and the Verify gates use. */
  snowflake: z.strictObject({
    /** Snowflake account identifier (orgname-account). */
    account: z.string().regex(/^[A-Za-z0-9_.-]+$/, { error: 'must be a Snowflake account identifier such as myorg-myaccount' }),
    /** Database the environment's dbt models are built in. */
    database: z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, { error: 'must be a Snowflake identifier' }),
    /** Role the deploy user builds and swaps the models with. */
    role: z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, { error: 'must be a Snowflake identifier' }),
    /** Warehouse of the dbt deploy and the Verify gates. */
    warehouse: z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, { error: 'must be a Snowflake identifier' }),
    /**
     * Target schema of the dbt profile the Verify gates write when DBT_PROFILES_DIR is not set; set it
     * to the schema of the output the releases' manifests are compiled with (their models' schemas
     * derive from it), so the gates test the tables the dbt deployer rebuilt. @default PUBLIC
     */
    schema: z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, { error: 'must be a Snowflake identifier' }).optional(),
    /** Secrets Manager ARN of the deploy user's key pair. */
    deploySecretArn: arn('secretsmanager', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:dataops/snowflake-AbCdEf'),
  }),
  /** The Terraform Cloud organization and workspaces that the environment's Terraform runs in. */
  terraformCloud: z.strictObject({
    /** Terraform Cloud organization of the workspaces. */
    organization: z.string().min(1),
    /**
     * Name of each Terraform repo's own workspace in this environment: a pattern in which `{repo}`
     * stands for the repo's name and `{env}` for the environment's (terraformWorkspaceName). It must
     * contain `{repo}`: one workspace shared by several repos would let each apply destroy the
     * others' resources. @default {repo}-{env}
     */
    workspace: z
      .string()
      .regex(/^([A-Za-z0-9_-]|\{repo\}|\{env\})+$/, {
        error: (i) => `'${String(i.input)}' is not a Terraform Cloud workspace name pattern; use letters, digits, _ - and the placeholders {repo} and {env}, e.g. '{repo}-{env}'`,
      })
      .refine((p) => p.includes('{repo}'), {
        error: (i) =>
          `'${String(i.input)}' names one workspace for every Terraform repo of the environment; each repo needs its own, so write a pattern with {repo}, e.g. '{repo}-{env}' (the default when the key is left out)`,
      })
      .default('{repo}-{env}'),
    /**
     * Secrets Manager ARN, in the tooling account, of the Terraform Cloud API token the Deploy and
     * Verify actions of repos with Terraform get as TFC_TOKEN. Required when a repo has Terraform.
     */
    tokenSecretArn: arn('secretsmanager', 'arn:aws:secretsmanager:us-east-1:111111111111:secret:dataops/tfc-dev-AbCdEf').optional(),
  }),
  /** Data-quality thresholds the Verify gates hold staging and prod to. @default - every field's default */
  qualityGates: QualityGatesSchema.prefault({}),
});

/** One data repository with its own pipeline. */
export const RepoSchema = z.strictObject({
  /** Short name, used in stack names and resource names. */
  name: name('repo name'),
  /** Full repository id in the source provider, e.g. northstar-health/dbt-core-models. */
  repository: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, {
    error: (i) => `'${String(i.input)}' is not an owner/name repository id`,
  }),
  /** Branch the pipeline releases from. @default main */
  branch: z.string().min(1).default('main'),
  /** The asset kinds the repo holds; one Validate action and one deployer per kind. */
  kinds: z.array(assetKind),
  /** Where each kind's assets live, relative to the repo root. */
  paths: z.partialRecord(assetKind, relativePath).default({}),
  /** Number of deployable assets the repo is expected to hold; capacity and cost figures use it. */
  expectedAssets: z.int().positive(),
  /** Airflow version override for this repo's DAG checks. @default the environment's */
  airflowVersion: z.enum(AIRFLOW_VERSIONS).optional(),
  /** Terraform resource types that a plan may not destroy or replace unless the release allows it. */
  protectedResourceTypes: z.array(z.string().regex(/^[a-z0-9]+_[a-z0-9_]+$/)).optional(),
});

/**
 * Volumes and measured durations that `dataops cost` turns into a monthly figure. Every field is
 * optional; the defaults describe Northstar Health (docs/cost.md explains each one). Replace the
 * durations with the p50 figures the dashboard shows once the platform runs.
 */
export const UsageSchema = z.strictObject({
  /** Pull requests opened per active day, across all repos. @default 40 */
  prsPerDay: z.number().nonnegative().default(40),
  /** PR-validation builds per pull request (opened, then updated). @default 2 */
  prBuildsPerPr: z.number().nonnegative().default(2),
  /** Merges to main per active day that start a pipeline execution (they reach dev). @default 16 */
  pipelineExecutionsPerDay: z.number().nonnegative().default(16),
  /** Releases that reach prod per active day (8–12 at Northstar; the upper end is used). @default 12 */
  prodDeploysPerDay: z.number().nonnegative().default(12),
  /** Days a month with engineering activity. @default 22 */
  activeDaysPerMonth: z.number().positive().max(31).default(22),
  /** Share of prod deployments that are rolled back (the failed-deployment target). @default 0.02 */
  rollbackRate: z.number().min(0).max(1).default(0.02),
  /** Measured p50 minutes of one asset kind's checks in a build (PR build or Validate action). */
  checkMinutes: z
    .strictObject({
      /** Airflow: the DAG import test. @default 3 */
      airflow: z.number().positive().default(3),
      /** dbt: build and test of the affected models. @default 5 */
      dbt: z.number().positive().default(5),
      /** Spark: the jobs' tests. @default 4 */
      spark: z.number().positive().default(4),
      /** Terraform: the configuration and plan checks. @default 3 */
      terraform: z.number().positive().default(3),
      /** Python: ruff and pytest. @default 2 */
      python: z.number().positive().default(2),
      /** SQL: sqlfluff. @default 2 */
      sql: z.number().positive().default(2),
    })
    .prefault({}),
  /** Minutes a CodeBuild build spends provisioning and pulling the toolchain image. @default 1 */
  buildOverheadMinutes: z.number().nonnegative().default(1),
  /** Measured p50 minutes of the Package build. @default 3 */
  packageMinutes: z.number().positive().default(3),
  /** Measured p50 minutes of one Deploy build. @default 3 */
  deployMinutes: z.number().positive().default(3),
  /** Measured p50 minutes of one Verify build (data-quality gates included). @default 3 */
  verifyMinutes: z.number().positive().default(3),
  /** Snowflake edition (sets the credit price). @default business-critical (needed for HIPAA) */
  snowflakeEdition: z.enum(['standard', 'enterprise', 'business-critical']).default('business-critical'),
  /** Size of the warehouse that dbt PR checks and deploy/verify steps use. @default XSMALL */
  snowflakeWarehouseSize: z.enum(['XSMALL', 'SMALL', 'MEDIUM', 'LARGE']).default('XSMALL'),
  /** Warehouse minutes of one dbt PR check (state:modified+ with --defer). @default 4 */
  dbtCiWarehouseMinutes: z.number().nonnegative().default(4),
  /** Warehouse minutes of one dbt deploy plus verify in one environment. @default 5 */
  dbtDeployWarehouseMinutes: z.number().nonnegative().default(5),
  /** MB written to the artifact bucket per pipeline execution (source, release, tarballs). @default 150 */
  artifactMbPerExecution: z.number().nonnegative().default(150),
  /** Days pipeline artifacts are kept. @default 365 */
  artifactRetentionDays: z.number().positive().default(365),
  /** MB of CloudWatch Logs written per CodeBuild build minute. @default 0.5 */
  buildLogMbPerMinute: z.number().nonnegative().default(0.5),
  /** Days CloudWatch Logs are kept (log groups' retention). @default 365 */
  logRetentionDays: z.number().positive().default(365),
});

/** One approver entry: a display name, an IAM group of the tooling account, or an Identity Center permission set. */
export const ApproverSchema = z.union(
  [
    z.string().min(1),
    z.strictObject({
      /** IAM group of the tooling account that gets the environment's approval policy attached. */
      iamGroup: z.string().regex(/^[A-Za-z0-9+=,.@_-]{1,128}$/, { error: (i) => `'${String(i.input)}' is not an IAM group name (1-128 letters, digits, +=,.@_-)` }),
    }),
    z.strictObject({
      /** IAM Identity Center permission set that references the environment's approval policy by name. */
      identityCenterPermissionSet: z.string().regex(/^[A-Za-z0-9+=,.@_-]{1,32}$/, {
        error: (i) => `'${String(i.input)}' is not a permission set name (1-32 letters, digits, +=,.@_-)`,
      }),
    }),
  ],
  { error: 'expected a name, { iamGroup: NAME } or { identityCenterPermissionSet: NAME }' },
);
export type Approver = z.output<typeof ApproverSchema>;

/** How an approver entry reads in an approval request. */
export function approverLabel(a: Approver): string {
  if (typeof a === 'string') return a;
  return 'iamGroup' in a ? `${a.iamGroup} (IAM group)` : `${a.identityCenterPermissionSet} (permission set)`;
}

export const ConfigSchema = z.strictObject({
  /** Platform name, used as a prefix for resource names. */
  name: name('platform name'),
  /** Region where the platform and every environment run. */
  region,
  /** The tooling (shared-services) account. */
  toolingAccount: accountId,
  /** Where the pipelines get the repos' code. */
  source: z.strictObject({
    /** ARN of the CodeConnections connection to the source provider. */
    connectionArn: arn('(codeconnections|codestar-connections)', 'arn:aws:codeconnections:us-east-1:123456789012:connection/0f1e2d3c-...'),
  }),
  /** The three deployment environments, each in its own account; a release walks dev → staging → prod. */
  environments: z.strictObject({
    /** First environment of every release; no approval. */
    dev: EnvironmentSchema,
    /** Second environment, after an approval by `approvers.staging`; runs the data-quality gates. */
    staging: EnvironmentSchema,
    /** Production, after an approval by `approvers.prod`; gates, then the bake under its alarm. */
    prod: EnvironmentSchema,
  }),
  /**
   * Who may approve each gated environment (docs/decisions.md, "Approvers"). A plain string is a
   * name shown in the approval request only; `{ iamGroup }` is an IAM group of the tooling account
   * that gets the environment's approval policy attached; `{ identityCenterPermissionSet }` names a
   * permission set whose administrator references that policy (by its fixed name) in each account.
   * No entry may be in both lists (separation of duties; `semanticProblems` in loader.ts).
   */
  approvers: z.strictObject({
    /** Who may approve a release into staging (at least one entry). */
    staging: z.array(ApproverSchema).min(1),
    /** Who may approve a release into prod (at least one entry, none of them in `staging`). */
    prod: z.array(ApproverSchema).min(1),
  }),
  audit: z
    .strictObject({
      /** Days that audit objects are locked in COMPLIANCE mode. @default 2190 (six years) */
      retentionDays: z.int().min(2190, { error: 'HIPAA requires at least six years (2190 days) of audit retention' }).default(2190),
    })
    .prefault({}),
  ci: z
    .strictObject({
      /** PR feedback budget in minutes; alarms fire above it. @default 10 */
      prTimeBudgetMinutes: z.number().positive().default(10),
      /** Promotion budget in minutes. @default 15 */
      promotionBudgetMinutes: z.number().positive().default(15),
      /** CodeBuild compute type of validation builds. @default BUILD_GENERAL1_MEDIUM */
      computeType: z.enum(COMPUTE_TYPES).default('BUILD_GENERAL1_MEDIUM'),
      /** Immutable tag of the toolchain image in the tooling account's ECR. @default 1 */
      toolchainImageTag: z.string().regex(/^[A-Za-z0-9_.-]+$/).default('1'),
      /** Minutes the prod stage bakes under its alarm before it succeeds. @default 10 */
      prodBakeMinutes: z.int().positive().default(10),
      /**
       * The CI target of dbt validation builds: a zero-copy clone of this environment's Snowflake
       * database per build, created and dropped by `dataops ci-database` with a CI service user
       * whose key pair is kept in the tooling account (docs/decisions.md, "CI database").
       * @default - none; the PR and Validate builds of dbt repos cannot reach Snowflake
       */
      snowflake: z
        .strictObject({
          /** Environment whose database is cloned. @default dev */
          environment: z.enum(ENVIRONMENT_NAMES).default('dev'),
          /** Secrets Manager ARN, in the tooling account, of the CI user's {"user","privateKey"}. */
          secretArn: arn('secretsmanager', 'arn:aws:secretsmanager:us-east-1:111111111111:secret:dataops/snowflake-ci-AbCdEf'),
          /** KMS key ARN of that secret when it is encrypted with a customer-managed key. @default - the AWS-managed key */
          kmsKeyArn: arn('kms', 'arn:aws:kms:us-east-1:111111111111:key/0f1e2d3c-...').optional(),
          /** Role the CI user clones and builds with (needs CREATE DATABASE). @default - the environment's role */
          role: z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, { error: 'must be a Snowflake identifier' }).optional(),
        })
        .optional(),
    })
    .prefault({}),
  /** Terraform resource types that no plan may destroy unless the release allows it. */
  protectedResourceTypes: z
    .array(z.string())
    .default(['aws_db_instance', 'aws_rds_cluster', 'aws_dynamodb_table', 'aws_s3_bucket', 'snowflake_database', 'snowflake_schema', 'snowflake_table']),
  /** Monthly incremental budget in USD; `dataops cost` compares against it. @default 18000 */
  monthlyBudgetUsd: z.number().positive().default(18000),
  /** Volumes and measured durations for the cost model. @default - Northstar Health's (docs/cost.md) */
  usage: UsageSchema.prefault({}),
  /** Email address subscribed to the alerts topic. @default - no subscription */
  alertEmail: z.email().optional(),
  /** The data repositories, each with its own pipeline (at least one). */
  repos: z.array(RepoSchema).min(1),
});

/** Validated platform configuration. */
export type PlatformConfig = z.output<typeof ConfigSchema>;
export type EnvironmentConfig = z.output<typeof EnvironmentSchema>;

/** The Terraform Cloud workspace of one repo in one environment: `terraformCloud.workspace` with `{repo}` and `{env}` filled in. */
export function terraformWorkspaceName(environment: Pick<EnvironmentConfig, 'terraformCloud'>, repo: string, env: EnvironmentName): string {
  return environment.terraformCloud.workspace.replaceAll('{repo}', repo).replaceAll('{env}', env);
}
export type RepoConfig = z.output<typeof RepoSchema>;
export type UsageConfig = z.output<typeof UsageSchema>;
