/**
 * The gate step of Verify (lib/runtime/orchestrator/quality-gates.ts) with the orchestrator, the real
 * dbt/Snowflake deployer over the behavioural Snowflake model, moto S3 and the ledger on moto. The
 * dbt part with real dbt runs in test/e2e/buildspec-verify.test.ts; here dbt has no profile, so its
 * gate fails for that reason and the assertions are about the other gates and the step itself.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { AssetKind, EnvironmentName } from '../../../lib/config/schema';
import { DbtSnowflakeDeployer } from '../../../lib/runtime/deployers/dbt-snowflake-deployer';
import { sha256Hex } from '../../../lib/runtime/deployers/release-files';
import { deployRelease, loadRelease, verifyRelease, type AnyDeployer, type OrchestratorDeps } from '../../../lib/runtime/orchestrator/deploy';
import { runQualityGates } from '../../../lib/runtime/orchestrator/quality-gates';
import { makeTestConfig } from '../../helpers/config';
import { createTestLedger } from '../../helpers/ledger';
import { createVersionedBucket, deployContext, motoS3, writeRelease } from '../../helpers/s3-fixtures';
import { SnowflakeModel } from '../../helpers/snowflake-model';

const config = makeTestConfig();
const s3 = motoS3();
const MODEL = 'model.core.stg_claims';
const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ ID: i + 1 }));
const tableIn = (env: EnvironmentName) => `${config.environments[env].snowflake.database}.CORE.STG_CLAIMS`;
/** A folder without profiles.yml: the dbt gate fails for it, never reaching a warehouse. */
const noProfiles = fs.mkdtempSync(path.join(os.tmpdir(), 'no-profiles-'));

async function release(repo: string, build: number) {
  const manifest = JSON.stringify({
    metadata: { dbt_schema_version: 'https://schemas.getdbt.com/dbt/manifest/v12.json' },
    nodes: { [MODEL]: { unique_id: MODEL, resource_type: 'model', name: 'stg_claims', schema: 'core', compiled_code: `select id from raw.claims -- ${build}`, config: { materialized: 'table' } } },
  });
  const { dir } = await writeRelease({
    repo,
    build,
    files: [
      { kind: 'dbt', path: 'dbt_project.yml', body: `name: core\nversion: "${build}"\n` },
      { kind: 'dbt', path: 'target/manifest.json', body: manifest },
    ],
    dbt: { manifestSha256: sha256Hex(manifest), modelsToRebuild: [MODEL] },
  });
  return loadRelease(path.join(dir, 'release-manifest.json'));
}

/** Deploys a release that rebuilds stg_claims from `before` to `after` rows in `env`. */
async function deployed(env: EnvironmentName, before: number, after: number) {
  const repo = `core-qg-${Math.random().toString(36).slice(2, 8)}`;
  const sf = new SnowflakeModel();
  sf.createTable(tableIn(env), rows(before));
  sf.defineQuery('select id from raw.claims -- 1', rows(after));
  const deployer = new DbtSnowflakeDeployer({ sql: sf, s3, artifactBucket: await createVersionedBucket(s3, 'dbt-qg') });
  const { ledger } = await createTestLedger();
  const lines: string[] = [];
  const deps: OrchestratorDeps = { ledger, deployers: new Map<AssetKind, AnyDeployer>([['dbt', deployer as AnyDeployer]]), executionId: 'exec-1', actor: 'codebuild:test', log: (l) => lines.push(l) };
  const r = await release(repo, 1);
  await ledger.putExecution({ executionId: 'exec-1', repo, env, version: r.manifest.version, manifestSha256: r.manifestSha256, isRollback: false });
  await deployRelease(r, env, config.environments[env], deps);
  return { repo, sf, deployer, ledger, deps, r, lines };
}

describe('the data-quality gate step of Verify', () => {
  it('compares the row count the dbt deployer recorded before its swap with the count after, and passes within the threshold', async () => {
    // GIVEN a staging deploy that rebuilt stg_claims from 100 to 110 rows (+10 %, staging allows 25 %)
    const { deployer, deps, r } = await deployed('staging', 100, 110);
    const ctx = deployContext(r.manifest, r.releaseDir, { env: 'staging' });
    // WHEN the gate step runs
    const out = await runQualityGates(ctx, deps, { rowCounter: deployer, profilesDir: noProfiles });
    // THEN the row-count gate passed on the recorded before and the counted after
    expect(out.rowCounts.models).toEqual({ [MODEL]: { before: 100, after: 110 } });
    expect(out.gates.find((g) => g.gate === 'row-counts')).toMatchObject({ status: 'passed', findings: [], detail: expect.stringMatching(/1 table\(s\) .* maxRowCountChangePct 25 \(qualityGates of staging\)/) });
  });

  it('fails Verify when a swapped table changed by more than the threshold, naming the model and the threshold in the outcome and the ledger', async () => {
    // GIVEN a staging deploy that rebuilt stg_claims from 100 to 60 rows (-40 %, over staging's 25 %)
    const { repo, deps, r, ledger, lines } = await deployed('staging', 100, 60);
    // WHEN Verify runs
    const out = await verifyRelease(r, 'staging', config.environments.staging, deps, { profilesDir: noProfiles });
    // THEN it fails with the row-count finding naming the model and the threshold
    expect(out.ok).toBe(false);
    expect(out.gates.status).toBe('failed');
    const rowGate = out.gates.gates.find((g) => g.gate === 'row-counts');
    expect(rowGate?.findings).toEqual([
      expect.objectContaining({ code: 'GATE_ROW_COUNT_CHANGE', severity: 'error', asset: `dbt:${MODEL}`, message: 'stg_claims went from 100 to 60 rows (-40.0 %), over maxRowCountChangePct 25' }),
    ]);
    // AND the ledger has a failed gate verification naming it, the release is failed, the lock is free
    const events = await ledger.eventsFor(repo, 'staging', { executionId: 'exec-1' });
    const gate = events.find((e) => e.kind === 'verification' && e.assetKind === 'dbt' && e.message.startsWith('data-quality gates'));
    expect(gate).toMatchObject({ result: 'failed', problems: expect.arrayContaining([`GATE_ROW_COUNT_CHANGE dbt:${MODEL}: stg_claims went from 100 to 60 rows (-40.0 %), over maxRowCountChangePct 25`]) });
    const release = events.find((e) => e.kind === 'verification' && e.assetKind === null);
    expect(release).toMatchObject({ result: 'failed', problems: expect.arrayContaining(['gates: stg_claims went from 100 to 60 rows (-40.0 %), over maxRowCountChangePct 25']) });
    expect((await ledger.getReleaseStatus(repo, 'staging', r.manifest.version))?.status).toBe('failed');
    expect(await ledger.getLock(repo, 'staging')).toBeNull();
    expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(/^data-quality gates failed in staging: dbt-tests failed, source-freshness not-run, row-counts failed$/)]));
  });

  it('fails the dbt gate naming the missing profile and the target when no profiles.yml is given', async () => {
    // GIVEN a prod deploy of a dbt release and no profiles.yml for the gates' dbt runs
    const { deployer, deps, r } = await deployed('prod', 10, 10);
    // WHEN the gate step runs with the default target
    const out = await runQualityGates(deployContext(r.manifest, r.releaseDir, { env: 'prod' }), deps, { rowCounter: deployer, profilesDir: noProfiles });
    // THEN the dbt gate fails saying what is missing, which output it needs and how to give it
    expect(out.gates.find((g) => g.gate === 'dbt-tests')?.findings).toEqual([
      expect.objectContaining({ code: 'GATE_DBT_ERROR', message: expect.stringMatching(new RegExp(`no profiles.yml in ${noProfiles}; .* an output 'prod' for prod: set DBT_PROFILES_DIR`)) }),
    ]);
    expect(out.status).toBe('failed');
  });

  it('fails the row-count gate when a swapped table no longer exists', async () => {
    // GIVEN a staging deploy, after which someone dropped the table
    const { sf, deployer, deps, r } = await deployed('staging', 5, 5);
    sf.drop(tableIn('staging'));
    // WHEN the gate step runs
    const out = await runQualityGates(deployContext(r.manifest, r.releaseDir, { env: 'staging' }), deps, { rowCounter: deployer, profilesDir: noProfiles });
    // THEN the row-count gate fails naming the model and the table
    expect(out.gates.find((g) => g.gate === 'row-counts')?.findings).toEqual([
      expect.objectContaining({ code: 'GATE_ROW_COUNT_ERROR', message: `stg_claims: table ${tableIn('staging')} had 5 rows before the deploy and does not exist now; the row-count gate cannot compare it` }),
    ]);
  });

  it('does not run the gates in dev, says so, and records no gate verification', async () => {
    // GIVEN a dev deploy that halved the table (over any threshold)
    const { repo, deps, r, ledger } = await deployed('dev', 100, 50);
    // WHEN Verify runs in dev
    const out = await verifyRelease(r, 'dev', config.environments.dev, deps, { profilesDir: noProfiles });
    // THEN it passes, the gates did not run and the outcome says why
    expect(out.ok).toBe(true);
    expect(out.gates).toMatchObject({ status: 'not-run', summary: 'data-quality gates not run: dev is not gated (gates run in staging and prod)' });
    const events = await ledger.eventsFor(repo, 'dev', { executionId: 'exec-1' });
    expect(events.filter((e) => e.kind === 'verification' && e.message.startsWith('data-quality gates'))).toEqual([]);
  });

  it("does not run the row-count gate in a rollback's Verify", async () => {
    // GIVEN a staging deploy that halved the table
    const { deployer, deps, r } = await deployed('staging', 100, 50);
    // WHEN the gate step runs for a rollback redeploy
    const out = await runQualityGates(deployContext(r.manifest, r.releaseDir, { env: 'staging' }), deps, { rowCounter: deployer, profilesDir: noProfiles, isRollback: true });
    // THEN the row-count gate did not run, with the reason
    expect(out.gates.find((g) => g.gate === 'row-counts')).toMatchObject({ status: 'not-run', detail: expect.stringMatching(/rollback restores data/) });
    expect(out.findings.map((f) => f.code)).toEqual(['GATE_DBT_ERROR']);
  });

  it('does not run the gates for a release without dbt assets', async () => {
    // GIVEN a staging release of DAG files only
    const { release, dir } = await writeRelease({ files: [{ kind: 'airflow', path: 'dags/a.py', body: 'x = 1\n' }] });
    const { ledger } = await createTestLedger();
    // WHEN the gate step runs
    const out = await runQualityGates(deployContext(release, dir, { env: 'staging' }), { ledger, executionId: 'exec-1', log: () => undefined });
    // THEN nothing ran, and the outcome says why
    expect(out).toMatchObject({ status: 'not-run', findings: [], summary: `data-quality gates not run: release ${release.version} has no dbt assets` });
  });
});
