import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks, HIPAASecurityChecks } from 'cdk-nag';
import type { PlatformConfig } from '../../lib/config/schema';
import { MAX_REPO_SECTIONS, PlatformMonitoring } from '../../lib/constructs/monitoring';
import { DATAOPS_METRICS, MONITORING_ALARMS, monitoringAlarmCount } from '../../lib/ops/metrics';
import { makeTestConfig } from '../helpers/config';

interface Synth {
  readonly template: Template;
  readonly topicId: string;
  readonly dashboardBody: string;
  readonly outdir: string;
}

/** The monitoring construct alone in a stack with an encrypted alerts topic, as the tooling stack holds it. */
function synth(config: PlatformConfig, options: { nag?: boolean } = {}): Synth {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-monitoring-'));
  const app = new App({ outdir });
  const stack = new Stack(app, 'Tooling', { env: { account: config.toolingAccount, region: config.region } });
  const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
  const topic = new sns.Topic(stack, 'AlertsTopic', { masterKey: key, enforceSSL: true });
  new PlatformMonitoring(stack, 'Monitoring', { config, alertsTopic: topic });
  if (options.nag) Validations.of(app).addPlugins(new HIPAASecurityChecks(app), new AwsSolutionsChecks(app));
  app.synth();
  const template = Template.fromStack(stack);
  const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  return {
    template,
    topicId: stack.getLogicalId(topic.node.defaultChild as sns.CfnTopic),
    dashboardBody: JSON.stringify(dashboards.map((d) => d.Properties.DashboardBody)),
    outdir,
  };
}

const widgetCount = (body: string) => (body.match(/\\"type\\":\\"(metric|text|alarm)\\"/g) ?? []).length;

describe('PlatformMonitoring', () => {
  const config = makeTestConfig();
  const s = synth(config);

  it('creates one dashboard and exactly the alarms the cost model counts, each notifying the alerts topic', () => {
    // GIVEN the default config (8 repos) WHEN synthesized
    // THEN one dashboard, 4 alarms per repo plus the platform-wide one, all with the alerts topic as action
    s.template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    s.template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'northstar-delivery' });
    const alarms = Object.values(s.template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(monitoringAlarmCount(config.repos.length));
    for (const a of alarms) {
      expect(a.Properties.ActionsEnabled).toBe(true);
      expect(a.Properties.AlarmActions).toEqual([{ Ref: s.topicId }]);
    }
  });

  const repo = 'dbt-core-models';
  it.each([
    { alarm: 'PipelineFailed', namespace: 'DataOps', metric: 'PipelineExecutionFailed', dims: [{ Name: 'Repo', Value: repo }], stat: 'Sum', threshold: 1, op: 'GreaterThanOrEqualToThreshold' },
    { alarm: 'PromotionOverBudget', namespace: 'DataOps', metric: 'PromotionSeconds', dims: [{ Name: 'Environment', Value: 'prod' }, { Name: 'Repo', Value: repo }], stat: 'Maximum', threshold: 15 * 60, op: 'GreaterThanThreshold' },
    { alarm: 'PrValidationOverBudget', namespace: 'AWS/CodeBuild', metric: 'Duration', dims: [{ Name: 'ProjectName', Value: `northstar-${repo}-pr-validate` }], stat: 'p90', threshold: 10 * 60, op: 'GreaterThanThreshold' },
    { alarm: 'RollbackStarted', namespace: 'DataOps', metric: 'RollbackStarted', dims: [{ Name: 'Repo', Value: repo }], stat: 'Sum', threshold: 1, op: 'GreaterThanOrEqualToThreshold' },
  ])('alarms on $alarm for each repo from $namespace $metric ($stat, threshold $threshold)', ({ alarm, namespace, metric, dims, stat, threshold, op }) => {
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `northstar-${repo}-${alarm}`,
      Threshold: threshold,
      ComparisonOperator: op,
      TreatMissingData: 'notBreaching',
      Metrics: Match.arrayWith([
        Match.objectLike({ MetricStat: Match.objectLike({ Stat: stat, Metric: { Namespace: namespace, MetricName: metric, Dimensions: dims } }) }),
      ]),
    });
  });

  it('alarms when more than 2% of a day\'s prod deployments failed, from the overall DORA series', () => {
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `northstar-platform-${MONITORING_ALARMS.global[0]}`,
      Threshold: 2,
      ComparisonOperator: 'GreaterThanThreshold',
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'IF(d > 0, 100 * f / d, 0)', ReturnData: true }),
        Match.objectLike({ Id: 'd', MetricStat: Match.objectLike({ Period: 86400, Stat: 'Sum', Metric: Match.objectLike({ MetricName: 'Deployments', Dimensions: [{ Name: 'Repo', Value: 'all' }] }) }) }),
        Match.objectLike({ Id: 'f', MetricStat: Match.objectLike({ Period: 86400, Stat: 'Sum', Metric: Match.objectLike({ MetricName: 'FailedDeployments' }) }) }),
      ]),
    });
  });

  it.each([
    { budget: 'ci.prTimeBudgetMinutes', mutate: (r: any) => (r.ci.prTimeBudgetMinutes = 7), alarm: 'PrValidationOverBudget', threshold: 420 },
    { budget: 'ci.promotionBudgetMinutes', mutate: (r: any) => (r.ci.promotionBudgetMinutes = 20), alarm: 'PromotionOverBudget', threshold: 1200 },
  ])('takes the $alarm threshold from $budget', ({ mutate, alarm, threshold }) => {
    // GIVEN a config with a different budget WHEN synthesized THEN the alarm uses it, in seconds
    const changed = synth(makeTestConfig({ mutate }));
    changed.template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: `northstar-${repo}-${alarm}`, Threshold: threshold });
  });

  it.each([
    'target 10 min',
    'target 15 min',
    'target 5 min',
    'Pipeline executions',
    'Failed executions by repo',
    'Rollbacks started',
    'DORA: deployment frequency',
    'DORA: lead time for changes',
    'DORA: change failure rate',
    'DORA: time to restore',
  ])('shows "%s" on the dashboard', (text) => {
    expect(s.dashboardBody).toContain(text);
  });

  it('gives every repo its own dashboard section', () => {
    for (const r of config.repos) expect(s.dashboardBody).toContain(`${r.name} (${r.kinds.join(', ')})`);
  });

  it('reads only DataOps metric names that the runtime publishes (DATAOPS_METRICS)', () => {
    const known = new Set<string>(Object.values(DATAOPS_METRICS.names));
    const used = new Set<string>();
    const templateText = JSON.stringify(s.template.toJSON());
    for (const match of templateText.matchAll(/\\?"Namespace\\?":\\?"DataOps\\?",\\?"MetricName\\?":\\?"(\w+)/g)) used.add(match[1]);
    for (const match of s.dashboardBody.matchAll(/\[\\\\?"DataOps\\\\?",\\\\?"(\w+)/g)) used.add(match[1]);
    expect(used.size).toBeGreaterThan(5);
    for (const name of used) expect(known).toContain(name);
  });

  it(`keeps a 64-repo dashboard under CloudWatch's 500 widgets by dropping repo sections beyond ${MAX_REPO_SECTIONS}, and keeps every alarm`, () => {
    const big = synth(makeTestConfig({ repoCount: 64 }));
    expect(widgetCount(big.dashboardBody)).toBeLessThanOrEqual(500);
    expect(widgetCount(big.dashboardBody)).toBeGreaterThan(5);
    big.template.resourceCountIs('AWS::CloudWatch::Alarm', monitoringAlarmCount(64));
    expect(widgetCount(s.dashboardBody)).toBeLessThanOrEqual(500);
  });

  it('passes cdk-nag HIPAA Security and AWS Solutions with no finding', () => {
    // GIVEN the construct with both rule packs WHEN synthesized THEN synthesis succeeds with no violation
    const nagged = synth(config, { nag: true });
    const report = JSON.parse(fs.readFileSync(path.join(nagged.outdir, 'validation-report.json'), 'utf8')) as { pluginReports: Array<{ violations: unknown[] }> };
    expect(report.pluginReports.flatMap((p) => p.violations)).toEqual([]);
  });
});
