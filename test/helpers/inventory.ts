/** Builders of inventory records (lib/checks/inventory/types.ts) for graph and rollback tests. */
import { INVENTORY_SCHEMA, type AirflowDag, type DbtNode, type RepoInventory } from '../../lib/checks/inventory/types';

/** A registry fragment as a repo's Package step publishes it; empty apart from `parts`. */
export const inventoryFragment = (repo: string, parts: Partial<RepoInventory>): RepoInventory => ({
  schema: INVENTORY_SCHEMA,
  repo,
  commit: null,
  generatedAt: '2026-11-28T00:00:00.000Z',
  dbt: [],
  airflow: [],
  spark: [],
  terraform: [],
  problems: [],
  ...parts,
});

/** A dbt node whose kind, package and name come from its unique id (`model.core.stg_claims`); the rest empty unless given. */
export const dbtNode = (id: string, fields: Partial<DbtNode> = {}): DbtNode => {
  const [kind, pkg, ...rest] = id.split('.');
  const name = rest.at(-1) as string;
  return {
    id,
    kind: kind as DbtNode['kind'],
    name,
    package: pkg,
    file: `models/${name}.sql`,
    patchFile: null,
    relation: `analytics.${pkg}.${name}`,
    columns: [],
    dependsOn: [],
    refs: [],
    sourceRefs: [],
    contractEnforced: false,
    access: null,
    version: null,
    checksum: null,
    identifiers: [],
    selectStar: false,
    ...fields,
  };
};

/** A DAG scheduled on a Dataset (reads it) or with a Dataset outlet (writes it); `@daily` otherwise. */
export const datasetDag = (dagId: string, io: { readsUri?: string; writesUri?: string }): AirflowDag => ({
  id: { value: dagId, expr: null },
  declaredBy: 'with',
  file: `dags/${dagId}.py`,
  line: 1,
  tasks: [],
  hasUnresolvedTasks: false,
  refs: [],
  outlets: io.writesUri ? [{ uri: io.writesUri, expr: null, taskId: 'load', line: 3 }] : [],
  schedule: io.readsUri ? { kind: 'datasets', text: null, datasets: { op: 'uri', uri: io.readsUri, expr: null }, arg: 'schedule' } : { kind: 'cron', text: '@daily', datasets: null, arg: 'schedule' },
  startDate: { iso: null, expr: null, setIn: 'none' },
  catchup: { value: false, expr: null, setIn: 'dag', line: null },
});
