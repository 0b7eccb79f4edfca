/**
 * The dbt profile the Verify gate step writes when DBT_PROFILES_DIR is not set
 * (lib/runtime/snowflake/dbt-profile.ts). .venv/dbt has dbt-duckdb only, so real dbt proves here
 * that it finds the profile and the output and renders every env_var(); the fields themselves are
 * checked against the dbt-snowflake profile reference (key-pair and password authentication).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import YAML from 'yaml';
import { PROJECT_ROOT } from '../../../lib/checks/validate/toolchain';
import { snowflakeEndpointUrl } from '../../../lib/runtime/snowflake/endpoint';
import {
  DEFAULT_DBT_SCHEMA,
  dbtProjectProfile,
  schemaMismatches,
  snowflakeDbtAuth,
  snowflakeDbtProfile,
  suggestedSchema,
  writeSnowflakeDbtProfile,
  type SnowflakeDbtAuth,
} from '../../../lib/runtime/snowflake/dbt-profile';
import { configErrorOf, defaultConfigData, makeTestConfig } from '../../helpers/config';
import { stringify } from 'yaml';

/** Staging's Snowflake block without `schema` (the default case); tests that need one set it. */
const { schema: _configured, ...staging } = makeTestConfig().environments.staging.snowflake;
const KEY_PAIR: SnowflakeDbtAuth = { kind: 'key-pair', passphrase: false };

/** Fields dbt-snowflake documents for a profile output (docs.getdbt.com, "Snowflake setup"). */
const DOCUMENTED = ['type', 'account', 'user', 'password', 'private_key_path', 'private_key', 'private_key_passphrase', 'authenticator', 'role', 'database', 'warehouse', 'schema', 'threads', 'client_session_keep_alive', 'query_tag', 'connect_retries', 'connect_timeout', 'retry_on_database_errors', 'retry_all', 'reuse_connections', 'host', 'port', 'protocol'];
const REQUIRED = ['type', 'account', 'user', 'database', 'warehouse', 'schema'];

function project(dbtProjectYml: string | null): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbt-profile-project-'));
  if (dbtProjectYml !== null) fs.writeFileSync(path.join(dir, 'dbt_project.yml'), dbtProjectYml);
  return dir;
}

const output = (text: string, profile: string, target: string): Record<string, unknown> => (YAML.parse(text) as Record<string, any>)[profile].outputs[target];

describe('the dbt profile of the Verify gates', () => {
  it.each<[string, SnowflakeDbtAuth, Record<string, string>]>([
    ['a key pair', KEY_PAIR, { private_key_path: "{{ env_var('SNOWFLAKE_PRIVATE_KEY_PATH') }}" }],
    ['a key pair with a passphrase', { kind: 'key-pair', passphrase: true }, { private_key_path: "{{ env_var('SNOWFLAKE_PRIVATE_KEY_PATH') }}", private_key_passphrase: "{{ env_var('SNOWFLAKE_PRIVATE_KEY_PASSPHRASE') }}" }],
    ['a password', { kind: 'password' }, { password: "{{ env_var('SNOWFLAKE_PASSWORD') }}" }],
  ])('is valid YAML with one Snowflake output named after the target, the connection from the configuration and %s read from env vars', (_, auth, credentials) => {
    // GIVEN the staging configuration and the project's profile name
    // WHEN the profile is written for target staging
    const text = snowflakeDbtProfile({ profile: 'clinic_analytics', target: 'staging', snowflake: staging, auth });
    // THEN it has the project's profile, whose default and only output is staging, with exactly the expected fields
    const doc = YAML.parse(text) as Record<string, any>;
    expect(Object.keys(doc)).toEqual(['clinic_analytics']);
    expect(doc.clinic_analytics.target).toBe('staging');
    expect(Object.keys(doc.clinic_analytics.outputs)).toEqual(['staging']);
    expect(output(text, 'clinic_analytics', 'staging')).toEqual({
      type: 'snowflake',
      account: staging.account,
      user: "{{ env_var('SNOWFLAKE_USER') }}",
      ...credentials,
      role: staging.role,
      database: staging.database,
      warehouse: staging.warehouse,
      schema: DEFAULT_DBT_SCHEMA,
      threads: 4,
      client_session_keep_alive: false,
    });
  });

  it('uses only fields dbt-snowflake documents, with every required one and one authentication method', () => {
    // GIVEN each authentication the step can give
    for (const auth of [KEY_PAIR, { kind: 'key-pair', passphrase: true }, { kind: 'password' }] as SnowflakeDbtAuth[]) {
      // WHEN the profile is written
      const out = output(snowflakeDbtProfile({ profile: 'p', target: 'prod', snowflake: staging, auth }), 'p', 'prod');
      // THEN its fields are documented ones, the required ones are there, and password and key path exclude each other
      expect(Object.keys(out).filter((k) => !DOCUMENTED.includes(k))).toEqual([]);
      expect(REQUIRED.filter((k) => !(k in out))).toEqual([]);
      expect(['password', 'private_key_path'].filter((k) => k in out)).toHaveLength(1);
    }
  });

  it('connects where DATAOPS_SNOWFLAKE_ENDPOINT_URL points (host, port, protocol), and gives the build output its own schema', () => {
    // GIVEN an endpoint other than the account's public host, and a build schema
    const text = snowflakeDbtProfile({ profile: 'p', target: 'dev', snowflake: staging, auth: KEY_PAIR, endpoint: new URL('http://127.0.0.1:8766'), schemas: { dev_build: 'PUBLIC__DATAOPS_1' } });
    // THEN both outputs connect there, and differ only in the schema
    const live = output(text, 'p', 'dev');
    const build = output(text, 'p', 'dev_build');
    expect(live).toMatchObject({ host: '127.0.0.1', port: 8766, protocol: 'http', schema: 'PUBLIC' });
    expect(build).toEqual({ ...live, schema: 'PUBLIC__DATAOPS_1' });
    // AND without one, no host is written (dbt-snowflake then uses <account>.snowflakecomputing.com)
    expect(output(snowflakeDbtProfile({ profile: 'p', target: 'dev', snowflake: staging, auth: KEY_PAIR, endpoint: undefined }), 'p', 'dev')).not.toHaveProperty('host');
  });

  it.each([
    ['the default PUBLIC when snowflake.schema is not set', undefined, 'PUBLIC'],
    ['snowflake.schema when it is set', 'ANALYTICS', 'ANALYTICS'],
  ])('targets %s', (_, schema, expected) => {
    // GIVEN the staging Snowflake block with or without a schema
    const snowflake = { ...staging, ...(schema ? { schema } : {}) };
    // WHEN the profile is written
    const out = output(snowflakeDbtProfile({ profile: 'p', target: 'staging', snowflake, auth: KEY_PAIR }), 'p', 'staging');
    // THEN its output targets that schema
    expect(out.schema).toBe(expected);
  });

  it('holds no secret: the user, key path, passphrase and password of the dbt environment appear nowhere in the file, which is 0600', () => {
    // GIVEN the variables the step sets from the deploy secret
    const env = { SNOWFLAKE_USER: 'SECRET_DEPLOY_USER', SNOWFLAKE_PRIVATE_KEY_PATH: '/tmp/secret-dir/snowflake-deploy.p8', SNOWFLAKE_PRIVATE_KEY_PASSPHRASE: 's3cr3t-passphrase', SNOWFLAKE_PASSWORD: 'hunter2-password' };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbt-profile-'));
    // WHEN the step writes the profile for them
    const file = writeSnowflakeDbtProfile(dir, { profile: 'p', target: 'staging', snowflake: staging, auth: snowflakeDbtAuth(env, staging.deploySecretArn) });
    // THEN none of their values is in the file, only references to them, and only the owner can read it
    const text = fs.readFileSync(file, 'utf8');
    for (const value of Object.values(env)) expect(text).not.toContain(value);
    expect(text).toContain("{{ env_var('SNOWFLAKE_PRIVATE_KEY_PASSPHRASE') }}");
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it.each([
    ['no SNOWFLAKE_USER', { SNOWFLAKE_PRIVATE_KEY_PATH: '/k' }, /has no SNOWFLAKE_USER, which/],
    ['neither a key path nor a password', { SNOWFLAKE_USER: 'u' }, /has no SNOWFLAKE_PRIVATE_KEY_PATH or SNOWFLAKE_PASSWORD, which/],
  ])('fails when the dbt environment has %s, naming the deploy secret and the way out', (_, env, what) => {
    // GIVEN a dbt environment without the deploy secret's variables
    // WHEN the authentication is chosen
    // THEN the error says what is missing, which secret was not read and how to fix it
    expect(() => snowflakeDbtAuth(env, staging.deploySecretArn)).toThrow(what);
    expect(() => snowflakeDbtAuth(env, staging.deploySecretArn)).toThrow(new RegExp(`the deploy secret ${staging.deploySecretArn} was not read .* or set DBT_PROFILES_DIR`));
  });
});

describe('the profile name read from dbt_project.yml', () => {
  it("is the project's profile:", () => {
    // GIVEN a dbt_project.yml with profile: clinic_analytics
    const dir = project('name: clinic_analytics\nversion: "1.0.0"\nconfig-version: 2\nprofile: clinic_analytics\n');
    // WHEN it is read / THEN the name is that profile
    expect(dbtProjectProfile(dir, 'dbt_project.yml of release 1.0.0')).toBe('clinic_analytics');
  });

  it.each([
    ['has no profile:', 'name: core\nversion: "1"\n', "dbt_project.yml of release 1.0.0 has no 'profile:'; the Verify gates write a profiles.yml under that name: add 'profile: <name>' to dbt_project.yml, or set DBT_PROFILES_DIR to a folder with your own profiles.yml"],
    ['is not YAML', 'name: core\nprofile: [unclosed\n', /^dbt_project.yml of release 1.0.0 is not valid YAML \(.+\); fix the file and package a new release$/],
    ['names a profile dbt cannot use', 'name: core\nprofile: "core profile"\n', `dbt_project.yml of release 1.0.0: profile "core profile" is not a dbt profile name (letters, digits, _ -); fix 'profile:' in dbt_project.yml`],
    ['does not exist', null, 'dbt_project.yml of release 1.0.0: no dbt_project.yml in the dbt project; package the release from the folder that holds it'],
  ])('fails when dbt_project.yml %s, naming the file and the fix', (_, yml, message) => {
    // GIVEN a project whose dbt_project.yml has that one problem
    const dir = project(yml);
    // WHEN the profile name is read / THEN the error names the file, what is wrong and the fix
    expect(() => dbtProjectProfile(dir, 'dbt_project.yml of release 1.0.0')).toThrow(message);
  });
});

describe('environments.<env>.snowflake.schema', () => {
  it('is accepted as a Snowflake identifier', () => {
    // GIVEN staging with schema ANALYTICS / WHEN the configuration is parsed / THEN the schema is kept
    const config = makeTestConfig({ mutate: (raw) => (raw.environments.staging.snowflake.schema = 'ANALYTICS') });
    expect(config.environments.staging.snowflake.schema).toBe('ANALYTICS');
  });

  it('fails when it is not a Snowflake identifier, naming the key', () => {
    // GIVEN staging with a schema holding a dash
    const raw = defaultConfigData();
    raw.environments.staging.snowflake.schema = 'my-schema';
    // WHEN the configuration is parsed / THEN the error names the key and what it must be
    expect(configErrorOf(stringify(raw))).toMatch(/environments\.staging\.snowflake\.schema.*must be a Snowflake identifier/);
  });
});

describe('schema agreement between the release and the gates run', () => {
  const manifest = (schemas: Record<string, string>, type = 'model') => ({ nodes: Object.fromEntries(Object.entries(schemas).map(([id, schema]) => [id, { resource_type: type, schema }])) });

  it.each([
    ['the same schemas, case aside', { 'model.p.a': 'ANALYTICS_marts' }, { 'model.p.a': 'analytics_MARTS' }, []],
    ['a model in another schema', { 'model.p.a': 'analytics_marts', 'model.p.b': 'analytics' }, { 'model.p.a': 'PUBLIC_marts', 'model.p.b': 'analytics' }, [{ uniqueId: 'model.p.a', release: 'analytics_marts', run: 'PUBLIC_marts' }]],
    ['a model only the release has', { 'model.p.a': 'x' }, {}, []],
  ])('with %s lists the models placed elsewhere', (_, rel, run, expected) => {
    // GIVEN the release's manifest and the run's / WHEN compared / THEN the differing models are listed
    expect(schemaMismatches(manifest(rel), manifest(run))).toEqual(expected);
  });

  it('ignores nodes that are not models and anything that is no manifest', () => {
    // GIVEN a seed in another schema, and a run that wrote no manifest
    // WHEN compared / THEN nothing is listed
    expect(schemaMismatches(manifest({ 'seed.p.s': 'a' }, 'seed'), manifest({ 'seed.p.s': 'b' }, 'seed'))).toEqual([]);
    expect(schemaMismatches(manifest({ 'model.p.a': 'a' }), undefined)).toEqual([]);
  });

  it.each([
    ['a custom schema (default generate_schema_name)', { release: 'analytics_marts', run: 'PUBLIC_marts' }, 'PUBLIC', 'ANALYTICS'],
    ['no custom schema', { release: 'analytics', run: 'PUBLIC' }, 'PUBLIC', 'ANALYTICS'],
    ['names that follow no pattern', { release: 'marts', run: 'PUBLIC_marts' }, 'PUBLIC', undefined],
  ])('suggests the configured schema that matches the release for %s', (_, m, schema, expected) => {
    // GIVEN a mismatch and the schema the gates used / WHEN a fix is suggested / THEN it is the release's base schema
    expect(suggestedSchema({ uniqueId: 'model.p.a', ...m }, schema)).toBe(expected);
  });
});

describe('real dbt with the generated profile', () => {
  const DBT = path.join(PROJECT_ROOT, '.venv', 'dbt', 'bin', 'dbt');
  jest.setTimeout(120_000);

  it('finds the profile and the output, renders every env_var and parses with the Snowflake adapter (no connection needed)', () => {
    // GIVEN a dbt project with profile clinic_analytics and the generated profile for target staging
    const dir = project('name: clinic_analytics\nversion: "1.0.0"\nconfig-version: 2\nprofile: clinic_analytics\n');
    const profiles = path.join(dir, 'gen');
    writeSnowflakeDbtProfile(profiles, { profile: dbtProjectProfile(dir, 'dbt_project.yml'), target: 'staging', snowflake: staging, auth: { kind: 'key-pair', passphrase: true } });
    const env = { ...process.env, DBT_SEND_ANONYMOUS_USAGE_STATS: 'false', DBT_USE_COLORS: 'false', SNOWFLAKE_USER: 'U', SNOWFLAKE_PRIVATE_KEY_PATH: '/k.p8', SNOWFLAKE_PRIVATE_KEY_PASSPHRASE: 'x' };
    // WHEN dbt parses the project with it
    const r = spawnSync(DBT, ['parse', '--profiles-dir', profiles, '--target', 'staging', '--log-path', path.join(dir, 'logs')], { cwd: dir, env, encoding: 'utf8' });
    // THEN dbt-snowflake took the output (profile and target found, env vars rendered) and the parse wrote a manifest
    const out = r.stdout + r.stderr;
    expect({ code: r.status, adapter: /Registered adapter: snowflake=/.test(out) }).toEqual({ code: 0, adapter: true });
    expect(out).not.toMatch(/Env var required but not provided|does not have a target named|Could not find profile named|Credentials in profile/);
    expect(fs.existsSync(path.join(dir, 'target', 'manifest.json'))).toBe(true);
  });
});

describe('DATAOPS_SNOWFLAKE_ENDPOINT_URL', () => {
  it('is read as a URL, and anything else fails naming the variable and the fix', () => {
    expect(snowflakeEndpointUrl({})).toBeUndefined();
    expect(snowflakeEndpointUrl({ DATAOPS_SNOWFLAKE_ENDPOINT_URL: 'https://acme.privatelink.snowflakecomputing.com' })?.hostname).toBe('acme.privatelink.snowflakecomputing.com');
    expect(() => snowflakeEndpointUrl({ DATAOPS_SNOWFLAKE_ENDPOINT_URL: 'acme.snowflake' })).toThrow(/DATAOPS_SNOWFLAKE_ENDPOINT_URL=acme.snowflake is not a URL; set it to the endpoint's scheme, host and port/);
    expect(() => snowflakeEndpointUrl({ DATAOPS_SNOWFLAKE_ENDPOINT_URL: 'ftp://acme' })).toThrow(/is not an http\(s\) URL/);
  });
});
