/**
 * rollback_initiation_ms: from `dataops rollback` starting (the CLI's rollback path,
 * lib/ops/rollback/run.ts `runRollback`) to the RollbackStage call as the CodePipeline fake recorded
 * it. The request goes through the Lambda Invoke API (the SDK's LambdaClient, as the CLI sends it) to
 * the local invoke stand-in the rollback tests use, which runs the real Rollback handler against the
 * ledger in moto DynamoDB and the CodePipeline fake. Each run rolls back a different repo whose prod
 * ran two good releases (history written by the runtime's Recorder, as in the ops tests).
 *
 * Prints the median and p95 of N runs (`BENCH_ROLLBACK_RUNS`, default 20); no assertions (the
 * target, 5 minutes on AWS, is dominated there by Lambda cold start and CodePipeline, not measured
 * here). Excludes process start-up and the caller lookup (STS GetCallerIdentity) of the command.
 * Starts and stops its own moto server. `npm run bench -- rollback`.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { BenchResult } from './run';
import { startMoto } from '../test/helpers/servers';

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
}

export async function run(): Promise<BenchResult[]> {
  const runs = Number(process.env.BENCH_ROLLBACK_RUNS ?? 20);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`BENCH_ROLLBACK_RUNS '${process.env.BENCH_ROLLBACK_RUNS}' is not a whole number of runs; use e.g. 20`);
  const moto = await startMoto();
  process.env.DATAOPS_TEST_MOTO_ENDPOINT = moto.endpoint;
  process.env.AWS_ACCESS_KEY_ID ??= 'testing';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'testing';
  // Helpers read the moto endpoint from the environment, so load them after it is set.
  const { CodePipelineFake } = await import('../test/helpers/codepipeline-fake');
  const { PlatformHistory } = await import('../test/ops/helpers/platform-history');
  const { LambdaInvokeShim } = await import('../test/ops/helpers/lambda-invoke-shim');
  const { memoryLog } = await import('../test/helpers/ledger');
  const { rollback } = await import('../lib/runtime/rollback/rollback');
  const { lambdaRollbackInvoker, runRollback } = await import('../lib/ops/rollback/run');

  const fake = new CodePipelineFake();
  await fake.start();
  let shim: InstanceType<typeof LambdaInvokeShim> | undefined;
  try {
    const repos = Array.from({ length: runs }, (_, i) => `bench-rollback-${i}`);
    const h = await PlatformHistory.create(fake, repos);
    for (const repo of repos) {
      await h.release({ repo, version: '20260302.1+aaa1111', prodAt: '2026-03-02T10:00:00.000Z' });
      await h.release({ repo, version: '20260303.2+bbb2222', prodAt: '2026-03-03T10:00:00.000Z' });
    }
    shim = new LambdaInvokeShim({ 'northstar-rollback': (event) => rollback(event, { codepipeline: fake.client(), ledger: h.ledger, pipelines: h.pipelines, log: memoryLog() }) });
    await shim.start();
    const lambda = new LambdaClient({ endpoint: shim.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    const invoke = lambdaRollbackInvoker(lambda, 'northstar-rollback');

    const samples: number[] = [];
    for (const repo of repos) {
      const pipeline = h.pipelines[repo];
      const t0 = Date.now();
      const out = await runRollback(
        { repo, env: 'prod', reason: 'bench', requestedBy: 'arn:aws:iam::111111111111:user/bench', dryRun: false, requestedAt: new Date(t0).toISOString() },
        { invoke, codepipeline: fake.client(), ledger: h.ledger, pipeline, progress: () => undefined, wait: false, pollMs: 50, timeoutMs: 60_000 },
      );
      const call = fake.callsOf('RollbackStage').find((c) => (c.input as { pipelineName?: string }).pipelineName === pipeline);
      if (out.response.status !== 'started' || !call) throw new Error(`rollback of ${repo} did not call RollbackStage (${out.response.status}: ${out.response.message})`);
      samples.push(call.at.getTime() - t0);
    }
    const sorted = [...samples].sort((a, b) => a - b);
    const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
    return [
      { name: 'rollback_initiation_ms', value: median, unit: `ms (median of ${runs})` },
      { name: 'rollback_initiation_ms_p95', value: quantile(sorted, 0.95), unit: `ms (p95 of ${runs})` },
    ];
  } finally {
    await shim?.stop();
    await fake.stop();
    await moto.stop();
  }
}
