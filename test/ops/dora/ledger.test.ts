import { doraInputFromEvents } from '../../../lib/ops/dora/from-ledger';
import { computeDora, type DoraReport } from '../../../lib/ops/dora/model';
import { helpOf, runDataops } from '../../cli/run-command';
import { CodePipelineFake } from '../../helpers/codepipeline-fake';
import { useLocalAws } from '../helpers/cli-env';
import { PlatformHistory } from '../helpers/platform-history';

describe('DORA from a ledger written by the runtime (moto, Recorder, Rollback handler)', () => {
  const fake = new CodePipelineFake();
  let h: PlatformHistory;
  beforeAll(async () => {
    await fake.start();
    // GIVEN two repos' history in March 2026:
    h = await PlatformHistory.create(fake, ['orchestration', 'dbt-core-models']);
    // orchestration: three good releases, the third rolled back by on-call an hour later
    await h.release({ repo: 'orchestration', version: '20260302.1+aaa1111', prodAt: '2026-03-02T10:00:00.000Z' });
    await h.release({ repo: 'orchestration', version: '20260303.2+bbb2222', prodAt: '2026-03-03T10:00:00.000Z' });
    await h.release({ repo: 'orchestration', version: '20260304.3+ccc3333', prodAt: '2026-03-04T10:00:00.000Z' });
    const rb = await h.rollback({ repo: 'orchestration', at: '2026-03-04T11:00:00.000Z' });
    expect(rb.status).toBe('started');
    // dbt-core-models: a good release, one whose prod stage failed, then a fix the next day
    await h.release({ repo: 'dbt-core-models', version: '20260302.7+ddd4444', prodAt: '2026-03-02T12:00:00.000Z' });
    await h.release({ repo: 'dbt-core-models', version: '20260305.8+eee5555', prodAt: '2026-03-05T12:00:00.000Z', prodOutcome: 'failed' });
    await h.release({ repo: 'dbt-core-models', version: '20260306.9+fff6666', prodAt: '2026-03-06T12:00:00.000Z' });
  });
  afterAll(() => fake.stop());
  useLocalAws(() => fake.endpoint);

  const window = { from: '2026-03-01T00:00:00.000Z', to: '2026-03-11T00:00:00.000Z' };

  it('computes the four figures per repo from the recorded events', async () => {
    // WHEN the figures are computed from the ledger's events
    const report = computeDora(doraInputFromEvents(await h.ledger.eventsBetween(window.from, window.to)), window);
    // THEN orchestration: 3 deployments, 1 of 3 changes rolled back, restored by the rollback 6 minutes later
    expect(report.repos.orchestration).toMatchObject({
      deployments: 3,
      changeFailure: { changes: 3, failed: 1 },
      timeToRestore: { incidents: 1, restored: 1, medianMinutes: 6 },
    });
    // AND dbt-core-models: 2 deployments, the failed prod stage restored by the next day's fix
    expect(report.repos['dbt-core-models']).toMatchObject({
      deployments: 2,
      changeFailure: { changes: 3, failed: 1 },
      timeToRestore: { incidents: 1, restored: 1, medianMinutes: 24 * 60 },
    });
    // AND lead time runs from the dev promotion (44 minutes before prod) for every deployment
    expect(report.overall.leadTime.samples).toBe(5);
    expect(report.overall.leadTime.medianHours).toBeCloseTo(44 / 60, 6);
    expect(report.overall.deploymentsPerDay).toBeCloseTo(0.5, 9);
    expect(report.overall.changeFailure.rate).toBeCloseTo(2 / 6, 9);
  });

  it('prints the same figures through `dataops dora --format json`', async () => {
    const r = await runDataops(['dora', '--since', '2026-03-01', '--until', '2026-03-11', '--format', 'json', '--ledger-table', h.tableName]);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as DoraReport;
    expect(report.overall.deployments).toBe(5);
    expect(report.repos.orchestration.changeFailure).toEqual({ changes: 3, failed: 1, rate: 1 / 3 });
  });

  it('prints a table per repo with an overall row, and filters with --repo', async () => {
    const all = await runDataops(['dora', '--since', '2026-03-01', '--until', '2026-03-11', '--ledger-table', h.tableName]);
    expect(all.stdout).toMatch(/^orchestration +3 +0\.30 /m);
    expect(all.stdout).toMatch(/^ALL +5 +0\.50 +0\.7 +0\.7 +33\.3% \(2\/6\) /m);
    const one = await runDataops(['dora', '--since', '2026-03-01', '--until', '2026-03-11', '--repo', 'dbt-core-models', '--format', 'json', '--ledger-table', h.tableName]);
    expect(Object.keys((JSON.parse(one.stdout) as DoraReport).repos)).toEqual(['dbt-core-models']);
  });

  it('fails naming a repo the config does not know', async () => {
    const r = await runDataops(['dora', '--repo', 'nope', '--ledger-table', h.tableName]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/--repo 'nope' is not a repo of platform 'northstar'; known repos: ingest-postgres/);
  });

  it('lists every option in --help', () => {
    const help = helpOf('dora');
    for (const o of ['--since <when>', '--until <when>', '--repo <name>', '--format <format>', '-c, --config <path>', '--ledger-table <name>']) expect(help).toContain(o);
  });
});

describe('DORA lead time from the release commit time', () => {
  const fake = new CodePipelineFake();
  beforeAll(() => fake.start());
  afterAll(() => fake.stop());
  const window = { from: '2026-03-01T00:00:00.000Z', to: '2026-03-11T00:00:00.000Z' };

  it.each([
    { name: 'runs from the commit time the deployment records carry', commitAt: '2026-03-01T10:00:00.000Z', hours: 24 },
    { name: 'falls back to the first ledger record for deployments recorded without a commit time', commitAt: undefined, hours: 44 / 60 },
  ])('$name', async ({ commitAt, hours }) => {
    // GIVEN a release committed a day before it reached prod (or records without its commit time)
    const h = await PlatformHistory.create(fake, ['orchestration']);
    await h.release({ repo: 'orchestration', version: '20260301.1+aaa1111', prodAt: '2026-03-02T10:00:00.000Z', commitAt });
    // WHEN the figures are computed from the ledger
    const report = computeDora(doraInputFromEvents(await h.ledger.eventsBetween(window.from, window.to)), window);
    // THEN lead time is commit → prod success (the prod stage ends at prodAt)
    expect(report.repos.orchestration.leadTime.samples).toBe(1);
    expect(report.repos.orchestration.leadTime.medianHours).toBeCloseTo(hours, 6);
  });
});
