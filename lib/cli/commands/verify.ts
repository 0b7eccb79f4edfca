import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Command } from 'commander';
import { toJunit } from '../../checks/validate/report';
import type { VerifyOutcome } from '../../runtime/orchestrator/deploy';
import type { QualityGateOutcome } from '../../runtime/orchestrator/quality-gates';
import type { RunOptions } from '../../runtime/orchestrator/runtime';
import { addOutputOptions, checkEnv, writeOutput, type CommonOptions } from '../options';
import { runOptions } from './deploy';

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * The outcome as JUnit XML for the CodeBuild report group: one test case per asset kind, and one per
 * data-quality gate (classname `<repo>.<env>.gates`; skipped where the gate did not run, with why).
 */
export function verifyJunit(out: VerifyOutcome, repo: string, env: string): string {
  const kindCases = out.results.map((r) =>
    r.ok
      ? `    <testcase classname="${xml(`${repo}.${env}`)}" name="${xml(r.kind)}"/>`
      : `    <testcase classname="${xml(`${repo}.${env}`)}" name="${xml(r.kind)}">\n      <failure message="${xml(r.problems[0] ?? 'failed')}">${xml(r.problems.join('\n'))}</failure>\n    </testcase>`,
  );
  const gateCases = out.gates.gates.map((g) => {
    const head = `    <testcase classname="${xml(`${repo}.${env}.gates`)}" name="${xml(g.gate)}">`;
    if (g.status === 'not-run') return `${head}<skipped message="${xml(g.detail)}"/></testcase>`;
    const errors = g.findings.filter((f) => f.severity === 'error');
    if (errors.length === 0) return `${head}<system-out>${xml(g.detail)}</system-out></testcase>`;
    return `${head}\n      <failure type="${xml(errors[0].code)}" message="${xml(errors[0].message)}">${xml(errors.map((f) => `${f.code} ${f.asset}: ${f.message}`).join('\n'))}</failure>\n    </testcase>`;
  });
  const tests = kindCases.length + gateCases.length;
  const failures = out.results.filter((r) => !r.ok).length + out.gates.gates.filter((g) => g.status === 'failed').length;
  const skipped = out.gates.gates.filter((g) => g.status === 'not-run').length;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites tests="${tests}" failures="${failures}">\n  <testsuite name="${xml(`dataops verify ${repo} ${out.version} ${env}`)}" tests="${tests}" failures="${failures}" skipped="${skipped}">\n${[...kindCases, ...gateCases].join('\n')}\n  </testsuite>\n</testsuites>\n`;
}

/**
 * The data-quality gates alone as JUnit XML (one test suite per gate, one failing case per finding
 * that names the model or source and the threshold), for the gates' own report group.
 */
export function gatesJunit(g: QualityGateOutcome, env: string): string {
  const durationMs = g.gates.reduce((n, r) => n + r.durationMs, 0);
  return toJunit({
    repo: '',
    scope: { full: true, reason: `data-quality gates of ${env}`, changed: [] },
    findings: g.findings,
    selected: [],
    skipped: [],
    checks: g.gates.map((r) => ({ name: r.gate, kind: 'dbt' as const, durationMs: r.durationMs, status: r.status === 'not-run' ? ('skipped' as const) : r.status, findings: r.findings })),
    durationMs,
    passed: g.status !== 'failed',
  });
}

/** Text lines of the gate step: what ran against which threshold, every finding, or why nothing ran. */
function gatesText(g: QualityGateOutcome): string {
  const lines = [`  ${g.summary}`];
  for (const r of g.gates) lines.push(`    ${r.gate}: ${r.status} (${r.detail})`);
  for (const f of g.findings) lines.push(`    ${f.severity} ${f.code} ${f.asset}: ${f.message}`);
  return `${lines.join('\n')}\n`;
}

/** `dataops verify`: what the Verify CodeBuild action runs. Exit code 1 when a check fails. */
export function registerVerify(program: Command): void {
  addOutputOptions(
    runOptions(
      program
        .command('verify')
        .description('verify a deployed release (DAG import errors, image pointers, Terraform run state) and, in staging and prod, the data-quality gates; records the result and frees the repo/env lock'),
    ),
    ['text', 'json', 'junit'],
    'text',
    'the report',
  )
    .option('--dbt-target <name>', "the release's dbt profile output for the environment (default: the environment's name)")
    .option('--dbt-profiles-dir <dir>', 'folder with the profiles.yml holding that output (default: $DBT_PROFILES_DIR; when unset, a Snowflake profile written from the configuration)')
    .option('--gates-out <file>', 'also write the data-quality gates as JUnit XML here (their own report group)')
    .action(async (opts: RunOptions & CommonOptions & { dbtTarget?: string; dbtProfilesDir?: string; gatesOut?: string }) => {
      // a wrong environment is named before the runtime (and its AWS clients) is loaded
      checkEnv(opts.env);
      const { CloudWatchClient, PutMetricDataCommand } = require('@aws-sdk/client-cloudwatch') as typeof import('@aws-sdk/client-cloudwatch');
      const { DATAOPS_METRICS } = require('../../ops/metrics') as typeof import('../../ops/metrics');
      const { verifyRelease } = require('../../runtime/orchestrator/deploy') as typeof import('../../runtime/orchestrator/deploy');
      const { buildOrchestration, VERIFY_FAILURES_METRIC } = require('../../runtime/orchestrator/runtime') as typeof import('../../runtime/orchestrator/runtime');
      const { GATED_ENVIRONMENTS, snowflakeDbtEnv } = require('../../runtime/orchestrator/quality-gates') as typeof import('../../runtime/orchestrator/quality-gates');
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const o = await buildOrchestration(opts, log);
      const secretDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-verify-'));
      let out: VerifyOutcome;
      try {
        let dbtEnv: Record<string, string> = {};
        if (GATED_ENVIRONMENTS.includes(o.env) && o.release.manifest.dbt) {
          // The warehouse connection of the gates' dbt runs; without it dbt names what is missing.
          dbtEnv = await snowflakeDbtEnv(o.environment, o.region, o.targetCredentials, secretDir).catch((e: Error) => {
            log(`warning: the Snowflake deploy secret was not read for the gates' dbt runs: ${e.message}`);
            return {};
          });
        }
        out = await verifyRelease(o.release, o.env, o.environment, o.deps, { dbtTarget: opts.dbtTarget, profilesDir: opts.dbtProfilesDir, dbtEnv });
      } finally {
        fs.rmSync(secretDir, { recursive: true, force: true });
      }
      const repo = o.release.manifest.repo;
      const text =
        opts.format === 'junit'
          ? verifyJunit(out, repo, o.env)
          : opts.format === 'json'
            ? `${JSON.stringify(out, null, 2)}\n`
            : `${repo} ${out.version} in ${o.env}: ${out.ok ? 'verified' : 'FAILED'}\n${out.results.map((r) => `  ${r.kind}: ${r.ok ? 'ok' : r.problems.join('; ')}\n`).join('')}${gatesText(out.gates)}`;
      writeOutput(opts.out, text);
      if (opts.gatesOut) writeOutput(opts.gatesOut, gatesJunit(out.gates, o.env));
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
                Value: out.results.filter((r) => !r.ok).length + (out.gates.status === 'failed' ? 1 : 0),
                Unit: 'Count',
              },
            ],
          }),
        )
        .catch((e: Error) => process.stderr.write(`warning: ${VERIFY_FAILURES_METRIC} not published: ${e.message}\n`));
      if (!out.ok) process.exitCode = 1;
    });
}
