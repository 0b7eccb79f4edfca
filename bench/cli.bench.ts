/**
 * Start-up time of the `dataops` command, as a user sees it (`node bin/dataops.js`, the TypeScript run
 * through tsx).
 *
 * - `cli_help_ms`: wall time of `dataops --help`, median of 7 runs after one warm-up run (the first run
 *   compiles the CLI into tsx's cache). Target: under 1,000 ms. It stays low only while every command
 *   loads its engine inside its action (test/cli/startup.test.ts checks which modules `--help` loads).
 * - `cli_version_ms`: the same for `dataops --version`.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';
import type { BenchResult } from './run';

const ROOT = path.resolve(__dirname, '..');
const BIN = path.join(ROOT, 'bin', 'dataops.js');
const RUNS = 7;

/** Median wall time in ms of `node bin/dataops.js ARGS`, after one warm-up run. */
function medianMs(args: readonly string[]): number {
  const once = (): number => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8' });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`dataops ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return ms;
  };
  once();
  const times = Array.from({ length: RUNS }, once).sort((a, b) => a - b);
  return Math.round(times[Math.floor(RUNS / 2)]);
}

export async function run(): Promise<BenchResult[]> {
  return [
    { name: 'cli_help_ms', value: medianMs(['--help']), unit: 'ms' },
    { name: 'cli_version_ms', value: medianMs(['--version']), unit: 'ms' },
  ];
}
