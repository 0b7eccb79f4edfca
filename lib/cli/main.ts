import { Command } from 'commander';
import { COMMANDS } from './commands';

/** Builds the `dataops` program with every command registered. */
export function buildProgram(): Command {
  const program = new Command('dataops')
    .description('build, validate, release, deploy and roll back data pipeline code (Airflow, dbt, Spark, Terraform)')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: true });
  for (const register of COMMANDS) register(program);
  return program;
}

/** Entry point of bin/dataops.js. Commands set process.exitCode; errors propagate to the caller. */
export async function main(argv: readonly string[]): Promise<void> {
  await buildProgram().parseAsync([...argv]);
}
