import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { motoClientConfig } from '../helpers/moto';
import { freePort, waitForHttp } from '../helpers/servers';

// docs/operations.md, "Try it locally against moto": the recipe block, run as written with bash,
// against the moto that jest's globalSetup started. The doc and this test cannot drift apart.
const ROOT = path.resolve(__dirname, '..', '..');
const DOC = path.join(ROOT, 'docs', 'operations.md');

/** The shell block between the recipe markers of docs/operations.md. */
export function recipeOf(doc: string): string {
  const m = /<!-- local-ops recipe: begin -->\s*```sh\n([\s\S]*?)```\s*<!-- local-ops recipe: end -->/.exec(doc);
  if (!m) throw new Error(`${DOC} has no block between '<!-- local-ops recipe: begin -->' and '<!-- local-ops recipe: end -->'`);
  return m[1];
}

/** The command that starts moto, from the sh block that precedes the recipe in docs/operations.md. */
export function motoStartOf(doc: string): string {
  const before = doc.split('<!-- local-ops recipe: begin -->')[0];
  const m = /```sh\n(\.venv\/emulators\/bin\/python tools\/rehearsal\/moto-server\.py 127\.0\.0\.1 5000)\n```/.exec(before);
  if (!m) throw new Error(`${DOC} has no moto start command (python tools/rehearsal/moto-server.py 127.0.0.1 5000) before the recipe`);
  return m[1];
}

/** Runs `script` with bash in a scratch folder beside the project (so `--out` files land there). */
function runRecipe(script: string, moto = motoClientConfig().endpoint): { status: number | null; stdout: string; stderr: string; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-ops-'));
  // the recipe runs from the project folder; its relative --out lands in the scratch folder instead
  const body = `set -euo pipefail\ncd ${JSON.stringify(ROOT)}\n${script.replace(/--out (\S+)/g, (_, f: string) => `--out ${JSON.stringify(path.join(dir, f))}`)}`;
  const env: NodeJS.ProcessEnv = { ...process.env, MOTO: moto, NODE_NO_WARNINGS: '1' };
  for (const k of ['LEDGER_TABLE', 'AUDIT_BUCKET', 'AWS_PROFILE', 'AWS_SESSION_TOKEN', 'DATAOPS_CONFIG', 'DATAOPS_CONFIG_SHA256']) delete env[k];
  const r = spawnSync('bash', ['-c', body], { env, encoding: 'utf8', timeout: 240_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, dir };
}

describe('docs/operations.md: trying the operations commands locally against moto', () => {
  const doc = fs.readFileSync(DOC, 'utf8');
  const recipe = recipeOf(doc);
  // the moto the doc says to start, started by its own command (on a free port instead of 5000), so the
  // recipe runs on a fresh server as a reader's does, not on the suite's shared one
  let moto: { child: ChildProcess; endpoint: string };
  beforeAll(async () => {
    const port = await freePort();
    const child = spawn('bash', ['-c', `exec ${motoStartOf(doc).replace(/ 5000$/, ` ${port}`)}`], { cwd: ROOT, stdio: 'ignore' });
    moto = { child, endpoint: `http://127.0.0.1:${port}` };
    await waitForHttp(`${moto.endpoint}/moto-api/`, 'moto (started as docs/operations.md says)');
  });
  afterAll(async () => {
    if (moto.child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      moto.child.once('exit', () => resolve());
      moto.child.kill('SIGTERM');
    });
  });

  it('fails at the first command when the ledger was not seeded, naming the ledger table and how to pass it', () => {
    // GIVEN the recipe without its seed step (one change: no LEDGER_TABLE)
    const unseeded = recipe
      .split('\n')
      .filter((l) => !l.includes('seed.ts'))
      .join('\n');
    // WHEN it runs
    const r = runRecipe(unseeded);
    // THEN status stops it, saying where the ledger table comes from
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/cannot find the ledger table: pass --ledger-table or set LEDGER_TABLE/);
  });

  it('shows status, a rollback plan, the audit evidence and the DORA figures of the seeded history', () => {
    // WHEN the recipe runs as written, against the moto started as the doc says
    const r = runRecipe(recipe, moto.endpoint);
    expect({ status: r.status, stderr: r.status === 0 ? '' : r.stderr }).toEqual({ status: 0, stderr: '' });
    // THEN status shows the ledger's side: prod runs the second release, the third failed there
    expect(r.stdout).toMatch(/^orchestration +prod +20260305\.2\+bbb2222 +20260309\.3\+ccc3333 failed 2026-03-09 10:00Z +\? +– +\?$/m);
    // AND says what moto cannot tell (GetPipelineState)
    expect(r.stderr).toMatch(/warning: codepipeline:GetPipelineState on northstar-orchestration failed .*'in progress' and 'waiting for approval' are unknown/);
    // AND the dry run plans going back to the first release and changes nothing
    expect(r.stdout).toContain('Dry run: nothing was changed. Rolling back orchestration/prod would:');
    expect(r.stdout).toMatch(/release going back: 20260305\.2\+bbb2222 → 20260302\.1\+aaa1111/);
    // AND the audit CSV lists every environment deployment with its approver and locked evidence
    const csv = fs.readFileSync(path.join(r.dir, 'audit.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toMatch(/^"finished_at","repo","env","version","result","rollback"/);
    expect(csv).toHaveLength(1 + 3 * 5 + 1);
    expect(csv.find((l) => l.includes('"dbt-core-models","prod","20260303.1+ddd4444","succeeded","yes"'))).toBeDefined();
    expect(csv.find((l) => l.includes('"orchestration","prod","20260305.2+bbb2222"'))).toContain('data-platform-owners/alice');
    // AND dora counts the failed release and the rollback
    expect(r.stdout).toMatch(/^ALL +4 +0\.13 .* 40\.0% \(2\/5\) /m);
  });
});
