import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

// `dataops --help` and `--version` answer at once: building the program registers every command
// without loading any command's engine (AWS SDK clients, snowflake-sdk, aws-cdk-lib, the checks, the
// runtime). A command module that imports one of them at its top fails here, naming the module.
const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'dataops.js');

/** Packages and project folders that only a command's action may load. */
const HEAVY = [
  /node_modules\/@aws-sdk\//,
  /node_modules\/@smithy\//,
  /node_modules\/snowflake-sdk\//,
  /node_modules\/aws-cdk-lib\//,
  /node_modules\/cdk-nag\//,
  /node_modules\/pg\//,
  /node_modules\/ajv\//,
  /\/lib\/(stacks|constructs|checks\/(validate\/checks|graph|inventory|gates))\//,
  /\/lib\/runtime\/(?!ledger\/table\.ts)/,
];

function dataops(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
}

describe('dataops startup', () => {
  it('builds the program without loading any command engine', () => {
    // GIVEN the program built the way bin/dataops.js builds it, in a fresh process
    const script = `require('tsx/cjs'); require(${JSON.stringify(path.join(ROOT, 'lib', 'cli', 'main.ts'))}).buildProgram(); process.stdout.write(JSON.stringify(Object.keys(require.cache)));`;
    const r = spawnSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(0);
    const loaded = JSON.parse(r.stdout) as string[];
    // THEN none of the heavy modules was loaded
    expect(loaded.filter((m) => HEAVY.some((h) => h.test(m))).map((m) => path.relative(ROOT, m))).toEqual([]);
    // AND every command module was (the check is not vacuous)
    expect(loaded.some((m) => m.endsWith(path.join('lib', 'cli', 'commands', 'status.ts')))).toBe(true);
  });

  it('prints --help in under a second', () => {
    // GIVEN a warm tsx cache (the first run compiles the CLI) WHEN --help runs THEN the fastest of three is under 1 s
    dataops(['--help']);
    const runs = [dataops(['--help']), dataops(['--help']), dataops(['--help'])];
    for (const r of runs) expect(r.status).toBe(0);
    expect(runs[0].stdout).toMatch(/^Usage: dataops \[options\] \[command\]/);
    expect(Math.min(...runs.map((r) => r.ms))).toBeLessThan(1000);
  });

  it('prints the package version with --version and -V', () => {
    const version = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    for (const flag of ['--version', '-V']) {
      const r = dataops([flag]);
      expect({ status: r.status, stdout: r.stdout }).toEqual({ status: 0, stdout: `${version}\n` });
    }
  });

  it.each([
    [['--help']],
    [['cost']],
    [['config', 'validate']],
    [['validate', '--repo', 'PYREPO', '--quiet']],
  ])('prints no AWS SDK warning on %j, which calls no AWS', (args) => {
    // GIVEN warnings on (NODE_NO_WARNINGS unset), and for validate a one-module Python repo
    const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'startup-py-'));
    spawnSync('git', ['init', '-q'], { cwd: repo });
    fs.writeFileSync(path.join(repo, 'calc.py'), 'def add(a, b):\n    return a + b\n');
    // WHEN a command that calls no AWS runs THEN no SDK warning is printed
    const r = dataops(args.map((a) => (a === 'PYREPO' ? repo : a)), { NODE_NO_WARNINGS: '' });
    expect(r.stderr).not.toMatch(/NodeVersionSupportWarning|AWS SDK/);
    expect(r.status).toBe(0);
  });
});
