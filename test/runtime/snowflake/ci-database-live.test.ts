/**
 * Opt-in: the CI database against a real Snowflake account. Runs only when SNOWFLAKE_ACCOUNT,
 * SNOWFLAKE_USER and SNOWFLAKE_PASSWORD or SNOWFLAKE_PRIVATE_KEY_PATH are set (plus SNOWFLAKE_ROLE,
 * with CREATE DATABASE on the account, SNOWFLAKE_WAREHOUSE and SNOWFLAKE_DATABASE, the database it
 * clones). It drops its clone at the end.
 */
import * as fs from 'fs';
import { ciDatabaseName, ciPrefix, createCiDatabase, dropCiDatabase, dropStaleCiDatabases, listDatabasesSql } from '../../../lib/runtime/snowflake/ci-database';
import { SnowflakeSqlClient } from '../../../lib/runtime/snowflake/sql-client';

const env = process.env;
const missing = ['SNOWFLAKE_ACCOUNT', 'SNOWFLAKE_USER', 'SNOWFLAKE_ROLE', 'SNOWFLAKE_WAREHOUSE', 'SNOWFLAKE_DATABASE'].filter((k) => !env[k]);
if (!env.SNOWFLAKE_PASSWORD && !env.SNOWFLAKE_PRIVATE_KEY_PATH) missing.push('SNOWFLAKE_PASSWORD or SNOWFLAKE_PRIVATE_KEY_PATH');
const live = missing.length === 0;

(live ? describe : describe.skip)(`CI database on a live account${live ? '' : ` (skipped: set ${missing.join(', ')} to run it)`}`, () => {
  const buildId = `dataops-live-test:${process.pid}-${Date.now()}`;
  let sql: SnowflakeSqlClient;
  let source: string;

  beforeAll(async () => {
    source = env.SNOWFLAKE_DATABASE!;
    sql = await SnowflakeSqlClient.connect({
      account: env.SNOWFLAKE_ACCOUNT!,
      database: source,
      role: env.SNOWFLAKE_ROLE!,
      warehouse: env.SNOWFLAKE_WAREHOUSE!,
      secret: { user: env.SNOWFLAKE_USER!, password: env.SNOWFLAKE_PASSWORD, privateKey: env.SNOWFLAKE_PRIVATE_KEY_PATH ? fs.readFileSync(env.SNOWFLAKE_PRIVATE_KEY_PATH, 'utf8') : undefined },
    });
  });
  afterAll(async () => {
    await sql?.query(`DROP DATABASE IF EXISTS "${ciDatabaseName(source, buildId)}"`).catch(() => undefined);
    await sql?.close();
  });

  it('clones the database, lists the clone as young, and drops it twice without error', async () => {
    const clones = async () => (await sql.query(listDatabasesSql(source), [ciPrefix(source)])).map((r) => String(r.DATABASE_NAME));
    // GIVEN the database WHEN a build's clone is created
    const clone = await createCiDatabase(sql, source, buildId);
    // THEN Snowflake lists it, and the janitor (with a limit no clone reaches, so it drops nothing of others) counts it as young
    expect(await clones()).toContain(clone);
    const janitor = await dropStaleCiDatabases(sql, source, 100 * 365 * 24);
    expect(janitor.kept.map((c) => c.name)).toContain(clone);
    // AND WHEN it is dropped twice THEN it is gone
    await dropCiDatabase(sql, source, buildId);
    await dropCiDatabase(sql, source, buildId);
    expect(await clones()).not.toContain(clone);
  });
});
