import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runDataops } from './run-command';

const ROOT = path.resolve(__dirname, '..', '..');

describe('dataops config validate', () => {
  let dir: string;
  beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-config-'))));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, text);
    return f;
  };

  it.each([
    ['an empty file', 'empty.yaml', ''],
    ['a file with comments only', 'comments.yaml', '# platform: to be written\n\n'],
    ['a bare document marker', 'marker.yaml', '---\n'],
  ])('fails on %s, saying the file is empty and what to write into it', async (_what, name, text) => {
    // GIVEN a config file without a document WHEN validated THEN one problem names the file and says it is empty
    const f = file(name, text);
    const r = await runDataops(['config', 'validate', '-c', f]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`${f}: 1 problem in the platform configuration`);
    expect(r.stderr).toContain('(document): the file is empty (no YAML document, or only comments); write the platform configuration into it, e.g. a copy of config/northstar.yaml');
  });

  it('fails on a list where the configuration belongs, naming the type it got', async () => {
    const r = await runDataops(['config', 'validate', '-c', file('list.yaml', '- name: acme\n')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/\(document\) \(line 1\): expected object, got array/);
  });

  it('prints the result as JSON to --out', async () => {
    const out = path.join(dir, 'out', 'result.json');
    const r = await runDataops(['config', 'validate', '--format', 'json', '--out', out]);
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(fs.readFileSync(out, 'utf8'))).toMatchObject({ ok: true, repos: 8, assets: 250 });
  });
});

describe('dataops config execution-policy', () => {
  it.each(['tooling', 'prod'] as const)('prints the %s CloudFormation execution policy of the configuration', async (account) => {
    // GIVEN the embedded default WHEN the policy of one account is printed THEN it is the one the stacks need
    const { executionPolicy } = await import('../../lib/stacks/execution-policies');
    const { loadConfig } = await import('../../lib/config/loader');
    const r = await runDataops(['config', 'execution-policy', '--account', account]);
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(executionPolicy(loadConfig(), account));
  });

  it('fails on an account that is not the tooling account or an environment, naming the allowed ones', async () => {
    const r = await runDataops(['config', 'execution-policy', '--account', 'qa']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/argument 'qa' is invalid\. Allowed choices are tooling, dev, staging, prod/);
  });
});

describe('config/northstar.yaml', () => {
  it('points only to files that exist', () => {
    // GIVEN the embedded default's comments WHEN every docs/, lib/ or README path they name is looked up THEN each exists
    const text = fs.readFileSync(path.join(ROOT, 'config', 'northstar.yaml'), 'utf8');
    const comments = text.split('\n').filter((l) => l.trim().startsWith('#')).join('\n');
    const named = [...comments.matchAll(/\b((?:docs|lib|config|buildspecs)\/[\w./-]+\.(?:md|ts|yaml|yml)|README\.md)\b/g)].map((m) => m[1]);
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((f) => !fs.existsSync(path.join(ROOT, f)))).toEqual([]);
  });
});
