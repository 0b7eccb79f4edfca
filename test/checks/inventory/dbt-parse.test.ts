import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import YAML from 'yaml';
import { chooseDbtProfile, dbtErrorLines, dbtSandbox, findDbtProjects, freshRepoManifest, MANIFEST_MTIME_SLACK_MS, reproducibleManifest } from '../../../lib/checks/inventory/dbt-parse';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-dbt-parse-unit-'));

function write(root: string, files: Record<string, string>): string {
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    fs.writeFileSync(path.join(root, f), text);
  }
  return root;
}

const project = (name = 'shop') => `name: ${name}\nversion: "1.0.0"\nconfig-version: 2\nprofile: ${name}\n`;
const outputOf = (text: string, profile: string, target: string) => (YAML.parse(text) as Record<string, { target: string; outputs: Record<string, Record<string, unknown>> }>)[profile].outputs[target];

describe('findDbtProjects', () => {
  it('finds nested projects and skips installed packages, build output, hidden folders and local packages', () => {
    // GIVEN a repo with a project at the root, one nested, and dbt_project.yml files that are not projects of the repo
    const root = write(tmp(), {
      'dbt_project.yml': project('root_proj'),
      'packages.yml': 'packages:\n  - local: packages/utils\n',
      'packages/utils/dbt_project.yml': project('utils'),
      'analytics/marts/dbt_project.yml': project('marts'),
      'dbt_packages/dbt_utils/dbt_project.yml': project('dbt_utils'),
      'target/x/dbt_project.yml': project('x'),
      '.venv/lib/dbt_project.yml': project('y'),
    });
    // WHEN the projects are listed, THEN they are the root and the nested one
    expect(findDbtProjects(root)).toEqual(['.', 'analytics/marts']);
  });

  it('keeps a local package when dataops.yaml names it as the project', () => {
    const root = write(tmp(), { 'dbt_project.yml': project('a'), 'packages.yml': 'packages:\n  - local: sub\n', 'sub/dbt_project.yml': project('b') });
    expect(findDbtProjects(root, 'sub')).toEqual(['.', 'sub']);
  });
});

describe('chooseDbtProfile', () => {
  const installed = (types: string[]) => (t: string) => types.includes(t);

  it("uses the repo's output for the asked target, with the run's database file as its DuckDB path", () => {
    // GIVEN a stock dbt-duckdb profile with targets dev (a relative path) and local
    const dir = write(tmp(), { 'dbt_project.yml': project(), 'profiles.yml': 'shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: shop.duckdb\n    local:\n      type: duckdb\n      path: local.duckdb\n' });
    // WHEN the run asks for local
    const c = chooseDbtProfile({ projectDir: dir, target: 'local', duckdbPath: '/run/db.duckdb', adapterInstalled: installed(['duckdb']), env: {} });
    // THEN the repo's local output is used, pointed at the run's file
    expect(c).toMatchObject({ source: 'repo', target: 'local', adapter: 'duckdb' });
    expect(outputOf(c.text, 'shop', 'local')).toEqual({ type: 'duckdb', path: '/run/db.duckdb' });
  });

  it("falls back to the profile's own target when the asked one is not in it", () => {
    const dir = write(tmp(), { 'dbt_project.yml': project(), 'profiles.yml': 'shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: shop.duckdb\n' });
    const c = chooseDbtProfile({ projectDir: dir, target: 'local', duckdbPath: '/run/db.duckdb', adapterInstalled: installed(['duckdb']), env: {} });
    expect(c).toMatchObject({ source: 'repo', target: 'dev' });
  });

  it('chooses the offline profile for a Snowflake output without credentials, keeping the target name, its schema and saying why', () => {
    // GIVEN a Snowflake ci output whose account and user come from unset variables
    const dir = write(tmp(), {
      'dbt_project.yml': project(),
      'profiles.yml': "shop:\n  target: ci\n  outputs:\n    ci:\n      type: snowflake\n      account: \"{{ env_var('SNOWFLAKE_ACCOUNT') }}\"\n      user: \"{{ env_var('SNOWFLAKE_USER') }}\"\n      role: \"{{ env_var('SNOWFLAKE_ROLE', 'TRANSFORMER') }}\"\n      schema: analytics\n",
    });
    // WHEN the ci target is asked for, with dbt-snowflake installed
    const c = chooseDbtProfile({ projectDir: dir, target: 'ci', duckdbPath: '/run/db.duckdb', adapterInstalled: installed(['duckdb', 'snowflake']), env: {} });
    // THEN the profile is the offline DuckDB one, named like the repo's, and the reason lists the variables without defaults
    expect(c).toMatchObject({ source: 'offline', target: 'ci', adapter: 'duckdb', declaredAdapter: 'snowflake', why: "output 'ci' of profile 'shop' (snowflake) needs SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER, which are not set" });
    expect(outputOf(c.text, 'shop', 'ci')).toEqual({ type: 'duckdb', path: '/run/db.duckdb', threads: 1, schema: 'analytics' });
  });

  it('uses a Snowflake output when its variables are set and the adapter is installed, and not when the adapter is missing', () => {
    const dir = write(tmp(), { 'dbt_project.yml': project(), 'profiles.yml': "shop:\n  target: ci\n  outputs:\n    ci:\n      type: snowflake\n      account: \"{{ env_var('SNOWFLAKE_ACCOUNT') }}\"\n" });
    const env = { SNOWFLAKE_ACCOUNT: 'xy12345' };
    expect(chooseDbtProfile({ projectDir: dir, duckdbPath: '/d', adapterInstalled: installed(['snowflake']), env }).source).toBe('repo');
    expect(chooseDbtProfile({ projectDir: dir, duckdbPath: '/d', adapterInstalled: installed(['duckdb']), env })).toMatchObject({ source: 'offline', why: "output 'ci' of profile 'shop' is snowflake, and dbt-snowflake is not installed here" });
  });

  it('chooses the offline profile when the repo has no profiles.yml', () => {
    const dir = write(tmp(), { 'dbt_project.yml': project() });
    expect(chooseDbtProfile({ projectDir: dir, target: 'local', duckdbPath: '/d', env: {} })).toMatchObject({ source: 'offline', target: 'local', why: `no profiles.yml in ${dir}` });
  });

  it("fails on a dbt_project.yml without 'profile:', naming the file and the fix", () => {
    const dir = write(tmp(), { 'dbt_project.yml': 'name: shop\n' });
    expect(() => chooseDbtProfile({ projectDir: dir, duckdbPath: '/d' })).toThrow(/has no 'profile:'.*add 'profile: <name>' to dbt_project.yml/);
  });
});

describe('dbtSandbox', () => {
  it('links the project entries but not its outputs, and points every dbt path outside the project', () => {
    // GIVEN a project with earlier dbt output in it
    const dir = write(tmp(), { 'dbt_project.yml': project(), 'models/a.sql': 'select 1\n', 'target/manifest.json': '{}', 'logs/dbt.log': '', 'shop.duckdb': '', 'package-lock.yml': 'packages: []\n' });
    const work = tmp();
    // WHEN the sandbox is made
    const sb = dbtSandbox(dir, work, { env: {} });
    // THEN it links the sources, copies the lock file, and leaves out target/, logs/ and the database
    expect(fs.readdirSync(sb.dir).sort()).toEqual(['dbt_project.yml', 'models', 'package-lock.yml']);
    expect(fs.lstatSync(path.join(sb.dir, 'models')).isSymbolicLink()).toBe(true);
    expect(fs.lstatSync(path.join(sb.dir, 'package-lock.yml')).isSymbolicLink()).toBe(false);
    // AND dbt's target, log and profiles folders are under the work folder
    for (const p of [sb.targetPath, sb.logPath, sb.profilesDir, sb.duckdbPath]) expect(p.startsWith(work)).toBe(true);
    expect(sb.env).toMatchObject({ DO_NOT_TRACK: '1', DBT_SEND_ANONYMOUS_USAGE_STATS: 'false', DBT_PROFILES_DIR: sb.profilesDir });
    expect(sb.needsDeps).toBe(false);
  });
});

describe('freshRepoManifest', () => {
  it('trusts target/manifest.json written after the sources, and not one older than an edited model', () => {
    const dir = write(tmp(), { 'dbt_project.yml': project(), 'models/a.sql': 'select 1\n', 'target/manifest.json': '{}' });
    const manifest = path.join(dir, 'target', 'manifest.json');
    expect(freshRepoManifest(dir)).toBe(manifest);
    // WHEN a model is edited after the manifest (beyond the slack)
    const later = new Date(fs.statSync(manifest).mtimeMs + MANIFEST_MTIME_SLACK_MS + 5000);
    fs.utimesSync(path.join(dir, 'models/a.sql'), later, later);
    // THEN the manifest is stale
    expect(freshRepoManifest(dir)).toBeUndefined();
  });
});

describe('dbtErrorLines', () => {
  it("keeps the lines after dbt's error heading that say why, without timestamps", () => {
    const out = [
      '\u001b[0m12:19:26  Running with dbt=1.11.16',
      '\u001b[0m12:19:26  Registered adapter: duckdb=1.11.1',
      '\u001b[0m12:19:27  Encountered an error:',
      'Compilation Error in model bad_model (models/bad_model.sql)',
      "  unexpected '}', expected ')'",
      '    line 1',
      "      select id from {{ ref('ok_model' }}",
    ].join('\n');
    expect(dbtErrorLines(out)).toBe("Compilation Error in model bad_model (models/bad_model.sql) / unexpected '}', expected ')' / line 1 / select id from {{ ref('ok_model' }}");
  });

  it('names the missing variable of a profile', () => {
    expect(dbtErrorLines("12:19:32  Running with dbt=1.11.16\n12:19:32  Encountered an error:\nParsing Error\n  Env var required but not provided: 'SNOWFLAKE_ACCOUNT'\n")).toBe("Parsing Error / Env var required but not provided: 'SNOWFLAKE_ACCOUNT'");
  });

  it('falls back to the last line when dbt printed no error heading', () => {
    expect(dbtErrorLines('12:00:00  Running with dbt=1.11.16\n12:00:01  killed\n')).toBe('killed');
  });
});

describe('reproducibleManifest', () => {
  it('sets timestamps and the invocation id from the commit and makes root paths relative', () => {
    const text = JSON.stringify({ metadata: { generated_at: 'x', invocation_id: 'y', env: { A: '1' } }, nodes: { n: { created_at: 1.5, root_path: '/tmp/abc/project' } } });
    const a = reproducibleManifest(text, '2026-03-02T09:15:00.000Z', 'sha1');
    expect(JSON.parse(a)).toEqual({ metadata: { generated_at: '2026-03-02T09:15:00.000Z', invocation_id: expect.stringMatching(/^[0-9a-f]{8}-/), env: {} }, nodes: { n: { created_at: 1772442900, root_path: '.' } } });
    expect(reproducibleManifest(text.replace('/tmp/abc', '/tmp/def'), '2026-03-02T09:15:00.000Z', 'sha1')).toBe(a);
  });
});
