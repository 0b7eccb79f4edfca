import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { Command } from 'commander';
import { ASSET_KINDS, type AssetKind } from '../../config/schema';
import { REPORT_FORMATS, type ReportFormat } from '../../checks/validate/report';
import { addOutputOptions, UsageError, writeOutput } from '../options';

/** Raised for command-line values that cannot be used. */
export class ValidateUsageError extends UsageError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ValidateUsageError';
  }
}

function parseFormat(value: string, flag: string): ReportFormat {
  if (!(REPORT_FORMATS as readonly string[]).includes(value)) {
    throw new ValidateUsageError(`${flag} '${value}' is not a report format, expected one of ${REPORT_FORMATS.join(', ')}`);
  }
  return value as ReportFormat;
}

/** What `validate` recognises in a repo, for the message when it finds none of it. */
const KNOWN_ASSETS =
  'dbt_project.yml (dbt, sql), a dags/ folder (airflow), *.tf files (terraform), jobs/*.py (spark), *.py files (python), or kinds: [...] in dataops.yaml';

/**
 * Fails unless `dir` is inside a git work tree: the change scope, the diff-aware blocking and the
 * base comparison all read git, and a folder without it would pass with nothing compared.
 */
function requireGitWorkTree(dir: string): void {
  let inside = '';
  try {
    inside = execFileSync('git', ['rev-parse', '--is-inside-work-tree'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    // not a repository (or git missing): reported below
  }
  if (inside !== 'true') {
    throw new ValidateUsageError(`--repo '${dir}' is not a git work tree; validate reads the change from git, so pass the folder of a cloned data repo (or run git init and commit there first)`);
  }
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
  const cmd = program
    .command('validate')
    .description('run the checks that a change to a data repo affects (dbt, SQL, Airflow, Python, Spark, Terraform); exit 1 on a blocking finding')
    .option('--repo <dir>', 'the data repo (a git checkout)', '.')
    .option(
      '--repo-name <name>',
      "the repo's name in the platform config; its DAG folder is dags/<name with _ for ->/ on MWAA (default: env DATAOPS_REPO, else name: in dataops.yaml, else the directory name)",
    )
    .option('--base <ref>', 'compare with this revision (git diff BASE...HEAD) and run only the affected checks; without it everything runs')
    .option('--report <format=file>', 'also write the report in another format (repeatable), e.g. markdown=reports/summary.md', (v: string, acc: string[]) => [...acc, v], [])
    .option('--kinds <list>', 'only checks of these asset kinds, comma-separated (the Validate stage runs one kind per action)')
    .option('--tf-plan <file>', 'Terraform plan JSON (terraform show -json) to check for destroyed or replaced protected resources')
    .option('--dbt-state <dir>', "folder with the base environment's dbt manifest.json (CodeBuild); default: built from --base")
    .option('--concurrency <n>', 'checks run at the same time', '2')
    .option('--quiet', 'no progress lines on stderr')
    .option('--keep-work-dir', 'keep the scratch folder (dbt target, tool reports) for debugging');
  addOutputOptions(cmd, REPORT_FORMATS, 'text', 'the report')
    .addHelpText('after', `\nExit status: 0 passed, 1 a blocking finding, 2 the command could not validate (not a git work tree, no known asset, a bad option).\nKnown assets: ${KNOWN_ASSETS}.`)
    .action(async (opts: ValidateCliOptions) => {
      const format = opts.format as ReportFormat;
      const extra = opts.report.map((spec) => {
        const i = spec.indexOf('=');
        if (i < 1) throw new ValidateUsageError(`--report '${spec}' must be FORMAT=FILE, e.g. markdown=reports/summary.md`);
        return { format: parseFormat(spec.slice(0, i), '--report'), file: spec.slice(i + 1) };
      });
      const kinds = opts.kinds ? parseKinds(opts.kinds) : undefined;
      const envName = process.env.DATAOPS_REPO || undefined;
      const repoName = opts.repoName ?? envName;
      const repoNameFrom = opts.repoName !== undefined ? '--repo-name' : envName !== undefined ? 'DATAOPS_REPO' : undefined;
      // a folder that is not a repo, or that holds nothing the checks read, must not pass with nothing checked
      const { loadRepoLayout } = require('../../checks/validate/repo-config') as typeof import('../../checks/validate/repo-config');
      if (fs.existsSync(opts.repo) && fs.statSync(opts.repo).isDirectory()) requireGitWorkTree(opts.repo);
      const layout = loadRepoLayout(opts.repo, { name: repoName, nameFrom: repoNameFrom });
      if (layout.kinds.length === 0) {
        throw new ValidateUsageError(`--repo '${opts.repo}' holds no asset that dataops knows (${path.resolve(opts.repo)}); expected ${KNOWN_ASSETS}`);
      }
      const missing = (kinds ?? []).filter((k) => !layout.kinds.includes(k));
      if (kinds && missing.length === kinds.length) {
        throw new ValidateUsageError(`--kinds ${kinds.join(',')}: the repo '${opts.repo}' has no asset of ${kinds.length > 1 ? 'these kinds' : 'this kind'}; it has ${layout.kinds.join(', ')}`);
      }
      const { renderReport } = require('../../checks/validate/report') as typeof import('../../checks/validate/report');
      const { runValidate } = require('../../checks/validate/runner') as typeof import('../../checks/validate/runner');
      const report = await runValidate({
        repoDir: opts.repo,
        repoName,
        repoNameFrom,
        base: opts.base || undefined,
        kinds,
        terraformPlan: opts.tfPlan || undefined,
        dbtState: opts.dbtState || undefined,
        concurrency: Number(opts.concurrency) || 2,
        keepWorkDir: opts.keepWorkDir,
        log: opts.quiet ? undefined : (m) => process.stderr.write(`[validate] ${m}\n`),
      });
      writeOutput(opts.out, renderReport(report, format));
      for (const e of extra) writeOutput(e.file, renderReport(report, e.format));
      if (!report.passed) process.exitCode = 1;
    });
}
