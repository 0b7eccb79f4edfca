import { datasetDag, inventoryFragment, motoRegistry } from '../../helpers/inventory';
import { rollback } from '../../../lib/runtime/rollback/rollback';
import type { RollbackOutcome } from '../../../lib/ops/rollback/run';
import { helpOf, runDataops } from '../../cli/run-command';
import { CodePipelineFake } from '../../helpers/codepipeline-fake';
import { memoryLog } from '../../helpers/ledger';
import { useLocalAws } from '../helpers/cli-env';
import { LambdaInvokeShim } from '../helpers/lambda-invoke-shim';
import { PlatformHistory } from '../helpers/platform-history';

describe('dataops rollback through the Rollback handler (Lambda Invoke shim), moto and the CodePipeline fake', () => {
  const fake = new CodePipelineFake();
  let h: PlatformHistory;
  let shim: LambdaInvokeShim;
  const REPOS = ['orchestration', 'dbt-core-models', 'spark-claims', 'ingest-postgres'];

  beforeAll(async () => {
    await fake.start();
    h = await PlatformHistory.create(fake, REPOS);
    // The asset graph registry the function reads (moto S3): repo reporting has a DAG scheduled on stg_claims' Dataset.
    const registry = await motoRegistry(inventoryFragment('reporting', { airflow: [datasetDag('claims_report', { readsUri: 'snowflake://analytics/core/stg_claims' })] }));
    shim = new LambdaInvokeShim({
      'northstar-rollback': (event) => rollback(event, { codepipeline: fake.client(), ledger: h.ledger, pipelines: h.pipelines, log: memoryLog(), registry }),
    });
    await shim.start();
    // GIVEN each repo ran two good releases in prod (spark-claims only one)
    for (const repo of REPOS) {
      await h.release({ repo, version: '20260302.1+aaa1111', prodAt: '2026-03-02T10:00:00.000Z' });
      if (repo !== 'spark-claims') await h.release({ repo, version: '20260303.2+bbb2222', prodAt: '2026-03-03T10:00:00.000Z' });
    }
  });
  afterAll(async () => {
    await fake.stop();
    await shim.stop();
  });
  useLocalAws(() => fake.endpoint, () => shim.endpoint);

  const args = (repo: string, ...more: string[]) => ['rollback', '--repo', repo, '--env', 'prod', '--reason', 'bake alarm on claims row counts', '--ledger-table', h.tableName, '--poll-interval', '0.05', ...more];
  /** Lets the rollback execution of `repo` succeed once CodePipeline has started it. */
  function finishRollbackWhenStarted(repo: string, status: 'Succeeded' | 'Failed' = 'Succeeded'): void {
    const pipeline = h.pipelines[repo];
    let seenAtPoll: number | undefined;
    const polls = () => fake.callsOf('ListPipelineExecutions').length;
    const timer = setInterval(() => {
      const rb = fake.pipelines.get(pipeline)?.executions.find((e) => e.executionType === 'ROLLBACK' && e.status === 'InProgress');
      if (!rb) return;
      seenAtPoll ??= polls();
      // finish only after the command has seen it running at least once
      if (polls() >= seenAtPoll + 2) {
        fake.setStage(pipeline, rb.pipelineExecutionId, 'Prod', status, status);
        clearInterval(timer);
      }
    }, 20);
    setTimeout(() => clearInterval(timer), 20_000).unref();
  }

  it('prints the plan, with the DAGs of other repos that use the data it may restore, and changes nothing with --dry-run', async () => {
    // GIVEN the current prod release of dbt-core-models swapped ANALYTICS.CORE.STG_CLAIMS in (its dbt apply record)
    const current = await h.ledger.getCurrent('dbt-core-models', 'prod');
    const t = { database: 'ANALYTICS', schema: 'CORE', name: 'STG_CLAIMS' };
    await h.ledger.appendEvent({
      kind: 'deploy-step', repo: 'dbt-core-models', env: 'prod', actor: 'codebuild', version: current!.version, executionId: current!.executionId, assetKind: 'dbt', step: 'apply', result: 'succeeded', writes: 4, summary: 'swapped', message: 'swapped',
      previous: { releaseVersion: current!.version, bucket: 'b', prefix: 'dbt/dbt-core-models/', objects: {}, preDeployAt: '2026-03-03T10:00:00Z', tables: [{ uniqueId: 'model.core.stg_claims', table: t, keptAs: { ...t, name: 'STG_CLAIMS__DATAOPS_V2' }, before: { lastAltered: '2026-03-03T09:00:00Z', rowCount: 2, comment: null }, lastAlteredAfterSwap: '2026-03-03T10:00:05Z' }] },
    });
    const before = fake.callsOf('RollbackStage').length;
    // WHEN on-call asks for a dry run
    const r = await runDataops(args('dbt-core-models', '--dry-run'));
    // THEN the plan is printed, naming the other repo's DAG, its repo and the table, and nothing was started
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('Dry run: nothing was changed. Rolling back dbt-core-models/prod would:');
    expect(r.stdout).toContain('release going back: 20260303.2+bbb2222 → 20260302.1+aaa1111');
    expect(r.stdout).toMatch(/DAGs to pause first: 1 \(each put back to its prior paused state after the data restore\)/);
    expect(r.stdout).toMatch(/\n {4}reporting\/claims_report: reads ANALYTICS\.CORE\.STG_CLAIMS, which the rollback restores \(dataset snowflake:\/\/analytics\/core\/stg_claims → dataset\)\n/);
    expect(r.stdout).toMatch(/assets: restore 2, remove 0/);
    expect(r.stdout).toMatch(/data actions: /);
    expect(r.stdout).toMatch(/needs a person: /);
    expect(fake.callsOf('RollbackStage').length).toBe(before);
  });

  it('invokes the Rollback function with the caller identity, and follows the rollback execution until it succeeds', async () => {
    // GIVEN CodePipeline finishes the rollback execution shortly after it starts
    finishRollbackWhenStarted('orchestration');
    // WHEN on-call rolls orchestration back in prod
    const r = await runDataops(args('orchestration', '--format', 'json'));
    // THEN the function got the request with the caller's ARN, RollbackStage targeted the first release, and it finished
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const out = JSON.parse(r.stdout) as RollbackOutcome;
    expect(out.response).toMatchObject({ status: 'started', fromVersion: '20260303.2+bbb2222', toVersion: '20260302.1+aaa1111' });
    expect(out.execution).toMatchObject({ id: out.response.rollbackExecutionId, status: 'Succeeded' });
    expect(out.initiationMs).toBeLessThan(60_000);
    expect(shim.invocations.at(-1)?.payload).toMatchObject({ repo: 'orchestration', env: 'prod', reason: 'bake alarm on claims row counts', requestedBy: expect.stringMatching(/^arn:aws:(iam|sts)::\d{12}:/), dryRun: false });
    expect(fake.callsOf('RollbackStage').at(-1)?.input).toMatchObject({ pipelineName: 'northstar-orchestration', stageName: 'Prod' });
    // AND the ledger holds the started rollback
    const events = await h.ledger.eventsFor('orchestration', 'prod');
    expect(events.filter((e) => e.kind === 'rollback').map((e) => e.result)).toEqual(['started']);
  });

  it('shows progress lines until CodePipeline reports the rollback finished', async () => {
    finishRollbackWhenStarted('ingest-postgres');
    const r = await runDataops(args('ingest-postgres'));
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/requesting the rollback of ingest-postgres\/prod/);
    expect(r.stderr).toMatch(/RollbackStage called after [\d.]+ s; rollback execution [0-9a-f-]+ of northstar-ingest-postgres started/);
    expect(r.stderr).toMatch(/rollback execution [0-9a-f-]+: InProgress/);
    expect(r.stderr).toMatch(/rollback execution [0-9a-f-]+: Succeeded/);
    expect(r.stdout).toContain('Rolled back ingest-postgres/prod:');
  });

  it('fails naming the cause when there is no earlier successful release', async () => {
    const r = await runDataops(args('spark-claims'));
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/spark-claims\/prod has no earlier successful release than 20260302\.1\+aaa1111 to roll back to; fix forward instead/);
  });

  it('fails naming the cause on a rollback of a rollback', async () => {
    // GIVEN orchestration's prod runs the release a rollback brought back (earlier test)
    await new Promise((r) => setTimeout(r, 200));
    h.clock.set('2026-03-05T00:00:00.000Z');
    const rbExec = fake.pipelines.get(h.pipelines.orchestration)!.executions.find((e) => e.executionType === 'ROLLBACK')!;
    await h.ledger.recordSuccess({ repo: 'orchestration', env: 'prod', version: '20260302.1+aaa1111', executionId: rbExec.pipelineExecutionId, manifestSha256: null, wasRollback: true });
    // WHEN it is rolled back again THEN the rollback is refused with the reason
    const r = await runDataops(args('orchestration'));
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/a rollback of a rollback is refused/);
  });

  it('fails naming the lock holder when a deployment is in progress', async () => {
    // GIVEN a new execution deploying dbt-core-models to prod right now, holding the lock
    const pipeline = h.pipelines['dbt-core-models'];
    const running = fake.startExecution(pipeline);
    fake.setStage(pipeline, running, 'Prod', 'InProgress');
    h.clock.set(new Date().toISOString()); // the lock lasts two hours from now, as the CLI sees it
    await h.ledger.acquireLock('dbt-core-models', 'prod', running);
    // WHEN on-call asks for a rollback THEN CodePipeline refuses and the message names the lock holder
    const r = await runDataops(args('dbt-core-models'));
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/the stage is currently running/);
    expect(r.stderr).toContain(`the prod lock of dbt-core-models is held by execution ${running}`);
  });

  it.each([
    [['rollback', '--repo', 'orchestration', '--env', 'qa', '--reason', 'x'], /--env 'qa' is not an environment; use one of dev, staging, prod/],
    [['rollback', '--repo', 'nope', '--env', 'prod', '--reason', 'x'], /--repo 'nope' is not a repo of platform 'northstar'/],
    [['rollback', '--repo', 'orchestration', '--env', 'prod'], /--reason is required; give why in a few words/],
  ])('fails on %j naming the problem', async (argv, message) => {
    const r = await runDataops([...argv, '--ledger-table', h.tableName]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });

  it('lists every option in --help', () => {
    const help = helpOf('rollback');
    for (const o of ['--repo <name>', '--env <env>', '--to <version>', '--reason <text>', '--dry-run', '--no-wait', '--timeout <seconds>', '--poll-interval <seconds>', '--format <format>', '--out <file>', '-c, --config <path>', '--ledger-table <name>', 'rollback of a rollback']) {
      expect(help).toContain(o);
    }
  });
});
