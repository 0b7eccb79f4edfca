import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PROJECT_ROOT } from '../../lib/checks/validate/toolchain';

// The `dataops gates` and `dataops validate` commands as CodeBuild calls them (exit codes, files).
jest.setTimeout(120_000);

function dataops(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'dataops.js'), ...args], { encoding: 'utf8', env: { ...process.env, NODE_NO_WARNINGS: '1' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('dataops gates', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gates-cli-'));
  const write = (name: string, value: unknown) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, JSON.stringify(value));
    return f;
  };

  it('passes in staging when every gate holds', () => {
    const rr = write('ok-run.json', { results: [{ unique_id: 'test.p.unique_a_id', status: 'pass', failures: 0 }] });
    const counts = write('ok-counts.json', { models: { fct_daily_visits: { before: 100, after: 110 } } });
    const r = dataops(['gates', '--env', 'staging', '--run-results', rr, '--row-counts', counts]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^PASSED/m);
  });

  it('fails prod with exit 1, naming the model and the threshold of that environment', () => {
    // GIVEN a 20 % drop, allowed in staging (25) but not in prod (15) by the embedded config
    const counts = write('drop.json', { models: { fct_daily_visits: { before: 100, after: 80 } } });
    // WHEN the prod gates run, as JSON
    const r = dataops(['gates', '--env', 'prod', '--row-counts', counts, '--format', 'json']);
    // THEN the run fails with the model and the threshold
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as { findings: Array<{ code: string; message: string }> };
    expect(out.findings).toEqual([expect.objectContaining({ code: 'GATE_ROW_COUNT_CHANGE', message: expect.stringMatching(/fct_daily_visits .* over maxRowCountChangePct 15/) })]);
    expect(dataops(['gates', '--env', 'staging', '--row-counts', counts]).code).toBe(0);
  });

  it('fails with exit 2 and says what to pass when the input is not run_results.json', () => {
    const bad = write('bad.json', { nope: true });
    const r = dataops(['gates', '--env', 'staging', '--run-results', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\.json: not dbt run_results\.json: results: /);
  });
});

describe('dataops validate', () => {
  it('fails with exit 2 and a fix when --base is unknown', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'validate-cli-'));
    spawnSync('git', ['init', '-q', '-b', 'main'], { cwd: dir });
    fs.writeFileSync(path.join(dir, 'main.tf'), '');
    const r = dataops(['validate', '--repo', dir, '--base', 'no-such-ref', '--quiet']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no-such-ref.*check that --repo is a git checkout and --base names a fetched revision/);
  });

  it('fails with exit 2 on an unknown format', () => {
    const r = dataops(['validate', '--repo', '.', '--format', 'xml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--format 'xml' is not supported, expected text, json, junit or markdown/);
  });
});
