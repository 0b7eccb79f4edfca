import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { AssetKind } from '../../../lib/config/schema';
import type { ApplyResult, DeployContext, Deployer } from '../../../lib/runtime/deployers/contract';
import { DeployRefusedError } from '../../../lib/runtime/deployers/errors';
import { deployRelease, DeployLockedError, loadRelease, verifyRelease, type AnyDeployer, type OrchestratorDeps } from '../../../lib/runtime/orchestrator/deploy';
import { packageRelease } from '../../../lib/runtime/release/package';
import { makeTestConfig } from '../../helpers/config';
import { createTestLedger, testClock } from '../../helpers/ledger';

type Objects = Map<string, string>;
interface MemPlan { put: Array<[string, string]>; del: string[] }

/** A deployer over an in-memory object store, following the contract exactly; can fail after N writes. */
class MemoryDeployer implements Deployer<Objects, MemPlan, Record<string, string>> {
  readonly target: Objects = new Map();
  failAfterWrites: number | null = null;
  verifyProblems: string[] = [];
  constructor(readonly kind: AssetKind) {}
  async readCurrent(): Promise<Objects> {
    return new Map(this.target);
  }
  plan(current: Objects, ctx: DeployContext): MemPlan {
    const want = new Map(ctx.release.assets.filter((a) => a.kind === this.kind).map((a) => [a.path, a.sha256]));
    return { put: [...want].filter(([p, s]) => current.get(p) !== s), del: [...current.keys()].filter((p) => !want.has(p)) };
  }
  previousOf(current: Objects): Record<string, string> {
    return Object.fromEntries(current);
  }
  async apply(plan: MemPlan): Promise<ApplyResult<Record<string, string>>> {
    const previous = Object.fromEntries(this.target);
    let writes = 0;
    const write = (f: () => void) => {
      if (this.failAfterWrites !== null && writes >= this.failAfterWrites) throw new Error(`injected failure after ${writes} writes`);
      f();
      writes += 1;
    };
    for (const [p, s] of plan.put) write(() => this.target.set(p, s));
    for (const p of plan.del) write(() => this.target.delete(p));
    return { writes, previous, summary: `${plan.put.length} put, ${plan.del.length} deleted` };
  }
  async verify(): Promise<{ ok: boolean; problems: string[] }> {
    return { ok: this.verifyProblems.length === 0, problems: this.verifyProblems };
  }
  async restore(previous: Record<string, string>): Promise<ApplyResult<Record<string, string>>> {
    const before = Object.fromEntries(this.target);
    this.target.clear();
    for (const [p, s] of Object.entries(previous)) this.target.set(p, s);
    return { writes: Object.keys(previous).length, previous: before, summary: 'restored' };
  }
}

const config = makeTestConfig();
const environment = config.environments.prod;
const tmp = (n: string) => fs.mkdtempSync(path.join(os.tmpdir(), `orch-${n}-`));

/** Writes a repo with the given DAG files and packages it; returns the release on disk. */
async function release(version: number, dags: Record<string, string>) {
  const repo = tmp('repo');
  fs.writeFileSync(path.join(repo, 'dataops.yaml'), 'kinds: [airflow]\npaths:\n  airflow: dags\n');
  fs.mkdirSync(path.join(repo, 'dags'));
  for (const [name, body] of Object.entries(dags)) fs.writeFileSync(path.join(repo, 'dags', name), body);
  const out = tmp('rel');
  await packageRelease({ repoDir: repo, outDir: out, repoName: 'orchestration', buildId: String(version), sha: `abcdef${version}`, createdAt: '2026-03-02T09:00:00Z' });
  return loadRelease(path.join(out, 'release-manifest.json'));
}
const dagFile = (id: string, start = '2025, 1, 1', catchup = 'True') =>
  `from airflow import DAG\nimport pendulum\nwith DAG(dag_id='${id}', schedule='@daily', start_date=pendulum.datetime(${start}, tz='UTC'), catchup=${catchup}):\n    pass\n`;

async function setup() {
  const clock = testClock();
  const { ledger } = await createTestLedger({ now: () => new Date() });
  const airflow = new MemoryDeployer('airflow');
  const deployers = new Map<AssetKind, AnyDeployer>([['airflow', airflow]]);
  const lines: string[] = [];
  const deps = (executionId: string): OrchestratorDeps => ({ ledger, deployers, executionId, actor: 'codebuild:test', log: (l) => lines.push(l) });
  return { ledger, airflow, deps, clock, lines };
}

describe('deployRelease and verifyRelease (ledger on moto, in-memory target)', () => {
  it('deploys a release, records each step and the deployment, and keeps the lock for verify', async () => {
    // GIVEN a packaged release with two DAG files
    const { ledger, airflow, deps } = await setup();
    const r1 = await release(1, { 'a.py': dagFile('a'), 'b.py': dagFile('b') });
    // WHEN deployed
    const out = await deployRelease(r1, 'prod', environment, deps('exec-1'));
    // THEN both objects are written, the ledger has started/succeeded steps and the deployment, the lock is held
    expect(out).toMatchObject({ status: 'deployed', writes: 2, isRollback: false });
    expect([...airflow.target.keys()].sort()).toEqual(['dags/a.py', 'dags/b.py']);
    const events = await ledger.eventsFor('orchestration', 'prod');
    expect(events.map((e) => `${e.kind}:${e.result}`)).toEqual(['deploy-step:started', 'deploy-step:succeeded', 'deployment:succeeded']);
    // AND the deployment record carries the release's commit time (the manifest's createdAt) for DORA lead time
    expect(events.at(-1)).toMatchObject({ kind: 'deployment', commitAt: '2026-03-02T09:00:00.000Z' });
    expect((await ledger.getLock('orchestration', 'prod'))?.holder).toBe('exec-1');
    expect((await ledger.getReleaseStatus('orchestration', 'prod', r1.manifest.version))?.status).toBe('deployed');
  });

  it('writes nothing when the same release is deployed again by a new execution', async () => {
    // GIVEN r1 deployed and verified by exec-1
    const { airflow, deps } = await setup();
    const r1 = await release(1, { 'a.py': dagFile('a') });
    await deployRelease(r1, 'prod', environment, deps('exec-1'));
    await verifyRelease(r1, 'prod', environment, deps('exec-1'));
    // WHEN exec-2 deploys the same release THEN zero writes
    expect((await deployRelease(r1, 'prod', environment, deps('exec-2'))).writes).toBe(0);
    expect(airflow.target.size).toBe(1);
  });

  it('does nothing twice when CodePipeline retries the Deploy action of the same execution', async () => {
    // GIVEN exec-1 deployed r1
    const { ledger, deps } = await setup();
    const r1 = await release(1, { 'a.py': dagFile('a') });
    await deployRelease(r1, 'prod', environment, deps('exec-1'));
    const before = (await ledger.eventsFor('orchestration', 'prod')).length;
    // WHEN the job is retried THEN it replays without new records
    expect(await deployRelease(r1, 'prod', environment, deps('exec-1'))).toMatchObject({ status: 'replayed', writes: 0 });
    expect((await ledger.eventsFor('orchestration', 'prod')).length).toBe(before);
  });

  it('fails the second of two concurrent deploys of one repo to one environment', async () => {
    // GIVEN two executions deploying at once
    const { deps } = await setup();
    const r1 = await release(1, { 'a.py': dagFile('a') });
    const results = await Promise.allSettled([deployRelease(r1, 'prod', environment, deps('exec-a')), deployRelease(r1, 'prod', environment, deps('exec-b'))]);
    // THEN exactly one proceeds and the other is told who holds the lock
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason).toBeInstanceOf(DeployLockedError);
    expect((rejected.reason as Error).message).toMatch(/is locked by pipeline execution exec-[ab]/);
  });

  it('converges when a retry follows a failure mid-apply, recording the state from before the first attempt', async () => {
    // GIVEN r1 deployed, then r2 (three changes) fails after one write
    const { ledger, airflow, deps } = await setup();
    const r1 = await release(1, { 'a.py': dagFile('a'), 'b.py': dagFile('b') });
    await deployRelease(r1, 'prod', environment, deps('exec-1'));
    await verifyRelease(r1, 'prod', environment, deps('exec-1'));
    const before = Object.fromEntries(airflow.target);
    const r2 = await release(2, { 'a.py': `${dagFile('a')}# v2\n`, 'c.py': dagFile('c', '2025, 1, 1', 'False') });
    airflow.failAfterWrites = 1;
    await expect(deployRelease(r2, 'prod', environment, deps('exec-2'))).rejects.toThrow(/injected failure after 1 writes/);
    // THEN the failure is recorded and the lock is free
    expect(await ledger.getLock('orchestration', 'prod')).toBeNull();
    // WHEN CodePipeline retries the action
    airflow.failAfterWrites = null;
    const retry = await deployRelease(r2, 'prod', environment, deps('exec-2'));
    // THEN the target holds exactly r2, and the recorded previous state is r1's
    expect(Object.fromEntries(airflow.target)).toEqual(Object.fromEntries(r2.manifest.assets.map((a) => [a.path, a.sha256])));
    expect(retry.writes).toBe(2);
    const started = (await ledger.eventsFor('orchestration', 'prod', { executionId: 'exec-2' })).filter((e) => e.kind === 'deploy-step' && e.result === 'started');
    expect(started).toHaveLength(1);
    expect(started[0].kind === 'deploy-step' && started[0].previous).toEqual(before);
  });

  it('rolls back by redeploying the earlier release: the exact earlier object set, recorded as a rollback', async () => {
    // GIVEN r1 then r2 succeeded in prod
    const { ledger, airflow, deps } = await setup();
    // (b, which r2 removed, does not catch up, so bringing it back starts no catch-up runs)
    const r1 = await release(1, { 'a.py': dagFile('a'), 'b.py': dagFile('b', '2025, 1, 1', 'False') });
    const r2 = await release(2, { 'a.py': `${dagFile('a')}# v2\n`, 'c.py': dagFile('c', '2025, 1, 1', 'False') });
    for (const [r, exec] of [[r1, 'exec-1'], [r2, 'exec-2']] as const) {
      await ledger.putExecution({ executionId: exec, repo: 'orchestration', env: 'prod', version: r.manifest.version, manifestSha256: r.manifestSha256, isRollback: false, dags: r.manifest.dags, assets: Object.fromEntries(r.manifest.assets.map((a) => [a.path, a.sha256])) });
      await deployRelease(r, 'prod', environment, deps(exec));
      await verifyRelease(r, 'prod', environment, deps(exec));
      await ledger.recordSuccess({ repo: 'orchestration', env: 'prod', version: r.manifest.version, executionId: exec, manifestSha256: r.manifestSha256, wasRollback: false });
    }
    const r1Objects = Object.fromEntries(r1.manifest.assets.map((a) => [a.path, a.sha256]));
    // WHEN the rollback execution redeploys r1
    const out = await deployRelease(r1, 'prod', environment, deps('exec-rb'));
    // THEN it is a rollback, every object is r1's again (same sha256), and the plan is in the ledger
    expect(out).toMatchObject({ isRollback: true, rollbackPlan: { fromVersion: r2.manifest.version, toVersion: r1.manifest.version, pauseDags: [{ dagId: 'a', repo: r1.manifest.repo }, { dagId: 'c', repo: r1.manifest.repo }] } });
    expect(Object.fromEntries(airflow.target)).toEqual(r1Objects);
    const events = await ledger.eventsFor('orchestration', 'prod', { executionId: 'exec-rb' });
    expect(events.map((e) => `${e.kind}:${e.result}`)).toEqual(['rollback-step:succeeded', 'deploy-step:started', 'deploy-step:succeeded', 'deployment:succeeded']);
    expect(events.at(-1)).toMatchObject({ kind: 'deployment', isRollback: true });
  });

  it('fails a rollback that would start catch-up runs, before anything is written', async () => {
    // GIVEN r1 (dag a from 2025-01-01, catchup on) then r2 moved a's start_date
    const { ledger, airflow, deps } = await setup();
    const r1 = await release(1, { 'a.py': dagFile('a') });
    const r2 = await release(2, { 'a.py': dagFile('a', '2025, 6, 1') });
    for (const [r, exec] of [[r1, 'exec-1'], [r2, 'exec-2']] as const) {
      await ledger.putExecution({ executionId: exec, repo: 'orchestration', env: 'prod', version: r.manifest.version, manifestSha256: r.manifestSha256, isRollback: false, dags: r.manifest.dags, assets: {} });
      await deployRelease(r, 'prod', environment, deps(exec));
      await verifyRelease(r, 'prod', environment, deps(exec));
      await ledger.recordSuccess({ repo: 'orchestration', env: 'prod', version: r.manifest.version, executionId: exec, manifestSha256: null, wasRollback: false });
    }
    const r2Objects = Object.fromEntries(airflow.target);
    // WHEN r1 is redeployed THEN refused, naming the DAG, and the target is untouched
    await expect(deployRelease(r1, 'prod', environment, deps('exec-rb'))).rejects.toBeInstanceOf(DeployRefusedError);
    expect(Object.fromEntries(airflow.target)).toEqual(r2Objects);
    const last = (await ledger.eventsFor('orchestration', 'prod', { executionId: 'exec-rb' })).map((e) => `${e.kind}:${e.result}`);
    expect(last).toEqual(['rollback-step:refused', 'deployment:refused']);
  });

  it('verifies a release: records per kind and overall, marks it verified and frees the lock', async () => {
    const { ledger, deps } = await setup();
    const r1 = await release(1, { 'a.py': dagFile('a') });
    await deployRelease(r1, 'prod', environment, deps('exec-1'));
    expect(await verifyRelease(r1, 'prod', environment, deps('exec-1'))).toMatchObject({ ok: true, results: [{ kind: 'airflow', ok: true }] });
    expect((await ledger.getReleaseStatus('orchestration', 'prod', r1.manifest.version))?.status).toBe('verified');
    expect(await ledger.getLock('orchestration', 'prod')).toBeNull();
  });

  it('fails verification with the deployer\'s problems and marks the release failed', async () => {
    const { ledger, airflow, deps } = await setup();
    const r1 = await release(1, { 'a.py': dagFile('a') });
    await deployRelease(r1, 'prod', environment, deps('exec-1'));
    airflow.verifyProblems = ['dags/a.py: import error: No module named foo'];
    const out = await verifyRelease(r1, 'prod', environment, deps('exec-1'));
    expect(out).toMatchObject({ ok: false, results: [{ kind: 'airflow', ok: false, problems: ['dags/a.py: import error: No module named foo'] }] });
    expect((await ledger.getReleaseStatus('orchestration', 'prod', r1.manifest.version))?.status).toBe('failed');
  });

  it('fails a release with a kind that has no deployer, naming the registry', async () => {
    const { ledger } = await setup();
    const r1 = await release(1, { 'a.py': dagFile('a') });
    const deps: OrchestratorDeps = { ledger, deployers: new Map(), executionId: 'e', actor: 't', log: () => undefined };
    await expect(deployRelease(r1, 'prod', environment, deps)).rejects.toThrow(/no airflow deployer is available; add it to lib\/runtime\/deployers\/registry\.ts/);
  });

  it('fails to load a release whose artifact changed after packaging', async () => {
    const r1 = await release(1, { 'a.py': dagFile('a') });
    fs.appendFileSync(path.join(r1.releaseDir, 'airflow.tar.gz'), 'x');
    expect(() => loadRelease(path.join(r1.releaseDir, 'release-manifest.json'))).toThrow(/airflow\.tar\.gz has sha256 .* re-run the Package stage/);
  });
});
