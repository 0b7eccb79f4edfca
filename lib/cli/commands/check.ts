import type { Command } from 'commander';
import { addOutputOptions, UsageError, writeOutput } from '../options';

interface CheckOpts {
  repos: string[];
  base?: string;
  format: string;
  out?: string;
  registry?: string;
  strict?: boolean;
  catalogUrl?: string;
  catalogSnapshot?: string;
  catchupDefault: string;
}

/** `dataops check --repos DIR... [--base REF] [--format text|json] [--out FILE] [--registry DIR] [--strict]`: exits 1 on any error. */
export function registerCheck(program: Command): void {
  const cmd = program
    .command('check')
    .description('run the dependency checks across repos (broken refs, breaking column changes, schema drift, DAG references, duplicates, catch-up hazards); exits 1 on any error')
    .requiredOption('--repos <dirs...>', 'repo folders (their work trees), each DIR or NAME=DIR (the repo is named after the folder unless NAME is given)')
    .option('--base <ref>', 'git ref to compare with, e.g. origin/main (enables column, contract and schedule change checks)')
    .option('--registry <location>', 'folder or s3://bucket/prefix with the other repos\' published fragments')
    .option('--strict', 'report references outside the known repos as errors')
    .option('--catalog-url <url>', 'PostgreSQL URL whose information_schema.columns is the live catalog (SOURCE_SCHEMA_DRIFT)')
    .option('--catalog-snapshot <file>', 'information_schema.columns export (JSON or CSV), e.g. from Snowflake (SOURCE_SCHEMA_DRIFT)')
    .option('--catchup-default <bool>', 'Airflow catchup_by_default of the target environment', 'true');
  addOutputOptions(cmd, ['text', 'json'], 'text', 'the findings').action(async (opts: CheckOpts) => {
    if (!['true', 'false'].includes(opts.catchupDefault)) throw new UsageError(`--catchup-default '${opts.catchupDefault}' is not a boolean, expected true or false`);
    const { hasBlocking } = require('../../checks/findings') as typeof import('../../checks/findings');
    const { runGraphChecks } = require('../../checks/graph') as typeof import('../../checks/graph');
    const { findingsText } = require('./graph-format') as typeof import('./graph-format');
    const catalog = opts.catalogUrl || opts.catalogSnapshot ? { url: opts.catalogUrl, snapshotFile: opts.catalogSnapshot } : undefined;
    const findings = await runGraphChecks({
      repos: opts.repos,
      base: opts.base,
      registry: opts.registry,
      strict: Boolean(opts.strict),
      catalog,
      catchupByDefault: opts.catchupDefault === 'true',
    });
    writeOutput(opts.out, opts.format === 'json' ? `${JSON.stringify({ ok: !hasBlocking(findings), findings }, null, 2)}\n` : findingsText(findings));
    if (hasBlocking(findings)) process.exitCode = 1;
  });
}
