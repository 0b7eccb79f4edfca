import type { Command } from 'commander';
import { loadGraph, publishFragments } from '../../checks/graph';
import { graphDot, graphJson } from './graph-format';

/** `dataops graph --repos DIR... [--format json|dot] [--registry DIR|s3://…] [--publish]` */
export function registerGraph(program: Command): void {
  program
    .command('graph')
    .description('build the asset graph across repos (dbt, Airflow, Spark, Terraform); --publish writes each repo\'s fragment to the registry')
    .requiredOption('--repos <dirs...>', 'repo folders (their work trees), each DIR or NAME=DIR (the repo is named after the folder unless NAME is given)')
    .option('--format <format>', 'json or dot', 'json')
    .option('--registry <location>', 'folder or s3://bucket/prefix with the other repos\' published fragments')
    .option('--publish', 'publish the fragments of --repos to --registry (a repo\'s main pipeline does this)')
    .action(async (opts: { repos: string[]; format: string; registry?: string; publish?: boolean }) => {
      if (!['json', 'dot'].includes(opts.format)) throw new Error(`--format '${opts.format}' is not supported, expected json or dot`);
      if (opts.publish) {
        if (!opts.registry) throw new Error('--publish needs --registry DIR or --registry s3://bucket/prefix');
        const published = await publishFragments({ repos: opts.repos, registry: opts.registry });
        process.stderr.write(`published ${published.map((p) => p.repo).join(', ')} to ${opts.registry}\n`);
      }
      const { graph } = await loadGraph({ repos: opts.repos, registry: opts.registry });
      process.stdout.write(opts.format === 'dot' ? graphDot(graph) : graphJson(graph));
    });
}
