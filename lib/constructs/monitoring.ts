import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import type * as sns from 'aws-cdk-lib/aws-sns';
import {
  DefaultDashboardFactory,
  MonitoringFacade,
  SnsAlarmActionStrategy,
  type CustomMetricGroup,
  type CustomThreshold,
} from 'cdk-monitoring-constructs';
import { Construct } from 'constructs';
import { ENVIRONMENT_NAMES, type PlatformConfig, type RepoConfig } from '../config/schema';
import { ALL_REPOS, DATAOPS_METRICS, MONITORING_ALARMS } from '../ops/metrics';
import { PlatformNames } from './names';

export { DATAOPS_METRICS, MONITORING_ALARMS } from '../ops/metrics';

/** Rollback initiation target of the design: started within five minutes. */
export const ROLLBACK_START_TARGET_MINUTES = 5;
/** Failed-deployment (change failure) rate target of the design, in percent. */
export const FAILED_DEPLOYMENT_RATE_TARGET_PCT = 2;
/**
 * Largest number of repos that get their own dashboard section. A CloudWatch dashboard holds at most
 * 500 widgets and a repo section takes about ten; beyond this the dashboard keeps the platform section
 * (whose by-repo graphs use SEARCH and so cover any number of repos) and every alarm stays.
 */
export const MAX_REPO_SECTIONS = 40;

/** Properties of a {@link PlatformMonitoring}. */
export interface PlatformMonitoringProps {
  /** Validated platform configuration: repos, names and the PR / promotion budgets. */
  readonly config: PlatformConfig;
  /** Topic every alarm notifies (the tooling stack's alerts topic). */
  readonly alertsTopic: sns.ITopic;
}

/**
 * The platform's CloudWatch dashboard and alarms, built with cdk-monitoring-constructs.
 *
 * Dashboard: for all repos and then per repo, pipeline successes and failures, stage durations
 * against the targets (PR validation `ci.prTimeBudgetMinutes`, promotion `ci.promotionBudgetMinutes`,
 * rollback start 5 min), rollbacks, and the DORA figures (deployment frequency, lead time, change
 * failure rate, time to restore).
 *
 * Alarms, all to the alerts topic: per repo, a failed pipeline execution, a promotion over its
 * budget, PR validation over its budget (CodeBuild's own Duration metric of the repo's PR project)
 * and a rollback started; for the platform, the failed-deployment rate over 2 % in a day.
 *
 * Pipeline outcomes and durations are the `DataOps` custom metrics ({@link DATAOPS_METRICS}) that the
 * runtime publishes; CodePipeline publishes none itself. Resources of other stacks are referenced by
 * their configured names only, so the tooling stack does not depend on the pipeline stacks.
 */
export class PlatformMonitoring extends Construct {
  /** The facade that owns the dashboard and the alarms. */
  readonly facade: MonitoringFacade;
  /** The dashboard. */
  readonly dashboard: cloudwatch.Dashboard;
  /** Every alarm created, keyed `<repo>/<alarm>` or `platform/<alarm>`. */
  readonly alarms: Readonly<Record<string, cloudwatch.AlarmBase>>;

  constructor(scope: Construct, id: string, props: PlatformMonitoringProps) {
    super(scope, id);
    const { config } = props;
    const names = new PlatformNames(config);
    const prBudgetMinutes = config.ci.prTimeBudgetMinutes;
    const promotionBudgetMinutes = config.ci.promotionBudgetMinutes;

    this.facade = new MonitoringFacade(this, 'Facade', {
      alarmFactoryDefaults: {
        alarmNamePrefix: config.name,
        actionsEnabled: true,
        action: new SnsAlarmActionStrategy({ onAlarmTopic: props.alertsTopic }),
        datapointsToAlarm: 1,
        evaluationPeriods: 1,
      },
      metricFactoryDefaults: {},
      dashboardFactory: new DefaultDashboardFactory(this, 'Dashboards', {
        dashboardNamePrefix: `${config.name}-delivery`,
        createDashboard: true,
        createSummaryDashboard: false,
        createAlarmDashboard: false,
      }),
    });

    const m = DATAOPS_METRICS.names;
    const metric = (metricName: string, repo: string, statistic: string, period: Duration, label: string, env?: string) =>
      new cloudwatch.Metric({
        namespace: DATAOPS_METRICS.namespace,
        metricName,
        dimensionsMap: { [DATAOPS_METRICS.dimensions.repo]: repo, ...(env ? { [DATAOPS_METRICS.dimensions.environment]: env } : {}) },
        statistic,
        period,
        label,
      });
    // Metric ids must be unique within one graph or alarm: derive them from what is measured.
    const idOf = (...parts: string[]) => parts.join('_').toLowerCase().replace(/[^a-z0-9_]/g, '_');
    const scaled = (divisor: number, source: cloudwatch.Metric, label: string, period: Duration) => {
      const sid = idOf('m', source.metricName, source.statistic, ...Object.values(source.dimensions ?? {}).map(String));
      return new cloudwatch.MathExpression({ expression: `${sid} / ${divisor}`, usingMetrics: { [sid]: source }, label, period });
    };
    const minutes = (metricName: string, repo: string, statistic: string, label: string, env: string, period = Duration.minutes(5)) =>
      scaled(60, metric(metricName, repo, statistic, period, label, env), label, period);
    const target = (value: number, label: string): cloudwatch.HorizontalAnnotation => ({ value, label, color: '#d62728' });
    const threshold = (value: number, op: cloudwatch.ComparisonOperator, description: string): CustomThreshold => ({
      threshold: value,
      comparisonOperator: op,
      treatMissingDataOverride: cloudwatch.TreatMissingData.NOT_BREACHING,
      additionalDescription: description,
    });
    const GTE = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD;
    const GT = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD;
    const day = Duration.days(1);
    const five = Duration.minutes(5);

    // Platform-wide: the overall series (Repo=all) and the DORA figures.
    const deploymentsPerDay = metric(m.deployments, ALL_REPOS, 'Sum', day, 'prod deployments / day');
    const failureRate = new cloudwatch.MathExpression({
      expression: 'IF(d > 0, 100 * f / d, 0)',
      usingMetrics: { d: deploymentsPerDay, f: metric(m.failedDeployments, ALL_REPOS, 'Sum', day, 'failed prod deployments / day') },
      label: 'change failure rate (%)',
      period: day,
    });
    this.facade.addLargeHeader(`${config.name}: delivery of ${config.repos.length} repos`);
    this.facade.monitorCustom({
      alarmFriendlyName: 'platform',
      humanReadableName: 'All repos',
      metricGroups: [
        { title: 'Pipeline executions', metrics: [metric(m.pipelineSucceeded, ALL_REPOS, 'Sum', five, 'succeeded'), metric(m.pipelineFailed, ALL_REPOS, 'Sum', five, 'failed')] },
        {
          title: `Promotion to prod, minutes (target ${promotionBudgetMinutes})`,
          metrics: [minutes(m.promotionDuration, ALL_REPOS, 'p50', 'p50', 'prod'), minutes(m.promotionDuration, ALL_REPOS, 'Maximum', 'max', 'prod')],
          horizontalAnnotations: [target(promotionBudgetMinutes, `target ${promotionBudgetMinutes} min`)],
        },
        {
          title: `Rollback start, minutes (target ${ROLLBACK_START_TARGET_MINUTES})`,
          metrics: ENVIRONMENT_NAMES.map((env) => minutes(m.rollbackStartDuration, ALL_REPOS, 'Maximum', `${env} max`, env)),
          horizontalAnnotations: [target(ROLLBACK_START_TARGET_MINUTES, `target ${ROLLBACK_START_TARGET_MINUTES} min`)],
        },
        {
          title: `PR validation by repo, p90 minutes (target ${prBudgetMinutes})`,
          metrics: [
            new cloudwatch.MathExpression({
              expression: `SEARCH('{AWS/CodeBuild,ProjectName} MetricName="Duration" ProjectName="${config.name}-" pr-validate', 'p90', 300) / 60`,
              label: '',
              period: five,
            }),
          ],
          horizontalAnnotations: [target(prBudgetMinutes, `target ${prBudgetMinutes} min`)],
        },
        { title: 'Rollbacks started', metrics: [metric(m.rollbackStarted, ALL_REPOS, 'Sum', five, 'rollbacks')] },
        {
          title: 'Failed executions by repo',
          metrics: [
            new cloudwatch.MathExpression({
              expression: `SEARCH('{${DATAOPS_METRICS.namespace},${DATAOPS_METRICS.dimensions.repo}} MetricName="${m.pipelineFailed}" NOT ${DATAOPS_METRICS.dimensions.repo}="${ALL_REPOS}"', 'Sum', 300)`,
              label: '',
              period: five,
            }),
          ],
        },
        { title: 'DORA: deployment frequency (prod deployments / day)', metrics: [deploymentsPerDay] },
        {
          title: 'DORA: lead time for changes, hours (commit → prod)',
          metrics: [
            scaled(3600, metric(m.leadTime, ALL_REPOS, 'Average', day, 'lead time'), 'mean lead time (h)', day),
          ],
        },
        {
          title: `DORA: change failure rate, % (target < ${FAILED_DEPLOYMENT_RATE_TARGET_PCT})`,
          metrics: [
            {
              metric: failureRate,
              alarmFriendlyName: 'platform',
              addAlarm: {
                [MONITORING_ALARMS.global[0]]: threshold(
                  FAILED_DEPLOYMENT_RATE_TARGET_PCT,
                  GT,
                  `more than ${FAILED_DEPLOYMENT_RATE_TARGET_PCT}% of today's prod deployments failed or were rolled back`,
                ),
              },
            },
          ],
          horizontalAnnotations: [target(FAILED_DEPLOYMENT_RATE_TARGET_PCT, `target ${FAILED_DEPLOYMENT_RATE_TARGET_PCT} %`)],
        },
        {
          title: 'DORA: time to restore, minutes',
          metrics: [
            scaled(60, metric(m.timeToRestore, ALL_REPOS, 'Average', day, 'time to restore'), 'mean time to restore (min)', day),
          ],
        },
      ],
    });

    // Per repo: outcomes, stage durations, promotion and PR validation against their budgets, rollbacks.
    const sections = config.repos.length <= MAX_REPO_SECTIONS;
    for (const repo of config.repos) this.monitorRepo(repo, names, sections, { prBudgetMinutes, promotionBudgetMinutes, metric, minutes, threshold, GTE, GT });

    const dashboard = this.facade.createdDashboard();
    if (!dashboard) throw new Error('cdk-monitoring-constructs created no dashboard; check the DefaultDashboardFactory options (createDashboard: true)');
    this.dashboard = dashboard;
    const alarms: Record<string, cloudwatch.AlarmBase> = {};
    for (const a of this.facade.createdAlarms()) alarms[a.alarmName] = a.alarm;
    this.alarms = alarms;
  }

  private monitorRepo(
    repo: RepoConfig,
    names: PlatformNames,
    onDashboard: boolean,
    h: {
      prBudgetMinutes: number;
      promotionBudgetMinutes: number;
      metric: (metricName: string, repo: string, statistic: string, period: Duration, label: string, env?: string) => cloudwatch.Metric;
      minutes: (metricName: string, repo: string, statistic: string, label: string, env: string) => cloudwatch.MathExpression;
      threshold: (value: number, op: cloudwatch.ComparisonOperator, description: string) => CustomThreshold;
      GTE: cloudwatch.ComparisonOperator;
      GT: cloudwatch.ComparisonOperator;
    },
  ): void {
    const m = DATAOPS_METRICS.names;
    const five = Duration.minutes(5);
    const [pipelineFailed, promotionOverBudget, prValidationOverBudget, rollbackStarted] = MONITORING_ALARMS.perRepo;
    const project = codebuild.Project.fromProjectName(this, `PrProject-${repo.name}`, names.projectName(repo, 'pr-validate'));
    const groups: CustomMetricGroup[] = [
      {
        title: 'Pipeline executions',
        metrics: [
          h.metric(m.pipelineSucceeded, repo.name, 'Sum', five, 'succeeded'),
          {
            metric: h.metric(m.pipelineFailed, repo.name, 'Sum', five, 'failed'),
            alarmFriendlyName: repo.name,
            addAlarm: { [pipelineFailed]: h.threshold(1, h.GTE, `an execution of pipeline ${names.pipelineName(repo)} failed`) },
          },
        ],
      },
      {
        title: 'Stage durations, minutes (mean)',
        metrics: ENVIRONMENT_NAMES.map((env) => h.minutes(m.stageDuration, repo.name, 'Average', env, env)),
      },
      {
        title: `Promotion, minutes (target ${h.promotionBudgetMinutes})`,
        metrics: [
          {
            metric: h.metric(m.promotionDuration, repo.name, 'Maximum', five, 'prod promotion (s)', 'prod'),
            alarmFriendlyName: repo.name,
            addAlarm: {
              [promotionOverBudget]: h.threshold(
                h.promotionBudgetMinutes * 60,
                h.GT,
                `a promotion to prod took more than ${h.promotionBudgetMinutes} minutes from approval`,
              ),
            },
          },
          h.minutes(m.promotionDuration, repo.name, 'Maximum', 'staging', 'staging'),
        ],
      },
      {
        title: 'Rollbacks started',
        metrics: [
          {
            metric: h.metric(m.rollbackStarted, repo.name, 'Sum', five, 'rollbacks'),
            alarmFriendlyName: repo.name,
            addAlarm: { [rollbackStarted]: h.threshold(1, h.GTE, `a rollback of ${repo.name} started; see dataops status --repo ${repo.name}`) },
          },
        ],
      },
      {
        title: `PR validation p90, seconds (target ${h.prBudgetMinutes * 60})`,
        metrics: [
          {
            metric: project.metricDuration({ statistic: 'p90', period: five, label: 'p90 (s)' }),
            alarmFriendlyName: repo.name,
            addAlarm: {
              [prValidationOverBudget]: h.threshold(
                h.prBudgetMinutes * 60,
                h.GT,
                `PR validation builds of ${repo.name} took more than ${h.prBudgetMinutes} minutes (p90 over 5 minutes)`,
              ),
            },
          },
        ],
      },
    ];
    this.facade.monitorCustom({
      alarmFriendlyName: repo.name,
      humanReadableName: `${repo.name} (${repo.kinds.join(', ')})`,
      metricGroups: groups,
      addToDetailDashboard: onDashboard,
    });

    // PR validation: CodeBuild's own metrics of the repo's PR project, found by its configured name.
    // The alarm is built here rather than with the library's addDurationP90Alarm: that one compares
    // CodeBuild's Duration (seconds) with a threshold in milliseconds (cdk-monitoring-constructs 10.2).
    this.facade.monitorCodeBuildProject({
      project,
      alarmFriendlyName: `${repo.name}-pr-validation`,
      humanReadableName: `${repo.name}: PR validation builds`,
      addToDetailDashboard: onDashboard,
    });
  }
}
