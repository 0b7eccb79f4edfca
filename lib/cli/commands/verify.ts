import * as fs from 'fs';
import * as path from 'path';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import type { Command } from 'commander';
import { DATAOPS_METRICS } from '../../ops/metrics';
import { verifyRelease, type VerifyOutcome } from '../../runtime/orchestrator/deploy';
import { buildOrchestration, VERIFY_FAILURES_METRIC, type RunOptions } from '../../runtime/orchestrator/runtime';
import { runOptions } from './deploy';

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The outcome as JUnit XML (one test case per asset kind) for the CodeBuild report group. */
export function verifyJunit(out: VerifyOutcome, repo: string, env: string): string {
  const failures = out.results.filter((r) => !r.ok).length;
  const cases = out.results
    .map((r) =>
      r.ok
        ? `    <testcase classname="${xml(`${repo}.${env}`)}" name="${xml(r.kind)}"/>`
        : `    <testcase classname="${xml(`${repo}.${env}`)}" name="${xml(r.kind)}">\n      <failure message="${xml(r.problems[0] ?? 'failed')}">${xml(r.problems.join('\n'))}</failure>\n    </testcase>`,
    )
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites tests="${out.results.length}" failures="${failures}">\n  <testsuite name="${xml(`dataops verify ${repo} ${out.version} ${env}`)}" tests="${out.results.length}" failures="${failures}">\n${cases}\n  </testsuite>\n</testsuites>\n`;
}

/** `dataops verify`: what the Verify CodeBuild action runs. Exit code 1 when a check fails. */
export function registerVerify(program: Command): void {
  runOptions(program.command('verify').description('verify a deployed release (DAG import errors, image pointers, Terraform run state); records the result and frees the repo/env lock'))
    .option('--format <format>', 'text, json or junit', 'text')
    .option('--out <file>', 'write the report to a file instead of stdout')
    .action(async (opts: RunOptions & { format: string; out?: string }) => {
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const o = await buildOrchestration(opts, log);
      const out = await verifyRelease(o.release, o.env, o.environment, o.deps);
      const repo = o.release.manifest.repo;
      const text =
        opts.format === 'junit'
          ? verifyJunit(out, repo, o.env)
          : opts.format === 'json'
            ? `${JSON.stringify(out, null, 2)}\n`
            : `${repo} ${out.version} in ${o.env}: ${out.ok ? 'verified' : 'FAILED'}\n${out.results.map((r) => `  ${r.kind}: ${r.ok ? 'ok' : r.problems.join('; ')}`).join('\n')}\n`;
      if (opts.out) {
        fs.mkdirSync(path.dirname(opts.out), { recursive: true });
        fs.writeFileSync(opts.out, text);
      } else {
        process.stdout.write(text);
      }
      // The bake alarm of the prod stage watches this; a failure to publish is reported, not fatal.
      await new CloudWatchClient({ region: opts.region ?? process.env.AWS_REGION })
        .send(
          new PutMetricDataCommand({
            Namespace: DATAOPS_METRICS.namespace,
            MetricData: [
              {
                MetricName: VERIFY_FAILURES_METRIC,
                Dimensions: [
                  { Name: DATAOPS_METRICS.dimensions.repo, Value: repo },
                  { Name: DATAOPS_METRICS.dimensions.environment, Value: o.env },
                ],
                Value: out.results.filter((r) => !r.ok).length,
                Unit: 'Count',
              },
            ],
          }),
        )
        .catch((e: Error) => process.stderr.write(`warning: ${VERIFY_FAILURES_METRIC} not published: ${e.message}\n`));
      if (!out.ok) process.exitCode = 1;
    });
}
