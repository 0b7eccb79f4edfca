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

function dataops(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
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

  it('prints the usage with --help (its time is cli_help_ms in npm run bench, not asserted here)', () => {
    const r = dataops(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: dataops \[options\] \[command\]/);
    expect(r.stdout).toMatch(/^  -V, --version +print the dataops version$/m);
  });

  it('prints the package version with --version and -V', () => {
    const version = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    for (const flag of ['--version', '-V']) {
      const r = dataops([flag]);
      expect({ status: r.status, stdout: r.stdout }).toEqual({ status: 0, stdout: `${version}\n` });
    }
  });

  describe('no AWS SDK warning on commands that call no AWS', () => {
    // The SDK prints NodeVersionSupportWarning (on Node 20) when a client is constructed, so a command
    // that prints it built a client it did not need.
    let repo: string;
    beforeAll(() => {
      // GIVEN a committed one-module Python repo for the commands that read a repo
      repo = fs.mkdtempSync(path.join(os.tmpdir(), 'startup-py-'));
      const git = (...a: string[]) => spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...a], { cwd: repo });
      git('init', '-q');
      fs.writeFileSync(path.join(repo, 'calc.py'), 'def add(a, b):\n    return a + b\n');
      git('add', '.');
      git('commit', '-qm', 'calc');
    });
    afterAll(() => fs.rmSync(repo, { recursive: true, force: true }));

    it('is printed by the SDK on this Node when a client is built (the cases below are not vacuous)', () => {
      const script = `new (require('@aws-sdk/client-s3').S3Client)({ region: 'us-east-1' })`;
      const r = spawnSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NODE_NO_WARNINGS: '' } });
      const major = Number(process.versions.node.split('.')[0]);
      if (major < 22) expect(r.stderr).toMatch(/NodeVersionSupportWarning/);
      else expect(r.stderr).not.toMatch(/NodeVersionSupportWarning/);
    });

    it.each([
      [['--help']],
      [['--version']],
      [['cost']],
      [['cost', '--format', 'json']],
      [['config', 'validate']],
      [['config', 'show', '--format', 'yaml']],
      [['config', 'execution-policy', '--account', 'prod']],
      [['buildspec', 'validate']],
      [['validate', '--repo', 'REPO', '--quiet']],
      [['check', '--repos', 'REPO']],
      [['impact', '--repo', 'REPO', '--base', 'HEAD']],
      [['graph', '--repos', 'REPO']],
      [['status', '--help']],
    ])('%j prints none', (args) => {
      // WHEN the command runs with warnings on (NODE_NO_WARNINGS unset)
      const r = dataops(args.map((a) => (a === 'REPO' ? repo : a)), { NODE_NO_WARNINGS: '' });
      // THEN it succeeds and the SDK printed nothing
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: expect.not.stringMatching(/NodeVersionSupportWarning|AWS SDK/) });
    });
  });
});
