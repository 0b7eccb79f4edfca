/**
 * Derives lib/checks/inventory/schema/dbt-manifest.schema.json from dbt's published manifest
 * JSON schema (v12, https://schemas.getdbt.com/dbt/manifest/v12.json, shipped to this project as
 * ../shared/data/dbt/manifest-schema/v12.json). It keeps, verbatim, the definitions of the
 * properties that the inventory reads from models, seeds, snapshots, sources and exposures, and
 * relaxes what would reject older manifests (v10, v11): `additionalProperties: false` is dropped
 * and only the kept properties stay required.
 *
 *   npx tsx lib/checks/inventory/schema/extract-manifest-schema.ts [path/to/v12.json]
 */
import * as fs from 'fs';
import * as path from 'path';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

const KEEP_NODE_PROPS = [
  'unique_id', 'name', 'resource_type', 'package_name', 'original_file_path', 'patch_path', 'path',
  'database', 'schema', 'alias', 'identifier', 'relation_name', 'source_name', 'columns', 'depends_on',
  'refs', 'sources', 'contract', 'access', 'version', 'checksum', 'config', 'raw_code', 'compiled_code', 'type',
];
const KEEP_CONFIG_PROPS = ['enabled', 'materialized', 'contract', 'alias', 'schema', 'database'];
const KINDS: Record<string, string> = { Model: 'model', Seed: 'seed', Snapshot: 'snapshot' };

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Drops `additionalProperties: false` everywhere so fields added or removed across versions pass. */
function relax(v: Json): Json {
  if (Array.isArray(v)) return v.map(relax);
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const [k, val] of Object.entries(v)) {
    if (k === 'additionalProperties' && val === false) continue;
    if (k === 'default' || k === 'description') continue;
    out[k] = relax(val);
  }
  return out;
}

function pick(def: JsonObject, keep: readonly string[]): JsonObject {
  const props = def.properties;
  if (!isObject(props)) throw new Error(`schema definition ${String(def.title)} has no properties`);
  const kept: JsonObject = {};
  for (const k of keep) {
    const p = props[k];
    if (p === undefined) continue;
    if (k === 'config' && isObject(p) && isObject(p.properties)) {
      kept[k] = relax({ ...p, properties: pick(p, KEEP_CONFIG_PROPS).properties ?? {} });
    } else {
      kept[k] = relax(p);
    }
  }
  const required = Array.isArray(def.required) ? def.required.filter((r) => typeof r === 'string' && r in kept) : [];
  return { type: "object", ...(typeof def.title === "string" ? { title: def.title } : {}), properties: kept, required };
}

export function extract(v12: JsonObject): JsonObject {
  const props = v12.properties;
  if (!isObject(props)) throw new Error('v12 schema has no properties');
  const alternatives = (key: string): JsonObject[] => {
    const p = props[key];
    const ap = isObject(p) ? p.additionalProperties : undefined;
    if (!isObject(ap)) throw new Error(`v12 schema: properties.${key}.additionalProperties is not an object`);
    const alts = Array.isArray(ap.anyOf) ? ap.anyOf : [ap];
    return alts.filter(isObject);
  };
  const defs: JsonObject = {};
  const branches: Json[] = [];
  for (const alt of alternatives('nodes')) {
    const title = String(alt.title);
    const kind = KINDS[title];
    if (!kind) continue;
    defs[title] = pick(alt, KEEP_NODE_PROPS);
    branches.push({ if: { properties: { resource_type: { const: kind } } }, then: { $ref: `#/$defs/${title}` } });
  }
  const [source] = alternatives('sources');
  const [exposure] = alternatives('exposures');
  defs.SourceDefinition = pick(source, KEEP_NODE_PROPS);
  defs.Exposure = pick(exposure, KEEP_NODE_PROPS);
  const metadata = isObject(props.metadata) ? relax(props.metadata) : { type: 'object' };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://dataops-cicd.local/schemas/dbt-manifest-subset.json',
    $comment:
      'Derived from dbt manifest schema v12 (https://schemas.getdbt.com/dbt/manifest/v12.json) by extract-manifest-schema.ts; ' +
      'keeps the properties the inventory reads, relaxed so v10 and v11 manifests also validate. Do not edit by hand.',
    type: 'object',
    required: ['metadata', 'nodes', 'sources'],
    properties: {
      metadata: metadata,
      nodes: {
        type: 'object',
        additionalProperties: {
          type: 'object',
          required: ['unique_id', 'resource_type', 'package_name', 'name', 'original_file_path'],
          properties: {
            unique_id: { type: 'string' }, resource_type: { type: 'string' }, package_name: { type: 'string' },
            name: { type: 'string' }, original_file_path: { type: 'string' },
          },
          allOf: branches,
        },
      },
      sources: { type: 'object', additionalProperties: { $ref: '#/$defs/SourceDefinition' } },
      exposures: { type: 'object', additionalProperties: { $ref: '#/$defs/Exposure' } },
    },
    $defs: defs,
  };
}

if (require.main === module) {
  const input = process.argv[2] ?? path.resolve(__dirname, '../../../../../shared/data/dbt/manifest-schema/v12.json');
  const out = path.join(__dirname, 'dbt-manifest.schema.json');
  const schema = extract(JSON.parse(fs.readFileSync(input, 'utf8')) as JsonObject);
  fs.writeFileSync(out, `${JSON.stringify(schema, null, 1)}\n`);
  process.stdout.write(`wrote ${out} (${fs.statSync(out).size} bytes) from ${input}\n`);
}
