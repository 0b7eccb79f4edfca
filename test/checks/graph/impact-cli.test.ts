import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { computeImpact, publishFragments } from '../../../lib/checks/graph';
import { main } from '../../../lib/cli/main';
import { makeWorkspace, type Workspace } from './workspace';

const NOW = new Date('2026-06-01T00:00:00Z');
const BIN = path.resolve(__dirname, '..', '..', '..', 'bin', 'dataops.js');

/** Runs bin/dataops.js in a child process (slow: tsx compiles the CLI; used once for the exit code). */
function dataopsProcess(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the same program in this process, capturing stdout and the exit code it sets. */
async function dataops(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const before = process.exitCode;
  process.exitCode = 0;
  try {
    await main(['node', 'dataops', ...args]);
    return { status: Number(process.exitCode ?? 0), stdout, stderr: '' };
  } catch (err) {
    return { status: 1, stdout, stderr: (err as Error).message };
  } finally {
    write.mockRestore();
    process.exitCode = before;
  }
}

describe('dataops impact', () => {
  let ws: Workspace;
  let registry: string;
  beforeAll(async () => {
    // GIVEN warehouse drops fct_claims.amount, and the other repos published their fragments
    ws = makeWorkspace('DBT_COLUMN_REMOVED');
    registry = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-impact-'));
    await publishFragments({ repos: ws.all.filter((d) => d !== ws.dirs.warehouse), registry, now: NOW });
  });
  afterAll(() => {
    ws.cleanup();
    fs.rmSync(registry, { recursive: true, force: true });
  });

  it('lists the changed assets and every affected asset in any repo', async () => {
    // WHEN the impact of warehouse's change is computed
    const r = await computeImpact({ repo: ws.dirs.warehouse, base: 'HEAD~1', registry, now: NOW });
    // THEN the changed model and its consumers across repos are listed
    expect(r.changed).toEqual([{ asset: 'warehouse/dbt:model.warehouse.fct_claims', change: 'modified' }]);
    expect(r.changedFiles).toEqual(['models/marts/fct_claims.sql', 'models/marts/schema.yml', 'target/manifest.json']);
    expect(r.affected).toEqual([
      'analytics/dbt:model.analytics.claims_summary',
      'dataset:s3://lake/curated/claims_enriched',
      'orchestration/airflow:publish_reports',
      'spark-jobs/spark:claims_enrichment',
      'warehouse/dbt:exposure.warehouse.claims_dashboard',
    ]);
  });

  it('prints the same through the command, as JSON', async () => {
    const r = await dataops('impact', '--repo', ws.dirs.warehouse, '--base', 'HEAD~1', '--registry', registry, '--format', 'json');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ repo: 'warehouse', affected: expect.arrayContaining(['analytics/dbt:model.analytics.claims_summary']) });
  });

  it('fails on a folder that is not a git work tree, saying why', async () => {
    const plain = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-plain-'));
    try {
      await expect(computeImpact({ repo: plain, base: 'HEAD~1' })).rejects.toThrow(/is not a git work tree, so there is no base to compare with/);
    } finally {
      fs.rmSync(plain, { recursive: true, force: true });
    }
  });
});

describe('dataops check and graph commands', () => {
  let ws: Workspace;
  beforeAll(() => {
    ws = makeWorkspace('DAG_REF_MISSING_TASK');
  });
  afterAll(() => ws.cleanup());

  it('fails with exit code 1 and lists the finding as JSON when a check finds an error', () => {
    // WHEN bin/dataops.js check runs on repos with a sensor on a missing task
    const r = dataopsProcess('check', '--repos', ...ws.all, '--base', 'HEAD~1', '--format', 'json');
    // THEN it exits 1 and the JSON names the finding
    expect(r.status).toBe(1);
    const out = JSON.parse(r.stdout) as { ok: boolean; findings: Array<{ code: string }> };
    expect(out.ok).toBe(false);
    expect(out.findings.map((f) => f.code)).toContain('DAG_REF_MISSING_TASK');
  });

  it('prints findings as text with file, line and downstream', async () => {
    const r = await dataops('check', '--repos', ws.dirs.orchestration);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/ERROR DAG_REF_MISSING_TASK orchestration\/dags\/build_warehouse.py:15 \(airflow:build_warehouse\)/);
    expect(r.stdout).toMatch(/downstream \(1\): orchestration\/airflow:refresh_dashboards/);
    expect(r.stdout).toMatch(/1 error\(s\), \d+ warning\(s\)/);
  });

  it('builds the graph as DOT with one cluster per repo and the cross-repo edges', async () => {
    const r = await dataops('graph', '--repos', ws.dirs.warehouse, ws.dirs.analytics, '--format', 'dot');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^digraph assets \{/);
    expect(r.stdout).toContain('label="analytics"');
    expect(r.stdout).toContain('"warehouse/dbt:model.warehouse.fct_claims" -> "analytics/dbt:model.analytics.claims_summary" [label="ref"]');
  });

  it('fails on an unknown --format, naming the allowed ones', async () => {
    const r = await dataops('check', '--repos', ws.dirs.orchestration, '--format', 'xml');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/--format 'xml' is not supported, expected text or json/);
  });
});
