import type { Command } from 'commander';
import { addOutputOptions, UsageError, writeOutput } from '../options';

/** `dataops graph --repos DIR... [--format json|dot] [--out FILE] [--registry DIR|s3://…] [--publish]` */
export function registerGraph(program: Command): void {
  const cmd = program
    .command('graph')
    .description('build the asset graph across repos (dbt, Airflow, Spark, Terraform); --publish writes each repo\'s fragment to the registry')
    .requiredOption('--repos <dirs...>', 'repo folders (their work trees), each DIR or NAME=DIR (the repo is named after the folder unless NAME is given)')
    .option('--registry <location>', 'folder or s3://bucket/prefix with the other repos\' published fragments')
    .option('--publish', 'publish the fragments of --repos to --registry (a repo\'s main pipeline does this)');
  addOutputOptions(cmd, ['json', 'dot'], 'json', 'the graph')
    .action(async (opts: { repos: string[]; format: string; out?: string; registry?: string; publish?: boolean }) => {
      if (opts.publish && !opts.registry) throw new UsageError('--publish needs --registry DIR or --registry s3://bucket/prefix');
      const { loadGraph, publishFragments } = require('../../checks/graph') as typeof import('../../checks/graph');
      const { graphDot, graphJson } = require('./graph-format') as typeof import('./graph-format');
      if (opts.publish && opts.registry) {
        const published = await publishFragments({ repos: opts.repos, registry: opts.registry });
        process.stderr.write(`published ${published.map((p) => p.repo).join(', ')} to ${opts.registry}\n`);
      }
      const { graph } = await loadGraph({ repos: opts.repos, registry: opts.registry });
      writeOutput(opts.out, opts.format === 'dot' ? graphDot(graph) : graphJson(graph));
    });
}
