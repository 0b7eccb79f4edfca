/**
 * The CI target of dbt validation builds: one zero-copy clone of an environment's Snowflake
 * database per build (`<DB>_CI_<build id>`), created before `dataops validate` and dropped after it;
 * a janitor drops the clones that crashed builds left behind. The SQL is built by pure functions so
 * tests can assert every statement; every name is validated and double-quoted.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { SqlClient } from './sql-client';
import { currentTimestampSql, quoteIdent, stringLiteral, TIMESTAMP_FORMAT } from './statements';

/** Build variable with the ARN of the CI user's secret (set by the PR and Validate projects of dbt repos). */
export const CI_SNOWFLAKE_SECRET_ENV = 'DATAOPS_CI_SNOWFLAKE_SECRET_ARN';

/** A CI database request or name was refused; the message names the input and how to fix it. */
export class CiDatabaseError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CiDatabaseError';
  }
}

/** Characters a CodeBuild build id (`project:uuid`) or a local name may hold; all but letters and digits become `_`. */
const BUILD_ID = /^[A-Za-z0-9][A-Za-z0-9_:.\/-]*$/;
/** An unquoted Snowflake identifier, as the configuration allows for databases. */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]*$/;
/** Longest build part of a clone name (Snowflake allows 255 characters per identifier). */
const MAX_SUFFIX = 100;
/** Every clone's comment starts with this; the janitor drops nothing without it. */
export const CI_COMMENT_PREFIX = 'dataops CI clone of ';

/** The name prefix of every CI clone of `source`: `<SOURCE>_CI_`. */
export function ciPrefix(source: string): string {
  if (!IDENTIFIER.test(source)) throw new CiDatabaseError(`database '${source}' is not a Snowflake identifier (letters, digits, _ and $, not starting with a digit); fix environments.<env>.snowflake.database`);
  return `${source.toUpperCase()}_CI_`;
}

/**
 * The clone of `source` for one build: `<SOURCE>_CI_<build id>` with every run of characters other
 * than letters and digits turned into one `_`, upper-cased, and the build part cut to its last 100
 * characters (a CodeBuild id ends in its unique UUID). A build id with characters no build id holds
 * (quotes, spaces, semicolons …) or that starts with neither a letter nor a digit is refused
 * rather than cleaned.
 */
export function ciDatabaseName(source: string, buildId: string): string {
  const prefix = ciPrefix(source);
  if (!BUILD_ID.test(buildId)) {
    throw new CiDatabaseError(
      `build id '${buildId}' is not a build id (letters, digits and _ : . / -, starting with a letter or digit); pass the CodeBuild build id ($CODEBUILD_BUILD_ID) or such a name`,
    );
  }
  const suffix = buildId.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_+|_+$/g, '').toUpperCase().slice(-MAX_SUFFIX).replace(/^_+/, '');
  return `${prefix}${suffix}`;
}

/** The comment a clone carries: what it clones and for which build. */
export function ciComment(source: string, buildId: string): string {
  return `${CI_COMMENT_PREFIX}${source.toUpperCase()} for build ${buildId}`;
}

/** Zero-copy clone of a database, without Time Travel of its own (a CI clone is thrown away). */
export function createCloneDatabaseSql(clone: string, source: string, comment: string): string {
  return `CREATE OR REPLACE DATABASE ${quoteIdent(clone)} CLONE ${quoteIdent(source)} DATA_RETENTION_TIME_IN_DAYS = 0 COMMENT = ${stringLiteral(comment)}`;
}

/** Drops a database; nothing happens when it does not exist. */
export function dropDatabaseSql(name: string): string {
  return `DROP DATABASE IF EXISTS ${quoteIdent(name)}`;
}

/** The databases whose name starts with a prefix, with their creation time (UTC) and comment; binds: prefix. */
export function listDatabasesSql(source: string): string {
  return (
    `SELECT "DATABASE_NAME", TO_VARCHAR(CONVERT_TIMEZONE('UTC', "CREATED"), ${stringLiteral(TIMESTAMP_FORMAT)}) AS "CREATED", "COMMENT" ` +
    `FROM ${quoteIdent(source)}."INFORMATION_SCHEMA"."DATABASES" WHERE STARTSWITH("DATABASE_NAME", ?)`
  );
}

/** Creates (or re-creates, for a retried build) the build's clone of `source` and returns its name. */
export async function createCiDatabase(sql: SqlClient, source: string, buildId: string): Promise<string> {
  const clone = ciDatabaseName(source, buildId);
  await sql.query(createCloneDatabaseSql(clone, source, ciComment(source, buildId)));
  return clone;
}

/** Drops the build's clone of `source`; dropping one that is already gone succeeds. */
export async function dropCiDatabase(sql: SqlClient, source: string, buildId: string): Promise<string> {
  const clone = ciDatabaseName(source, buildId);
  await sql.query(dropDatabaseSql(clone));
  return clone;
}

/** One CI clone the janitor found. */
export interface CiClone {
  readonly name: string;
  /** Creation time in {@link TIMESTAMP_FORMAT}. */
  readonly created: string;
}

/** The timestamp text as epoch milliseconds (the format carries an explicit offset). */
function epochMs(ts: string): number {
  const ms = Date.parse(ts.replace(/\.(\d{3})\d{6}/, '.$1'));
  if (Number.isNaN(ms)) throw new CiDatabaseError(`Snowflake returned the timestamp '${ts}', which is not in the form 2026-01-31T12:00:00.000000000+00:00`);
  return ms;
}

/**
 * The janitor: drops every CI clone of `source` created more than `olderThanHours` ago by Snowflake's
 * clock (crashed builds never reach their `finally`). Only databases that both carry the
 * `<SOURCE>_CI_` prefix and the clone comment are touched; `source` itself never is. Returns what
 * it dropped and what it kept.
 */
export async function dropStaleCiDatabases(sql: SqlClient, source: string, olderThanHours: number): Promise<{ dropped: CiClone[]; kept: CiClone[] }> {
  if (!(olderThanHours > 0)) throw new CiDatabaseError(`--older-than ${olderThanHours} is not a positive number of hours; pass how old a CI clone must be to count as left behind, e.g. 6`);
  const prefix = ciPrefix(source);
  const nowRows = await sql.query(currentTimestampSql());
  const now = epochMs(String(nowRows[0]?.TS));
  const rows = await sql.query(listDatabasesSql(source), [prefix]);
  const dropped: CiClone[] = [];
  const kept: CiClone[] = [];
  for (const r of rows) {
    const name = String(r.DATABASE_NAME);
    const comment = typeof r.COMMENT === 'string' ? r.COMMENT : '';
    if (!name.startsWith(prefix) || !comment.startsWith(`${CI_COMMENT_PREFIX}${source.toUpperCase()} `)) continue;
    const clone = { name, created: String(r.CREATED) };
    if (now - epochMs(clone.created) > olderThanHours * 3_600_000) {
      await sql.query(dropDatabaseSql(name));
      dropped.push(clone);
    } else kept.push(clone);
  }
  return { dropped, kept };
}

/** A value as a single-quoted POSIX shell word. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * Writes the variables of the dbt CI target as a file a build sources (`export NAME='value'` lines,
 * mode 0600, since it may hold a password) and returns its path.
 */
export function writeEnvFile(file: string, env: Readonly<Record<string, string>>): string {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const text = Object.entries(env)
    .map(([k, v]) => `export ${k}=${shellQuote(v)}\n`)
    .join('');
  fs.writeFileSync(file, text, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return file;
}
