/**
 * Every unit price the cost model uses, in USD, for us-east-1 list (on-demand) prices.
 *
 * Each price names the public pricing page it comes from and the date it was read. Free tiers are
 * not subtracted anywhere: they are shared with whatever else runs in the account, so the estimate
 * stays an upper bound for the platform alone. docs/cost.md lists the same table; change both together.
 */

/** One unit price with its provenance. */
export interface UnitPrice {
  /** Price in USD per `unit`. */
  readonly usd: number;
  /** What one unit is, e.g. `build minute`. */
  readonly unit: string;
  /** Name of the public pricing page the figure is read from. */
  readonly source: string;
  /** ISO date the figure was read from that page. */
  readonly asOf: string;
}

/** The date the prices below were read from their pages. */
export const PRICES_AS_OF = '2026-11-28';

const aws = (page: string) => `AWS pricing page "${page}" (us-east-1, on-demand)`;
const price = (usd: number, unit: string, source: string): UnitPrice => ({ usd, unit, source, asOf: PRICES_AS_OF });

/** CodePipeline V2: per action execution minute, rounded up per action; manual approvals are free. */
export const CODEPIPELINE_V2_ACTION_MINUTE = price(0.002, 'action execution minute', aws('AWS CodePipeline pricing'));

/** CodeBuild on-demand EC2 Linux, per build minute (rounded up per build), by compute type. */
export const CODEBUILD_MINUTE = {
  BUILD_GENERAL1_SMALL: price(0.005, 'build minute (general1.small, Linux)', aws('AWS CodeBuild pricing')),
  BUILD_GENERAL1_MEDIUM: price(0.01, 'build minute (general1.medium, Linux)', aws('AWS CodeBuild pricing')),
  BUILD_GENERAL1_LARGE: price(0.02, 'build minute (general1.large, Linux)', aws('AWS CodeBuild pricing')),
} as const;

/** Lambda on Arm (the platform's functions are arm64, lib/constructs/platform-function.ts): compute per GB-second (first 7.5 billion GB-seconds a month) and requests. */
export const LAMBDA_GB_SECOND = price(0.0000133334, 'GB-second (arm64)', aws('AWS Lambda pricing'));
export const LAMBDA_REQUEST = price(0.0000002, 'request ($0.20 per million)', aws('AWS Lambda pricing'));

/** S3 Standard: storage (first 50 TB tier) and requests. Object Lock itself has no charge. */
export const S3_STANDARD_GB_MONTH = price(0.023, 'GB-month (S3 Standard, first 50 TB)', aws('Amazon S3 pricing'));
export const S3_PUT_REQUEST = price(0.000005, 'PUT, COPY, POST or LIST request ($0.005 per 1,000)', aws('Amazon S3 pricing'));
export const S3_GET_REQUEST = price(0.0000004, 'GET or other request ($0.0004 per 1,000)', aws('Amazon S3 pricing'));

/** DynamoDB on-demand (standard table class), after the November 2024 price change. */
export const DYNAMODB_WRITE_REQUEST_UNIT = price(0.000000625, 'write request unit ($0.625 per million)', aws('Amazon DynamoDB pricing for on-demand capacity'));
export const DYNAMODB_READ_REQUEST_UNIT = price(0.000000125, 'read request unit ($0.125 per million)', aws('Amazon DynamoDB pricing for on-demand capacity'));
export const DYNAMODB_STORAGE_GB_MONTH = price(0.25, 'GB-month (standard table class)', aws('Amazon DynamoDB pricing for on-demand capacity'));
export const DYNAMODB_PITR_GB_MONTH = price(0.2, 'GB-month of continuous backup (PITR)', aws('Amazon DynamoDB pricing for on-demand capacity'));

/** CloudTrail: data events delivered by a trail. The first copy of management events is free. */
export const CLOUDTRAIL_DATA_EVENT = price(0.000001, 'data event delivered ($0.10 per 100,000)', aws('AWS CloudTrail pricing'));

/**
 * KMS: a customer managed key costs $1/month, and each of its first two automatic rotations adds
 * $1/month (later rotations are free), so a rotated key is counted at its $3/month ceiling.
 */
export const KMS_ROTATED_KEY_MONTH = price(3, 'customer managed key-month with rotation (ceiling)', aws('AWS Key Management Service pricing'));
export const KMS_REQUEST = price(0.000003, 'symmetric key request ($0.03 per 10,000)', aws('AWS Key Management Service pricing'));

/** CloudWatch: logs, alarms, dashboards, custom metrics and metric API calls. */
export const CLOUDWATCH_LOGS_INGEST_GB = price(0.5, 'GB ingested (standard log class)', aws('Amazon CloudWatch pricing'));
export const CLOUDWATCH_LOGS_STORAGE_GB_MONTH = price(0.03, 'GB-month archived', aws('Amazon CloudWatch pricing'));
export const CLOUDWATCH_ALARM_MONTH = price(0.1, 'standard-resolution alarm metric-month', aws('Amazon CloudWatch pricing'));
export const CLOUDWATCH_DASHBOARD_MONTH = price(3, 'custom dashboard-month', aws('Amazon CloudWatch pricing'));
export const CLOUDWATCH_CUSTOM_METRIC_MONTH = price(0.3, 'custom metric-month (first 10,000)', aws('Amazon CloudWatch pricing'));
export const CLOUDWATCH_API_REQUEST = price(0.00001, 'PutMetricData / GetMetricData request ($0.01 per 1,000)', aws('Amazon CloudWatch pricing'));

/** SNS: publishes and email deliveries. */
export const SNS_PUBLISH = price(0.0000005, 'publish, 64 KB chunk ($0.50 per million)', aws('Amazon SNS pricing'));
export const SNS_EMAIL_DELIVERY = price(0.00002, 'email notification ($2.00 per 100,000)', aws('Amazon SNS pricing'));

/** EventBridge: custom events put on a bus (AWS service events on the default bus are free). */
export const EVENTBRIDGE_CUSTOM_EVENT = price(0.000001, 'custom event, 64 KB chunk ($1.00 per million)', aws('Amazon EventBridge pricing'));

/** ECR: private repository storage. Same-region pulls are free. */
export const ECR_STORAGE_GB_MONTH = price(0.1, 'GB-month', aws('Amazon ECR pricing'));

/** Secrets Manager: the Snowflake deploy key of each environment. */
export const SECRETS_MANAGER_SECRET_MONTH = price(0.4, 'secret-month', aws('AWS Secrets Manager pricing'));

/** Snowflake on-demand credit price on AWS US East, by edition. HIPAA data needs Business Critical. */
export const SNOWFLAKE_CREDIT = {
  standard: { usd: 2, unit: 'credit (Standard edition)', source: 'Snowflake "Pricing Options" page and Service Consumption Table (AWS US East, on-demand)', asOf: PRICES_AS_OF },
  enterprise: { usd: 3, unit: 'credit (Enterprise edition)', source: 'Snowflake "Pricing Options" page and Service Consumption Table (AWS US East, on-demand)', asOf: PRICES_AS_OF },
  'business-critical': { usd: 4, unit: 'credit (Business Critical edition)', source: 'Snowflake "Pricing Options" page and Service Consumption Table (AWS US East, on-demand)', asOf: PRICES_AS_OF },
} as const satisfies Record<string, UnitPrice>;

/** Credits per hour of a standard (Gen1) warehouse, by size; billed per second with a 60 s minimum per resume. */
export const SNOWFLAKE_CREDITS_PER_HOUR = { XSMALL: 1, SMALL: 2, MEDIUM: 4, LARGE: 8 } as const;

/** Seconds a resumed Snowflake warehouse is billed at least. */
export const SNOWFLAKE_MIN_BILLED_SECONDS = 60;

/** Every price above, by name, for docs and for `dataops cost --format json`. */
export const ALL_PRICES: Readonly<Record<string, UnitPrice>> = {
  CODEPIPELINE_V2_ACTION_MINUTE,
  CODEBUILD_MINUTE_SMALL: CODEBUILD_MINUTE.BUILD_GENERAL1_SMALL,
  CODEBUILD_MINUTE_MEDIUM: CODEBUILD_MINUTE.BUILD_GENERAL1_MEDIUM,
  CODEBUILD_MINUTE_LARGE: CODEBUILD_MINUTE.BUILD_GENERAL1_LARGE,
  LAMBDA_GB_SECOND,
  LAMBDA_REQUEST,
  S3_STANDARD_GB_MONTH,
  S3_PUT_REQUEST,
  S3_GET_REQUEST,
  DYNAMODB_WRITE_REQUEST_UNIT,
  DYNAMODB_READ_REQUEST_UNIT,
  DYNAMODB_STORAGE_GB_MONTH,
  DYNAMODB_PITR_GB_MONTH,
  CLOUDTRAIL_DATA_EVENT,
  KMS_ROTATED_KEY_MONTH,
  KMS_REQUEST,
  CLOUDWATCH_LOGS_INGEST_GB,
  CLOUDWATCH_LOGS_STORAGE_GB_MONTH,
  CLOUDWATCH_ALARM_MONTH,
  CLOUDWATCH_DASHBOARD_MONTH,
  CLOUDWATCH_CUSTOM_METRIC_MONTH,
  CLOUDWATCH_API_REQUEST,
  SNS_PUBLISH,
  SNS_EMAIL_DELIVERY,
  EVENTBRIDGE_CUSTOM_EVENT,
  ECR_STORAGE_GB_MONTH,
  SECRETS_MANAGER_SECRET_MONTH,
  SNOWFLAKE_CREDIT_STANDARD: SNOWFLAKE_CREDIT.standard,
  SNOWFLAKE_CREDIT_ENTERPRISE: SNOWFLAKE_CREDIT.enterprise,
  SNOWFLAKE_CREDIT_BUSINESS_CRITICAL: SNOWFLAKE_CREDIT['business-critical'],
};
