import type { Command } from 'commander';
import { ENVIRONMENT_NAMES } from '../../config/schema';
import { addConfigOption, addLocationOptions, addOutputOptions, checkArguments, checkEnv, checkRepo, positiveNumber, progress, requireValue, UsageError, writeOutput, type CommonOptions } from '../options';

interface RollbackOptions extends CommonOptions {
  readonly repo?: string;
  readonly env?: string;
  readonly to?: string;
  readonly reason?: string;
  readonly dryRun?: boolean;
  readonly planLocally?: boolean;
  readonly wait: boolean;
  readonly timeout: string;
  readonly pollInterval: string;
}

/** `dataops rollback`: asks Rollback(λ) to roll an environment back and follows it to the end. */
export function registerRollback(program: Command): void {
  const cmd = program
    .command('rollback')
    .description('roll a repo back in one environment to its previous (or a named) successful release, through the Rollback function, and follow the rollback execution until it ends')
    // --repo, --env and --reason are required, checked in the action: a wrong --repo is named with the
    // known ones even when --env is missing too, where commander would only say that --env is missing
    .option('--repo <name>', 'the repo to roll back (required)')
    .option('--env <env>', `the environment (required): ${ENVIRONMENT_NAMES.join(', ')}`)
    .option('--to <version>', 'roll back to this release version (default: the newest earlier successful release)')
    .option('--reason <text>', 'why (required); recorded in the ledger and the audit evidence')
    .option('--dry-run', 'print the plan (release going back, DAGs to pause, data actions, what needs a person) and change nothing')
    .option(
      '--plan-locally',
      "with --dry-run: plan with the Rollback function's own code in this process and your credentials (reads the ledger and ListPipelineExecutions, records the dry run in the ledger) instead of invoking the function; for an emulator or a platform whose function you may not call",
    )
    .option('--no-wait', 'return once CodePipeline has started the rollback execution')
    .option('--timeout <seconds>', 'how long to follow the rollback execution', '1800')
    .option('--poll-interval <seconds>', 'seconds between CodePipeline status checks', '5');
  addOutputOptions(addLocationOptions(addConfigOption(cmd)), ['text', 'json'], 'text', 'the request outcome and the rollback execution')
    .addHelpText(
      'after',
      '\nThe arguments are checked against the configuration first; then the errors name the cause: no earlier successful release,\na deployment holding the lock, a rollback of a rollback.\nNeeds lambda:InvokeFunction on the Rollback function and codepipeline:ListPipelineExecutions on the pipeline.',
    )
    .action(async (opts: RollbackOptions) => {
      // arguments first, every problem at once: a wrong or missing repo, environment, reason or number
      // is named, with the values allowed, before any AWS call
      const { loadPlatformConfig } = require('../../config/loader') as typeof import('../../config/loader');
      const config = loadPlatformConfig(opts.config);
      let repo = '';
      let env: (typeof ENVIRONMENT_NAMES)[number] = 'prod';
      let reason = '';
      let timeoutMs = 0;
      let pollMs = 0;
      checkArguments([
        () => {
          repo = requireValue('--repo', opts.repo, `known repos: ${config.repos.map((r) => r.name).join(', ')}`);
          checkRepo(config, repo);
        },
        () => (env = checkEnv(requireValue('--env', opts.env, `use one of ${ENVIRONMENT_NAMES.join(', ')}`)) as (typeof ENVIRONMENT_NAMES)[number]),
        () => (reason = requireValue('--reason', opts.reason, 'give why in a few words (recorded in the ledger and the audit evidence)')),
        () => {
          if (opts.planLocally && !opts.dryRun) throw new UsageError('--plan-locally plans a dry run only; add --dry-run, or drop --plan-locally to ask the Rollback function');
        },
        () => (timeoutMs = positiveNumber('--timeout', opts.timeout, 'seconds') * 1000),
        () => (pollMs = positiveNumber('--poll-interval', opts.pollInterval, 'seconds') * 1000),
      ]);

      const { GetCallerIdentityCommand } = require('@aws-sdk/client-sts') as typeof import('@aws-sdk/client-sts');
      const { opsContext } = require('../../ops/context') as typeof import('../../ops/context');
      const { lambdaRollbackInvoker, renderRollback, RollbackCommandError, runRollback } = require('../../ops/rollback/run') as typeof import('../../ops/rollback/run');
      const ctx = await opsContext(config, { ledgerTable: opts.ledgerTable });
      let requestedBy: string;
      try {
        requestedBy = (await ctx.clients.sts.send(new GetCallerIdentityCommand({}))).Arn ?? 'unknown';
      } catch (e) {
        throw new RollbackCommandError(`cannot tell who you are (sts:GetCallerIdentity failed: ${(e as Error).message}); sign in to the tooling account first`, null, { cause: e });
      }
      const p = progress(opts.format === 'json' && !opts.out);
      let invoke = lambdaRollbackInvoker(ctx.clients.lambda, ctx.rollbackFunction);
      if (opts.planLocally) {
        // the function's code, with the caller's clients: the same plan, no Lambda in between
        const { rollback } = require('../../runtime/rollback/rollback') as typeof import('../../runtime/rollback/rollback');
        const { GRAPH_REGISTRY_ENV } = require('../../runtime/rollback/data-restore') as typeof import('../../runtime/rollback/data-restore');
        const { openRegistry } = require('../../checks/graph') as typeof import('../../checks/graph');
        const registry = process.env[GRAPH_REGISTRY_ENV];
        const quiet = () => undefined;
        invoke = (request) =>
          rollback(request, {
            codepipeline: ctx.clients.codepipeline,
            ledger: ctx.ledger,
            pipelines: ctx.pipelines,
            log: { info: quiet, error: (m: string) => p.step(`error: ${m}`) },
            ...(registry ? { registry: openRegistry(registry, { s3Client: ctx.clients.s3 }) } : {}),
          });
      }
      const outcome = await runRollback(
        { repo, env, reason, requestedBy, toVersion: opts.to, dryRun: Boolean(opts.dryRun) },
        {
          invoke,
          codepipeline: ctx.clients.codepipeline,
          ledger: ctx.ledger,
          pipeline: ctx.pipelines[repo],
          progress: (t) => p.step(t),
          wait: opts.wait,
          pollMs,
          timeoutMs,
        },
      ).finally(() => p.done());
      writeOutput(opts.out, opts.format === 'json' ? `${JSON.stringify(outcome, null, 2)}\n` : renderRollback(outcome));
    });
}
