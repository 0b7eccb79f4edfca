import * as fs from 'fs';
import * as path from 'path';
import { Option, type Command } from 'commander';
import { CONFIG_OPTION_HELP } from '../config/loader';
import { ENVIRONMENT_NAMES, type EnvironmentName, type PlatformConfig } from '../config/schema';
import { HANDLER_ENV } from '../runtime/ledger/table';

/*
 * The options every `dataops` command spells the same way, and the argument checks that run before
 * anything is read from AWS. This module is loaded when the program is built (for --help), so it
 * imports nothing heavy: no AWS SDK, no checks, no runtime beyond plain constants.
 */

/** A command-line value that cannot be used; the process exits with status 2. */
export class UsageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UsageError';
  }
}

/** Adds `-c, --config <path>`: every command that reads the platform configuration takes it. */
export function addConfigOption(cmd: Command): Command {
  return cmd.option('-c, --config <path>', CONFIG_OPTION_HELP);
}

/** Adds `--format <format>` (one of `formats`) and `--out <file>`: every command that writes a result takes them. */
export function addOutputOptions(cmd: Command, formats: readonly string[], defaultFormat: string, what = 'the result'): Command {
  return cmd.addOption(formatOption(formats, defaultFormat)).option('--out <file>', `write ${what} to this file instead of standard output`);
}

/** `--format <format>`, one of `formats`; another value is a usage error that names the allowed ones. */
export function formatOption(formats: readonly string[], defaultFormat: string, description = `output format: ${formats.join(', ')}`): Option {
  const allowed = formats.length > 1 ? `${formats.slice(0, -1).join(', ')} or ${formats[formats.length - 1]}` : formats[0];
  return new Option('--format <format>', description)
    .argParser((value: string) => {
      if (!formats.includes(value)) throw new UsageError(`--format '${value}' is not supported, expected ${allowed}`);
      return value;
    })
    .default(defaultFormat);
}

/** Adds `--ledger-table <name>` (and `--audit-bucket <name>`): the operations commands locate the platform with them. */
export function addLocationOptions(cmd: Command, withAuditBucket = false): Command {
  cmd.option('--ledger-table <name>', `the deployment ledger table (default: $${HANDLER_ENV.ledgerTable}, else read from the Recorder function)`);
  if (withAuditBucket) cmd.option('--audit-bucket <name>', `the Object Lock audit bucket (default: $${HANDLER_ENV.auditBucket}, else read from the Recorder function)`);
  return cmd;
}

/** Options added by {@link addConfigOption}, {@link addOutputOptions} and {@link addLocationOptions}. */
export interface CommonOptions {
  readonly config?: string;
  readonly format: string;
  readonly out?: string;
  readonly ledgerTable?: string;
  readonly auditBucket?: string;
}

/** Writes `text` to `--out` (creating its folder) or, without it, to standard output. */
export function writeOutput(out: string | undefined, text: string): void {
  if (!out) {
    process.stdout.write(text);
    return;
  }
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  fs.writeFileSync(out, text);
}

/** Names a repo that the configuration does not know, with the ones it does. */
export function checkRepo(config: PlatformConfig, repo: string | undefined): void {
  if (repo !== undefined && !config.repos.some((r) => r.name === repo)) {
    throw new UsageError(`--repo '${repo}' is not a repo of platform '${config.name}'; known repos: ${config.repos.map((r) => r.name).join(', ')}`);
  }
}

/** Names an environment that does not exist, with the ones that do. */
export function checkEnv(env: string | undefined): EnvironmentName | undefined {
  if (env !== undefined && !(ENVIRONMENT_NAMES as readonly string[]).includes(env)) {
    throw new UsageError(`--env '${env}' is not an environment; use one of ${ENVIRONMENT_NAMES.join(', ')}`);
  }
  return env as EnvironmentName | undefined;
}

/** A required option that was not given: names it and what it takes. */
export function requireValue<T>(flag: string, value: T | undefined, expected: string): T {
  if (value === undefined || (typeof value === 'string' && value.trim() === '')) throw new UsageError(`${flag} is required; ${expected}`);
  return value;
}

/**
 * Runs every argument check and throws one {@link UsageError} that lists every problem they found
 * (the message of the only one, when there is one), so a command line with two mistakes is fixed in
 * one go. Errors other than usage errors propagate at once.
 */
export function checkArguments(checks: ReadonlyArray<() => unknown>): void {
  const problems: string[] = [];
  for (const check of checks) {
    try {
      check();
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      problems.push(e.message);
    }
  }
  if (problems.length === 1) throw new UsageError(problems[0]);
  if (problems.length > 1) throw new UsageError(`${problems.length} problems with the arguments:\n  - ${problems.join('\n  - ')}`);
}

/** A positive number given to `flag`, or a usage error naming it. */
export function positiveNumber(flag: string, value: string, unit: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} '${value}' is not a positive number of ${unit}`);
  return n;
}

/**
 * Progress lines for long operations: on a terminal, one updating line on stderr; otherwise (pipes,
 * CI logs) one line per step. Silent when `quiet` (machine-readable output on stdout).
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
