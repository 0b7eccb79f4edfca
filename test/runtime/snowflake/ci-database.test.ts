import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import {
  CiDatabaseError,
  ciDatabaseName,
  createCiDatabase,
  createCloneDatabaseSql,
  dropCiDatabase,
  dropDatabaseSql,
  dropStaleCiDatabases,
  listDatabasesSql,
  writeEnvFile,
} from '../../../lib/runtime/snowflake/ci-database';
import { SnowflakeModel } from '../../helpers/snowflake-model';

const BUILD = 'northstar-clinic-analytics-pr-validate:0b7c1d2e-3f40-4a5b-9c6d-7e8f90a1b2c3';

/** An account with the dev database holding one table of two rows. */
function devAccount(): SnowflakeModel {
  const model = new SnowflakeModel();
  model.createTable('ANALYTICS_DEV.ANALYTICS.FCT_VISITS', [{ ID: 1 }, { ID: 2 }]);
  return model;
}

describe('CI database names and SQL', () => {
  it.each([
    ['a CodeBuild build id', 'analytics_dev', BUILD, 'ANALYTICS_DEV_CI_NORTHSTAR_CLINIC_ANALYTICS_PR_VALIDATE_0B7C1D2E_3F40_4A5B_9C6D_7E8F90A1B2C3'],
    ['a local run name with dots and slashes', 'ANALYTICS_DEV', 'feature/new.model', 'ANALYTICS_DEV_CI_FEATURE_NEW_MODEL'],
    ['runs of odd characters collapse into one underscore', 'ANALYTICS_DEV', 'a--b::c__d', 'ANALYTICS_DEV_CI_A_B_C_D'],
  ])('names the clone of %s as <DB>_CI_<sanitized id>', (_what, source, buildId, expected) => {
    // GIVEN a source database and a build id WHEN the clone is named THEN the name is a plain upper-case identifier
    expect(ciDatabaseName(source, buildId)).toBe(expected);
  });

  it('keeps the last 100 characters of a long build id, where its unique part is', () => {
    // GIVEN a build id of 150 characters ending in a unique tail
    const id = `${'p'.repeat(140)}:abcdefghi`;
    // WHEN the clone is named
    const name = ciDatabaseName('DB', id);
    // THEN the build part is cut to 100 characters from the end, so builds stay apart
    expect(name).toBe(`DB_CI_${'P'.repeat(90)}_ABCDEFGHI`);
  });

  it.each([
    ['a quote and a statement', 'x"; DROP DATABASE ANALYTICS_PROD; --'],
    ['a single quote', "pr'1"],
    ['a space', 'pr 1'],
    ['a semicolon', 'pr;1'],
    ['nothing', ''],
    ['only separators', '-::-'],
  ])('fails for a build id with %s instead of cleaning it, naming the id', (_what, buildId) => {
    // GIVEN a build id with characters no build id has WHEN the clone is named THEN it is refused, naming the id and what to pass
    expect(() => ciDatabaseName('ANALYTICS_DEV', buildId)).toThrow(CiDatabaseError);
    expect(() => ciDatabaseName('ANALYTICS_DEV', buildId)).toThrow(`build id '${buildId}' is not a build id`);
  });

  it('fails for a source database that is not a Snowflake identifier', () => {
    expect(() => ciDatabaseName('ANALYTICS"DEV', BUILD)).toThrow(/database 'ANALYTICS"DEV' is not a Snowflake identifier.*fix environments.<env>.snowflake.database/);
  });

  it('generates the zero-copy clone, drop and listing statements with quoted identifiers and literals', () => {
    // GIVEN names WHEN the statements are generated THEN each is exactly what Snowflake gets
    expect(createCloneDatabaseSql('DB_CI_B1', 'db', "clone of DB for build o'brien")).toBe(
      `CREATE OR REPLACE DATABASE "DB_CI_B1" CLONE "DB" DATA_RETENTION_TIME_IN_DAYS = 0 COMMENT = 'clone of DB for build o''brien'`,
    );
    expect(dropDatabaseSql('DB_CI_B1')).toBe('DROP DATABASE IF EXISTS "DB_CI_B1"');
    expect(listDatabasesSql('db')).toBe(
      `SELECT "DATABASE_NAME", TO_VARCHAR(CONVERT_TIMEZONE('UTC', "CREATED"), 'YYYY-MM-DD"T"HH24:MI:SS.FF9TZH:TZM') AS "CREATED", "COMMENT" FROM "DB"."INFORMATION_SCHEMA"."DATABASES" WHERE STARTSWITH("DATABASE_NAME", ?)`,
    );
  });
});

describe('CI database against the Snowflake model', () => {
  it("creates a clone holding the source's tables, isolated from the source", async () => {
    // GIVEN the dev database with a table
    const model = devAccount();
    // WHEN the build's clone is created and dbt writes to it
    const clone = await createCiDatabase(model, 'ANALYTICS_DEV', BUILD);
    model.load(`${clone}.ANALYTICS.FCT_VISITS`, [{ ID: 3 }]);
    // THEN the clone has the table, and the source is unchanged
    expect(model.tablesOf(clone)).toEqual([`${clone}.ANALYTICS.FCT_VISITS`]);
    expect(model.table(`${clone}.ANALYTICS.FCT_VISITS`)?.rows).toHaveLength(3);
    expect(model.table('ANALYTICS_DEV.ANALYTICS.FCT_VISITS')?.rows).toEqual([{ ID: 1 }, { ID: 2 }]);
  });

  it("re-creates a retried build's clone from the source instead of keeping its old contents", async () => {
    // GIVEN a clone a first attempt wrote to
    const model = devAccount();
    const clone = await createCiDatabase(model, 'ANALYTICS_DEV', BUILD);
    model.load(`${clone}.ANALYTICS.FCT_VISITS`, [{ ID: 3 }]);
    // WHEN the same build creates it again
    await createCiDatabase(model, 'ANALYTICS_DEV', BUILD);
    // THEN it holds the source's rows
    expect(model.table(`${clone}.ANALYTICS.FCT_VISITS`)?.rows).toEqual([{ ID: 1 }, { ID: 2 }]);
  });

  it('drops the clone and succeeds when dropping it again', async () => {
    // GIVEN a clone
    const model = devAccount();
    const clone = await createCiDatabase(model, 'ANALYTICS_DEV', BUILD);
    // WHEN it is dropped twice
    await dropCiDatabase(model, 'ANALYTICS_DEV', BUILD);
    await dropCiDatabase(model, 'ANALYTICS_DEV', BUILD);
    // THEN it and its tables are gone, and the source is still there
    expect(model.databases()).toEqual(['ANALYTICS_DEV']);
    expect(model.table(`${clone}.ANALYTICS.FCT_VISITS`)).toBeUndefined();
    expect(model.table('ANALYTICS_DEV.ANALYTICS.FCT_VISITS')?.rows).toHaveLength(2);
  });

  it('fails when the source database does not exist', async () => {
    // GIVEN an account without ANALYTICS_STAGING WHEN it is cloned THEN Snowflake's error comes through
    await expect(createCiDatabase(devAccount(), 'ANALYTICS_STAGING', BUILD)).rejects.toThrow(/Database 'ANALYTICS_STAGING' does not exist/);
  });
});

describe('CI database janitor', () => {
  it('drops only CI clones older than the limit and leaves younger clones and other databases alone', async () => {
    // GIVEN a clone of a build that crashed 8 hours ago, a clone of a running build, a database an
    // administrator named like a clone (no clone comment) and another database
    const model = devAccount();
    model.createDatabase('ANALYTICS_DEV_CI_KEEP_ME', 'made by hand');
    model.createDatabase('RAW');
    const crashed = await createCiDatabase(model, 'ANALYTICS_DEV', 'crashed:1');
    model.elapse(8);
    const running = await createCiDatabase(model, 'ANALYTICS_DEV', 'running:2');
    // WHEN the janitor runs with a limit of 6 hours
    const { dropped, kept } = await dropStaleCiDatabases(model, 'ANALYTICS_DEV', 6);
    // THEN only the crashed build's clone is dropped
    expect(dropped.map((c) => c.name)).toEqual([crashed]);
    expect(kept.map((c) => c.name)).toEqual([running]);
    expect(model.databases()).toEqual(['ANALYTICS_DEV', 'ANALYTICS_DEV_CI_KEEP_ME', running, 'RAW'].sort());
  });

  it('drops nothing when every clone is younger than the limit', async () => {
    // GIVEN a clone 2 hours old
    const model = devAccount();
    await createCiDatabase(model, 'ANALYTICS_DEV', 'b:1');
    model.elapse(2);
    // WHEN the janitor runs with 6 hours THEN nothing is dropped
    expect((await dropStaleCiDatabases(model, 'ANALYTICS_DEV', 6)).dropped).toEqual([]);
    expect(model.statements.filter((s) => s.startsWith('DROP'))).toEqual([]);
  });

  it.each([0, -1, Number.NaN])('fails for a limit of %s hours', async (h) => {
    await expect(dropStaleCiDatabases(devAccount(), 'ANALYTICS_DEV', h)).rejects.toThrow(/is not a positive number of hours/);
  });
});

describe('CI target environment file', () => {
  it('writes a 0600 file that a shell sources into the exact values, quotes included', () => {
    // GIVEN values with a quote, a dollar sign and a space
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ci-env-'));
    try {
      const env = { DBT_CI_DATABASE: 'DB_CI_B1', SNOWFLAKE_PASSWORD: `it's $HOME & "x"` };
      // WHEN the file is written and sourced by bash
      const file = writeEnvFile(path.join(dir, 'ci-database.env'), env);
      const out = execFileSync('bash', ['-c', `. "${file}" && printf '%s\\n%s' "$DBT_CI_DATABASE" "$SNOWFLAKE_PASSWORD"`], { encoding: 'utf8' });
      // THEN the shell sees the values unchanged, and only the owner may read the file
      expect(out).toBe(`DB_CI_B1\nit's $HOME & "x"`);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
