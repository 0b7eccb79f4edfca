import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { chromium, type BrowserContext } from 'playwright-core';
import type { AuditReport } from '../../../lib/ops/audit/model';
import { helpOf, runDataops } from '../../cli/run-command';
import { CodePipelineFake } from '../../helpers/codepipeline-fake';
import { useLocalAws } from '../helpers/cli-env';
import { PlatformHistory } from '../helpers/platform-history';

const CHROMIUM = '/usr/bin/chromium';
const HOSTILE_REASON = 'bake alarm <img src=x onerror="document.title=\'pwned\'"> fired';

describe('dataops audit export on a ledger and audit bucket written by the runtime', () => {
  const fake = new CodePipelineFake();
  let h: PlatformHistory;
  let dir: string;
  const loc = () => ['--ledger-table', h.tableName, '--audit-bucket', h.auditBucket];

  beforeAll(async () => {
    await fake.start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-audit-'));
    // GIVEN orchestration: two releases through dev, staging and prod, then a prod rollback;
    // and dbt-core-models: one release whose prod stage failed verification
    h = await PlatformHistory.create(fake, ['orchestration', 'dbt-core-models']);
    await h.release({ repo: 'orchestration', version: '20260302.1+aaa1111', prodAt: '2026-03-02T10:00:00.000Z' });
    await h.release({ repo: 'orchestration', version: '20260303.2+bbb2222', prodAt: '2026-03-03T10:00:00.000Z' });
    expect((await h.rollback({ repo: 'orchestration', at: '2026-03-03T11:00:00.000Z', reason: HOSTILE_REASON })).status).toBe('started');
    await h.release({ repo: 'dbt-core-models', version: '20260304.5+ddd4444', prodAt: '2026-03-04T12:00:00.000Z', prodOutcome: 'failed' });
  });
  afterAll(async () => {
    await fake.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  useLocalAws(() => fake.endpoint);

  let cached: AuditReport | undefined;
  /** The JSON export of the whole window, run once through the CLI and shared by the tests that read it. */
  async function json(): Promise<AuditReport> {
    if (cached) return cached;
    const r = await runDataops(['audit', 'export', '--from', '2026-03-01', '--to', '2026-03-10', '--format', 'json', ...loc()]);
    expect(r.stderr).toBe('');
    cached = JSON.parse(r.stdout) as AuditReport;
    return cached;
  }

  it('lists every environment deployment in the window with its result, oldest first', async () => {
    const report = await json();
    // 2 releases × 3 envs + the rollback execution in prod + dbt's dev, staging and failed prod
    expect(report.deployments.map((d) => `${d.repo}/${d.env}/${d.result}${d.isRollback ? '/rollback' : ''}`)).toEqual([
      'orchestration/dev/succeeded',
      'orchestration/staging/succeeded',
      'orchestration/prod/succeeded',
      'orchestration/dev/succeeded',
      'orchestration/staging/succeeded',
      'orchestration/prod/succeeded',
      'orchestration/prod/succeeded/rollback',
      'dbt-core-models/dev/succeeded',
      'dbt-core-models/staging/succeeded',
      'dbt-core-models/prod/failed',
    ]);
  });

  it('shows who approved each gated deployment (approver ARN, time, summary) and what changed since the previous release', async () => {
    const prod = (await json()).deployments.find((d) => d.env === 'prod' && d.version === '20260303.2+bbb2222' && !d.isRollback)!;
    expect(prod.approvals).toEqual([
      expect.objectContaining({
        action: 'Prod/Approve',
        approver: PlatformHistory.approverOf('prod'),
        summary: 'reviewed the 20260303.2+bbb2222 manifest diff and dbt contract diff',
        result: 'succeeded',
      }),
    ]);
    expect(prod.changes).toEqual({ previousVersion: '20260302.1+aaa1111', added: [], changed: ['dags/orchestration.py', 'models/orchestration.sql'], removed: [] });
    expect(prod.checks.map((c) => `${c.name}=${c.result}`)).toEqual(['deploy airflow (apply)=succeeded', 'verify=succeeded']);
    expect(Object.keys(prod.checksums)).toEqual(['release.json']);
  });

  it('points at each evidence object and confirms it is locked in COMPLIANCE mode for six years', async () => {
    const report = await json();
    for (const d of report.deployments) {
      expect(d.evidence.uri).toBe(`s3://${h.auditBucket}/evidence/${d.repo}/${d.env}/${d.finishedAt.slice(0, 4)}/${d.finishedAt.slice(5, 7)}/${d.finishedAt.slice(8, 10)}/${d.executionId}-${d.result}.json`);
      expect(d.evidence).toMatchObject({ found: true, mode: 'COMPLIANCE' });
      expect(Date.parse(d.evidence.retainUntil!)).toBeGreaterThan(Date.now() + 2189 * 86_400_000);
    }
  });

  it('records the failed checks of the failed deployment and the rollback request with its reason', async () => {
    const report = await json();
    const failed = report.deployments.find((d) => d.result === 'failed')!;
    expect(failed.checks.find((c) => c.name === 'verify')).toMatchObject({ result: 'failed', problems: ['dbt test not_null_claims_id failed'] });
    expect(report.rollbacks).toEqual([expect.objectContaining({ repo: 'orchestration', env: 'prod', result: 'started', reason: HOSTILE_REASON, fromVersion: '20260303.2+bbb2222', toVersion: '20260302.1+aaa1111' })]);
  });

  it('writes CSV with one quoted row per deployment', async () => {
    const out = path.join(dir, 'audit.csv');
    const r = await runDataops(['audit', 'export', '--from', '2026-03-01', '--to', '2026-03-10', '--format', 'csv', '--out', out, ...loc()]);
    expect(r.exitCode).toBe(0);
    const lines = fs.readFileSync(out, 'utf8').trimEnd().split('\r\n');
    expect(lines).toHaveLength(11);
    expect(lines[0]).toMatch(/^"finished_at","repo","env","version","result",/);
    expect(lines.find((l) => l.includes('"20260303.2+bbb2222","succeeded","no"') && l.includes('"prod"'))).toContain(`"${PlatformHistory.approverOf('prod')}"`);
  });

  it('renders one self-contained HTML page that headless Chromium shows with the expected rows', async () => {
    // GIVEN the HTML report written to a file
    expect(fs.existsSync(CHROMIUM)).toBe(true); // installed by buildspecs/toolchain/ensure.sh (Debian chromium)
    const out = path.join(dir, 'audit.html');
    const r = await runDataops(['audit', 'export', '--from', '2026-03-01', '--to', '2026-03-10', '--out', out, ...loc()]);
    expect(r.exitCode).toBe(0);
    // WHEN Chromium opens it
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-chromium-'));
    let browser: BrowserContext | undefined;
    try {
      browser = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
      const page = await browser.newPage();
      const requests: string[] = [];
      page.on('request', (req) => requests.push(req.url()));
      await page.goto(`file://${out}`);
      // THEN it renders one row per deployment, the counts, the approver and the evidence of the prod release
      expect(await page.locator('#deployments tbody tr.deployment').count()).toBe(10);
      expect(await page.locator('#count-deployments').innerText()).toBe('10');
      expect(await page.locator('#count-failed').innerText()).toBe('1');
      expect(await page.locator('#count-rollbacks').innerText()).toBe('1');
      expect(await page.locator('#count-missing-evidence').innerText()).toBe('0');
      const prodRow = page.locator('tr.deployment[data-repo="orchestration"][data-env="prod"]', { hasText: '20260303.2+bbb2222' }).filter({ hasNotText: 'rollback' });
      await expect(prodRow.count()).resolves.toBe(1);
      const prodText = await prodRow.innerText();
      expect(prodText).toContain(PlatformHistory.approverOf('prod'));
      expect(prodText).toContain('reviewed the 20260303.2+bbb2222 manifest diff');
      expect(prodText).toContain('changed 2');
      expect(prodText).toContain('verify: succeeded');
      expect(prodText).toContain(`s3://${h.auditBucket}/evidence/orchestration/prod/`);
      expect(prodText).toContain('COMPLIANCE until');
      expect(await page.locator('tr.deployment.failed').innerText()).toContain('dbt test not_null_claims_id failed');
      // AND the hostile rollback reason is shown as text, not run: one page, no other request, no injected element
      expect(await page.locator('#rollbacks').innerText()).toContain(HOSTILE_REASON);
      expect(await page.locator('#rollbacks img').count()).toBe(0);
      expect(await page.title()).toMatch(/^Deployment audit: northstar/);
      expect(requests).toEqual([`file://${out}`]);
    } finally {
      await browser?.close();
      fs.rmSync(profile, { recursive: true, force: true });
    }
  });

  it.each([
    [['--from', '2026-03-10', '--to', '2026-03-01'], /--from 2026-03-10T00:00:00.000Z is after --to 2026-03-01T23:59:59.999Z; swap them/],
    [['--from', 'March', '--to', '2026-03-01'], /--from 'March' is not a date; use YYYY-MM-DD/],
    [['--to', '2026-03-01'], /required option '--from <date>' not specified/],
    [['--from', '2026-03-01', '--to', '2026-03-02', '--format', 'pdf'], /--format 'pdf' is not supported, expected json, csv or html/],
  ])('fails on %j naming the problem', async (args, message) => {
    const r = await runDataops(['audit', 'export', ...args, ...loc()]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });

  it('lists every option in --help', () => {
    const help = helpOf('audit export');
    for (const o of ['--from <date>', '--to <date>', '--format <format>', 'json', 'csv', 'html', '--out <file>', '--no-pipeline-approvers', '--ledger-table <name>', '--audit-bucket <name>', '-c, --config <path>']) {
      expect(help).toContain(o);
    }
  });
});
