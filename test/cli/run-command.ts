import { buildProgram, main } from '../../lib/cli/main';

/** What one in-process run of `dataops …` printed and the exit code it set. */
export interface CliRun {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

/**
 * Runs `dataops ARGS` in this process (no child process, so moto endpoints and env stay in reach)
 * and captures what it writes. Errors thrown by a command become exit code 2 with the message on
 * stderr, as bin/dataops.js does; so do commander's usage errors (main maps them).
 */
export async function runDataops(args: readonly string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  const before = process.exitCode;
  process.exitCode = undefined;
  let exitCode = 0;
  try {
    // main() makes commander throw instead of exiting, and maps its usage errors to exit 2
    await main(['node', 'dataops', ...args]);
    exitCode = Number(process.exitCode ?? 0);
  } catch (e) {
    stderr += `dataops: ${(e as Error).message}\n`;
    exitCode = Number(process.exitCode ?? 2) || 2;
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.exitCode = before;
  }
  return { stdout, stderr, exitCode };
}

/** The full `--help` text of `dataops <name>` (subcommand path separated by spaces). */
export function helpOf(name: string): string {
  let cmd = buildProgram();
  for (const part of name.split(' ')) {
    const next = cmd.commands.find((c) => c.name() === part);
    if (!next) throw new Error(`dataops has no command '${name}'`);
    cmd = next;
  }
  let text = '';
  cmd.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
  cmd.outputHelp();
  return text;
}
