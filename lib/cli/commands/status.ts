import type { Command } from 'commander';
import { ENVIRONMENT_NAMES } from '../../config/schema';
import { addConfigOption, addLocationOptions, addOutputOptions, checkArguments, checkEnv, checkRepo, progress, writeOutput, type CommonOptions } from '../options';

interface StatusOptions extends CommonOptions {
  readonly repo?: string;
  readonly env?: string;
}

/** `dataops status`: per repo and environment, what runs, what ran last, what is running, locks and approvals. */
export function registerStatus(program: Command): void {
  const cmd = program
    .command('status')
    .description('show, per repo and environment, the current release, the last deployment and its result, anything in progress, locks and pending approvals')
    .option('--repo <name>', 'only this repo')
    .option('--env <env>', `only this environment: ${ENVIRONMENT_NAMES.join(', ')}`);
  addOutputOptions(addLocationOptions(addConfigOption(cmd)), ['text', 'json'], 'text', 'the status')
    .addHelpText('after', '\nReads the deployment ledger (DynamoDB) and CodePipeline GetPipelineState with your AWS credentials; the arguments are checked first.')
    .action(async (opts: StatusOptions) => {
      // arguments first, every problem at once: a wrong environment, repo or config is named before any AWS call
      const { loadPlatformConfig } = require('../../config/loader') as typeof import('../../config/loader');
      const config = loadPlatformConfig(opts.config);
      let env: ReturnType<typeof checkEnv>;
      checkArguments([() => (env = checkEnv(opts.env)), () => checkRepo(config, opts.repo)]);

      const { opsContext } = require('../../ops/context') as typeof import('../../ops/context');
      const { collectStatus, renderStatus } = require('../../ops/status/status') as typeof import('../../ops/status/status');
      const ctx = await opsContext(config, { ledgerTable: opts.ledgerTable });
      const repos = opts.repo ? [opts.repo] : config.repos.map((r) => r.name);
      const envs = env ? [env] : [...ENVIRONMENT_NAMES];
      const p = progress(opts.format === 'json' && !opts.out);
      p.step(`reading ${repos.length} pipelines and the ledger ${ctx.ledgerTable}`);
      const rows = await collectStatus({ ledger: ctx.ledger, codepipeline: ctx.clients.codepipeline, pipelines: ctx.pipelines }, repos, envs);
      p.done();
      const unknown = [...new Set(rows.map((r) => r.pipelineStateError).filter((e): e is string => e !== null))];
      for (const e of unknown) process.stderr.write(`warning: ${e}; 'in progress' and 'waiting for approval' are unknown (?) there\n`);
      writeOutput(opts.out, opts.format === 'json' ? `${JSON.stringify(rows, null, 2)}\n` : renderStatus(rows));
    });
}
