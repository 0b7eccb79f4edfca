/**
 * Data safety of a rollback redeploy with dbt models marked for rebuild: the orchestrator with the
 * real dbt/Snowflake deployer, the behavioural Snowflake model, moto S3 and the ledger on moto.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DirRegistry } from '../../../lib/checks/graph/registry';
import type { AssetKind } from '../../../lib/config/schema';
import { DbtSnowflakeDeployer } from '../../../lib/runtime/deployers/dbt-snowflake-deployer';
import { sha256Hex } from '../../../lib/runtime/deployers/release-files';
import { deployRelease, loadRelease, verifyRelease, type AnyDeployer, type OrchestratorDeps } from '../../../lib/runtime/orchestrator/deploy';
import { makeTestConfig } from '../../helpers/config';
import { createTestLedger } from '../../helpers/ledger';
import { createVersionedBucket, motoS3, writeRelease } from '../../helpers/s3-fixtures';
import { SnowflakeModel } from '../../helpers/snowflake-model';

const CLAIMS = 'ANALYTICS_DEV.CORE.STG_CLAIMS';
const MEMBERS = 'ANALYTICS_DEV.CORE.DIM_MEMBERS';
const MARKED = ['model.core.stg_claims', 'model.core.dim_members'];
const environment = makeTestConfig().environments.dev;
const s3 = motoS3();

function manifest(v: string): string {
  return JSON.stringify({
    metadata: { dbt_schema_version: 'https://schemas.getdbt.com/dbt/manifest/v12.json', invocation_id: v },
    nodes: {
      'model.core.stg_claims': { unique_id: 'model.core.stg_claims', resource_type: 'model', name: 'stg_claims', schema: 'core', compiled_code: `select id from raw.claims -- ${v}`, config: { materialized: 'table' } },
      'model.core.dim_members': { unique_id: 'model.core.dim_members', resource_type: 'model', name: 'dim_members', schema: 'core', compiled_code: `select id from raw.members where id > 2 -- ${v}`, config: { materialized: 'incremental' } },
    },
  });
}

async function release(repo: string, build: number) {
  const m = manifest(`v${build}`);
  const { dir } = await writeRelease({
    repo,
    build,
    files: [
      { kind: 'dbt', path: 'dbt_project.yml', body: `name: core\nversion: "${build}"\n` },
      { kind: 'dbt', path: 'target/manifest.json', body: m },
    ],
    dbt: { manifestSha256: sha256Hex(m), modelsToRebuild: MARKED },
  });
  return loadRelease(path.join(dir, 'release-manifest.json'));
}

describe('rollback redeploy of a release that marks dbt models for rebuild', () => {
  it('does not rebuild the marked models when the data restore was refused, and tells a person which models and when', async () => {
    // GIVEN v1 then v2 deployed to dev, both rebuilding stg_claims and the incremental dim_members in clones
    const repo = `core-rb-${Math.random().toString(36).slice(2, 8)}`;
    const sf = new SnowflakeModel();
    sf.createTable(CLAIMS, [{ ID: 1 }, { ID: 2 }]);
    sf.createTable(MEMBERS, [{ ID: 1 }, { ID: 2 }]);
    for (const v of ['v1', 'v2']) {
      sf.defineQuery(`select id from raw.claims -- ${v}`, [{ ID: 10 }, { ID: 20 }]);
      sf.defineQuery(`select id from raw.members where id > 2 -- ${v}`, [{ ID: 3 }]);
    }
    const bucket = await createVersionedBucket(s3, 'dbt-rb');
    const deployer = new DbtSnowflakeDeployer({ sql: sf, s3, artifactBucket: bucket });
    const { ledger } = await createTestLedger();
    const lines: string[] = [];
    // An asset graph in which no DAG of any repo uses these tables: the restore needs nothing paused.
    const rollbackData = { registry: new DirRegistry(fs.mkdtempSync(path.join(os.tmpdir(), 'graph-'))), guard: null };
    const deps = (executionId: string): OrchestratorDeps => ({ ledger, deployers: new Map<AssetKind, AnyDeployer>([['dbt', deployer as AnyDeployer]]), executionId, actor: 'codebuild:test', log: (l) => lines.push(l), rollbackData });
    const v1 = await release(repo, 1);
    const v2 = await release(repo, 2);
    for (const [exec, r] of [['exec-1', v1], ['exec-2', v2]] as const) {
      await ledger.putExecution({ executionId: exec, repo, env: 'dev', version: r.manifest.version, manifestSha256: r.manifestSha256, isRollback: false });
      await deployRelease(r, 'dev', environment, deps(exec));
      await verifyRelease(r, 'dev', environment, deps(exec));
      await ledger.recordSuccess({ repo, env: 'dev', version: r.manifest.version, executionId: exec, manifestSha256: r.manifestSha256, wasRollback: false });
    }
    // AND a load landed on both tables after v2 swapped them in
    sf.load(CLAIMS, [{ ID: 30 }]);
    sf.load(MEMBERS, [{ ID: 4 }]);
    const membersBefore = sf.table(MEMBERS)!.rows;
    const claimsBefore = sf.table(CLAIMS)!.rows;
    const statementsBefore = sf.statements.length;

    // WHEN CodePipeline's rollback execution redeploys v1
    await ledger.putExecution({ executionId: 'exec-rb', repo, env: 'dev', version: v1.manifest.version, manifestSha256: v1.manifestSha256, isRollback: true });
    const out = await deployRelease(v1, 'dev', environment, deps('exec-rb'));

    // THEN no statement rebuilds, clones or swaps a table: the live tables keep their rows (no duplicates)
    expect(out.isRollback).toBe(true);
    const issued = sf.statements.slice(statementsBefore);
    expect(issued.filter((q) => /^(INSERT|CREATE|ALTER TABLE .* SWAP WITH)/i.test(q.trim()))).toEqual([]);
    expect(sf.table(MEMBERS)!.rows).toEqual(membersBefore);
    expect(sf.table(CLAIMS)!.rows).toEqual(claimsBefore);
    // AND the restore's refusals and the skipped rebuild are for a person, naming the tables, models and times
    expect(out.forPerson).toEqual(
      expect.arrayContaining([
        expect.stringContaining(`${CLAIMS}: a load landed at`),
        expect.stringContaining(`${MEMBERS}: a load landed at`),
        expect.stringMatching(new RegExp(`did not rebuild model\\.core\\.stg_claims, model\\.core\\.dim_members \\(marked for rebuild by ${v1.manifest.version.replace(/[.+]/g, '\\$&')}\\) on the live tables, which keep their data as ${v2.manifest.version.replace(/[.+]/g, '\\$&')}`)),
      ]),
    );
    // AND the ledger records the decision as a skipped rollback step of the rollback execution
    const events = await ledger.eventsFor(repo, 'dev', { executionId: 'exec-rb' });
    const skipped = events.find((e) => e.kind === 'rollback-step' && e.step === 'dbt-rebuild-skipped');
    expect(skipped).toMatchObject({ result: 'skipped', target: MARKED.join(', ') });
    expect(skipped?.message).toMatch(/at \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z did not rebuild/);
    expect(events.filter((e) => e.kind === 'rollback-step' && e.step === 'data-for-person')).toHaveLength(2);
    // AND verify of the rollback does not expect the models rebuilt
    await expect(verifyRelease(v1, 'dev', environment, deps('exec-rb'))).resolves.toMatchObject({ ok: true });
  });

  it('still rebuilds the marked models in an ordinary (forward) deploy', async () => {
    // GIVEN a live table and a release marking it for rebuild
    const repo = `core-fw-${Math.random().toString(36).slice(2, 8)}`;
    const sf = new SnowflakeModel();
    sf.createTable(CLAIMS, [{ ID: 1 }]);
    sf.createTable(MEMBERS, [{ ID: 1 }]);
    sf.defineQuery('select id from raw.claims -- v1', [{ ID: 10 }]);
    sf.defineQuery('select id from raw.members where id > 2 -- v1', [{ ID: 3 }]);
    const deployer = new DbtSnowflakeDeployer({ sql: sf, s3, artifactBucket: await createVersionedBucket(s3, 'dbt-fw') });
    const { ledger } = await createTestLedger();
    // WHEN it is deployed forward
    const out = await deployRelease(await release(repo, 1), 'dev', environment, { ledger, deployers: new Map<AssetKind, AnyDeployer>([['dbt', deployer as AnyDeployer]]), executionId: 'exec-fw', actor: 'test', log: () => undefined });
    // THEN both models were rebuilt and swapped, and nothing is left for a person
    expect(sf.statements.filter((q) => /SWAP WITH/.test(q))).toHaveLength(2);
    expect(sf.table(MEMBERS)!.rows).toEqual([{ ID: 1 }, { ID: 3 }]);
    expect(out.forPerson).toEqual([]);
  });
});
