import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import { ENDPOINT_ENV } from '../../lib/ops/context';
import { runDataops } from './run-command';

// The operations commands check their arguments against the configuration before any AWS call: a
// wrong value is named (exit 2) with no request sent. Every endpoint points at a recorder that counts
// requests; the last case shows the recorder does see a command that gets past its checks.
describe('operations commands check their arguments before any AWS call', () => {
  const requests: string[] = [];
  let server: http.Server;
  const saved: Record<string, string | undefined> = {};
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      requests.push(`${req.method} ${req.url} ${String(req.headers['x-amz-target'] ?? '')}`);
      req.resume();
      res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify({ __type: 'AccessDeniedException', message: 'recorder: no AWS here' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const env: Record<string, string | undefined> = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_SESSION_TOKEN: undefined, AWS_PROFILE: undefined, LEDGER_TABLE: undefined, AUDIT_BUCKET: undefined };
    for (const k of Object.values(ENDPOINT_ENV)) env[k] = url;
    for (const [k, v] of Object.entries(env)) {
      saved[k] = process.env[k];
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  afterAll(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  beforeEach(() => requests.splice(0));

  it.each([
    [['status', '--env', 'nosuch'], /--env 'nosuch' is not an environment; use one of dev, staging, prod/],
    [['status', '--repo', 'nosuch'], /--repo 'nosuch' is not a repo of platform 'northstar'; known repos: ingest-postgres/],
    [['rollback', '--repo', 'nosuch', '--env', 'prod', '--reason', 'r', '--dry-run'], /--repo 'nosuch' is not a repo of platform 'northstar'/],
    [['rollback', '--repo', 'orchestration', '--env', 'qa', '--reason', 'r', '--dry-run'], /--env 'qa' is not an environment/],
    [['rollback', '--repo', 'nosuch', '--dry-run'], /^dataops: 3 problems with the arguments:\n  - --repo 'nosuch' is not a repo of platform 'northstar'; known repos: ingest-postgres, [\w, -]+\n  - --env is required; use one of dev, staging, prod\n  - --reason is required; give why/],
    [['rollback', '--env', 'prod', '--reason', 'r'], /^dataops: --repo is required; known repos: ingest-postgres, /],
    [['rollback', '--repo', 'orchestration', '--env', 'prod', '--reason', ' '], /^dataops: --reason is required; give why in a few words/],
    [['status', '--env', 'nosuch', '--repo', 'nosuch'], /^dataops: 2 problems with the arguments:\n  - --env 'nosuch' is not an environment; use one of dev, staging, prod\n  - --repo 'nosuch' is not a repo/],
    [['deploy', '--release', '/nonexistent/release-manifest.json', '--env', 'nosuch'], /^dataops: --env 'nosuch' is not an environment; use one of dev, staging, prod/],
    [['verify', '--release', '/nonexistent/release-manifest.json', '--env', 'nosuch'], /^dataops: --env 'nosuch' is not an environment; use one of dev, staging, prod/],
    [['rollback', '--repo', 'orchestration', '--env', 'prod', '--reason', 'r', '--timeout', 'soon'], /--timeout 'soon' is not a positive number of seconds/],
    [['rollback', '--repo', 'orchestration', '--env', 'prod', '--reason', 'r', '--plan-locally'], /--plan-locally plans a dry run only; add --dry-run/],
    [['dora', '--since', 'banana'], /--since 'banana' is neither a duration \(90d, 12h, 2w\) nor an ISO date/],
    [['dora', '--until', 'tomorrow'], /--until 'tomorrow' is not an ISO date or time/],
    [['dora', '--since', '2026-03-10', '--until', '2026-03-01'], /--since '2026-03-10' is not before --until '2026-03-01'/],
    [['dora', '--repo', 'nosuch'], /--repo 'nosuch' is not a repo of platform 'northstar'/],
    [['dora', '--since', 'banana', '--repo', 'nosuch'], /^dataops: 2 problems with the arguments:\n  - --since 'banana' is neither [^\n]+\n  - --repo 'nosuch' is not a repo/],
    [['audit', 'export', '--from', 'banana', '--to', '2026-03-01'], /--from 'banana' is not a date; use YYYY-MM-DD/],
    [['audit', 'export', '--from', '2026-03-10', '--to', '2026-03-01'], /--from 2026-03-10T00:00:00\.000Z is after --to 2026-03-01T23:59:59\.999Z; swap them/],
    [['status', '--format', 'yaml'], /--format 'yaml' is not supported, expected text or json/],
    [['status', '-c', '/nonexistent/platform.yaml'], /\/nonexistent\/platform\.yaml: [\s\S]*cannot read the file \(ENOENT\)/],
  ])('fails on %j naming the argument, exit 2, with no AWS request', async (args, message) => {
    // WHEN the command runs with one wrong argument
    const r = await runDataops(args);
    // THEN it names the argument, exits 2, and nothing reached an AWS endpoint
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/credential|recorder: no AWS here/i);
    expect(r.exitCode).toBe(2);
    expect(requests).toEqual([]);
  });

  it('does reach AWS once the arguments are right (the recorder sees the calls)', async () => {
    // GIVEN right arguments WHEN status runs THEN it calls AWS (and fails on the recorder's answer)
    const r = await runDataops(['status', '--repo', 'orchestration', '--env', 'prod', '--ledger-table', 'ledger']);
    expect(requests.length).toBeGreaterThan(0);
    expect(r.exitCode).toBe(2);
  });
});

// The same, as a user runs it: a child process with no AWS credentials, no AWS configuration files and
// no endpoint. The SDK prints its NodeVersionSupportWarning (Node 20) when a client is constructed, so
// a run without it built no client, let alone called AWS.
describe('operations commands with no AWS credentials and no endpoint', () => {
  const ROOT = path.resolve(__dirname, '..', '..');
  let home: string;
  beforeAll(() => (home = fs.mkdtempSync(path.join(os.tmpdir(), 'ops-args-home-'))));
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

  /** The environment of the test run without anything that names AWS credentials, configuration or an endpoint. */
  function bareEnv(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (!/^(AWS_|DATAOPS_ENDPOINT_URL_|DATAOPS_CONFIG|LEDGER_TABLE$|AUDIT_BUCKET$)/.test(k)) env[k] = v;
    }
    // an empty home: no ~/.aws; warnings on, as a user sees them
    return { ...env, HOME: home, NODE_NO_WARNINGS: '' };
  }

  it.each([
    [['status', '--env', 'nosuch'], /^dataops: --env 'nosuch' is not an environment; use one of dev, staging, prod\n$/],
    [['rollback', '--repo', 'nosuch', '--dry-run'], /--repo 'nosuch' is not a repo of platform 'northstar'; known repos: ingest-postgres, .*platform-infra\n[\s\S]*--env is required; use one of dev, staging, prod/],
    [['dora', '--since', 'banana'], /^dataops: --since 'banana' is neither a duration \(90d, 12h, 2w\) nor an ISO date \(2026-01-31\); use one of those forms\n$/],
  ])('%j fails with a usage error naming the argument and the valid values (exit 2), building no AWS client', (args, message) => {
    // GIVEN no credentials and no endpoint WHEN the command runs with a wrong argument
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'dataops.js'), ...args], { cwd: home, encoding: 'utf8', env: bareEnv(), timeout: 60_000 });
    // THEN the argument is named with exit 2, and neither a credentials error nor the SDK's warning appears
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 2, stderr: expect.stringMatching(message) });
    expect(r.stderr).not.toMatch(/credential|NodeVersionSupportWarning/i);
    expect(r.stdout).toBe('');
  });

  it('does build a client once the arguments are right (the warning is seen, so its absence above means something)', () => {
    // GIVEN right arguments and the same bare environment WHEN status runs THEN it gets as far as AWS and fails there
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'dataops.js'), 'status', '--repo', 'orchestration', '--env', 'prod'], {
      cwd: home,
      encoding: 'utf8',
      env: { ...bareEnv(), AWS_EC2_METADATA_DISABLED: 'true' },
      timeout: 60_000,
    });
    expect(r.status).toBe(2);
    if (Number(process.versions.node.split('.')[0]) < 22) expect(r.stderr).toMatch(/NodeVersionSupportWarning/);
    expect(r.stderr).toMatch(/cannot find the ledger table: pass --ledger-table or set LEDGER_TABLE/);
  });
});
