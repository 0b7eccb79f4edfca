import * as fs from 'fs';
import * as path from 'path';
import type { Command } from 'commander';
import { ASSET_KINDS, type AssetKind } from '../../config/schema';
import { REPORT_FORMATS, renderReport, type ReportFormat } from '../../checks/validate/report';
import { runValidate } from '../../checks/validate/runner';

/** Raised for command-line values that cannot be used. */
export class ValidateUsageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ValidateUsageError';
  }
}

function parseFormat(value: string): ReportFormat {
  if (!(REPORT_FORMATS as readonly string[]).includes(value)) {
    throw new ValidateUsageError(`--format '${value}' is not a report format, expected one of ${REPORT_FORMATS.join(', ')}`);
  }
  return value as ReportFormat;
}

function parseKinds(value: string): AssetKind[] {
  return value
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean)
    .map((k) => {
      if (!(ASSET_KINDS as readonly string[]).includes(k)) throw new ValidateUsageError(`--kinds: unknown asset kind '${k}', expected one of ${ASSET_KINDS.join(', ')}`);
      return k as AssetKind;
    });
}

function write(file: string | undefined, text: string): void {
  if (!file) {
    process.stdout.write(text);
    return;
  }
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, text);
}

interface ValidateCliOptions {
  repo: string;
  repoName?: string;
  base?: string;
  format: string;
  out?: string;
  report: string[];
  kinds?: string;
  tfPlan?: string;
  dbtState?: string;
  concurrency: string;
  quiet?: boolean;
  keepWorkDir?: boolean;
}

/** `dataops validate`: the PR checks of a data repo, the same in CodeBuild and on a laptop. */
export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('run the checks that a change to a data repo affects (dbt, SQL, Airflow, Python, Spark, Terraform); exit 1 on a blocking finding')
    .option('--repo <dir>', 'the data repo (a git checkout)', '.')
    .option(
      '--repo-name <name>',
      "the repo's name in the platform config; its DAG folder is dags/<name with _ for ->/ on MWAA (default: env DATAOPS_REPO, else name: in dataops.yaml, else the directory name)",
    )
    .option('--base <ref>', 'compare with this revision (git diff BASE...HEAD) and run only the affected checks; without it everything runs')
    .option('--format <format>', `output format: ${REPORT_FORMATS.join(', ')}`, 'text')
    .option('--out <file>', 'write the report to this file instead of stdout')
    .option('--report <format=file>', 'also write the report in another format (repeatable), e.g. markdown=reports/summary.md', (v: string, acc: string[]) => [...acc, v], [])
    .option('--kinds <list>', 'only checks of these asset kinds, comma-separated (the Validate stage runs one kind per action)')
    .option('--tf-plan <file>', 'Terraform plan JSON (terraform show -json) to check for destroyed or replaced protected resources')
    .option('--dbt-state <dir>', "folder with the base environment's dbt manifest.json (CodeBuild); default: built from --base")
    .option('--concurrency <n>', 'checks run at the same time', '2')
    .option('--quiet', 'no progress lines on stderr')
    .option('--keep-work-dir', 'keep the scratch folder (dbt target, tool reports) for debugging')
    .action(async (opts: ValidateCliOptions) => {
      const format = parseFormat(opts.format);
      const extra = opts.report.map((spec) => {
        const i = spec.indexOf('=');
        if (i < 1) throw new ValidateUsageError(`--report '${spec}' must be FORMAT=FILE, e.g. markdown=reports/summary.md`);
        return { format: parseFormat(spec.slice(0, i)), file: spec.slice(i + 1) };
      });
      const envName = process.env.DATAOPS_REPO || undefined;
      const report = await runValidate({
        repoDir: opts.repo,
        repoName: opts.repoName ?? envName,
        repoNameFrom: opts.repoName !== undefined ? '--repo-name' : envName !== undefined ? 'DATAOPS_REPO' : undefined,
        base: opts.base || undefined,
        kinds: opts.kinds ? parseKinds(opts.kinds) : undefined,
        terraformPlan: opts.tfPlan || undefined,
        dbtState: opts.dbtState || undefined,
        concurrency: Number(opts.concurrency) || 2,
        keepWorkDir: opts.keepWorkDir,
        log: opts.quiet ? undefined : (m) => process.stderr.write(`[validate] ${m}\n`),
      });
      write(opts.out, renderReport(report, format));
      for (const e of extra) write(e.file, renderReport(report, e.format));
      if (!report.passed) process.exitCode = 1;
    });
}
