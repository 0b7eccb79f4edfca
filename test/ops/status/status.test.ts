import type { EnvStatus } from '../../../lib/ops/status/status';
import { helpOf, runDataops } from '../../cli/run-command';
import { CodePipelineFake } from '../../helpers/codepipeline-fake';
import { makeTestConfig } from '../../helpers/config';
import { useLocalAws } from '../helpers/cli-env';
import { PlatformHistory } from '../helpers/platform-history';

describe('dataops status against the ledger (moto) and GetPipelineState (CodePipeline fake)', () => {
  const fake = new CodePipelineFake();
  let h: PlatformHistory;
  let waiting: string;
  beforeAll(async () => {
    await fake.start();
    h = await PlatformHistory.create(fake, makeTestConfig().repos.map((r) => r.name));
    // GIVEN orchestration: v1 in prod, v2 failed in prod, and v3 waiting for the staging approval
    await h.release({ repo: 'orchestration', version: '20260302.1+aaa1111', prodAt: '2026-03-02T10:00:00.000Z' });
    await h.release({ repo: 'orchestration', version: '20260303.2+bbb2222', prodAt: '2026-03-03T10:00:00.000Z', prodOutcome: 'failed' });
    await h.release({ repo: 'orchestration', version: '20260304.3+ccc3333', prodAt: '2026-03-04T10:00:00.000Z', until: 'dev' });
    const pipeline = h.pipelines.orchestration;
    waiting = fake.pipelines.get(pipeline)!.executions[0].pipelineExecutionId;
    fake.setStage(pipeline, waiting, 'Staging', 'InProgress');
    fake.setApproval(pipeline, waiting, 'Staging', 'Approve', { status: 'InProgress', at: new Date('2026-03-04T09:50:00.000Z') });
    // AND the staging lock is held by that execution (taken now, as the CLI's clock sees it)
    h.clock.set(new Date().toISOString());
    await h.ledger.acquireLock('orchestration', 'staging', waiting);
  });
  afterAll(() => fake.stop());
  useLocalAws(() => fake.endpoint);

  const statusOf = async (...args: string[]) => {
    const r = await runDataops(['status', '--format', 'json', '--ledger-table', h.tableName, ...args]);
    expect(r.stderr).toBe('');
    return JSON.parse(r.stdout) as EnvStatus[];
  };

  it('shows the current release, the last deployment and its result per environment', async () => {
    const rows = await statusOf('--repo', 'orchestration');
    const prod = rows.find((r) => r.env === 'prod')!;
    expect(prod.current).toMatchObject({ version: '20260302.1+aaa1111', viaRollback: false });
    expect(prod.lastDeployment).toMatchObject({ version: '20260303.2+bbb2222', result: 'failed' });
    const dev = rows.find((r) => r.env === 'dev')!;
    expect(dev.current).toMatchObject({ version: '20260304.3+ccc3333' });
    expect(dev.lastDeployment).toMatchObject({ result: 'succeeded' });
  });

  it('shows what is in progress, the lock and the approval waiting for a person', async () => {
    const [staging] = await statusOf('--repo', 'orchestration', '--env', 'staging');
    expect(staging.inProgress).toEqual({ executionId: waiting, status: 'InProgress' });
    expect(staging.lock).toMatchObject({ holder: waiting });
    expect(staging.pendingApprovals).toEqual([{ action: 'Staging/Approve', executionId: waiting, since: '2026-03-04T09:50:00.000Z' }]);
    expect(staging.current).toMatchObject({ version: '20260303.2+bbb2222' });
  });

  it('covers every configured repo and environment by default, in a table', async () => {
    const r = await runDataops(['status', '--ledger-table', h.tableName]);
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2 + 8 * 3);
    expect(lines[0]).toMatch(/^repo +env +current release +last deployment +in progress +lock +waiting for approval$/);
    expect(lines.find((l) => /^orchestration +staging /.test(l))).toMatch(/Staging\/Approve since 2026-03-04 09:50Z/);
    expect(lines.find((l) => /^spark-claims +prod /.test(l))).toMatch(/^spark-claims +prod +– +– +– +– +–$/);
  });

  it.each([
    [['--env', 'qa'], /--env 'qa' is not an environment; use one of dev, staging, prod/],
    [['--repo', 'nope'], /--repo 'nope' is not a repo of platform 'northstar'/],
  ])('fails on %j naming the problem', async (args, message) => {
    const r = await runDataops(['status', ...args, '--ledger-table', h.tableName]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });

  it('lists every option in --help', () => {
    const help = helpOf('status');
    for (const o of ['--repo <name>', '--env <env>', '--format <format>', '-c, --config <path>', '--ledger-table <name>']) expect(help).toContain(o);
  });
});
