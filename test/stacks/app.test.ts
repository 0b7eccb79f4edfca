import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { stringify } from 'yaml';
import { defaultConfigData } from '../helpers/config';

const ROOT = path.join(__dirname, '..', '..');

/** Runs bin/app.ts the way the CDK CLI does (context in CDK_CONTEXT_JSON, output in CDK_OUTDIR). */
function runApp(context: Record<string, unknown>): { status: number | null; stderr: string; outdir: string } {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-app-'));
  const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), path.join(ROOT, 'bin', 'app.ts')], {
    cwd: ROOT,
    env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: outdir },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: r.status, stderr: r.stderr, outdir };
}

describe('bin/app.ts', () => {
  it('fails with the typo\'s YAML path and how to fix it, and writes no templates, when the config has a typo', () => {
    // GIVEN the default configuration with one misspelled asset kind
    const raw = defaultConfigData();
    raw.repos[2].kinds[0] = 'sparkk';
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-cfg-')), 'platform.yaml');
    fs.writeFileSync(file, stringify(raw));
    // WHEN the app runs with -c config=<that file>
    const { status, stderr, outdir } = runApp({ config: file });
    // THEN it exits non-zero with the ConfigError message only (no stack trace)
    expect(status).toBe(1);
    expect(stderr).toMatch(/repos\[2\]\.kinds\[0\] \(line \d+\): unknown asset kind 'sparkk', expected one of airflow, dbt, spark, terraform, python, sql; fix the spelling/);
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(fs.readdirSync(outdir).filter((f) => f.endsWith('.template.json'))).toEqual([]);
  });

  it('fails naming the file when the config file does not exist', () => {
    const { status, stderr } = runApp({ config: '/nonexistent/platform.yaml' });
    expect(status).toBe(1);
    expect(stderr).toContain('/nonexistent/platform.yaml');
    expect(stderr).toContain('cannot read the file');
  });
});
