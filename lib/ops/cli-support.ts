import type { Command } from 'commander';
import { CONFIG_OPTION_HELP, loadPlatformConfig } from '../config/loader';
import type { PlatformConfig } from '../config/schema';
import { LOCATION_ENV, opsContext, type OpsContext } from './context';

/** Options every operations command takes. */
export interface OpsCommandOptions {
  readonly config?: string;
  readonly ledgerTable?: string;
  readonly auditBucket?: string;
  readonly json?: boolean;
}

/** Adds the options that locate the platform: config, ledger table (and audit bucket when asked). */
export function addLocationOptions(cmd: Command, withAuditBucket = false): Command {
  cmd
    .option('-c, --config <path>', CONFIG_OPTION_HELP)
    .option('--ledger-table <name>', `the deployment ledger table (default: $${LOCATION_ENV.ledgerTable}, else read from the Recorder function)`);
  if (withAuditBucket) cmd.option('--audit-bucket <name>', `the Object Lock audit bucket (default: $${LOCATION_ENV.auditBucket}, else read from the Recorder function)`);
  return cmd;
}

/** Loads the config and locates the deployed platform for an operations command. */
export async function contextFor(opts: OpsCommandOptions, needAuditBucket = false): Promise<OpsContext> {
  const config: PlatformConfig = loadPlatformConfig(opts.config);
  return opsContext(config, { ledgerTable: opts.ledgerTable, auditBucket: opts.auditBucket, needAuditBucket });
}

/** Names a repo that the configuration does not know, with the ones it does. */
export function checkRepo(config: PlatformConfig, repo: string | undefined): void {
  if (repo !== undefined && !config.repos.some((r) => r.name === repo)) {
    throw new UnknownRepoError(`--repo '${repo}' is not a repo of platform '${config.name}'; known repos: ${config.repos.map((r) => r.name).join(', ')}`);
  }
}

/** A --repo value the configuration does not know. */
export class UnknownRepoError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnknownRepoError';
  }
}

/**
 * Progress lines for long operations: on a terminal, one updating line on stderr; otherwise (pipes,
 * CI logs) one line per step. Silent when `quiet` (for --json).
 */
export function progress(quiet: boolean, stream: NodeJS.WriteStream = process.stderr): { step(text: string): void; done(): void } {
  const tty = Boolean(stream.isTTY);
  let last = '';
  return {
    step(text: string) {
      if (quiet || text === last) return;
      last = text;
      const line = `[${new Date().toISOString().slice(11, 19)}] ${text}`;
      stream.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
    },
    done() {
      if (!quiet && tty && last) stream.write('\n');
    },
  };
}
