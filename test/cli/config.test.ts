import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadPlatformConfig } from '../../lib/config/loader';
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

  it.each([['null'], ['~']])("fails on a document that is only '%s', saying so instead of calling the file empty", async (text) => {
    const f = file(`null-${text === '~' ? 'tilde' : 'word'}.yaml`, `# platform\n${text}\n`);
    const r = await runDataops(['config', 'validate', '-c', f]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`${f}: 1 problem in the platform configuration`);
    expect(r.stderr).toContain(`(document) (line 2): the document is only '${text}', a YAML null, not a configuration; write the platform configuration into it`);
  });

  it('says the same through cdk synth (bin/app.ts), not a schema dump', () => {
    // GIVEN an empty file WHEN the app is built from it as `cdk synth -c config=FILE` does THEN the one problem says it is empty
    const f = file('synth-empty.yaml', '');
    expect(() => loadPlatformConfig(f, {})).toThrow(/1 problem in the platform configuration[\s\S]*\(document\): the file is empty/);
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
  const comments = fs
    .readFileSync(path.join(ROOT, 'config', 'northstar.yaml'), 'utf8')
    .split('\n')
    .filter((l) => l.trim().startsWith('#'))
    .join('\n')
    // a pointer may wrap onto the next comment line
    .replace(/\n\s*#\s*/g, ' ');
  const headings = (file: string) =>
    fs
      .readFileSync(path.join(ROOT, file), 'utf8')
      .split('\n')
      .filter((l) => /^#+ /.test(l))
      .map((l) => l.replace(/^#+ /, '').trim());

  it('points only to files that exist', () => {
    // GIVEN the embedded default's comments WHEN every docs/, lib/ or README path they name is looked up THEN each exists
    const named = [...comments.matchAll(/\b((?:docs|lib|config|buildspecs)\/[\w./-]+\.(?:md|ts|yaml|yml)|README\.md)\b/g)].map((m) => m[1]);
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((f) => !fs.existsSync(path.join(ROOT, f)))).toEqual([]);
  });

  it('points only to sections that exist (README "Deploy", README.md ("Your own configuration"))', () => {
    // GIVEN every 'FILE "Section"' or 'FILE ("Section")' in the comments WHEN looked up THEN the file has that heading
    const named = [...comments.matchAll(/\b(README(?:\.md)?|docs\/[\w.-]+\.md) \(?"([^"]+)"\)?/g)].map((m) => ({ file: m[1] === 'README' ? 'README.md' : m[1], section: m[2] }));
    expect(named.length).toBeGreaterThan(1);
    expect(named.filter((n) => !headings(n.file).includes(n.section))).toEqual([]);
  });

  it('points to a section of docs/cost.md about the usage: block, as it says', () => {
    expect(comments).toContain('docs/cost.md describes the usage: block');
    expect(headings('docs/cost.md').filter((h) => h.includes('`usage:`'))).toHaveLength(1);
  });

  it('says every key is documented in lib/config/schema.ts, and every key there has a doc comment', () => {
    // GIVEN the claim WHEN every property of the schema's objects is read THEN a /** … */ comment comes right before it
    expect(comments).toContain('Every key is documented where it is defined, in lib/config/schema.ts');
    const lines = fs.readFileSync(path.join(ROOT, 'lib', 'config', 'schema.ts'), 'utf8').split('\n');
    const property = /^\s+(\w+): (z\.|name\(|accountId|ssmPath|bucketName|assetKind|relativePath|arn\(|[A-Z]\w*Schema)/;
    const keys = lines.map((l, i) => ({ key: property.exec(l)?.[1], line: i + 1 })).filter((k) => k.key !== undefined);
    expect(keys.length).toBeGreaterThan(50);
    expect(keys.filter((k) => !lines[k.line - 2].trim().endsWith('*/')).map((k) => `${k.key} (line ${k.line})`)).toEqual([]);
  });
});
