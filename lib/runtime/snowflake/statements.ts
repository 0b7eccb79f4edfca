/**
 * The SQL the dbt/Snowflake deployer sends, as pure functions so tests can assert every statement
 * exactly. Identifiers are always double-quoted. Names are upper-cased first, because dbt-snowflake
 * (quoting off, its default) creates unquoted names, which Snowflake stores upper-case.
 */

/** A fully qualified table. */
export interface TableRef {
  readonly database: string;
  readonly schema: string;
  readonly name: string;
}

/** The text format every timestamp is exchanged in: UTC, nanoseconds, explicit offset. */
export const TIMESTAMP_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.FF9TZH:TZM';
const TIMESTAMP_TEXT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}[+-]\d{2}:\d{2}$/;

/** Quotes one identifier: upper-cased, embedded double quotes doubled. */
export function quoteIdent(name: string): string {
  if (name.length === 0) throw new Error('an empty Snowflake identifier cannot be quoted; check the dbt manifest node');
  return `"${name.toUpperCase().replace(/"/g, '""')}"`;
}

/** `"DB"."SCHEMA"."NAME"`. */
export function qualified(t: TableRef): string {
  return `${quoteIdent(t.database)}.${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;
}

/** A single-quoted SQL string literal. */
export function stringLiteral(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

function timestampLiteral(ts: string): string {
  if (!TIMESTAMP_TEXT.test(ts)) throw new Error(`timestamp '${ts}' is not in the form 2026-01-31T12:00:00.000000000+00:00 that the deployer records`);
  return `TO_TIMESTAMP_TZ(${stringLiteral(ts)}, ${stringLiteral(TIMESTAMP_FORMAT)})`;
}

/** The table that holds a model's rebuild (and, after the swap, its previous data). */
export function buildTableOf(t: TableRef, releaseVersion: string): TableRef {
  const suffix = releaseVersion.replace(/[^A-Za-z0-9]+/g, '_').toUpperCase();
  return { ...t, name: `${t.name}__DATAOPS_${suffix}` };
}

/** Current time of the Snowflake session, in {@link TIMESTAMP_FORMAT}. */
export function currentTimestampSql(): string {
  return `SELECT TO_VARCHAR(CONVERT_TIMEZONE('UTC', CURRENT_TIMESTAMP()), ${stringLiteral(TIMESTAMP_FORMAT)}) AS "TS"`;
}

/** LAST_ALTERED (the load watermark), ROW_COUNT and COMMENT of one table; binds: schema, name. */
export function tableInfoSql(database: string): string {
  return (
    `SELECT "TABLE_NAME", TO_VARCHAR(CONVERT_TIMEZONE('UTC', "LAST_ALTERED"), ${stringLiteral(TIMESTAMP_FORMAT)}) AS "LAST_ALTERED", "ROW_COUNT", "COMMENT" ` +
    `FROM ${quoteIdent(database)}."INFORMATION_SCHEMA"."TABLES" WHERE "TABLE_SCHEMA" = ? AND "TABLE_NAME" = ?`
  );
}

/** Zero-copy clone of `source` as `target`, optionally as of a timestamp (Time Travel). */
export function cloneSql(target: TableRef, source: TableRef, at?: string): string {
  return `CREATE OR REPLACE TABLE ${qualified(target)} CLONE ${qualified(source)}${at ? ` AT (TIMESTAMP => ${timestampLiteral(at)})` : ''}`;
}

/** Creates the schema of a table when it does not exist. */
export function createSchemaSql(t: TableRef): string {
  return `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(t.database)}.${quoteIdent(t.schema)}`;
}

/** Swaps two tables' contents and metadata in one atomic statement. */
export function swapSql(a: TableRef, b: TableRef): string {
  return `ALTER TABLE ${qualified(a)} SWAP WITH ${qualified(b)}`;
}

/** Sets a table's comment. */
export function commentSql(t: TableRef, comment: string): string {
  return `ALTER TABLE ${qualified(t)} SET COMMENT = ${stringLiteral(comment)}`;
}

/** Drops a table if it exists. */
export function dropSql(t: TableRef): string {
  return `DROP TABLE IF EXISTS ${qualified(t)}`;
}

/** Brings back a dropped table from Time Travel. */
export function undropSql(t: TableRef): string {
  return `UNDROP TABLE ${qualified(t)}`;
}

/** Replaces a table's rows with the result of a query (keeps the table, its clustering and grants). */
export function insertOverwriteSql(t: TableRef, select: string): string {
  return `INSERT OVERWRITE INTO ${qualified(t)} ${select.trim().replace(/;\s*$/, '')}`;
}

/** Appends the result of a query to a table. */
export function insertSql(t: TableRef, select: string): string {
  return `INSERT INTO ${qualified(t)} ${select.trim().replace(/;\s*$/, '')}`;
}

/** The comment that marks a table as built by a release (it moves with the data on SWAP). */
export function releaseComment(repo: string, releaseVersion: string): string {
  return `dataops release ${releaseVersion} of ${repo}`;
}
