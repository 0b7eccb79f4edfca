import type { Command } from 'commander';
import { addLocationOptions, checkRepo, contextFor, progress, type OpsCommandOptions } from '../../ops/cli-support';
import { doraInputFromEvents } from '../../ops/dora/from-ledger';
import { computeDora, parseSince } from '../../ops/dora/model';
import { renderDora } from '../../ops/dora/render';

/** Days read before the window, so that lead times and restores that began earlier are complete. */
export const DORA_LOOKBACK_DAYS = 30;

/** `dataops dora`: DORA figures per repo and overall from the ledger. */
export function registerDora(program: Command): void {
  const cmd = program
    .command('dora')
    .description('compute DORA figures (deployment frequency, lead time, change failure rate, time to restore) from the deployment ledger, per repo and overall')
    .option('--since <when>', 'start of the window: a duration back from now (90d, 12h, 2w) or an ISO date', '90d')
    .option('--until <when>', 'end of the window: an ISO date or time (default: now)')
    .option('--repo <name>', 'only this repo');
  addLocationOptions(cmd)
    .option('--json', 'print the report as JSON')
    .action(async (opts: OpsCommandOptions & { since: string; until?: string; repo?: string }) => {
      const ctx = await contextFor(opts);
      checkRepo(ctx.config, opts.repo);
      const now = opts.until ? new Date(parseSince(opts.until, new Date())) : new Date();
      const from = parseSince(opts.since, now);
      const p = progress(Boolean(opts.json));
      p.step(`reading ledger events since ${from.slice(0, 10)} (and ${DORA_LOOKBACK_DAYS} days before) from ${ctx.ledgerTable}`);
      const lookback = new Date(Date.parse(from) - DORA_LOOKBACK_DAYS * 86_400_000).toISOString();
      const events = (await ctx.ledger.eventsBetween(lookback, now.toISOString())).filter((e) => !opts.repo || e.repo === opts.repo);
      p.step(`computing from ${events.length} events`);
      p.done();
      const report = computeDora(doraInputFromEvents(events), { from, to: now.toISOString() });
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : renderDora(report));
    });
}
