import { ALL_REPOS, DATAOPS_METRICS, REPO_ENV_METRICS, REPO_METRICS, customMetricCount, metricDataFor, type MetricObservation } from '../../lib/ops/metrics';

const at = new Date('2026-11-28T12:00:00Z');
const N = DATAOPS_METRICS.names;

describe('metricDataFor', () => {
  it.each<[string, MetricObservation, Array<[string, number, string | undefined]>]>([
    ['a succeeded execution', { kind: 'pipeline-finished', repo: 'r', succeeded: true, at }, [[N.pipelineSucceeded, 1, undefined]]],
    ['a failed execution', { kind: 'pipeline-finished', repo: 'r', succeeded: false, at }, [[N.pipelineFailed, 1, undefined]]],
    ['a stage duration', { kind: 'stage-finished', repo: 'r', env: 'dev', seconds: 42, at }, [[N.stageDuration, 42, 'dev']]],
    ['a promotion', { kind: 'promotion-finished', repo: 'r', env: 'prod', seconds: 600, at }, [[N.promotionDuration, 600, 'prod']]],
    ['a rollback start', { kind: 'rollback-started', repo: 'r', env: 'prod', secondsToStart: 3, at }, [[N.rollbackStarted, 1, undefined], [N.rollbackStartDuration, 3, 'prod']]],
    ['a good prod deployment', { kind: 'prod-deployment', repo: 'r', failed: false, leadTimeSeconds: 3600, at }, [[N.deployments, 1, undefined], [N.failedDeployments, 0, undefined], [N.leadTime, 3600, undefined]]],
    ['a failed prod deployment without a commit time', { kind: 'prod-deployment', repo: 'r', failed: true, leadTimeSeconds: null, at }, [[N.deployments, 1, undefined], [N.failedDeployments, 1, undefined]]],
    ['a restore', { kind: 'prod-restored', repo: 'r', seconds: 900, at }, [[N.timeToRestore, 900, undefined]]],
  ])('publishes %s for the repo and for the overall series', (_what, observation, expected) => {
    // WHEN an observation is turned into metric data
    const data = metricDataFor(observation);
    // THEN each expected datum appears once with Repo=r and once with Repo=all, with the env when given
    expect(data).toHaveLength(expected.length * 2);
    for (const [name, value, env] of expected) {
      for (const repo of ['r', ALL_REPOS]) {
        expect(data).toContainEqual(
          expect.objectContaining({
            MetricName: name,
            Value: value,
            Timestamp: at,
            Dimensions: [{ Name: 'Repo', Value: repo }, ...(env ? [{ Name: 'Environment', Value: env }] : [])],
          }),
        );
      }
    }
  });

  it('uses only metric names the dashboard knows', () => {
    const known = new Set<string>([...REPO_METRICS, ...REPO_ENV_METRICS]);
    expect(new Set(Object.values(N))).toEqual(known);
  });

  it.each([
    [1, 3, 2 * (7 + 3 * 3)],
    [8, 3, 9 * (7 + 3 * 3)],
  ])('counts %i repos in %i environments as the right number of billable metrics', (repos, envs, expected) => {
    expect(customMetricCount(repos, envs)).toBe(expected);
  });
});
