/**
 * A behavioural in-memory model of the Snowflake features the dbt deployer relies on, as the
 * Snowflake documentation describes them:
 * - a table name points at a table object; `CREATE … CLONE` makes a new object with the source's
 *   rows (zero-copy: nothing is copied until either side changes); `AT (TIMESTAMP => …)` clones the
 *   source object's state at that time and fails if the object did not exist then;
 * - `ALTER TABLE a SWAP WITH b` exchanges the names of two objects (data, comment and Time Travel
 *   history travel with the object);
 * - DML and DDL move a table's LAST_ALTERED; INFORMATION_SCHEMA.TABLES shows LAST_ALTERED,
 *   ROW_COUNT and COMMENT; `DROP` keeps the object for `UNDROP`.
 * - `CREATE OR REPLACE DATABASE … CLONE` makes a database holding a new object per table of the
 *   source (same rows; the source's later changes do not show in the clone nor the other way);
 *   `DROP DATABASE IF EXISTS` removes a database and its tables; INFORMATION_SCHEMA.DATABASES
 *   shows every database with its CREATED time and COMMENT.
 * It implements exactly the statements lib/runtime/snowflake/statements.ts and ci-database.ts generate and fails
 * loudly on anything else, so a change in the generated SQL cannot pass unnoticed.
 */
import type { Row, SqlClient } from '../../lib/runtime/snowflake/sql-client';

interface TableObject {
  readonly id: number;
  rows: Row[];
  comment: string | null;
  lastAltered: string;
  readonly createdAt: string;
  /** States after each change, oldest first. */
  readonly history: Array<{ at: string; rows: Row[]; comment: string | null }>;
}

const IDENT = String.raw`"((?:[^"]|"")+)"`;
const QUALIFIED = String.raw`${IDENT}\.${IDENT}\.${IDENT}`;
const unquote = (s: string): string => s.replace(/""/g, '"');

/** An in-memory Snowflake account (one clock, names → table objects). */
export class SnowflakeModel implements SqlClient {
  private readonly names = new Map<string, number>();
  private readonly dropped = new Map<string, number>();
  private readonly objects = new Map<number, TableObject>();
  private readonly queries = new Map<string, Row[]>();
  /** Databases by upper-case name; a database holds the tables whose names start with `<name>.`. */
  private readonly dbs = new Map<string, { created: string; comment: string | null }>();
  private seq = 0;
  private tick = 0;
  /** Every statement received, in order. */
  readonly statements: string[] = [];
  /** Makes the statement matching the pattern fail once (fault injection). */
  private faults: RegExp[] = [];

  /** The model's clock in the deployer's timestamp format; each statement advances it by a second. */
  now(): string {
    const d = new Date(Date.UTC(2026, 10, 28, 12, 0, 0) + this.tick * 1000);
    return `${d.toISOString().slice(0, 19)}.000000000+00:00`;
  }

  private advance(): string {
    this.tick++;
    return this.now();
  }

  private key(db: string, schema: string, name: string): string {
    return `${db}.${schema}.${name}`.toUpperCase();
  }

  private objectOf(key: string): TableObject {
    const id = this.names.get(key);
    if (id === undefined) throw new Error(`SQL compilation error: Object '${key}' does not exist or not authorized.`);
    return this.objects.get(id)!;
  }

  /** Lets hours pass on the model's clock (a build that crashed and was forgotten). */
  elapse(hours: number): void {
    this.tick += Math.round(hours * 3600);
  }

  /** Creates an empty database, as an administrator would. */
  createDatabase(name: string, comment: string | null = null): void {
    this.dbs.set(name.toUpperCase(), { created: this.advance(), comment });
  }

  /** Names of the databases, sorted. */
  databases(): string[] {
    return [...this.dbs.keys()].sort();
  }

  /** Qualified names of the tables of a database, sorted. */
  tablesOf(database: string): string[] {
    const prefix = `${database.toUpperCase()}.`;
    return [...this.names.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  private record(o: TableObject): void {
    o.lastAltered = this.now();
    o.history.push({ at: o.lastAltered, rows: [...o.rows], comment: o.comment });
  }

  /** Creates a table with rows (as a dbt run or a loader would). */
  createTable(qualifiedName: string, rows: Row[], comment: string | null = null): void {
    const at = this.advance();
    const o: TableObject = { id: ++this.seq, rows: [...rows], comment, lastAltered: at, createdAt: at, history: [] };
    this.record(o);
    this.objects.set(o.id, o);
    this.names.set(qualifiedName.toUpperCase(), o.id);
    const db = qualifiedName.split('.')[0].toUpperCase();
    if (!this.dbs.has(db)) this.dbs.set(db, { created: at, comment: null });
  }

  /** A load lands: rows are appended to the table behind the name. */
  load(qualifiedName: string, rows: Row[]): void {
    this.advance();
    const o = this.objectOf(qualifiedName.toUpperCase());
    o.rows.push(...rows);
    this.record(o);
  }

  /** Rows and comment of the table behind a name, or undefined. */
  table(qualifiedName: string): { rows: Row[]; comment: string | null; lastAltered: string } | undefined {
    const id = this.names.get(qualifiedName.toUpperCase());
    if (id === undefined) return undefined;
    const o = this.objects.get(id)!;
    return { rows: [...o.rows], comment: o.comment, lastAltered: o.lastAltered };
  }

  /** Registers the result of a SELECT the builder will run. */
  defineQuery(select: string, rows: Row[]): void {
    this.queries.set(select.trim(), rows);
  }

  /** Drops a table by name, as a person might. */
  drop(qualifiedName: string): void {
    const key = qualifiedName.toUpperCase();
    const id = this.names.get(key);
    if (id !== undefined) {
      this.names.delete(key);
      this.dropped.set(key, id);
    }
  }

  failNext(pattern: RegExp): void {
    this.faults.push(pattern);
  }

  async query(sql: string, binds: ReadonlyArray<string | number> = []): Promise<Row[]> {
    this.statements.push(sql);
    const fault = this.faults.findIndex((f) => f.test(sql));
    if (fault >= 0) {
      this.faults.splice(fault, 1);
      throw new Error(`injected failure of: ${sql}`);
    }
    let m: RegExpExecArray | null;
    if (/^SELECT TO_VARCHAR\(CONVERT_TIMEZONE\('UTC', CURRENT_TIMESTAMP\(\)\), '[^']+'\) AS "TS"$/.test(sql)) return [{ TS: this.advance() }];
    if ((m = new RegExp(`^SELECT "TABLE_NAME", .* FROM ${IDENT}\\."INFORMATION_SCHEMA"\\."TABLES" WHERE "TABLE_SCHEMA" = \\? AND "TABLE_NAME" = \\?$`).exec(sql))) {
      const id = this.names.get(this.key(unquote(m[1]), String(binds[0]), String(binds[1])));
      if (id === undefined) return [];
      const o = this.objects.get(id)!;
      return [{ TABLE_NAME: String(binds[1]), LAST_ALTERED: o.lastAltered, ROW_COUNT: o.rows.length, COMMENT: o.comment }];
    }
    if ((m = new RegExp(`^CREATE OR REPLACE TABLE ${QUALIFIED} CLONE ${QUALIFIED}(?: AT \\(TIMESTAMP => TO_TIMESTAMP_TZ\\('([^']+)', '[^']+'\\)\\))?$`).exec(sql))) {
      const target = this.key(unquote(m[1]), unquote(m[2]), unquote(m[3]));
      const source = this.objectOf(this.key(unquote(m[4]), unquote(m[5]), unquote(m[6])));
      let state: { rows: Row[]; comment: string | null } = source;
      if (m[7]) {
        const at = m[7];
        const past = source.history.filter((h) => h.at <= at).at(-1);
        if (!past) throw new Error(`Time travel data is not available for table ${m[6]}. The requested time is either beyond the allowed time travel period or before the object creation time.`);
        state = past;
      }
      const now = this.advance();
      const o: TableObject = { id: ++this.seq, rows: [...state.rows], comment: state.comment, lastAltered: now, createdAt: now, history: [] };
      this.record(o);
      this.objects.set(o.id, o);
      this.names.set(target, o.id);
      return [{ status: `Table ${m[3]} successfully created.` }];
    }
    if ((m = new RegExp(`^CREATE OR REPLACE DATABASE ${IDENT} CLONE ${IDENT} DATA_RETENTION_TIME_IN_DAYS = 0 COMMENT = '((?:[^']|'')*)'$`).exec(sql))) {
      const target = unquote(m[1]).toUpperCase();
      const source = unquote(m[2]).toUpperCase();
      if (!this.dbs.has(source)) throw new Error(`SQL compilation error: Database '${source}' does not exist or not authorized.`);
      for (const key of this.tablesOf(target)) this.names.delete(key);
      const now = this.advance();
      for (const key of this.tablesOf(source)) {
        const src = this.objects.get(this.names.get(key)!)!;
        const o: TableObject = { id: ++this.seq, rows: [...src.rows], comment: src.comment, lastAltered: src.lastAltered, createdAt: now, history: [] };
        o.history.push({ at: now, rows: [...o.rows], comment: o.comment });
        this.objects.set(o.id, o);
        this.names.set(`${target}${key.slice(source.length)}`, o.id);
      }
      this.dbs.set(target, { created: now, comment: m[3].replace(/''/g, "'") });
      return [{ status: `Database ${target} successfully created.` }];
    }
    if ((m = new RegExp(`^DROP DATABASE IF EXISTS ${IDENT}$`).exec(sql))) {
      const name = unquote(m[1]).toUpperCase();
      if (!this.dbs.has(name)) return [{ status: `Drop statement executed successfully (${name} already dropped).` }];
      this.advance();
      for (const key of this.tablesOf(name)) this.drop(key);
      this.dbs.delete(name);
      return [{ status: `${name} successfully dropped.` }];
    }
    if ((m = new RegExp(`^SELECT "DATABASE_NAME", TO_VARCHAR\\(CONVERT_TIMEZONE\\('UTC', "CREATED"\\), '[^']+'\\) AS "CREATED", "COMMENT" FROM ${IDENT}\\."INFORMATION_SCHEMA"\\."DATABASES" WHERE STARTSWITH\\("DATABASE_NAME", \\?\\)$`).exec(sql))) {
      if (!this.dbs.has(unquote(m[1]).toUpperCase())) throw new Error(`SQL compilation error: Database '${unquote(m[1])}' does not exist or not authorized.`);
      const prefix = String(binds[0]);
      return [...this.dbs.entries()].filter(([n]) => n.startsWith(prefix)).map(([n, d]) => ({ DATABASE_NAME: n, CREATED: d.created, COMMENT: d.comment }));
    }
    if ((m = new RegExp(`^ALTER TABLE ${QUALIFIED} SWAP WITH ${QUALIFIED}$`).exec(sql))) {
      const a = this.key(unquote(m[1]), unquote(m[2]), unquote(m[3]));
      const b = this.key(unquote(m[4]), unquote(m[5]), unquote(m[6]));
      const oa = this.objectOf(a);
      const ob = this.objectOf(b);
      this.advance();
      this.names.set(a, ob.id);
      this.names.set(b, oa.id);
      this.record(oa);
      this.record(ob);
      return [{ status: 'Statement executed successfully.' }];
    }
    if ((m = new RegExp(`^ALTER TABLE ${QUALIFIED} SET COMMENT = '((?:[^']|'')*)'$`).exec(sql))) {
      const o = this.objectOf(this.key(unquote(m[1]), unquote(m[2]), unquote(m[3])));
      this.advance();
      o.comment = m[4].replace(/''/g, "'");
      this.record(o);
      return [{ status: 'Statement executed successfully.' }];
    }
    if ((m = new RegExp(`^INSERT (OVERWRITE )?INTO ${QUALIFIED} ([\\s\\S]+)$`).exec(sql))) {
      const o = this.objectOf(this.key(unquote(m[2]), unquote(m[3]), unquote(m[4])));
      const rows = this.queries.get(m[5].trim());
      if (!rows) throw new Error(`the model has no result defined for: ${m[5]}`);
      this.advance();
      o.rows = m[1] ? [...rows] : [...o.rows, ...rows];
      this.record(o);
      return [{ 'number of rows inserted': rows.length }];
    }
    if ((m = new RegExp(`^DROP TABLE IF EXISTS ${QUALIFIED}$`).exec(sql))) {
      this.drop(this.key(unquote(m[1]), unquote(m[2]), unquote(m[3])));
      return [{ status: 'dropped' }];
    }
    if ((m = new RegExp(`^UNDROP TABLE ${QUALIFIED}$`).exec(sql))) {
      const key = this.key(unquote(m[1]), unquote(m[2]), unquote(m[3]));
      const id = this.dropped.get(key);
      if (id === undefined || this.names.has(key)) throw new Error(`Table ${m[3]} did not exist or was purged.`);
      this.dropped.delete(key);
      this.names.set(key, id);
      return [{ status: `Table ${m[3]} successfully restored.` }];
    }
    throw new Error(`the Snowflake model does not implement this statement: ${sql}`);
  }

  async close(): Promise<void> {}
}
