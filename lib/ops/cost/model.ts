import { ENVIRONMENT_NAMES, type AssetKind, type PlatformConfig, type RepoConfig } from '../../config/schema';
import { customMetricCount, monitoringAlarmCount } from '../metrics';
import * as P from './prices';
import type { UnitPrice } from './prices';

/**
 * Monthly cost model of the platform for one configuration (docs/cost.md).
 *
 * Volumes come from `config.usage` (PRs, executions, prod deployments, measured durations) and the
 * repos' asset kinds and counts; prices from ./prices.ts. Activity is spread over the repos in
 * proportion to their expected asset counts. Free tiers are not subtracted, and storage is counted at
 * its steady state (full retention), so the figure is an upper bound for the platform alone.
 */

/** The services the estimate covers, in the order they are printed. */
export const COST_SERVICES = [
  'CodePipeline',
  'CodeBuild',
  'Lambda',
  'S3',
  'DynamoDB',
  'CloudTrail',
  'KMS',
  'CloudWatch',
  'SNS',
  'EventBridge',
  'ECR',
  'Secrets Manager',
  'Snowflake',
] as const;
export type CostService = (typeof COST_SERVICES)[number];

/** One line of the estimate: a quantity times a unit price. */
export interface CostLine {
  readonly service: CostService;
  /** What is counted, e.g. `PR validation builds (BUILD_GENERAL1_MEDIUM)`. */
  readonly item: string;
  /** Monthly quantity in `price.unit`. */
  readonly quantity: number;
  readonly price: UnitPrice;
  /** quantity × price.usd, rounded to cents (the service totals and the total add these up). */
  readonly monthlyUsd: number;
  /** How the quantity was derived, in one line. */
  readonly basis: string;
  /** CodeBuild lines: the compute type the minutes run on. */
  readonly computeType?: string;
}

/** Monthly volumes the estimate is built from. */
export interface MonthlyVolumes {
  readonly activeDays: number;
  readonly prBuilds: number;
  readonly pipelineExecutions: number;
  readonly prodDeployments: number;
  readonly rollbacks: number;
  /** Deployments to any environment (dev per execution, staging and prod per prod deployment, rollbacks). */
  readonly environmentDeployments: number;
  readonly codeBuildMinutesByComputeType: Readonly<Record<string, number>>;
  readonly pipelineActionMinutes: number;
  readonly lambdaInvocations: number;
  readonly s3Requests: number;
  readonly snowflakeCredits: number;
}

/** The estimate, compared with the configured budget. */
export interface CostEstimate {
  readonly currency: 'USD';
  readonly pricesAsOf: string;
  readonly platform: string;
  readonly repos: number;
  readonly lines: readonly CostLine[];
  readonly byService: Readonly<Record<CostService, number>>;
  readonly totalUsd: number;
  readonly budgetUsd: number;
  readonly withinBudget: boolean;
  /** budget − total (negative when over). */
  readonly headroomUsd: number;
  /** total / budget. */
  readonly budgetShare: number;
  readonly volumes: MonthlyVolumes;
}

/** The usage figures cannot describe a real month. */
export class CostInputError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CostInputError';
  }
}

/**
 * Fixed assumptions of the model that are properties of this platform's design rather than of a
 * customer's volume. Each is explained in docs/cost.md.
 */
export const MODEL_ASSUMPTIONS = {
  /** CodePipeline Source action (CodeConnections), minutes per execution. */
  sourceActionMinutes: 1,
  /** Promote(λ) action, minutes per environment deployment (rounded up to one). */
  promoteActionMinutes: 1,
  /** Toolchain image rebuilds a month, and their length on BUILD_GENERAL1_LARGE. */
  toolchainBuildsPerMonth: 4,
  toolchainBuildMinutes: 20,
  /** Lambda memory (MB) and mean duration (s) of Promote, Rollback and Recorder. */
  lambdaMemoryMb: 512,
  promoteSeconds: 2,
  rollbackSeconds: 5,
  recorderSeconds: 0.5,
  /** S3 requests on the artifact bucket per CodeBuild build (source, caches, base manifests, graph fragments, reports). */
  s3GetsPerBuild: 20,
  s3PutsPerBuild: 5,
  /** Audit evidence objects and their size per environment deployment. */
  auditObjectsPerDeployment: 6,
  auditMbPerDeployment: 0.5,
  /** Ledger write and read request units per environment deployment (lock, claim, events, records; GSI writes included). */
  ledgerWriteUnitsPerDeployment: 40,
  ledgerReadUnitsPerDeployment: 20,
  /** Ledger bytes kept per environment deployment (events never expire). */
  ledgerKbPerDeployment: 30,
  /** Management events per build and per Lambda invocation (CodeBuild, STS, ECR, KMS, Logs), and their size. */
  managementEventsPerBuild: 50,
  managementEventsPerInvocation: 15,
  cloudTrailEventKb: 1.5,
  /** KMS requests per S3 request (no S3 Bucket Key assumed) and per build or invocation. */
  kmsRequestsPerS3Request: 1,
  kmsRequestsPerBuild: 5,
  /** Customer managed keys in the tooling account (artifacts and cross-account; audit, logs, ledger, topics). */
  toolingKmsKeys: 2,
  /** Log bytes per Lambda invocation. */
  lambdaLogKbPerInvocation: 4,
  /** Dashboards. */
  dashboards: 1,
  /** Alarms the CDK stacks add besides the monitoring construct: the prod bake alarm of each repo. */
  otherAlarmsPerRepo: 1,
  /** SNS: approval requests per prod deployment (staging and prod), email recipients per message. */
  approvalMessagesPerProdDeployment: 2,
  emailRecipientsPerMessage: 5,
  /** Toolchain image: compressed size and images kept. */
  toolchainImageGb: 3,
  toolchainImagesKept: 6,
  /** Spark image layers unique to one release (code; base layers are shared), kept per environment. */
  sparkImageUniqueGb: 0.1,
  /** Seconds a Snowflake warehouse stays up after its last query (AUTO_SUSPEND). */
  snowflakeAutoSuspendSeconds: 60,
  /** Days in an average month, for storage kept N days. */
  daysPerMonth: 30.4,
} as const;

const A = MODEL_ASSUMPTIONS;
const round2 = (x: number) => Math.round(x * 100) / 100;

/** Minutes one build is billed for: the work plus provisioning, rounded up to whole minutes. */
function billedMinutes(workMinutes: number, overheadMinutes: number): number {
  return Math.ceil(workMinutes + overheadMinutes - 1e-9);
}

/** Credits one warehouse session of `minutes` uses: per-second billing, 60 s minimum, plus auto-suspend idle. */
function sessionCredits(minutes: number, creditsPerHour: number): number {
  if (minutes <= 0) return 0;
  const seconds = Math.max(minutes * 60, P.SNOWFLAKE_MIN_BILLED_SECONDS) + A.snowflakeAutoSuspendSeconds;
  return (seconds / 3600) * creditsPerHour;
}

interface RepoShare {
  readonly repo: RepoConfig;
  readonly weight: number;
}

function shares(config: PlatformConfig): RepoShare[] {
  const total = config.repos.reduce((n, r) => n + r.expectedAssets, 0);
  return config.repos.map((repo) => ({ repo, weight: repo.expectedAssets / total }));
}

/** Checks that the usage describes a possible month; throws one error listing every problem. */
function checkUsage(config: PlatformConfig): void {
  const u = config.usage;
  const problems: string[] = [];
  if (u.prodDeploysPerDay > u.pipelineExecutionsPerDay) {
    problems.push(
      `usage.prodDeploysPerDay (${u.prodDeploysPerDay}) exceeds usage.pipelineExecutionsPerDay (${u.pipelineExecutionsPerDay}); every prod deployment is a pipeline execution, so raise pipelineExecutionsPerDay or lower prodDeploysPerDay`,
    );
  }
  if (problems.length > 0) throw new CostInputError(problems.join('; '));
}

/**
 * Computes the monthly cost of the platform described by `config`.
 * @throws CostInputError when the usage figures contradict each other
 */
export function estimateMonthlyCost(config: PlatformConfig): CostEstimate {
  checkUsage(config);
  const u = config.usage;
  const days = u.activeDaysPerMonth;
  const envCount = ENVIRONMENT_NAMES.length;
  const secretArns = new Set<string>([
    ...ENVIRONMENT_NAMES.flatMap((e) => [config.environments[e].snowflake.deploySecretArn, config.environments[e].terraformCloud.tokenSecretArn ?? '']),
    config.ci.snowflake?.secretArn ?? '',
  ]);
  secretArns.delete('');
  const computeType = config.ci.computeType;
  const overhead = u.buildOverheadMinutes;
  const check = (k: AssetKind) => u.checkMinutes[k];

  const prBuildsPerMonth = u.prsPerDay * u.prBuildsPerPr * days;
  const executionsPerMonth = u.pipelineExecutionsPerDay * days;
  const prodPerMonth = u.prodDeploysPerDay * days;
  const rollbacksPerMonth = prodPerMonth * u.rollbackRate;

  const deployMin = billedMinutes(u.deployMinutes, overhead);
  const verifyMin = billedMinutes(u.verifyMinutes, overhead);
  const packageMin = billedMinutes(u.packageMinutes, overhead);

  // Per-repo volumes, weighted by asset share.
  let prBuildMinutes = 0;
  let validateBuildMinutes = 0;
  let validateActions = 0;
  let dbtPrBuilds = 0;
  let dbtEnvDeployments = 0;
  let sparkExecutions = 0;
  for (const { repo, weight } of shares(config)) {
    const prBuilds = prBuildsPerMonth * weight;
    const executions = executionsPerMonth * weight;
    const prod = prodPerMonth * weight;
    const rollbacks = rollbacksPerMonth * weight;
    // A PR build runs the affected kinds' checks side by side: billed for the slowest.
    prBuildMinutes += prBuilds * billedMinutes(Math.max(...repo.kinds.map(check)), overhead);
    // The pipeline's Validate stage has one CodeBuild action per kind: each billed on its own.
    validateBuildMinutes += executions * repo.kinds.reduce((n, k) => n + billedMinutes(check(k), overhead), 0);
    validateActions += executions * repo.kinds.length;
    if (repo.kinds.includes('dbt')) {
      dbtPrBuilds += prBuilds;
      dbtEnvDeployments += executions + 2 * prod + rollbacks;
    }
    if (repo.kinds.includes('spark')) sparkExecutions += executions;
  }

  const envDeployments = executionsPerMonth + 2 * prodPerMonth + rollbacksPerMonth;
  const packageBuildMinutes = executionsPerMonth * packageMin;
  const deployVerifyMinutes = (executionsPerMonth + 2 * prodPerMonth) * (deployMin + verifyMin);
  const rollbackBuildMinutes = rollbacksPerMonth * (deployMin + verifyMin);
  // the prod Bake action probes for ci.prodBakeMinutes after each prod Verify, rollbacks included
  const bakeMin = billedMinutes(config.ci.prodBakeMinutes, overhead);
  const bakeBuildMinutes = (prodPerMonth + rollbacksPerMonth) * bakeMin;
  const toolchainMinutes = A.toolchainBuildsPerMonth * A.toolchainBuildMinutes;
  const pipelineBuilds = executionsPerMonth * 1 + validateActions + envDeployments * 2 + prodPerMonth + rollbacksPerMonth; // package + validate + deploy/verify + bake
  const allBuilds = prBuildsPerMonth + pipelineBuilds + A.toolchainBuildsPerMonth;

  const actionMinutes =
    executionsPerMonth * A.sourceActionMinutes +
    validateBuildMinutes +
    packageBuildMinutes +
    envDeployments * (A.promoteActionMinutes + deployMin + verifyMin) +
    (prodPerMonth + rollbacksPerMonth) * bakeMin +
    prodPerMonth * 1; // the bake alarm condition's wait (WaitTime 1)

  // Lambda: Promote per environment deployment, Rollback per rollback, Recorder per pipeline event.
  const executionEvents = (kinds: number) => 2 + 2 * 4 + 2 * (1 + kinds + 1 + 3); // pipeline, 4 stages, their actions
  const meanKinds = validateActions / Math.max(executionsPerMonth, 1e-9);
  const recorderInvocations = executionsPerMonth * executionEvents(meanKinds) + prodPerMonth * 2 * (2 + 2 * 4) + rollbacksPerMonth * 10;
  const promoteInvocations = envDeployments;
  const lambdaInvocations = recorderInvocations + promoteInvocations + rollbacksPerMonth;
  const gb = A.lambdaMemoryMb / 1024;
  const lambdaGbSeconds =
    gb * (promoteInvocations * A.promoteSeconds + rollbacksPerMonth * A.rollbackSeconds + recorderInvocations * A.recorderSeconds);

  // S3 requests (artifact and audit buckets; all are CloudTrail data events).
  const s3Gets = allBuilds * A.s3GetsPerBuild + promoteInvocations * 2;
  const s3Puts = allBuilds * A.s3PutsPerBuild + envDeployments * A.auditObjectsPerDeployment;
  const s3Requests = s3Gets + s3Puts;
  const retentionMonths = (d: number) => d / A.daysPerMonth;
  const artifactGb = ((executionsPerMonth * u.artifactMbPerExecution) / 1024) * retentionMonths(u.artifactRetentionDays);
  const auditGb = ((envDeployments * A.auditMbPerDeployment) / 1024) * retentionMonths(config.audit.retentionDays);

  // CloudTrail: data events on the two buckets; management events go to CloudWatch Logs too.
  const managementEvents = allBuilds * A.managementEventsPerBuild + lambdaInvocations * A.managementEventsPerInvocation;
  const trailEvents = managementEvents + s3Requests;
  const trailLogGb = (trailEvents * A.cloudTrailEventKb) / 1024 / 1024;
  const trailS3Gb = trailLogGb * retentionMonths(config.audit.retentionDays);

  // CloudWatch.
  const totalBuildMinutes = prBuildMinutes + validateBuildMinutes + packageBuildMinutes + deployVerifyMinutes + rollbackBuildMinutes + bakeBuildMinutes + toolchainMinutes;
  const logIngestGb = (totalBuildMinutes * u.buildLogMbPerMinute) / 1024 + (lambdaInvocations * A.lambdaLogKbPerInvocation) / 1024 / 1024 + trailLogGb;
  const logStoredGb = logIngestGb * retentionMonths(u.logRetentionDays);
  const alarms = monitoringAlarmCount(config.repos.length) + A.otherAlarmsPerRepo * config.repos.length;
  const metrics = customMetricCount(config.repos.length, envCount);
  const putMetricRequests = recorderInvocations;

  // DynamoDB ledger.
  const ledgerGb = ((envDeployments * A.ledgerKbPerDeployment) / 1024 / 1024) * retentionMonths(config.audit.retentionDays);

  // KMS.
  const kmsRequests = s3Requests * A.kmsRequestsPerS3Request + (allBuilds + lambdaInvocations) * A.kmsRequestsPerBuild;

  // SNS: approval requests and alarm/rollback alerts.
  const snsPublishes = prodPerMonth * A.approvalMessagesPerProdDeployment + rollbacksPerMonth * 2;
  const snsEmails = snsPublishes * A.emailRecipientsPerMessage;

  // ECR: toolchain images in tooling; Spark release layers kept per environment for the artifact retention.
  const ecrGb =
    A.toolchainImageGb * A.toolchainImagesKept +
    sparkExecutions * A.sparkImageUniqueGb * envCount * retentionMonths(u.artifactRetentionDays);

  // Snowflake: dbt PR checks on the CI warehouse; dbt deploy + verify in each environment.
  const creditsPerHour = P.SNOWFLAKE_CREDITS_PER_HOUR[u.snowflakeWarehouseSize];
  const ciCredits = dbtPrBuilds * sessionCredits(u.dbtCiWarehouseMinutes, creditsPerHour);
  const deployCredits = dbtEnvDeployments * sessionCredits(u.dbtDeployWarehouseMinutes, creditsPerHour);
  const creditPrice = P.SNOWFLAKE_CREDIT[u.snowflakeEdition];

  const line = (service: CostService, item: string, quantity: number, price: UnitPrice, basis: string): CostLine => ({
    service,
    item,
    quantity,
    price,
    monthlyUsd: round2(quantity * price.usd),
    basis,
  });
  const build = (item: string, type: keyof typeof P.CODEBUILD_MINUTE, minutes: number, basis: string): CostLine => ({
    ...line('CodeBuild', `${item} (${type})`, minutes, P.CODEBUILD_MINUTE[type], basis),
    computeType: type,
  });
  const f = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(1));

  const lines: CostLine[] = [
    line('CodePipeline', 'V2 action execution minutes (approvals free)', actionMinutes, P.CODEPIPELINE_V2_ACTION_MINUTE,
      `${f(executionsPerMonth)} executions, ${f(prodPerMonth)} reach prod, ${config.ci.prodBakeMinutes} min prod bake, ${f(rollbacksPerMonth)} rollbacks`),
    build('PR validation builds', computeType, prBuildMinutes,
      `${f(prBuildsPerMonth)} builds (${u.prsPerDay} PRs/day × ${u.prBuildsPerPr} × ${days} days), slowest affected check + ${overhead} min`),
    build('pipeline Validate actions', computeType, validateBuildMinutes,
      `${f(validateActions)} actions, one per asset kind per execution`),
    build('Package', computeType, packageBuildMinutes, `${f(executionsPerMonth)} builds × ${packageMin} min`),
    build('Deploy + Verify in dev, staging, prod', computeType, deployVerifyMinutes,
      `${f(executionsPerMonth + 2 * prodPerMonth)} environment deployments × ${deployMin + verifyMin} min`),
    build('rollback re-deploys', computeType, rollbackBuildMinutes,
      `${f(rollbacksPerMonth)} rollbacks (${u.rollbackRate * 100}% of prod deployments) × ${deployMin + verifyMin} min`),
    build('prod Bake (probing the release)', computeType, bakeBuildMinutes,
      `${f(prodPerMonth + rollbacksPerMonth)} prod deployments and rollbacks × ${bakeMin} min`),
    build('toolchain image builds', 'BUILD_GENERAL1_LARGE', toolchainMinutes,
      `${A.toolchainBuildsPerMonth} builds × ${A.toolchainBuildMinutes} min`),
    line('Lambda', 'Promote, Rollback, Recorder requests', lambdaInvocations, P.LAMBDA_REQUEST,
      `${f(promoteInvocations)} Promote, ${f(rollbacksPerMonth)} Rollback, ${f(recorderInvocations)} Recorder`),
    line('Lambda', 'compute', lambdaGbSeconds, P.LAMBDA_GB_SECOND, `${A.lambdaMemoryMb} MB functions`),
    line('S3', 'artifact bucket storage', artifactGb, P.S3_STANDARD_GB_MONTH,
      `${u.artifactMbPerExecution} MB per execution kept ${u.artifactRetentionDays} days`),
    line('S3', 'audit bucket storage (Object Lock evidence and CloudTrail logs)', auditGb + trailS3Gb, P.S3_STANDARD_GB_MONTH,
      `kept ${config.audit.retentionDays} days (steady state)`),
    line('S3', 'PUT requests', s3Puts, P.S3_PUT_REQUEST, `${A.s3PutsPerBuild} per build, ${A.auditObjectsPerDeployment} evidence objects per deployment`),
    line('S3', 'GET requests', s3Gets, P.S3_GET_REQUEST, `${A.s3GetsPerBuild} per build, manifests read by Promote`),
    line('DynamoDB', 'ledger writes', envDeployments * A.ledgerWriteUnitsPerDeployment, P.DYNAMODB_WRITE_REQUEST_UNIT,
      `${f(envDeployments)} environment deployments × ${A.ledgerWriteUnitsPerDeployment} WRU`),
    line('DynamoDB', 'ledger reads', envDeployments * A.ledgerReadUnitsPerDeployment, P.DYNAMODB_READ_REQUEST_UNIT,
      `${A.ledgerReadUnitsPerDeployment} RRU per deployment`),
    line('DynamoDB', 'ledger storage', ledgerGb, P.DYNAMODB_STORAGE_GB_MONTH, `events kept ${config.audit.retentionDays} days`),
    line('DynamoDB', 'point-in-time recovery', ledgerGb, P.DYNAMODB_PITR_GB_MONTH, 'same size as the table'),
    line('CloudTrail', 'S3 data events (artifact and audit buckets)', s3Requests, P.CLOUDTRAIL_DATA_EVENT,
      'every object-level request on the two buckets; management events: first copy free'),
    line('KMS', 'customer managed keys (tooling)', A.toolingKmsKeys, P.KMS_ROTATED_KEY_MONTH, 'rotation enabled'),
    line('KMS', 'requests', kmsRequests, P.KMS_REQUEST, 'one per S3 request (no bucket key) and per build or invocation'),
    line('CloudWatch', 'logs ingested (CodeBuild, Lambda, CloudTrail)', logIngestGb, P.CLOUDWATCH_LOGS_INGEST_GB,
      `${f(totalBuildMinutes)} build minutes × ${u.buildLogMbPerMinute} MB, ${f(trailEvents)} trail events`),
    line('CloudWatch', 'logs stored', logStoredGb, P.CLOUDWATCH_LOGS_STORAGE_GB_MONTH, `kept ${u.logRetentionDays} days (steady state)`),
    line('CloudWatch', 'alarms', alarms, P.CLOUDWATCH_ALARM_MONTH, `${monitoringAlarmCount(config.repos.length)} monitoring + ${A.otherAlarmsPerRepo * config.repos.length} prod bake`),
    line('CloudWatch', 'dashboard', A.dashboards, P.CLOUDWATCH_DASHBOARD_MONTH, 'pipelines, durations against targets, rollbacks, DORA'),
    line('CloudWatch', 'custom metrics (DataOps namespace)', metrics, P.CLOUDWATCH_CUSTOM_METRIC_MONTH,
      `${config.repos.length} repos + overall series × metric names and environments`),
    line('CloudWatch', 'PutMetricData requests', putMetricRequests, P.CLOUDWATCH_API_REQUEST, 'one per Recorder invocation'),
    line('SNS', 'publishes (approvals, alerts)', snsPublishes, P.SNS_PUBLISH, `${A.approvalMessagesPerProdDeployment} approval requests per prod deployment`),
    line('SNS', 'email deliveries', snsEmails, P.SNS_EMAIL_DELIVERY, `${A.emailRecipientsPerMessage} recipients per message`),
    line('EventBridge', 'ledger events put on the bus', recorderInvocations + envDeployments, P.EVENTBRIDGE_CUSTOM_EVENT,
      'pipeline state changes from AWS are free; the platform\'s own events are custom'),
    line('ECR', 'image storage', ecrGb, P.ECR_STORAGE_GB_MONTH,
      `toolchain ${A.toolchainImageGb} GB × ${A.toolchainImagesKept}; ${f(sparkExecutions)} Spark releases × ${A.sparkImageUniqueGb} GB × ${envCount} environments`),
    line('Secrets Manager', 'Snowflake keys and Terraform Cloud tokens', secretArns.size, P.SECRETS_MANAGER_SECRET_MONTH,
      'each distinct secret the config names: a Snowflake deploy key and a Terraform Cloud token per environment, the CI clone key'),
    line('Snowflake', `CI warehouse (${u.snowflakeWarehouseSize}) for dbt PR checks`, ciCredits, creditPrice,
      `${f(dbtPrBuilds)} dbt PR builds × ${u.dbtCiWarehouseMinutes} min + ${A.snowflakeAutoSuspendSeconds} s auto-suspend`),
    line('Snowflake', `deploy and verify warehouses (${u.snowflakeWarehouseSize})`, deployCredits, creditPrice,
      `${f(dbtEnvDeployments)} dbt environment deployments × ${u.dbtDeployWarehouseMinutes} min`),
  ];

  const byService = Object.fromEntries(COST_SERVICES.map((s) => [s, 0])) as Record<CostService, number>;
  for (const l of lines) byService[l.service] += l.monthlyUsd;
  for (const s of COST_SERVICES) byService[s] = round2(byService[s]);
  const totalUsd = round2(lines.reduce((n, l) => n + l.monthlyUsd, 0));
  const codeBuildMinutesByComputeType: Record<string, number> = {};
  for (const l of lines) {
    if (l.computeType) codeBuildMinutesByComputeType[l.computeType] = (codeBuildMinutesByComputeType[l.computeType] ?? 0) + l.quantity;
  }

  return {
    currency: 'USD',
    pricesAsOf: P.PRICES_AS_OF,
    platform: config.name,
    repos: config.repos.length,
    lines,
    byService,
    totalUsd,
    budgetUsd: config.monthlyBudgetUsd,
    withinBudget: totalUsd <= config.monthlyBudgetUsd,
    headroomUsd: round2(config.monthlyBudgetUsd - totalUsd),
    budgetShare: totalUsd / config.monthlyBudgetUsd,
    volumes: {
      activeDays: days,
      prBuilds: prBuildsPerMonth,
      pipelineExecutions: executionsPerMonth,
      prodDeployments: prodPerMonth,
      rollbacks: rollbacksPerMonth,
      environmentDeployments: envDeployments,
      codeBuildMinutesByComputeType,
      pipelineActionMinutes: actionMinutes,
      lambdaInvocations,
      s3Requests,
      snowflakeCredits: ciCredits + deployCredits,
    },
  };
}
