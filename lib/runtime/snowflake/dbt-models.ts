import { z } from 'zod';
import type { TableRef } from './statements';

/** A dbt model as the deployer rebuilds it. */
export interface ModelRelation {
  readonly uniqueId: string;
  /** The live table in the environment's database. */
  readonly table: TableRef;
  readonly materialized: string;
  /** The model's SQL compiled for the environment; null when the manifest was not compiled. */
  readonly compiledCode: string | null;
}

const NodeSchema = z
  .object({
    unique_id: z.string(),
    resource_type: z.string(),
    name: z.string(),
    schema: z.string(),
    alias: z.string().nullish(),
    compiled_code: z.string().nullish(),
    config: z.object({ materialized: z.string().optional() }).loose().optional(),
  })
  .loose();
const ManifestSchema = z.object({ nodes: z.record(z.string(), z.unknown()) }).loose();

/** dbt manifest problems: the message names the model and what to fix. */
export class DbtManifestError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DbtManifestError';
  }
}

/**
 * The relations of the models a release marks for rebuild, read from its dbt manifest
 * (`manifest.json`, schema v10–v12). The database is the environment's; the schema and alias are
 * the manifest's.
 */
export function modelsToRebuild(manifestJson: string, uniqueIds: readonly string[], database: string): ModelRelation[] {
  let manifest: z.output<typeof ManifestSchema>;
  try {
    manifest = ManifestSchema.parse(JSON.parse(manifestJson));
  } catch (cause) {
    throw new DbtManifestError('the release dbt manifest is not a dbt manifest.json (no nodes); package the release from a compiled dbt project', { cause });
  }
  return uniqueIds.map((id) => {
    const raw = manifest.nodes[id];
    if (raw === undefined) throw new DbtManifestError(`model ${id} is marked for rebuild but is not in the release's dbt manifest; fix dbt.modelsToRebuild of the release`);
    const node = NodeSchema.safeParse(raw);
    if (!node.success || node.data.resource_type !== 'model') throw new DbtManifestError(`${id} in the release's dbt manifest is not a model node`);
    const materialized = node.data.config?.materialized ?? 'view';
    if (materialized !== 'table' && materialized !== 'incremental') {
      throw new DbtManifestError(`model ${id} is materialized as ${materialized}; only table and incremental models hold data to rebuild in a clone, remove it from dbt.modelsToRebuild`);
    }
    return {
      uniqueId: id,
      table: { database, schema: node.data.schema, name: node.data.alias ?? node.data.name },
      materialized,
      compiledCode: node.data.compiled_code ?? null,
    };
  });
}
