import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { Command } from 'commander';
import { ENVIRONMENT_NAMES } from '../../config/schema';
import { addLocationOptions, checkRepo, contextFor, progress, type OpsCommandOptions } from '../../ops/cli-support';
import { lambdaRollbackInvoker, renderRollback, RollbackCommandError, runRollback } from '../../ops/rollback/run';

interface RollbackOptions extends OpsCommandOptions {
  readonly repo: string;
  readonly env: string;
  readonly to?: string;
  readonly reason: string;
  readonly dryRun?: boolean;
  readonly wait: boolean;
  readonly timeout: string;
  readonly pollInterval: string;
}

const positive = (flag: string, value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new RollbackCommandError(`${flag} '${value}' is not a positive number of seconds`);
  return n;
};

/** `dataops rollback`: asks Rollback(λ) to roll an environment back and follows it to the end. */
export function registerRollback(program: Command): void {
  const cmd = program
    .command('rollback')
    .description('roll a repo back in one environment to its previous (or a named) successful release, through the Rollback function, and follow the rollback execution until it ends')
    .requiredOption('--repo <name>', 'the repo to roll back')
    .requiredOption('--env <env>', `the environment: ${ENVIRONMENT_NAMES.join(', ')}`)
    .option('--to <version>', 'roll back to this release version (default: the newest earlier successful release)')
    .requiredOption('--reason <text>', 'why; recorded in the ledger and the audit evidence')
    .option('--dry-run', 'print the plan (release going back, DAGs to pause, data actions, what needs a person) and change nothing')
    .option('--no-wait', 'return once CodePipeline has started the rollback execution')
    .option('--timeout <seconds>', 'how long to follow the rollback execution', '1800')
    .option('--poll-interval <seconds>', 'seconds between CodePipeline status checks', '5');
  addLocationOptions(cmd)
    .option('--json', 'print the request outcome and the rollback execution as JSON')
    .addHelpText('after', '\nErrors name the cause: no earlier successful release, a deployment holding the lock, a rollback of a rollback.\nNeeds lambda:InvokeFunction on the Rollback function and codepipeline:ListPipelineExecutions on the pipeline.')
    .action(async (opts: RollbackOptions) => {
      const ctx = await contextFor(opts);
      checkRepo(ctx.config, opts.repo);
      if (!(ENVIRONMENT_NAMES as readonly string[]).includes(opts.env)) {
        throw new RollbackCommandError(`--env '${opts.env}' is not an environment; use one of ${ENVIRONMENT_NAMES.join(', ')}`);
      }
      const timeoutMs = positive('--timeout', opts.timeout) * 1000;
      const pollMs = positive('--poll-interval', opts.pollInterval) * 1000;
      let requestedBy: string;
      try {
        requestedBy = (await ctx.clients.sts.send(new GetCallerIdentityCommand({}))).Arn ?? 'unknown';
      } catch (e) {
        throw new RollbackCommandError(`cannot tell who you are (sts:GetCallerIdentity failed: ${(e as Error).message}); sign in to the tooling account first`, null, { cause: e });
      }
      const p = progress(Boolean(opts.json));
      const outcome = await runRollback(
        { repo: opts.repo, env: opts.env as (typeof ENVIRONMENT_NAMES)[number], reason: opts.reason, requestedBy, toVersion: opts.to, dryRun: Boolean(opts.dryRun) },
        {
          invoke: lambdaRollbackInvoker(ctx.clients.lambda, ctx.rollbackFunction),
          codepipeline: ctx.clients.codepipeline,
          ledger: ctx.ledger,
          pipeline: ctx.pipelines[opts.repo],
          progress: (t) => p.step(t),
          wait: opts.wait,
          pollMs,
          timeoutMs,
        },
      ).finally(() => p.done());
      process.stdout.write(opts.json ? `${JSON.stringify(outcome, null, 2)}\n` : renderRollback(outcome));
    });
}
