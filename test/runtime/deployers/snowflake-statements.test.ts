/** The exact SQL the dbt/Snowflake deployer generates. */
import { modelsToRebuild } from '../../../lib/runtime/snowflake/dbt-models';
import {
  buildTableOf,
  cloneSql,
  commentSql,
  currentTimestampSql,
  dropSql,
  insertOverwriteSql,
  insertSql,
  quoteIdent,
  swapSql,
  tableInfoSql,
  undropSql,
} from '../../../lib/runtime/snowflake/statements';

const claims = { database: 'analytics', schema: 'core', name: 'stg_claims' };

describe('Snowflake statements', () => {
  it.each([
    ['a plain name', 'stg_claims', '"STG_CLAIMS"'],
    ['a name with a double quote', 'we"ird', '"WE""IRD"'],
    ['a name with a dollar and digits', 'a$1', '"A$1"'],
  ])('quotes %s as an upper-case quoted identifier', (_what, name, quoted) => {
    expect(quoteIdent(name)).toBe(quoted);
  });

  it.each([
    ['a zero-copy clone', cloneSql(buildTableOf(claims, '20261128.7+abc1234'), claims), 'CREATE OR REPLACE TABLE "ANALYTICS"."CORE"."STG_CLAIMS__DATAOPS_20261128_7_ABC1234" CLONE "ANALYTICS"."CORE"."STG_CLAIMS"'],
    [
      'a Time Travel clone',
      cloneSql({ ...claims, name: 'r' }, claims, '2026-11-28T12:00:00.000000000+00:00'),
      `CREATE OR REPLACE TABLE "ANALYTICS"."CORE"."R" CLONE "ANALYTICS"."CORE"."STG_CLAIMS" AT (TIMESTAMP => TO_TIMESTAMP_TZ('2026-11-28T12:00:00.000000000+00:00', 'YYYY-MM-DD"T"HH24:MI:SS.FF9TZH:TZM'))`,
    ],
    ['a swap', swapSql(claims, { ...claims, name: 'b' }), 'ALTER TABLE "ANALYTICS"."CORE"."STG_CLAIMS" SWAP WITH "ANALYTICS"."CORE"."B"'],
    ['a comment with a quote', commentSql(claims, "release 1 of o'brien"), `ALTER TABLE "ANALYTICS"."CORE"."STG_CLAIMS" SET COMMENT = 'release 1 of o''brien'`],
    ['a drop', dropSql(claims), 'DROP TABLE IF EXISTS "ANALYTICS"."CORE"."STG_CLAIMS"'],
    ['an undrop', undropSql(claims), 'UNDROP TABLE "ANALYTICS"."CORE"."STG_CLAIMS"'],
    ['an insert overwrite without the trailing semicolon', insertOverwriteSql(claims, 'select 1 as id;\n'), 'INSERT OVERWRITE INTO "ANALYTICS"."CORE"."STG_CLAIMS" select 1 as id'],
    ['an append', insertSql(claims, ' select 2 as id '), 'INSERT INTO "ANALYTICS"."CORE"."STG_CLAIMS" select 2 as id'],
    ['the current timestamp', currentTimestampSql(), `SELECT TO_VARCHAR(CONVERT_TIMEZONE('UTC', CURRENT_TIMESTAMP()), 'YYYY-MM-DD"T"HH24:MI:SS.FF9TZH:TZM') AS "TS"`],
    [
      'the watermark query (schema and name bound)',
      tableInfoSql('analytics'),
      `SELECT "TABLE_NAME", TO_VARCHAR(CONVERT_TIMEZONE('UTC', "LAST_ALTERED"), 'YYYY-MM-DD"T"HH24:MI:SS.FF9TZH:TZM') AS "LAST_ALTERED", "ROW_COUNT", "COMMENT" FROM "ANALYTICS"."INFORMATION_SCHEMA"."TABLES" WHERE "TABLE_SCHEMA" = ? AND "TABLE_NAME" = ?`,
    ],
  ])('generates %s exactly', (_what, sql, expected) => {
    expect(sql).toBe(expected);
  });

  it('fails on a Time Travel timestamp that is not in the recorded format, naming it', () => {
    expect(() => cloneSql(claims, claims, "2026-11-28'); DROP TABLE x; --")).toThrow(/timestamp '2026-11-28'\); DROP TABLE x; --' is not in the form/);
  });
});

describe('modelsToRebuild', () => {
  const manifest = JSON.stringify({
    nodes: {
      'model.core.stg_claims': { unique_id: 'model.core.stg_claims', resource_type: 'model', name: 'stg_claims', schema: 'core', alias: 'claims', compiled_code: 'select 1', config: { materialized: 'table' } },
      'model.core.v_claims': { unique_id: 'model.core.v_claims', resource_type: 'model', name: 'v_claims', schema: 'core', config: { materialized: 'view' } },
    },
  });

  it('resolves a model to its table in the environment database, by alias', () => {
    expect(modelsToRebuild(manifest, ['model.core.stg_claims'], 'ANALYTICS_DEV')).toEqual([
      { uniqueId: 'model.core.stg_claims', table: { database: 'ANALYTICS_DEV', schema: 'core', name: 'claims' }, materialized: 'table', compiledCode: 'select 1' },
    ]);
  });
  it.each([
    ['a model missing from the manifest', 'model.core.nope', /model model\.core\.nope is marked for rebuild but is not in the release's dbt manifest/],
    ['a view', 'model.core.v_claims', /model model\.core\.v_claims is materialized as view; only table and incremental models/],
  ])('fails for %s, naming it', (_what, id, message) => {
    expect(() => modelsToRebuild(manifest, [id], 'A')).toThrow(message);
  });
});
