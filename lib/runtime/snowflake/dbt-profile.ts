import * as fs from 'fs';
import * as path from 'path';
import YAML from 'yaml';
import { z } from 'zod';
import type { EnvironmentConfig } from '../../config/schema';
import { snowflakeEndpointUrl } from './endpoint';

/**
 * Schema of the generated profile's output when `environments.<env>.snowflake.schema` is not set:
 * Snowflake's default schema, which every database has.
 */
export const DEFAULT_DBT_SCHEMA = 'PUBLIC';

/** Threads of the generated profile's output: the gates only read (tests, freshness), a few at a time. */
export const DBT_PROFILE_THREADS = 4;

/** The generated dbt profile could not be written; the message names the file and how to fix it. */
export class DbtProfileError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DbtProfileError';
  }
}

/** How the output authenticates: the variables of the gate step's dbt environment it reads. */
export type SnowflakeDbtAuth = { readonly kind: 'key-pair'; readonly passphrase: boolean } | { readonly kind: 'password' };

/** What the generated profile holds. */
export interface SnowflakeDbtProfileProps {
  /** Name of the profile: the `profile:` of the project's dbt_project.yml ({@link dbtProjectProfile}). */
  readonly profile: string;
  /** Name of its one output (the gates' `--target`). */
  readonly target: string;
  /** The environment's Snowflake block: account, database, role, warehouse and schema. */
  readonly snowflake: EnvironmentConfig['snowflake'];
  readonly auth: SnowflakeDbtAuth;
  /** Further outputs of the same connection, by name, each with its own schema (the dbt deployer's build output). @default none */
  readonly schemas?: Readonly<Record<string, string>>;
  /** Where the account answers when not at its public host ({@link snowflakeEndpointUrl}). @default - $DATAOPS_SNOWFLAKE_ENDPOINT_URL, else the public host */
  readonly endpoint?: URL;
}

/** dbt profile names are used as YAML keys and in dbt's own lookup; letters, digits, _ and -. */
const ProfileName = z.string().regex(/^[A-Za-z0-9_-]+$/);

/**
 * The `profile:` of the dbt project in `projectDir` (its dbt_project.yml); `label` names the file in
 * errors (e.g. `dbt_project.yml of release 1.4.0`).
 */
export function dbtProjectProfile(projectDir: string, label: string): string {
  const file = path.join(projectDir, 'dbt_project.yml');
  if (!fs.existsSync(file)) throw new DbtProfileError(`${label}: no dbt_project.yml in the dbt project; package the release from the folder that holds it`);
  let doc: unknown;
  try {
    doc = YAML.parse(fs.readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new DbtProfileError(`${label} is not valid YAML (${(cause as Error).message.split('\n')[0]}); fix the file and package a new release`, { cause });
  }
  const profile = doc !== null && typeof doc === 'object' && !Array.isArray(doc) ? (doc as Record<string, unknown>).profile : undefined;
  if (profile === undefined || profile === null) {
    throw new DbtProfileError(`${label} has no 'profile:'; the Verify gates write a profiles.yml under that name: add 'profile: <name>' to dbt_project.yml, or set DBT_PROFILES_DIR to a folder with your own profiles.yml`);
  }
  const name = ProfileName.safeParse(profile);
  if (!name.success) throw new DbtProfileError(`${label}: profile ${JSON.stringify(profile)} is not a dbt profile name (letters, digits, _ -); fix 'profile:' in dbt_project.yml`);
  return name.data;
}

/**
 * How the profile authenticates, from the variables the gate step's dbt environment holds
 * (`snowflakeDbtEnv` of quality-gates.ts): a key pair when SNOWFLAKE_PRIVATE_KEY_PATH is set, else a
 * password when SNOWFLAKE_PASSWORD is. Without SNOWFLAKE_USER, or with neither, the deploy secret was
 * not read and dbt could not connect.
 */
export function snowflakeDbtAuth(env: Readonly<Record<string, string | undefined>>, secretArn: string): SnowflakeDbtAuth {
  if (!env.SNOWFLAKE_USER || !(env.SNOWFLAKE_PRIVATE_KEY_PATH || env.SNOWFLAKE_PASSWORD)) {
    const missing = [!env.SNOWFLAKE_USER && 'SNOWFLAKE_USER', !(env.SNOWFLAKE_PRIVATE_KEY_PATH || env.SNOWFLAKE_PASSWORD) && 'SNOWFLAKE_PRIVATE_KEY_PATH or SNOWFLAKE_PASSWORD'].filter(Boolean);
    throw new DbtProfileError(`the gates' dbt environment has no ${missing.join(' and ')}, which the generated profile reads; the deploy secret ${secretArn} was not read (see the warning above) — let the deploy role read it and hold {"user","privateKey"}, or set DBT_PROFILES_DIR to a folder with your own profiles.yml`);
  }
  return env.SNOWFLAKE_PRIVATE_KEY_PATH ? { kind: 'key-pair', passphrase: Boolean(env.SNOWFLAKE_PRIVATE_KEY_PASSPHRASE) } : { kind: 'password' };
}

/** dbt-snowflake's host, port and protocol fields for an endpoint other than the account's public host. */
function endpointFields(url: URL | undefined): Record<string, string | number> {
  if (!url) return {};
  const protocol = url.protocol.replace(/:$/, '');
  return { host: url.hostname, port: url.port ? Number(url.port) : protocol === 'http' ? 80 : 443, protocol };
}

const envVar = (name: string) => `{{ env_var('${name}') }}`;

/**
 * profiles.yml text with one Snowflake output (the fields dbt-snowflake documents for key-pair and
 * password authentication): account, database, role and warehouse from the configuration, `schema`
 * from `snowflake.schema` (default {@link DEFAULT_DBT_SCHEMA}), and user and key path (or password)
 * as `env_var()` references, so the file holds no secret.
 */
export function snowflakeDbtProfile(props: SnowflakeDbtProfileProps): string {
  const sf = props.snowflake;
  const auth =
    props.auth.kind === 'key-pair'
      ? { private_key_path: envVar('SNOWFLAKE_PRIVATE_KEY_PATH'), ...(props.auth.passphrase ? { private_key_passphrase: envVar('SNOWFLAKE_PRIVATE_KEY_PASSPHRASE') } : {}) }
      : { password: envVar('SNOWFLAKE_PASSWORD') };
  const output = {
    type: 'snowflake',
    account: sf.account,
    user: envVar('SNOWFLAKE_USER'),
    ...auth,
    role: sf.role,
    database: sf.database,
    warehouse: sf.warehouse,
    schema: sf.schema ?? DEFAULT_DBT_SCHEMA,
    threads: DBT_PROFILE_THREADS,
    client_session_keep_alive: false,
    ...endpointFields(props.endpoint ?? snowflakeEndpointUrl()),
  };
  const outputs = { [props.target]: output, ...Object.fromEntries(Object.entries(props.schemas ?? {}).map(([name, schema]) => [name, { ...output, schema }])) };
  const doc = { [props.profile]: { target: props.target, outputs } };
  return `# Written by the dataops Verify gate step from the platform configuration; credentials come from env vars.\n${YAML.stringify(doc)}`;
}

/** Writes {@link snowflakeDbtProfile} as `dir/profiles.yml` (mode 0600) and returns the file. */
export function writeSnowflakeDbtProfile(dir: string, props: SnowflakeDbtProfileProps): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'profiles.yml');
  fs.writeFileSync(file, snowflakeDbtProfile(props), { mode: 0o600 });
  return file;
}

const NodesSchema = z.object({ nodes: z.record(z.string(), z.object({ resource_type: z.string(), schema: z.string() }).loose()) }).loose();

/** A model the gates' dbt run places in another schema than the release's manifest (which the dbt deployer swapped). */
export interface SchemaMismatch {
  readonly uniqueId: string;
  /** Schema in the release's manifest (compiled when the release was built). */
  readonly release: string;
  /** Schema in the manifest of the gates' run (compiled with the gates' profile). */
  readonly run: string;
}

/**
 * The models whose schema differs (case-insensitively, as Snowflake folds unquoted names) between
 * the release's manifest and the manifest of the gates' dbt run; empty when either is no manifest.
 * A difference means the gates test other tables than the ones the deploy rebuilt.
 */
export function schemaMismatches(releaseManifest: unknown, runManifest: unknown): SchemaMismatch[] {
  const rel = NodesSchema.safeParse(releaseManifest);
  const run = NodesSchema.safeParse(runManifest);
  if (!rel.success || !run.success) return [];
  const out: SchemaMismatch[] = [];
  for (const [id, node] of Object.entries(rel.data.nodes)) {
    const other = run.data.nodes[id];
    if (node.resource_type !== 'model' || other === undefined) continue;
    if (node.schema.toUpperCase() !== other.schema.toUpperCase()) out.push({ uniqueId: id, release: node.schema, run: other.schema });
  }
  return out.sort((a, b) => a.uniqueId.localeCompare(b.uniqueId));
}

/**
 * The `snowflake.schema` that would make the run's schema `m.run` (compiled from `schema`) equal the
 * release's: dbt's default generate_schema_name appends `_<custom schema>` to the target's schema, so
 * the same suffix is taken off the release's. Undefined when the names do not follow that pattern.
 */
export function suggestedSchema(m: SchemaMismatch, schema: string): string | undefined {
  const run = m.run.toUpperCase();
  const base = schema.toUpperCase();
  if (!run.startsWith(base)) return undefined;
  const suffix = run.slice(base.length);
  const release = m.release.toUpperCase();
  if (!release.endsWith(suffix) || release.length === suffix.length) return undefined;
  return release.slice(0, release.length - suffix.length);
}
