import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runDataops } from './run-command';

// `dataops validate` never passes with nothing checked: a folder that is not a git work tree, or a
// repo with no asset the tool knows, is an error (exit 2) naming the path and what was expected.
describe('dataops validate on folders it cannot validate', () => {
  const made: string[] = [];
  const folder = (files: Record<string, string>, git: boolean): string => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'validate-cli-'));
    made.push(dir);
    for (const [f, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
      fs.writeFileSync(path.join(dir, f), text);
    }
    if (git) spawnSync('git', ['init', '-q'], { cwd: dir });
    return dir;
  };
  afterAll(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('fails with exit 2 on a folder that is not a git work tree, naming it and what to pass', async () => {
    // GIVEN a folder with a Python module but no git
    const dir = folder({ 'calc.py': 'x = 1\n' }, false);
    // WHEN validated THEN exit 2 names the folder and that a git checkout is expected; nothing says PASSED
    const r = await runDataops(['validate', '--repo', dir, '--quiet']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`--repo '${dir}' is not a git work tree; validate reads the change from git, so pass the folder of a cloned data repo`);
    expect(r.stdout).not.toMatch(/PASSED/);
  });

  it('fails with exit 2 on a git repo that holds no asset it knows, listing what it looks for', async () => {
    // GIVEN an empty git repo (a README only)
    const dir = folder({ 'README.md': '# nothing here\n' }, true);
    const r = await runDataops(['validate', '--repo', dir, '--quiet']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`--repo '${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}' holds no asset that dataops knows .*; expected dbt_project\\.yml \\(dbt, sql\\), a dags/ folder \\(airflow\\), \\*\\.tf files \\(terraform\\)`));
    expect(r.stdout).not.toMatch(/PASSED/);
  });

  it('fails with exit 2 when --kinds names only kinds the repo does not have', async () => {
    // GIVEN a git repo with Python only WHEN validated for spark THEN exit 2 names what it has
    const dir = folder({ 'calc.py': 'x = 1\n' }, true);
    const r = await runDataops(['validate', '--repo', dir, '--kinds', 'spark', '--quiet']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`--kinds spark: the repo '${dir}' has no asset of this kind; it has python`);
  });

  it('fails with exit 2 on a --repo that does not exist', async () => {
    const r = await runDataops(['validate', '--repo', path.join(os.tmpdir(), 'no-such-repo-here'), '--quiet']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/no-such-repo-here' is not a directory; pass --repo with the path of a checked-out data repo/);
  });

  it('validates a git repo with a known asset, writing the report to --out', async () => {
    // GIVEN a git repo with one Python module (one change from the first case: git)
    const dir = folder({ 'calc.py': 'def add(a, b):\n    return a + b\n' }, true);
    const out = path.join(dir, '..', `${path.basename(dir)}-report.json`);
    made.push(out);
    // WHEN validated THEN the checks ran and passed, and the report is in the file
    const r = await runDataops(['validate', '--repo', dir, '--format', 'json', '--out', out, '--quiet']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('');
    const report = JSON.parse(fs.readFileSync(out, 'utf8')) as { passed: boolean; checks: Array<{ kind: string; status: string }> };
    expect(report.passed).toBe(true);
    expect(report.checks.filter((c) => c.kind === 'python' && c.status === 'passed').length).toBeGreaterThan(0);
  });
});
