import * as fs from 'fs';
import * as path from 'path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import YAML from 'yaml';
import manifestSchema from './schema/dbt-manifest.schema.json';
import { InventoryError, type DbtKind, type DbtNode, type DbtProject, type DbtRef } from './types';

/** The part of a dbt manifest node that the inventory reads (see schema/dbt-manifest.schema.json). */
export interface ManifestNode {
  unique_id: string;
  resource_type: string;
  package_name: string;
  name: string;
  original_file_path: string;
  patch_path?: string | null;
  database?: string | null;
  schema?: string;
  alias?: string;
  identifier?: string;
  relation_name?: string | null;
  source_name?: string;
  columns?: Record<string, { name?: string; data_type?: string | null }>;
  depends_on?: { nodes?: string[] };
  refs?: Array<{ name: string; package?: string | null; version?: string | number | null }>;
  sources?: string[][];
  contract?: { enforced?: boolean };
  config?: { enabled?: boolean; contract?: { enforced?: boolean } };
  access?: string;
  version?: string | number | null;
  checksum?: { checksum: string };
  raw_code?: string;
  compiled_code?: string;
}

/** The part of a dbt manifest.json the inventory reads, as dbt's v12 schema types it. */
export interface Manifest {
  metadata: { dbt_schema_version?: string; dbt_version?: string; project_name?: string | null };
  nodes: Record<string, ManifestNode>;
  sources: Record<string, ManifestNode>;
  exposures?: Record<string, ManifestNode>;
}

const ajv = new Ajv2020({ strict: false, allErrors: false });
addFormats(ajv);
const validateManifest = ajv.compile<Manifest>(manifestSchema);
/** Compiled only when a manifest fails, to list more than the first problem. */
let explainManifest: ReturnType<typeof ajv.compile> | undefined;

const SUPPORTED = /\/manifest\/v(\d+)\.json$/;
const KINDS = new Set<string>(['model', 'source', 'seed', 'snapshot', 'exposure']);

/** Before dbt 1.5 (manifest v9) refs were lists `[package?, name]`; turn them into RefArgs objects. */
function normaliseLegacyRefs(raw: unknown): void {
  if (typeof raw !== 'object' || raw === null) return;
  const nodes = (raw as { nodes?: unknown }).nodes;
  if (typeof nodes !== 'object' || nodes === null) return;
  for (const node of Object.values(nodes as Record<string, unknown>)) {
    if (typeof node !== 'object' || node === null) continue;
    const n = node as { refs?: unknown };
    if (!Array.isArray(n.refs)) continue;
    n.refs = n.refs.map((r: unknown) =>
      Array.isArray(r) ? { name: String(r[r.length - 1]), package: r.length > 1 ? String(r[0]) : null, version: null } : r,
    );
  }
}

/**
 * Parses and validates a manifest.json text against the dbt v12 schema subset.
 * Throws InventoryError naming the file and the first problems when it is not a dbt manifest.
 */
export function parseManifest(text: string, file: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new InventoryError(`${file}: not valid JSON (${(cause as Error).message}); regenerate it with 'dbt parse'`, { cause });
  }
  normaliseLegacyRefs(raw);
  if (!validateManifest(raw)) {
    const explainAjv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(explainAjv);
    explainManifest ??= explainAjv.compile(manifestSchema);
    explainManifest(raw);
    const errs = (explainManifest.errors ?? validateManifest.errors ?? [])
      .slice(0, 5)
      .map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`)
      .join('; ');
    throw new InventoryError(`${file}: not a dbt manifest that matches dbt's manifest schema (${errs}); regenerate it with 'dbt parse' (dbt 1.6 or later)`);
  }
  const version = raw.metadata.dbt_schema_version ?? '';
  const m = SUPPORTED.exec(version);
  if (!m || Number(m[1]) < 9) {
    throw new InventoryError(`${file}: dbt manifest schema '${version || 'unknown'}' is not supported, expected v9 to v12; regenerate it with dbt 1.5 or later`);
  }
  return raw;
}

/** Strips quoting and lowercases `"db"."schema"."name"`. */
export function normaliseRelation(rel: string): string {
  return rel.replace(/["`\[\]]/g, '').toLowerCase();
}

const NOT_IDENT = /[^a-z0-9_]+/;
const STAR = /select\s+(?:distinct\s+)?\*|\.\*|\bstar\s*\(/i;

/** Lowercased identifiers (`[a-z_][a-z0-9_]*`) of the code, each once. */
function identifiers(code: string): string[] {
  const set = new Set<string>();
  for (const t of code.toLowerCase().split(NOT_IDENT)) {
    const c = t.charCodeAt(0);
    if (t && !(c >= 48 && c <= 57)) set.add(t);
  }
  return [...set];
}

function relationOf(n: ManifestNode): string | null {
  if (n.relation_name) return normaliseRelation(n.relation_name);
  const name = n.resource_type === 'source' ? n.identifier ?? n.name : n.alias ?? n.name;
  const parts = [n.database, n.schema, name].filter((p): p is string => typeof p === 'string' && p.length > 0);
  return parts.length ? parts.join('.').toLowerCase() : null;
}

function stripPatch(p: string | null | undefined): string | null {
  if (!p) return null;
  const i = p.indexOf('://');
  return i >= 0 ? p.slice(i + 3) : p;
}

const REF_CALL = /ref\s*\(\s*(?:['"]([^'"]+)['"]\s*,\s*)?['"]([^'"]+)['"]/g;

/** Line of each ref in the SQL, keyed `package/name` (package empty for one-argument refs). */
function refLines(code: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  if (!code || !code.includes('ref')) return out;
  let line = 1;
  let last = 0;
  for (const m of code.matchAll(REF_CALL)) {
    for (let i = last; i < (m.index ?? 0); i++) if (code.charCodeAt(i) === 10) line++;
    last = m.index ?? 0;
    const key = `${m[1] ?? ''}/${m[2]}`;
    if (!out.has(key)) out.set(key, line);
  }
  return out;
}

function toNode(n: ManifestNode, kind: DbtKind, projectDir: string): DbtNode {
  const code = n.compiled_code ?? n.raw_code ?? '';
  const lines = refLines(n.raw_code);
  const refs: DbtRef[] = (n.refs ?? []).map((r) => ({
    name: r.name,
    package: r.package ?? null,
    version: r.version ?? null,
    line: lines.get(`${r.package ?? ''}/${r.name}`) ?? null,
  }));
  const patch = stripPatch(n.patch_path);
  return {
    id: n.unique_id,
    kind,
    name: n.name,
    package: n.package_name,
    file: path.posix.join(projectDir, n.original_file_path),
    patchFile: patch ? path.posix.join(projectDir, patch) : null,
    relation: kind === 'exposure' ? null : relationOf(n),
    columns: Object.entries(n.columns ?? {}).map(([key, c]) => ({ name: (c.name ?? key).toLowerCase(), dataType: c.data_type ?? null })),
    dependsOn: [...new Set(n.depends_on?.nodes ?? [])],
    refs,
    sourceRefs: (n.sources ?? []).filter((s) => s.length >= 2).map((s) => [s[0], s[1]] as [string, string]),
    contractEnforced: Boolean(n.contract?.enforced ?? n.config?.contract?.enforced ?? false),
    access: n.access ?? null,
    version: n.version ?? null,
    checksum: n.checksum?.checksum ?? null,
    identifiers: kind === 'model' || kind === 'snapshot' ? identifiers(code) : [],
    selectStar: kind === 'model' || kind === 'snapshot' ? STAR.test(code) : false,
  };
}

/**
 * Builds a DbtProject from a parsed manifest. `projectDir` is the dbt project's folder relative to
 * the repo root (file paths in the manifest are relative to it). Disabled nodes are left out.
 */
export function projectFromManifest(manifest: Manifest, manifestFile: string, projectDir: string, projectDependencies: string[] = []): DbtProject {
  const nodes: DbtNode[] = [];
  const packages = new Set<string>();
  const root = manifest.metadata.project_name ?? null;
  const add = (n: ManifestNode): void => {
    if (!KINDS.has(n.resource_type)) return;
    if (n.config?.enabled === false) return;
    nodes.push(toNode(n, n.resource_type as DbtKind, projectDir));
  };
  for (const n of Object.values(manifest.nodes)) add(n);
  for (const n of Object.values(manifest.sources)) add(n);
  for (const n of Object.values(manifest.exposures ?? {})) add(n);
  const all = [...Object.values(manifest.nodes), ...Object.values(manifest.sources)];
  for (const n of all) if (n.package_name !== root) packages.add(n.package_name);
  // Without project_name (rare, hand-made manifests) the root is the package owning most nodes.
  let name = root;
  if (!name) {
    const counts = new Map<string, number>();
    for (const n of nodes) counts.set(n.package, (counts.get(n.package) ?? 0) + 1);
    name = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'unknown';
    packages.delete(name);
  }
  return {
    name,
    manifestFile,
    schemaVersion: manifest.metadata.dbt_schema_version ?? 'unknown',
    dbtVersion: manifest.metadata.dbt_version ?? null,
    nodes,
    packages: [...packages].sort(),
    projectDependencies,
  };
}

/** Reads `projects:` from a dbt project's dependencies.yml (dbt Mesh cross-project refs). */
export function readProjectDependencies(projectAbsDir: string): string[] {
  const file = path.join(projectAbsDir, 'dependencies.yml');
  if (!fs.existsSync(file)) return [];
  try {
    const doc = YAML.parse(fs.readFileSync(file, 'utf8')) as unknown;
    const projects = typeof doc === 'object' && doc !== null ? (doc as { projects?: unknown }).projects : undefined;
    if (!Array.isArray(projects)) return [];
    return projects
      .map((p: unknown) => (typeof p === 'object' && p !== null ? (p as { name?: unknown }).name : undefined))
      .filter((n): n is string => typeof n === 'string');
  } catch {
    return [];
  }
}

/** Reads, validates and reduces a manifest.json file. */
export function loadManifestFile(absFile: string, repoRoot: string, projectAbsDir: string): DbtProject {
  const rel = path.relative(repoRoot, absFile).split(path.sep).join('/');
  let text: string;
  try {
    text = fs.readFileSync(absFile, 'utf8');
  } catch (cause) {
    throw new InventoryError(`${rel}: cannot read the dbt manifest (${(cause as Error).message})`, { cause });
  }
  const manifest = parseManifest(text, rel);
  const projectDir = path.relative(repoRoot, projectAbsDir).split(path.sep).join('/');
  return projectFromManifest(manifest, rel, projectDir, readProjectDependencies(projectAbsDir));
}
