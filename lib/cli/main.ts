import * as fs from 'fs';
import * as path from 'path';
import { Command, CommanderError } from 'commander';
import { COMMANDS } from './commands';

/** The version of the `dataops` package (package.json), as `dataops --version` prints it. */
export function dataopsVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}

/**
 * Builds the `dataops` program with every command registered. Registering is cheap: a command
 * module imports only commander, ../options and constants at its top, and loads its engine (AWS SDK
 * clients, snowflake-sdk, the checks, the runtime) inside its action, so `--help` and `--version`
 * load none of them (test/cli/startup.test.ts holds every command to this).
 */
export function buildProgram(): Command {
  const program = new Command('dataops')
    .description('build, validate, release, deploy and roll back data pipeline code (Airflow, dbt, Spark, Terraform)')
    .version(dataopsVersion(), '-V, --version', 'print the dataops version')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: true });
  for (const register of COMMANDS) register(program);
  return program;
}

/** Makes commander throw instead of exiting, on the program and every subcommand. */
function throwOnExit(cmd: Command): void {
  cmd.exitOverride();
  for (const sub of cmd.commands) throwOnExit(sub);
}

/**
 * Entry point of bin/dataops.js. Commands set process.exitCode (1: a blocking finding or a failed
 * check); errors propagate to the caller, which exits 2. Usage errors that commander reports itself
 * (an unknown option, a missing required one) also exit 2; --help and --version exit 0.
 */
export async function main(argv: readonly string[]): Promise<void> {
  const program = buildProgram();
  throwOnExit(program);
  try {
    await program.parseAsync([...argv]);
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    // commander has printed the message already
    if (e.code === 'commander.unknownOption' && /'--json'/.test(e.message)) process.stderr.write('dataops: every command spells it --format json\n');
    process.exitCode = e.exitCode === 0 ? 0 : 2;
  }
}
