import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { stringify } from 'yaml';
import { CONFIG_ENV, sha256Of } from '../../lib/config/loader';
import { defaultConfigData } from '../helpers/config';
import { helpOf, runDataops } from './run-command';

describe('dataops reads the configuration named by DATAOPS_CONFIG, as the pipeline builds set it', () => {
  let dir: string;
  let file: string;
  const saved = { path: process.env[CONFIG_ENV.path], sha256: process.env[CONFIG_ENV.sha256] };
  beforeAll(() => {
    // GIVEN a platform 'acme' with a $50 budget in its own file
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-config-env-'));
    const raw = defaultConfigData();
    raw.name = 'acme';
    raw.monthlyBudgetUsd = 50;
    file = path.join(dir, 'acme.yaml');
    fs.writeFileSync(file, stringify(raw));
  });
  afterEach(() => {
    for (const [key, name] of [['path', CONFIG_ENV.path], ['sha256', CONFIG_ENV.sha256]] as const) {
      if (saved[key] === undefined) delete process.env[name];
      else process.env[name] = saved[key];
    }
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('prices the platform of DATAOPS_CONFIG with dataops cost', async () => {
    // GIVEN DATAOPS_CONFIG names the file and no --config is passed
    process.env[CONFIG_ENV.path] = file;
    // WHEN dataops cost runs
    const r = await runDataops(['cost']);
    // THEN it prices acme against acme's budget, not Northstar's
    expect(r.stdout).toMatch(/^Monthly cost of platform 'acme' \(8 repos\): \$[\d,]+\.\d\d — OVER the \$50\.00 budget/);
    expect(r.exitCode).toBe(0);
  });

  it('prints the platform of DATAOPS_CONFIG with dataops config show, unless --config names another file', async () => {
    process.env[CONFIG_ENV.path] = file;
    expect(JSON.parse((await runDataops(['config', 'show'])).stdout).name).toBe('acme');
    expect(JSON.parse((await runDataops(['config', 'show', '--config', path.join(__dirname, '..', '..', 'config', 'northstar.yaml')])).stdout).name).toBe('northstar');
  });

  it('fails with exit code 2 when DATAOPS_CONFIG_SHA256 does not match, before anything is priced', async () => {
    // GIVEN a pin from another file's bytes
    process.env[CONFIG_ENV.path] = file;
    process.env[CONFIG_ENV.sha256] = sha256Of('the configuration the pipeline was synthesized from');
    // WHEN dataops cost runs THEN it refuses, saying why and what to do
    const r = await runDataops(['cost']);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/the toolchain image holds a different configuration than the pipeline was synthesized with .*; rebuild the toolchain image/);
  });

  it.each(['cost', 'config validate', 'config show', 'gates', 'deploy', 'verify', 'status', 'rollback', 'audit export', 'dora'])('documents the rule in dataops %s --help', (command) => {
    expect(helpOf(command).replace(/\s+/g, ' ')).toContain('-c, --config <path> platform configuration file (default: $DATAOPS_CONFIG, else the embedded config/northstar.yaml');
  });
});
