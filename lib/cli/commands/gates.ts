import * as fs from 'fs';
import type { Command } from 'commander';
import type { z } from 'zod';
import { ENVIRONMENT_NAMES, type EnvironmentName } from '../../config/schema';
import { REPORT_FORMATS, type ReportFormat } from '../../checks/validate/report';
import { addConfigOption, addOutputOptions, checkEnv, UsageError, writeOutput } from '../options';

/** Raised when a gate input file is missing or not in the expected shape. */
export class GateInputError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GateInputError';
  }
}

function readJson<T extends z.ZodType>(file: string, schema: T, what: string): z.output<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new GateInputError(`${file}: cannot read ${what} (${(cause as Error).message}); pass the file that ${what} is written to`, { cause });
  }
  const res = schema.safeParse(raw);
  if (!res.success) {
    const i = res.error.issues[0];
    throw new GateInputError(`${file}: not ${what}: ${i.path.join('.') || '(root)'}: ${i.message}`);
  }
  return res.data;
}

interface GatesCliOptions {
  env: string;
  config?: string;
  runResults?: string;
  sources?: string;
  rowCounts?: string;
  format: string;
  out?: string;
}

/** `dataops gates`: the data-quality gates of the Verify action in staging and prod. */
export function registerGates(program: Command): void {
  const cmd = program
    .command('gates')
    .description("check dbt test results, source freshness and row-count change against the environment's qualityGates; exit 1 when a gate fails")
    .requiredOption('--env <env>', `environment whose thresholds apply (${ENVIRONMENT_NAMES.join(', ')})`)
    .option('--run-results <file>', "dbt's target/run_results.json of the post-deploy dbt test/build")
    .option('--sources <file>', "dbt's target/sources.json from dbt source freshness")
    .option('--row-counts <file>', 'JSON {"models": {"<model>": {"before": n, "after": n}}}');
  addOutputOptions(addConfigOption(cmd), REPORT_FORMATS, 'text', 'the report')
    .action((opts: GatesCliOptions) => {
      checkEnv(opts.env);
      if (!opts.runResults && !opts.sources && !opts.rowCounts) {
        throw new UsageError('no gate input given; pass at least one of --run-results, --sources, --row-counts');
      }
      const { loadPlatformConfig } = require('../../config/loader') as typeof import('../../config/loader');
      const { hasBlocking } = require('../../checks/findings') as typeof import('../../checks/findings');
      const { evaluateGates, RowCountsSchema, SourcesJsonSchema } = require('../../checks/gates/gates') as typeof import('../../checks/gates/gates');
      const { RunResultsSchema } = require('../../checks/validate/checks/dbt-results') as typeof import('../../checks/validate/checks/dbt-results');
      const { renderReport } = require('../../checks/validate/report') as typeof import('../../checks/validate/report');
      const started = Date.now();
      const gates = loadPlatformConfig(opts.config).environments[opts.env as EnvironmentName].qualityGates;
      const findings = evaluateGates(
        {
          runResults: opts.runResults ? readJson(opts.runResults, RunResultsSchema, 'dbt run_results.json') : undefined,
          sources: opts.sources ? readJson(opts.sources, SourcesJsonSchema, 'dbt sources.json') : undefined,
          rowCounts: opts.rowCounts ? readJson(opts.rowCounts, RowCountsSchema, 'row counts JSON') : undefined,
        },
        gates,
      );
      const ran = [opts.runResults && 'dbt tests', opts.sources && 'source freshness', opts.rowCounts && 'row counts'].filter((x): x is string => Boolean(x));
      const durationMs = Date.now() - started;
      const report = {
        repo: process.cwd(),
        scope: { full: true, reason: `quality gates of ${opts.env}: ${ran.join(', ')} (thresholds ${JSON.stringify(gates)})`, changed: [] },
        findings,
        selected: [{ check: 'gates', kind: 'dbt' as const, assets: ran, reason: `environments.${opts.env}.qualityGates` }],
        skipped: [],
        checks: [{ name: 'gates', kind: 'dbt' as const, durationMs, status: hasBlocking(findings) ? ('failed' as const) : ('passed' as const), findings }],
        durationMs,
        passed: !hasBlocking(findings),
      };
      writeOutput(opts.out, renderReport(report, opts.format as ReportFormat));
      if (!report.passed) process.exitCode = 1;
    });
}
