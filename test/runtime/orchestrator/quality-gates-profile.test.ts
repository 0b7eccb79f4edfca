/**
 * Where the gate step of Verify gets its dbt profile (lib/runtime/orchestrator/quality-gates.ts):
 * written from the environment's configuration when DBT_PROFILES_DIR is not set (as in the Verify
 * CodeBuild project), the repo's own when it is. Real dbt from .venv/dbt runs; it has dbt-duckdb
 * only, so a run with the generated Snowflake profile stops at the adapter, which shows that dbt
 * found the profile, its output and every variable it reads.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { sha256Hex } from '../../../lib/runtime/deployers/release-files';
import { runQualityGates, type QualityGateDeps } from '../../../lib/runtime/orchestrator/quality-gates';
import { createTestLedger } from '../../helpers/ledger';
import { deployContext, writeRelease } from '../../helpers/s3-fixtures';

jest.setTimeout(180_000);

const KEY_ENV = { SNOWFLAKE_USER: 'DATAOPS_DEPLOY', SNOWFLAKE_PRIVATE_KEY_PATH: '/tmp/not-read/snowflake-deploy.p8' };
const saved = process.env.DBT_PROFILES_DIR;
beforeEach(() => delete process.env.DBT_PROFILES_DIR);
afterAll(() => {
  if (saved === undefined) delete process.env.DBT_PROFILES_DIR;
  else process.env.DBT_PROFILES_DIR = saved;
});

/** A staging context for a dbt release whose dbt_project.yml is `dbtProject` (plus `files`, and `nodes` in its manifest). */
async function gateRun(dbtProject: string, extra: { files?: Record<string, string>; nodes?: Record<string, unknown> } = {}) {
  const manifest = JSON.stringify({ metadata: {}, nodes: extra.nodes ?? {} });
  const { release, dir } = await writeRelease({
    repo: 'core',
    files: [
      { kind: 'dbt', path: 'dbt_project.yml', body: dbtProject },
      { kind: 'dbt', path: 'target/manifest.json', body: manifest },
      ...Object.entries(extra.files ?? {}).map(([p, body]) => ({ kind: 'dbt' as const, path: p, body })),
    ],
    dbt: { manifestSha256: sha256Hex(manifest), modelsToRebuild: [] },
  });
  const { ledger } = await createTestLedger();
  const lines: string[] = [];
  const deps: QualityGateDeps = { ledger, executionId: 'exec-1', log: (l) => lines.push(l) };
  return { ctx: deployContext(release, dir, { env: 'staging' }), deps, lines, version: release.version };
}

const dbtGate = (out: Awaited<ReturnType<typeof runQualityGates>>) => out.gates.find((g) => g.gate === 'dbt-tests');

describe('the dbt profile of the gate step', () => {
  it.each([
    ['not set', undefined],
    ['empty (the Verify buildspec default)', ''],
  ])('is written from the configuration when DBT_PROFILES_DIR is %s, and dbt runs with it', async (_, value) => {
    // GIVEN a release whose dbt project uses profile core, DBT_PROFILES_DIR unset or empty, and the deploy secret's variables
    if (value !== undefined) process.env.DBT_PROFILES_DIR = value;
    const { ctx, deps, lines } = await gateRun('name: core\nversion: "1.0.0"\nconfig-version: 2\nprofile: core\n');
    // WHEN the gate step runs
    const out = await runQualityGates(ctx, deps, { dbtEnv: KEY_ENV });
    // THEN it says it wrote the profile from staging's configuration, and dbt took profile core, output staging, as Snowflake
    expect(lines).toContain("dbt profile: written from the configuration of staging (profile 'core', output 'staging', northstar-staging ANALYTICS_STAGING.ANALYTICS; DBT_PROFILES_DIR is not set)");
    // AND dbt-snowflake took the output: the project (no tests) was tested with it and wrote its run results
    expect(lines).toContain('dbt test (target staging)');
    expect({ findings: dbtGate(out)?.findings, detail: dbtGate(out)?.detail }).toEqual({ findings: [], detail: expect.stringMatching(/^0 dbt test\(s\)/) });
  });

  it('fails the dbt gate naming dbt_project.yml when the project has no profile:, without running dbt', async () => {
    // GIVEN a release whose dbt_project.yml has no profile:
    const { ctx, deps, lines, version } = await gateRun('name: core\nversion: "1"\n');
    // WHEN the gate step runs
    const out = await runQualityGates(ctx, deps, { dbtEnv: KEY_ENV });
    // THEN the dbt gate fails naming the file and both fixes, and dbt never ran
    expect(dbtGate(out)?.findings).toEqual([
      expect.objectContaining({ code: 'GATE_DBT_ERROR', message: `dbt_project.yml of release ${version} has no 'profile:'; the Verify gates write a profiles.yml under that name: add 'profile: <name>' to dbt_project.yml, or set DBT_PROFILES_DIR to a folder with your own profiles.yml` }),
    ]);
    expect(lines.filter((l) => l.startsWith('dbt '))).toEqual([]);
    expect(out.status).toBe('failed');
  });

  it('fails the dbt gate naming the deploy secret when its variables are missing, without running dbt', async () => {
    // GIVEN a release with a profile but no deploy secret variables (the secret could not be read)
    const { ctx, deps, lines } = await gateRun('name: core\nprofile: core\n');
    // WHEN the gate step runs
    const out = await runQualityGates(ctx, deps, { dbtEnv: {} });
    // THEN the dbt gate fails naming what is missing and the secret
    expect(dbtGate(out)?.findings).toEqual([expect.objectContaining({ code: 'GATE_DBT_ERROR', message: expect.stringContaining(`has no SNOWFLAKE_USER and SNOWFLAKE_PRIVATE_KEY_PATH or SNOWFLAKE_PASSWORD, which the generated profile reads; the deploy secret ${ctx.environment.snowflake.deploySecretArn} was not read`) })]);
    expect(lines.filter((l) => l.startsWith('dbt '))).toEqual([]);
  });

  it("uses the repo's own profiles.yml unchanged when DBT_PROFILES_DIR is set", async () => {
    // GIVEN DBT_PROFILES_DIR naming a folder whose profile core has a postgres output staging
    const own = fs.mkdtempSync(path.join(os.tmpdir(), 'own-profiles-'));
    const profile = 'core:\n  target: staging\n  outputs:\n    staging: { type: postgres, host: localhost, user: u, password: p, port: 5432, dbname: d, schema: s, threads: 1 }\n';
    fs.writeFileSync(path.join(own, 'profiles.yml'), profile);
    process.env.DBT_PROFILES_DIR = own;
    const { ctx, deps, lines } = await gateRun('name: core\nversion: "1.0.0"\nconfig-version: 2\nprofile: core\n');
    // WHEN the gate step runs
    const out = await runQualityGates(ctx, deps, { dbtEnv: KEY_ENV });
    // THEN dbt ran with that profile (postgres, which .venv/dbt lacks), and the file is untouched
    expect(lines).toContain(`dbt profile: ${path.join(own, 'profiles.yml')} (DBT_PROFILES_DIR), output 'staging'`);
    expect(dbtGate(out)?.findings).toEqual([expect.objectContaining({ code: 'GATE_DBT_ERROR', message: expect.stringContaining('Could not find adapter type postgres!') })]);
    expect(fs.readFileSync(path.join(own, 'profiles.yml'), 'utf8')).toBe(profile);
  });

  it.each([
    ['fails the dbt gate naming the model, both schemas and the fix when', 'analytics', 1],
    ['passes the schema check when', 'main', 0],
  ])("%s the run resolves the release's model to schema main and the release has it in %s", async (_, releaseSchema, findings) => {
    // GIVEN a DuckDB profile (schema main) in DBT_PROFILES_DIR and a release whose manifest puts model m in `releaseSchema`
    const own = fs.mkdtempSync(path.join(os.tmpdir(), 'own-profiles-'));
    fs.writeFileSync(path.join(own, 'profiles.yml'), `core:\n  target: staging\n  outputs:\n    staging: { type: duckdb, path: ${JSON.stringify(path.join(own, 'env.duckdb'))}, schema: main, threads: 1 }\n`);
    process.env.DBT_PROFILES_DIR = own;
    const { ctx, deps, version } = await gateRun('name: core\nversion: "1.0.0"\nconfig-version: 2\nprofile: core\n', {
      files: { 'models/m.sql': 'select 1 as id\n' },
      nodes: { 'model.core.m': { unique_id: 'model.core.m', resource_type: 'model', name: 'm', schema: releaseSchema } },
    });
    // WHEN the gate step runs
    const out = await runQualityGates(ctx, deps);
    // THEN the dbt gate has a schema finding only when the schemas differ, saying what to change
    const schema = dbtGate(out)?.findings.filter((f) => f.asset === 'dbt:model.core.m') ?? [];
    expect(schema).toHaveLength(findings);
    if (findings) {
      expect(schema[0]).toMatchObject({
        code: 'GATE_DBT_ERROR',
        severity: 'error',
        message: `the gates' dbt run puts model.core.m in schema main, but release ${version} (what the deploy rebuilt) has it in analytics, so the tests checked other tables; set the schema of output 'staging' in ${path.join(own, 'profiles.yml')} to the one the release was compiled with`,
      });
    }
    expect(dbtGate(out)?.status).toBe(findings ? 'failed' : 'passed');
  });
});
