import * as fs from 'fs';
import { z } from 'zod';

/** One row of `information_schema.columns`, names lowercased. */
export interface CatalogRow {
  readonly database: string | null;
  readonly schema: string;
  readonly table: string;
  readonly column: string;
  readonly dataType: string;
}

/** Where the live catalog comes from: a PostgreSQL URL, or a snapshot file exported from any warehouse. */
export interface CatalogInput {
  /** `postgres://user@host:port/db`: reads information_schema.columns of that database. */
  readonly url?: string;
  /**
   * A JSON array or CSV export of `information_schema.columns` (table_catalog, table_schema,
   * table_name, column_name, data_type; any case), e.g. from Snowflake in CodeBuild.
   */
  readonly snapshotFile?: string;
  /** Rows given directly. */
  readonly rows?: readonly CatalogRow[];
}

/** The catalog cannot be read. */
export class CatalogError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CatalogError';
  }
}

const RawRowSchema = z
  .record(z.string(), z.unknown())
  .transform((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k.toLowerCase(), v])))
  .pipe(
    z.object({
      table_catalog: z.string().nullish(),
      table_schema: z.string(),
      table_name: z.string(),
      column_name: z.string(),
      data_type: z.string(),
    }),
  );

function toRow(r: z.infer<typeof RawRowSchema>): CatalogRow {
  return {
    database: r.table_catalog ? r.table_catalog.toLowerCase() : null,
    schema: r.table_schema.toLowerCase(),
    table: r.table_name.toLowerCase(),
    column: r.column_name.toLowerCase(),
    dataType: r.data_type.toLowerCase(),
  };
}

/** Splits one CSV line (RFC 4180 quoting). */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** Parses a catalog snapshot (JSON array of rows, or CSV with a header). */
export function parseCatalogSnapshot(text: string, file: string): CatalogRow[] {
  let raw: unknown[];
  const trimmed = text.trimStart();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (cause) {
      throw new CatalogError(`${file}: catalog snapshot is not valid JSON`, { cause });
    }
    const rows = Array.isArray(doc) ? doc : (doc as { rows?: unknown }).rows;
    if (!Array.isArray(rows)) throw new CatalogError(`${file}: catalog snapshot must be a JSON array of information_schema.columns rows (or {"rows": [...]})`);
    raw = rows;
  } else {
    const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
    const header = csvFields(lines[0] ?? '');
    raw = lines.slice(1).map((l) => Object.fromEntries(csvFields(l).map((v, i) => [header[i] ?? `col${i}`, v])));
  }
  return raw.map((r, i) => {
    const p = RawRowSchema.safeParse(r);
    if (!p.success) {
      throw new CatalogError(
        `${file}: row ${i + 1} is not an information_schema.columns row (${p.error.issues[0].path.join('.')}: ${p.error.issues[0].message}); export table_catalog, table_schema, table_name, column_name, data_type`,
      );
    }
    return toRow(p.data);
  });
}

/** Reads the columns of every user table of a PostgreSQL database. */
export async function readPostgresCatalog(url: string): Promise<CatalogRow[]> {
  const { Client } = await import('pg');
  const client = new Client({ connectionString: url });
  try {
    await client.connect();
    const res = await client.query<{ table_catalog: string; table_schema: string; table_name: string; column_name: string; data_type: string }>(
      `select table_catalog, table_schema, table_name, column_name, data_type
         from information_schema.columns
        where table_schema not in ('pg_catalog', 'information_schema')`,
    );
    return res.rows.map((r) => toRow(r));
  } catch (cause) {
    throw new CatalogError(`cannot read information_schema.columns from ${url.replace(/\/\/[^@/]*@/, '//***@')}: ${(cause as Error).message}`, { cause });
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Loads the catalog rows from every input given. */
export async function loadCatalog(input: CatalogInput): Promise<CatalogRow[]> {
  const rows: CatalogRow[] = [...(input.rows ?? [])];
  if (input.snapshotFile) {
    let text: string;
    try {
      text = fs.readFileSync(input.snapshotFile, 'utf8');
    } catch (cause) {
      throw new CatalogError(`cannot read catalog snapshot ${input.snapshotFile}: ${(cause as Error).message}`, { cause });
    }
    rows.push(...parseCatalogSnapshot(text, input.snapshotFile));
  }
  if (input.url) rows.push(...(await readPostgresCatalog(input.url)));
  return rows;
}

const FAMILY: Array<[RegExp, string]> = [
  [/^(tinyint|smallint|int|int2|int4|int8|integer|bigint|byteint|number|numeric|decimal|float|float4|float8|double|double precision|real|serial|bigserial|smallserial|hugeint|money)$/, 'number'],
  [/^(text|string|varchar|character varying|char|character|nchar|nvarchar|nvarchar2|bpchar|name|citext)$/, 'text'],
  [/^(bool|boolean)$/, 'boolean'],
  [/^(date)$/, 'date'],
  [/^(timestamp|datetime|timestamptz|timestamp_ntz|timestamp_ltz|timestamp_tz|timestamp without time zone|timestamp with time zone)$/, 'timestamp'],
  [/^(time|timetz|time without time zone|time with time zone)$/, 'time'],
  [/^(json|jsonb|variant|object|array|super|struct|map)$/, 'semi-structured'],
  [/^(bytea|binary|varbinary|blob)$/, 'binary'],
];

/** The type without parameters, lowercased: `VARCHAR(10)` → `varchar`. */
export function baseType(t: string): string {
  return t.toLowerCase().replace(/\(.*?\)/g, '').replace(/\s+/g, ' ').trim();
}

/** A coarse type family, so warehouse spellings of one type compare equal (`int4` ~ `NUMBER(38,0)`). */
export function typeFamily(t: string): string {
  const b = baseType(t).replace(/\[\]$/, '');
  if (/\[\]$/.test(baseType(t))) return 'semi-structured';
  for (const [re, fam] of FAMILY) if (re.test(b)) return fam;
  return b;
}

const ALIASES: Record<string, string> = {
  int: 'integer', int4: 'integer', int8: 'bigint', int2: 'smallint', bool: 'boolean', 'character varying': 'varchar',
  string: 'varchar', text: 'varchar', float8: 'double', 'double precision': 'double', float4: 'real', numeric: 'number', decimal: 'number',
  timestamptz: 'timestamp_tz', 'timestamp with time zone': 'timestamp_tz', 'timestamp without time zone': 'timestamp_ntz', datetime: 'timestamp_ntz', timestamp: 'timestamp_ntz',
};

/** A declared type in canonical spelling, parameters kept: `character varying(10)` → `varchar(10)`. */
export function canonicalType(t: string): string {
  const lower = t.toLowerCase().replace(/\s+/g, ' ').trim();
  const m = /^([a-z_ ]+?)\s*(\(.*\))?$/.exec(lower);
  if (!m) return lower;
  const name = ALIASES[m[1]] ?? m[1];
  return `${name}${(m[2] ?? '').replace(/\s+/g, '')}`;
}
