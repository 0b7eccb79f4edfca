/**
 * dag_guard_interleavings_checked: how many interleavings of deploys and rollbacks across repos
 * that share DAGs (with crashes and retries, and DAGs a person paused) the DAG hold property was
 * checked on and held for — a DAG is never unpaused while a holder remains, and every DAG ends in
 * its state from before the first pause. It runs the model of test/runtime/rollback/dag-holds-model.ts
 * (the real DagHolds protocol over an in-memory store with S3's conditional writes), as the test
 * does. Target: at least 1,000. `BENCH_DAG_GUARD_RUNS` (default 1000) sets the number; a
 * counterexample fails the bench.
 *
 * Also reported: dag_guard_check_ms, the time the check took.
 */
import fc from 'fast-check';
import { DAG_GUARD_RUNS, holdsProperty, realProtocol } from '../test/runtime/rollback/dag-holds-model';
import type { BenchResult } from './run';

export async function run(): Promise<BenchResult[]> {
  const raw = process.env.BENCH_DAG_GUARD_RUNS;
  const runs = raw === undefined ? DAG_GUARD_RUNS : Number(raw);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`BENCH_DAG_GUARD_RUNS is '${raw}', expected a whole number of interleavings >= 1; unset it for ${DAG_GUARD_RUNS}`);
  const started = process.hrtime.bigint();
  const out = await fc.check(holdsProperty(realProtocol), { numRuns: runs });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (out.failed) throw new Error(`the DAG hold property failed after ${out.numRuns} interleavings (seed ${out.seed}, path ${out.counterexamplePath}): ${String(out.errorInstance)}`);
  return [
    { name: 'dag_guard_interleavings_checked', value: out.numRuns, unit: 'interleavings' },
    { name: 'dag_guard_check_ms', value: Math.round(ms), unit: 'ms' },
  ];
}
