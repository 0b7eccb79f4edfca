import type { Command } from 'commander';
import { ENVIRONMENT_NAMES, type EnvironmentName } from '../../config/schema';
import { addLocationOptions, checkRepo, contextFor, progress, type OpsCommandOptions } from '../../ops/cli-support';
import { collectStatus, renderStatus } from '../../ops/status/status';

/** An --env value that is not an environment. */
export class UnknownEnvError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnknownEnvError';
  }
}

/** `dataops status`: per repo and environment, what runs, what ran last, what is running, locks and approvals. */
export function registerStatus(program: Command): void {
  const cmd = program
    .command('status')
    .description('show, per repo and environment, the current release, the last deployment and its result, anything in progress, locks and pending approvals')
    .option('--repo <name>', 'only this repo')
    .option('--env <env>', `only this environment: ${ENVIRONMENT_NAMES.join(', ')}`);
  addLocationOptions(cmd)
    .option('--json', 'print the status as JSON')
    .addHelpText('after', '\nReads the deployment ledger (DynamoDB) and CodePipeline GetPipelineState with your AWS credentials.')
    .action(async (opts: OpsCommandOptions & { repo?: string; env?: string }) => {
      const ctx = await contextFor(opts);
      checkRepo(ctx.config, opts.repo);
      if (opts.env !== undefined && !(ENVIRONMENT_NAMES as readonly string[]).includes(opts.env)) {
        throw new UnknownEnvError(`--env '${opts.env}' is not an environment; use one of ${ENVIRONMENT_NAMES.join(', ')}`);
      }
      const repos = opts.repo ? [opts.repo] : ctx.config.repos.map((r) => r.name);
      const envs = opts.env ? [opts.env as EnvironmentName] : [...ENVIRONMENT_NAMES];
      const p = progress(Boolean(opts.json));
      p.step(`reading ${repos.length} pipelines and the ledger ${ctx.ledgerTable}`);
      const rows = await collectStatus({ ledger: ctx.ledger, codepipeline: ctx.clients.codepipeline, pipelines: ctx.pipelines }, repos, envs);
      p.done();
      process.stdout.write(opts.json ? `${JSON.stringify(rows, null, 2)}\n` : renderStatus(rows));
    });
}
