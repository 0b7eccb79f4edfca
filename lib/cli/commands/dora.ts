import type { Command } from 'commander';
import { addConfigOption, addLocationOptions, addOutputOptions, checkArguments, checkRepo, progress, UsageError, writeOutput, type CommonOptions } from '../options';

/** Days read before the window, so that lead times and restores that began earlier are complete. */
export const DORA_LOOKBACK_DAYS = 30;

interface DoraOptions extends CommonOptions {
  readonly since: string;
  readonly until?: string;
  readonly repo?: string;
}

/** `dataops dora`: DORA figures per repo and overall from the ledger. */
export function registerDora(program: Command): void {
  const cmd = program
    .command('dora')
    .description('compute DORA figures (deployment frequency, lead time, change failure rate, time to restore) from the deployment ledger, per repo and overall')
    .option('--since <when>', 'start of the window: a duration back from now (90d, 12h, 2w) or an ISO date', '90d')
    .option('--until <when>', 'end of the window: an ISO date or time (default: now)')
    .option('--repo <name>', 'only this repo');
  addOutputOptions(addLocationOptions(addConfigOption(cmd)), ['text', 'json'], 'text', 'the report')
    .addHelpText('after', '\nReads the deployment ledger (DynamoDB) with your AWS credentials; the arguments are checked first.')
    .action(async (opts: DoraOptions) => {
      // arguments first, every problem at once: a wrong window, repo or config is named before any AWS call
      const { DoraInputError, parseSince } = require('../../ops/dora/model') as typeof import('../../ops/dora/model');
      const { loadPlatformConfig } = require('../../config/loader') as typeof import('../../config/loader');
      const config = loadPlatformConfig(opts.config);
      let now = new Date();
      let untilOk = true;
      let from = '';
      checkArguments([
        () => {
          if (opts.until === undefined) return;
          untilOk = /^\d{4}-\d{2}-\d{2}/.test(opts.until) && !Number.isNaN(Date.parse(opts.until));
          if (!untilOk) throw new UsageError(`--until '${opts.until}' is not an ISO date or time; use a form such as 2026-01-31 or 2026-01-31T12:00:00Z`);
          now = new Date(Date.parse(opts.until));
        },
        () => {
          try {
            from = parseSince(opts.since, now);
          } catch (e) {
            throw e instanceof DoraInputError ? new UsageError(e.message, { cause: e }) : e;
          }
          if (untilOk && from >= now.toISOString()) throw new UsageError(`--since '${opts.since}' is not before --until '${opts.until ?? 'now'}'; give a window that ends after it starts`);
        },
        () => checkRepo(config, opts.repo),
      ]);

      const { opsContext } = require('../../ops/context') as typeof import('../../ops/context');
      const { doraInputFromEvents } = require('../../ops/dora/from-ledger') as typeof import('../../ops/dora/from-ledger');
      const { computeDora } = require('../../ops/dora/model') as typeof import('../../ops/dora/model');
      const { renderDora } = require('../../ops/dora/render') as typeof import('../../ops/dora/render');
      const ctx = await opsContext(config, { ledgerTable: opts.ledgerTable });
      const p = progress(opts.format === 'json' && !opts.out);
      p.step(`reading ledger events since ${from.slice(0, 10)} (and ${DORA_LOOKBACK_DAYS} days before) from ${ctx.ledgerTable}`);
      const lookback = new Date(Date.parse(from) - DORA_LOOKBACK_DAYS * 86_400_000).toISOString();
      const events = (await ctx.ledger.eventsBetween(lookback, now.toISOString())).filter((e) => !opts.repo || e.repo === opts.repo);
      p.step(`computing from ${events.length} events`);
      p.done();
      const report = computeDora(doraInputFromEvents(events), { from, to: now.toISOString() });
      writeOutput(opts.out, opts.format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : renderDora(report));
    });
}
