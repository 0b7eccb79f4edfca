import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Client } from 'pg';
import { runGraphChecks } from '../../../lib/checks/graph';
import { parseCatalogSnapshot, typeFamily } from '../../../lib/checks/graph/catalog';
import { makeWorkspace, type Workspace } from './workspace';

const NOW = new Date('2026-06-01T00:00:00Z');

/** The PostgreSQL server the jest globalSetup started (test/helpers/servers.ts startPostgres). */
function pgUrl(): string {
  const url = process.env.DATAOPS_TEST_PG_URL;
  if (!url) throw new Error(`DATAOPS_TEST_PG_URL is not set: PostgreSQL did not start in the jest globalSetup (${process.env.DATAOPS_TEST_PG_ERROR ?? 'no reason given'})`);
  return url;
}

async function freshDatabase(ddl: string): Promise<string> {
  const admin = new Client({ connectionString: pgUrl() });
  await admin.connect();
  const name = `drift_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = pgUrl().replace(/\/[^/]*$/, `/${name}`);
  const db = new Client({ connectionString: url });
  await db.connect();
  await db.query(ddl);
  await db.end();
  return url;
}

const MATCHING = `
  create schema raw;
  create table raw.claims (claim_id integer, member_id integer, amount numeric(12,2), service_date date, loaded_at timestamp);
  create table raw.members (member_id integer, plan_code varchar(10));
`;

describe('SOURCE_SCHEMA_DRIFT against a live PostgreSQL catalog', () => {
  let ws: Workspace;
  beforeAll(() => {
    ws = makeWorkspace();
  });
  afterAll(() => ws.cleanup());

  it('reports nothing when the live tables have every declared column with a compatible type', async () => {
    // GIVEN live tables matching the declared sources (plus an extra live column)
    const url = await freshDatabase(MATCHING);
    // WHEN the checks run with the catalog
    const findings = await runGraphChecks({ repos: ws.all, catalog: { url }, now: NOW });
    // THEN there is no drift
    expect(findings.filter((f) => f.code === 'SOURCE_SCHEMA_DRIFT')).toEqual([]);
  });

  it('fails when a declared column is missing and another has a different type, naming file, line and downstream', async () => {
    // GIVEN raw.claims without service_date and with amount as text
    const url = await freshDatabase(`
      create schema raw;
      create table raw.claims (claim_id integer, member_id integer, amount text);
      create table raw.members (member_id integer, plan_code varchar(10));
    `);
    // WHEN the checks run with the live catalog
    const findings = await runGraphChecks({ repos: ws.all, catalog: { url }, now: NOW });
    // THEN one drift error names the source, both problems, the YAML line and every downstream asset
    const drift = findings.filter((f) => f.code === 'SOURCE_SCHEMA_DRIFT');
    expect(drift).toHaveLength(1);
    expect(drift[0]).toMatchObject({ severity: 'error', repo: 'warehouse', asset: 'dbt:source.warehouse.raw.claims', file: 'models/staging/sources.yml', line: 12 });
    expect(drift[0].message).toMatch(/column amount is declared numeric\(12,2\) but is text in the live table; column service_date is declared but not in the live table/);
    expect(drift[0].downstream).toEqual(
      expect.arrayContaining(['warehouse/dbt:model.warehouse.stg_claims', 'warehouse/dbt:model.warehouse.fct_claims', 'analytics/dbt:model.analytics.claims_summary', 'spark-jobs/spark:claims_enrichment']),
    );
  });

  it('fails when a declared source table is missing from a schema the catalog covers', async () => {
    const url = await freshDatabase(`create schema raw; create table raw.claims (claim_id integer, member_id integer, amount numeric, service_date date);`);
    const findings = await runGraphChecks({ repos: [ws.dirs.warehouse], catalog: { url }, now: NOW });
    expect(findings.filter((f) => f.code === 'SOURCE_SCHEMA_DRIFT')).toEqual([
      expect.objectContaining({ asset: 'dbt:source.warehouse.raw.members', message: expect.stringMatching(/declares table analytics.raw.members, which is not in the live catalog/) }),
    ]);
  });

  it('skips sources in schemas the catalog does not cover (no false errors)', async () => {
    const url = await freshDatabase('create schema other; create table other.t (a int);');
    const findings = await runGraphChecks({ repos: [ws.dirs.warehouse], catalog: { url }, now: NOW });
    expect(findings.filter((f) => f.code === 'SOURCE_SCHEMA_DRIFT')).toEqual([]);
  });
});

describe('SOURCE_SCHEMA_DRIFT against a catalog snapshot file (e.g. Snowflake information_schema in CodeBuild)', () => {
  let ws: Workspace;
  let tmp: string;
  beforeAll(() => {
    ws = makeWorkspace();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-catalog-'));
  });
  afterAll(() => {
    ws.cleanup();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const snowflakeRows = [
    ['ANALYTICS', 'RAW', 'CLAIMS', 'CLAIM_ID', 'NUMBER'],
    ['ANALYTICS', 'RAW', 'CLAIMS', 'MEMBER_ID', 'NUMBER'],
    ['ANALYTICS', 'RAW', 'CLAIMS', 'AMOUNT', 'NUMBER'],
    ['ANALYTICS', 'RAW', 'CLAIMS', 'SERVICE_DATE', 'TEXT'],
    ['ANALYTICS', 'RAW', 'MEMBERS', 'MEMBER_ID', 'NUMBER'],
    ['ANALYTICS', 'RAW', 'MEMBERS', 'PLAN_CODE', 'TEXT'],
  ];

  it.each([
    ['JSON', 'catalog.json', JSON.stringify(snowflakeRows.map(([c, s, t, col, ty]) => ({ TABLE_CATALOG: c, TABLE_SCHEMA: s, TABLE_NAME: t, COLUMN_NAME: col, DATA_TYPE: ty })))],
    ['CSV', 'catalog.csv', ['TABLE_CATALOG,TABLE_SCHEMA,TABLE_NAME,COLUMN_NAME,DATA_TYPE', ...snowflakeRows.map((r) => r.map((v) => `"${v}"`).join(','))].join('\n')],
  ])('reads an uppercase Snowflake %s export and reports the drifted column', async (_fmt, name, text) => {
    // GIVEN a snapshot where service_date is TEXT (declared date)
    const file = path.join(tmp, name);
    fs.writeFileSync(file, text);
    // WHEN the checks run with the snapshot
    const findings = await runGraphChecks({ repos: [ws.dirs.warehouse], catalog: { snapshotFile: file }, now: NOW });
    // THEN only service_date is reported (NUMBER ~ integer/numeric, TEXT ~ varchar)
    const drift = findings.filter((f) => f.code === 'SOURCE_SCHEMA_DRIFT');
    expect(drift).toHaveLength(1);
    expect(drift[0].message).toMatch(/source source.warehouse.raw.claims .*column service_date is declared date but is text in the live table; update/);
    expect(drift[0].line).toBe(14);
  });

  it('fails on a snapshot row without the information_schema columns, naming the row', () => {
    expect(() => parseCatalogSnapshot('[{"TABLE_NAME": "x"}]', 'c.json')).toThrow(/c.json: row 1 is not an information_schema.columns row/);
  });

  it.each([
    ['integer', 'NUMBER(38,0)', true],
    ['varchar', 'character varying', true],
    ['timestamp', 'TIMESTAMP_NTZ', true],
    ['date', 'timestamp without time zone', false],
    ['numeric(12,2)', 'text', false],
  ])('treats %s and %s as the same type family: %s', (a, b, same) => {
    expect(typeFamily(a) === typeFamily(b)).toBe(same);
  });
});
