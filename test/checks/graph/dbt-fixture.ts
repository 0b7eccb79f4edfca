/**
 * Writes target/manifest.json for a small dbt project the way `dbt parse` lays it out (schema v12):
 * models from models/**\/*.sql, seeds from seeds/*.csv, and columns, contracts, sources and
 * exposures from the properties YAML files. Test fixtures only: it lets a fixture change a SQL or
 * YAML file and get a matching manifest without installing dbt in every test.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import YAML from 'yaml';

type Obj = Record<string, unknown>;

function walk(dir: string, ext: string, rel = ''): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...walk(path.join(dir, e.name), ext, r));
    else if (e.name.endsWith(ext)) out.push(r);
  }
  return out.sort();
}

const sha = (s: string): string => crypto.createHash('sha256').update(s).digest('hex');

function base(project: string, kind: string, name: string, file: string, schema: string, database: string): Obj {
  return {
    database,
    schema,
    name,
    resource_type: kind,
    package_name: project,
    path: file.replace(/^models\/|^seeds\//, ''),
    original_file_path: file,
    unique_id: `${kind}.${project}.${name}`,
    fqn: [project, ...file.replace(/\.(sql|csv)$/, '').split('/').slice(1)],
    alias: name,
    checksum: { name: 'sha256', checksum: '' },
    config: { enabled: true, materialized: kind === 'seed' ? 'seed' : 'view', contract: { enforced: false, alias_types: true } },
    tags: [],
    description: '',
    columns: {},
    meta: {},
    relation_name: `"${database}"."${schema}"."${name}"`,
    depends_on: { macros: [], nodes: [] },
    refs: [],
    sources: [],
    contract: { enforced: false, alias_types: true, checksum: null },
    access: 'protected',
    version: null,
    patch_path: null,
  };
}

/** Builds the manifest object of the dbt project in `projectDir`. */
export function buildFixtureManifest(projectDir: string): Obj {
  const projectYml = YAML.parse(fs.readFileSync(path.join(projectDir, 'dbt_project.yml'), 'utf8')) as Obj;
  const project = String(projectYml.name);
  const database = 'analytics';
  const schema = String((projectYml.vars as Obj | undefined)?.schema ?? project);
  const nodes: Record<string, Obj> = {};
  const sources: Record<string, Obj> = {};
  const exposures: Record<string, Obj> = {};
  const modelFiles = walk(path.join(projectDir, 'models'), '.sql').map((f) => `models/${f}`);
  const names = new Set(modelFiles.map((f) => path.basename(f, '.sql')));
  const seedFiles = walk(path.join(projectDir, 'seeds'), '.csv').map((f) => `seeds/${f}`);
  for (const f of seedFiles) {
    const name = path.basename(f, '.csv');
    const text = fs.readFileSync(path.join(projectDir, f), 'utf8');
    const n = base(project, 'seed', name, f, schema, database);
    n.checksum = { name: 'sha256', checksum: sha(text) };
    n.columns = Object.fromEntries(text.split('\n')[0].split(',').map((c) => [c.trim(), { name: c.trim(), data_type: null }]));
    nodes[String(n.unique_id)] = n;
  }
  const seedNames = new Set(seedFiles.map((f) => path.basename(f, '.csv')));
  const refTarget = (pkg: string | undefined, name: string): string => {
    if (pkg && pkg !== project) return `model.${pkg}.${name}`;
    return seedNames.has(name) && !names.has(name) ? `seed.${project}.${name}` : `model.${project}.${name}`;
  };
  for (const f of modelFiles) {
    const name = path.basename(f, '.sql');
    const sql = fs.readFileSync(path.join(projectDir, f), 'utf8');
    const n = base(project, 'model', name, f, schema, database);
    n.checksum = { name: 'sha256', checksum: sha(sql) };
    n.raw_code = sql;
    n.language = 'sql';
    const refs = [...sql.matchAll(/ref\(\s*'([^']+)'(?:\s*,\s*'([^']+)')?\s*\)/g)].map((m) => (m[2] ? { name: m[2], package: m[1], version: null } : { name: m[1], package: null, version: null }));
    const srcs = [...sql.matchAll(/source\(\s*'([^']+)'\s*,\s*'([^']+)'\s*\)/g)].map((m) => [m[1], m[2]]);
    n.refs = refs;
    n.sources = srcs;
    n.depends_on = { macros: [], nodes: [...new Set([...refs.map((r) => refTarget(r.package ?? undefined, r.name)), ...srcs.map(([s, t]) => `source.${project}.${s}.${t}`)])] };
    nodes[String(n.unique_id)] = n;
  }
  for (const yf of walk(path.join(projectDir, 'models'), '.yml').map((f) => `models/${f}`)) {
    const doc = (YAML.parse(fs.readFileSync(path.join(projectDir, yf), 'utf8')) ?? {}) as Obj;
    const cols = (list: unknown): Obj =>
      Object.fromEntries(((list as Obj[] | undefined) ?? []).map((c) => [String(c.name), { name: String(c.name), data_type: c.data_type ?? null, description: '', meta: {}, constraints: [], tags: [] }]));
    for (const m of (doc.models as Obj[] | undefined) ?? []) {
      const n = nodes[`model.${project}.${String(m.name)}`];
      if (!n) continue;
      n.columns = cols(m.columns);
      n.patch_path = `${project}://${yf}`;
      const enforced = Boolean(((m.config as Obj | undefined)?.contract as Obj | undefined)?.enforced);
      n.contract = { enforced, alias_types: true, checksum: null };
      (n.config as Obj).contract = { enforced, alias_types: true };
      if (m.access) n.access = m.access;
    }
    for (const s of (doc.sources as Obj[] | undefined) ?? []) {
      for (const t of (s.tables as Obj[] | undefined) ?? []) {
        const uid = `source.${project}.${String(s.name)}.${String(t.name)}`;
        const srcSchema = String(s.schema ?? s.name);
        const srcDb = String(s.database ?? database);
        sources[uid] = {
          database: srcDb,
          schema: srcSchema,
          name: String(t.name),
          resource_type: 'source',
          package_name: project,
          path: yf,
          original_file_path: yf,
          unique_id: uid,
          fqn: [project, String(s.name), String(t.name)],
          source_name: String(s.name),
          source_description: '',
          loader: '',
          identifier: String(t.identifier ?? t.name),
          columns: cols(t.columns),
          relation_name: `"${srcDb}"."${srcSchema}"."${String(t.identifier ?? t.name)}"`,
          config: { enabled: true },
        };
      }
    }
    for (const e of (doc.exposures as Obj[] | undefined) ?? []) {
      const uid = `exposure.${project}.${String(e.name)}`;
      const refArgs = ((e.depends_on as string[] | undefined) ?? [])
        .map((d) => /ref\(\s*'([^']+)'(?:\s*,\s*'([^']+)')?\s*\)/.exec(d))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => (m[2] ? { name: m[2], package: m[1], version: null } : { name: m[1], package: null, version: null }));
      const deps = refArgs.map((r) => refTarget(r.package ?? undefined, r.name));
      exposures[uid] = {
        name: String(e.name),
        resource_type: 'exposure',
        package_name: project,
        path: yf,
        original_file_path: yf,
        unique_id: uid,
        fqn: [project, String(e.name)],
        type: String(e.type ?? 'dashboard'),
        owner: { email: 'data@example.com' },
        depends_on: { macros: [], nodes: deps },
        refs: refArgs,
        sources: [],
      };
    }
  }
  return {
    metadata: { dbt_schema_version: 'https://schemas.getdbt.com/dbt/manifest/v12.json', dbt_version: '1.10.0', generated_at: '2026-01-01T00:00:00Z', project_name: project, adapter_type: 'snowflake', env: {} },
    nodes,
    sources,
    macros: {},
    docs: {},
    exposures,
    metrics: {},
    groups: {},
    selectors: {},
    disabled: {},
    parent_map: {},
    child_map: {},
    group_map: {},
    saved_queries: {},
    semantic_models: {},
    unit_tests: {},
  };
}

/** Writes `<projectDir>/target/manifest.json`. */
export function writeFixtureManifest(projectDir: string): void {
  fs.mkdirSync(path.join(projectDir, 'target'), { recursive: true });
  fs.writeFileSync(path.join(projectDir, 'target', 'manifest.json'), `${JSON.stringify(buildFixtureManifest(projectDir), null, 1)}\n`);
}

if (require.main === module) {
  for (const dir of process.argv.slice(2)) writeFixtureManifest(dir);
}
