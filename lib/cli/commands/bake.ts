import type { Command } from 'commander';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { ProbeDeps } from '../../runtime/bake/probe';
import type { RunOptions } from '../../runtime/orchestrator/runtime';
import { addOutputOptions, UsageError, writeOutput, type CommonOptions } from '../options';
import { runOptions } from './deploy';

/** Options of `dataops bake`. */
interface BakeOptions extends RunOptions, CommonOptions {
  readonly minutes?: string;
  readonly intervalSeconds?: string;
}

const positive = (value: string | undefined, name: string, fallback: number): number => {
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${name} '${value}' is not a positive number`);
  return n;
};

/**
 * `dataops bake`: the Bake action of the prod stage. For the bake's length it probes what the
 * release deployed (failed runs of its DAGs since the deployment; the dbt tests of the models it
 * built, at the first and the last probe) and publishes the count as the
 * VerifyFailures metric the bake alarm watches, once per interval; the stage's alarm condition rolls
 * the stage back. It never clears or triggers a run. Exit 1 only when it could not probe.
 */
export function registerBake(program: Command): void {
  addOutputOptions(
    runOptions(program.command('bake').description("watch a deployed release during the prod bake: probe failed runs of its DAGs and failing tests of the dbt models it built, and publish them to the bake alarm's metric")),
    ['text', 'json'],
    'text',
    'the bake report',
  )
    .option('--minutes <n>', 'how long to probe (default: $BAKE_MINUTES, else ci.prodBakeMinutes of the configuration)')
    .option('--interval-seconds <n>', 'seconds between probes', '60')
    .action(async (opts: BakeOptions) => {
      const { CloudWatchClient, PutMetricDataCommand } = require('@aws-sdk/client-cloudwatch') as typeof import('@aws-sdk/client-cloudwatch');
      const { DATAOPS_METRICS } = require('../../ops/metrics') as typeof import('../../ops/metrics');
      const { buildOrchestration, VERIFY_FAILURES_METRIC } = require('../../runtime/orchestrator/runtime') as typeof import('../../runtime/orchestrator/runtime');
      const { mwaaCliClient } = require('../../runtime/deployers/registry') as typeof import('../../runtime/deployers/registry');
      const { loadPlatformConfig } = require('../../config/loader') as typeof import('../../config/loader');
      const { probeRelease } = require('../../runtime/bake/probe') as typeof import('../../runtime/bake/probe');
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const config = loadPlatformConfig(opts.config);
      const minutes = positive(opts.minutes ?? process.env.BAKE_MINUTES, '--minutes', config.ci.prodBakeMinutes);
      const interval = positive(opts.intervalSeconds, '--interval-seconds', 60);
      const o = await buildOrchestration(opts, log);
      const m = o.release.manifest;
      const events = await o.deps.ledger.eventsFor(m.repo, o.env, { executionId: o.deps.executionId });
      const deployed = events.filter((e) => e.kind === 'deployment' && e.result === 'succeeded').at(-1);
      if (!deployed) throw new UsageError(`execution ${o.deps.executionId} has no succeeded deployment of ${m.repo} to ${o.env} in the ledger; the Bake action runs after Deploy and Verify of the same execution`);
      const since = new Date(deployed.at);
      const secretDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-bake-'));
      let dbtTests: ProbeDeps['dbtTests'];
      if (m.dbt && m.assets.some((a) => a.kind === 'dbt')) {
        const { runReleaseTests, snowflakeDbtEnv } = require('../../runtime/orchestrator/quality-gates') as typeof import('../../runtime/orchestrator/quality-gates');
        // the warehouse connection of the probe's dbt runs; without it dbt names what is missing
        const dbtEnv = await snowflakeDbtEnv(o.environment, o.region, o.targetCredentials, secretDir).catch((e: Error) => {
          log(`warning: the Snowflake deploy secret was not read for the bake's dbt tests: ${e.message}`);
          return {};
        });
        const ctx = { repo: m.repo, env: o.env, environment: o.environment, release: m, releaseDir: o.release.releaseDir, log };
        dbtTests = () => runReleaseTests(ctx, { ledger: o.deps.ledger, executionId: o.deps.executionId, log }, { dbtEnv });
      }
      const deps: ProbeDeps = {
        ...(m.dags.length > 0 ? { airflow: mwaaCliClient({ region: o.region, targetCredentials: o.targetCredentials }, o.environment.mwaa.environmentName), airflowVersion: o.environment.mwaa.airflowVersion } : {}),
        ...(dbtTests ? { dbtTests } : {}),
      };
      const cw = new CloudWatchClient({ region: o.region });
      const until = Date.now() + minutes * 60_000;
      let last: Awaited<ReturnType<typeof probeRelease>>;
      try {
        last = await probeRelease(m, since, deps);
        for (let round = 1; ; round++) {
          await cw.send(
            new PutMetricDataCommand({
              Namespace: DATAOPS_METRICS.namespace,
              MetricData: [
                {
                  MetricName: VERIFY_FAILURES_METRIC,
                  Dimensions: [
                    { Name: DATAOPS_METRICS.dimensions.repo, Value: m.repo },
                    { Name: DATAOPS_METRICS.dimensions.environment, Value: o.env },
                  ],
                  Value: last.failures.length,
                  Unit: 'Count',
                },
              ],
            }),
          );
          log(`bake ${round}: ${last.failures.length === 0 ? 'healthy' : `${last.failures.length} failure(s): ${last.failures.map((f) => `${f.asset} ${f.detail}`).join('; ')}`} (${last.checked.join('; ') || 'nothing to probe'})`);
          if (Date.now() >= until) break;
          // the last probe falls at the end of the bake, so a run that fails late in the window is seen
          const wait = Math.min(interval * 1000, until - Date.now());
          await new Promise((r) => setTimeout(r, wait));
          // the dbt tests take a dbt start-up: they run at the first probe and at the last, at the end of the bake
          last = await probeRelease(m, since, deps, { dbt: Date.now() >= until, lastDbt: last });
        }
      } finally {
        fs.rmSync(secretDir, { recursive: true, force: true });
      }
      const report = { repo: m.repo, version: m.version, env: o.env, since: since.toISOString(), minutes, healthy: last.failures.length === 0, ...last };
      const text =
        opts.format === 'json'
          ? `${JSON.stringify(report, null, 2)}\n`
          : `${m.repo} ${m.version} in ${o.env}: ${report.healthy ? 'healthy' : 'UNHEALTHY'} after a ${minutes}-minute bake\n${last.failures.map((f) => `  ${f.kind} ${f.asset}: ${f.detail}\n`).join('')}${last.checked.map((c) => `  checked ${c}\n`).join('')}${last.notProbed.map((c) => `  not probed: ${c}\n`).join('')}${report.healthy ? '' : `  the bake alarm rolls the ${o.env} stage back\n`}`;
      writeOutput(opts.out, text);
    });
}
