/**
 * The platform's own CloudWatch metrics: one namespace, fixed names and dimensions. The runtime
 * (Recorder, ledger) publishes them with {@link metricDataFor}; the dashboard and alarms in
 * lib/constructs/monitoring.ts read them; `dataops cost` counts them. CodePipeline publishes no
 * CloudWatch metrics of its own, so these are the only source of pipeline outcomes and durations.
 *
 * Every datum is published twice: with `Repo=<repo>` and with `Repo=all` (the overall series), so
 * that dashboards and alarms over all repos need no metric math across repos.
 */
export const DATAOPS_METRICS = {
  namespace: 'DataOps',
  dimensions: {
    /** The repo name from the configuration, or {@link ALL_REPOS}. */
    repo: 'Repo',
    /** dev, staging or prod. */
    environment: 'Environment',
  },
  /** Value of the Repo dimension for the overall series. */
  allRepos: 'all',
  names: {
    /** Count (1 per execution) of pipeline executions that succeeded. Dimensions: Repo. */
    pipelineSucceeded: 'PipelineExecutionSucceeded',
    /** Count (1 per execution) of pipeline executions that failed. Dimensions: Repo. */
    pipelineFailed: 'PipelineExecutionFailed',
    /** Seconds from a stage's start to its end (approval wait excluded). Dimensions: Repo, Environment. */
    stageDuration: 'StageDurationSeconds',
    /** Seconds from approval to the environment's Verify succeeding (target: 15 min). Dimensions: Repo, Environment. */
    promotionDuration: 'PromotionSeconds',
    /** Count of rollbacks started (Rollback λ called RollbackStage), in any environment. Dimensions: Repo. */
    rollbackStarted: 'RollbackStarted',
    /** Seconds from the rollback request to the RollbackStage call (target: 5 min). Dimensions: Repo, Environment. */
    rollbackStartDuration: 'RollbackStartSeconds',
    /** DORA: count of prod deployments (deployment frequency). Dimensions: Repo. */
    deployments: 'Deployments',
    /** DORA: count of prod deployments that failed or were rolled back (change failure rate). Dimensions: Repo. */
    failedDeployments: 'FailedDeployments',
    /** DORA: seconds from the release's commit to its prod deployment. Dimensions: Repo. */
    leadTime: 'LeadTimeSeconds',
    /** DORA: seconds from a failed prod deployment to the next good one. Dimensions: Repo. */
    timeToRestore: 'TimeToRestoreSeconds',
  },
} as const;

/** Value of the Repo dimension for the overall series. */
export const ALL_REPOS = DATAOPS_METRICS.allRepos;

/** Metric names published with the Repo dimension only. */
export const REPO_METRICS = [
  DATAOPS_METRICS.names.pipelineSucceeded,
  DATAOPS_METRICS.names.pipelineFailed,
  DATAOPS_METRICS.names.rollbackStarted,
  DATAOPS_METRICS.names.deployments,
  DATAOPS_METRICS.names.failedDeployments,
  DATAOPS_METRICS.names.leadTime,
  DATAOPS_METRICS.names.timeToRestore,
] as const;

/** Metric names published with the Repo and Environment dimensions. */
export const REPO_ENV_METRICS = [
  DATAOPS_METRICS.names.stageDuration,
  DATAOPS_METRICS.names.promotionDuration,
  DATAOPS_METRICS.names.rollbackStartDuration,
] as const;

/** Number of distinct custom metrics (name + dimension values) for `repoCount` repos and `envCount` environments. */
export function customMetricCount(repoCount: number, envCount: number): number {
  const series = repoCount + 1; // every repo, plus the overall series
  return series * (REPO_METRICS.length + REPO_ENV_METRICS.length * envCount);
}

/**
 * Alarms that lib/constructs/monitoring.ts creates, by name suffix. The cost model counts them;
 * the construct's test checks that the synthesized template holds exactly these.
 */
export const MONITORING_ALARMS = {
  /** One of each per repo. */
  perRepo: ['PipelineFailed', 'PromotionOverBudget', 'PrValidationOverBudget', 'RollbackStarted'],
  /** One of each for the whole platform. */
  global: ['FailedDeploymentRate'],
} as const;

/** Number of alarms the monitoring construct creates for `repoCount` repos. */
export function monitoringAlarmCount(repoCount: number): number {
  return MONITORING_ALARMS.perRepo.length * repoCount + MONITORING_ALARMS.global.length;
}

/** Something the runtime observed that the metrics describe. */
export type MetricObservation =
  | { readonly kind: 'pipeline-finished'; readonly repo: string; readonly succeeded: boolean; readonly at: Date }
  | { readonly kind: 'stage-finished'; readonly repo: string; readonly env: string; readonly seconds: number; readonly at: Date }
  | { readonly kind: 'promotion-finished'; readonly repo: string; readonly env: string; readonly seconds: number; readonly at: Date }
  | { readonly kind: 'rollback-started'; readonly repo: string; readonly env: string; readonly secondsToStart: number; readonly at: Date }
  | { readonly kind: 'prod-deployment'; readonly repo: string; readonly failed: boolean; readonly leadTimeSeconds: number | null; readonly at: Date }
  | { readonly kind: 'prod-restored'; readonly repo: string; readonly seconds: number; readonly at: Date };

/** One datum for CloudWatch PutMetricData (structurally the SDK's MetricDatum). */
export interface DataOpsMetricDatum {
  readonly MetricName: string;
  readonly Dimensions: ReadonlyArray<{ readonly Name: string; readonly Value: string }>;
  readonly Value: number;
  readonly Unit: 'Count' | 'Seconds';
  readonly Timestamp: Date;
}

/**
 * The metric data to publish for one observation (namespace {@link DATAOPS_METRICS}.namespace):
 * each datum for the repo and again for the overall series.
 */
export function metricDataFor(o: MetricObservation): DataOpsMetricDatum[] {
  const n = DATAOPS_METRICS.names;
  const d = DATAOPS_METRICS.dimensions;
  const data: Array<{ name: string; value: number; unit: 'Count' | 'Seconds'; env?: string }> = [];
  switch (o.kind) {
    case 'pipeline-finished':
      data.push({ name: o.succeeded ? n.pipelineSucceeded : n.pipelineFailed, value: 1, unit: 'Count' });
      break;
    case 'stage-finished':
      data.push({ name: n.stageDuration, value: o.seconds, unit: 'Seconds', env: o.env });
      break;
    case 'promotion-finished':
      data.push({ name: n.promotionDuration, value: o.seconds, unit: 'Seconds', env: o.env });
      break;
    case 'rollback-started':
      data.push({ name: n.rollbackStarted, value: 1, unit: 'Count' });
      data.push({ name: n.rollbackStartDuration, value: o.secondsToStart, unit: 'Seconds', env: o.env });
      break;
    case 'prod-deployment':
      data.push({ name: n.deployments, value: 1, unit: 'Count' });
      data.push({ name: n.failedDeployments, value: o.failed ? 1 : 0, unit: 'Count' });
      if (o.leadTimeSeconds !== null) data.push({ name: n.leadTime, value: o.leadTimeSeconds, unit: 'Seconds' });
      break;
    case 'prod-restored':
      data.push({ name: n.timeToRestore, value: o.seconds, unit: 'Seconds' });
      break;
  }
  return data.flatMap((x) =>
    [o.repo, ALL_REPOS].map((repo) => ({
      MetricName: x.name,
      Dimensions: [{ Name: d.repo, Value: repo }, ...(x.env ? [{ Name: d.environment, Value: x.env }] : [])],
      Value: x.value,
      Unit: x.unit,
      Timestamp: o.at,
    })),
  );
}
