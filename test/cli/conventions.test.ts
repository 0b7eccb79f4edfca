import * as fs from 'fs';
import * as path from 'path';
import type { Command } from 'commander';
import { buildProgram } from '../../lib/cli/main';
import { runDataops } from './run-command';

// One convention for every command: --format and --out where a result is written, -c/--config
// wherever the configuration is read, one ledger variable. New commands are held to it too.
const ROOT = path.resolve(__dirname, '..', '..');

/** Every command that runs something (a leaf), with its full name. */
function leaves(cmd: Command, prefix = ''): Array<{ name: string; cmd: Command }> {
  const name = `${prefix}${prefix ? ' ' : ''}${cmd.name()}`;
  if (cmd.commands.length === 0) return [{ name, cmd }];
  return cmd.commands.flatMap((c) => leaves(c, name === 'dataops' ? '' : name));
}

const program = buildProgram();
const all = leaves(program).filter((l) => l.name !== 'help');
const flags = (c: Command) => c.options.map((o) => o.flags);
const has = (c: Command, long: string) => c.options.some((o) => o.long === long);

/** Commands whose source reads the platform configuration. */
const readsConfig = (name: string): boolean => {
  const file = path.join(ROOT, 'lib', 'cli', 'commands', `${name.split(' ')[0]}.ts`);
  const text = fs.readFileSync(file, 'utf8');
  return /loadPlatformConfig|buildOrchestration/.test(text);
};

describe('dataops command conventions', () => {
  it('finds the commands (the checks below are not vacuous)', () => {
    expect(all.map((l) => l.name)).toEqual(expect.arrayContaining(['status', 'rollback', 'dora', 'audit export', 'cost', 'validate', 'config validate', 'deploy', 'verify']));
  });

  it.each(all.map((l) => [l.name, l.cmd] as const))('%s has no --json (the spelling is --format json)', (_name, cmd) => {
    expect(flags(cmd).filter((f) => /--json\b/.test(f))).toEqual([]);
  });

  it.each(all.filter((l) => has(l.cmd, '--format')).map((l) => [l.name, l.cmd] as const))('%s, which takes --format, also takes --out', (_name, cmd) => {
    expect(has(cmd, '--out')).toBe(true);
  });

  /** Commands without `--format <format>` and `--out <file>` for their result, and why. */
  const NO_RESULT_OPTIONS: Readonly<Record<string, string>> = {
    // --out <dir> is the release folder it writes (buildspecs/package.yml, docs/release-manifest.md); --format picks the summary
    package: '--out is the release folder',
    // prints only the path of the env file, for `. "$(dataops ci-database create …)"` in the buildspecs
    'ci-database create': 'prints the env file path',
    // writes log lines to stderr only
    'ci-database drop': 'no result',
  };

  it.each(all.filter((l) => !(l.name in NO_RESULT_OPTIONS)).map((l) => [l.name, l.cmd] as const))('%s writes its result with --format <format> and --out <file>', (_name, cmd) => {
    expect(flags(cmd)).toEqual(expect.arrayContaining(['--format <format>', '--out <file>']));
  });

  it.each(Object.keys(NO_RESULT_OPTIONS))('%s, an exception to --format/--out, is a command (the list is not stale)', (name) => {
    expect(all.map((l) => l.name)).toContain(name);
  });

  it('answers the old --json with the spelling every command uses', async () => {
    const r = await runDataops(['cost', '--json']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('dataops: every command spells it --format json');
  });

  it.each(all.filter((l) => readsConfig(l.name)).map((l) => [l.name, l.cmd] as const))('%s reads the configuration and takes -c, --config <path>', (_name, cmd) => {
    expect(flags(cmd)).toContain('-c, --config <path>');
  });

  it.each(all.filter((l) => has(l.cmd, '--ledger-table')).map((l) => [l.name, l.cmd] as const))('%s names $LEDGER_TABLE as the ledger default', (_name, cmd) => {
    expect(cmd.options.find((o) => o.long === '--ledger-table')?.description).toMatch(/\$LEDGER_TABLE\b/);
  });

  it('has one ledger variable in the code: LEDGER_TABLE, not DATAOPS_LEDGER_TABLE', () => {
    const hits: string[] = [];
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        // docs/decisions.md is the append-only history: it may say the old name is gone
        else if (/\.(ts|yml|md)$/.test(e.name) && e.name !== 'decisions.md' && fs.readFileSync(p, 'utf8').includes('DATAOPS_LEDGER_TABLE')) hits.push(path.relative(ROOT, p));
      }
    };
    for (const d of ['lib', 'buildspecs', 'docs']) walk(path.join(ROOT, d));
    expect(hits).toEqual([]);
  });
});
