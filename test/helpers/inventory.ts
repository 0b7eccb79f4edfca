/** Builders of inventory records (lib/checks/inventory/types.ts) and registries for graph and rollback tests. */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { S3Registry } from '../../lib/checks/graph/registry';
import { INVENTORY_SCHEMA, type AirflowDag, type DbtNode, type RepoInventory } from '../../lib/checks/inventory/types';
import { motoClientConfig, uniqueName } from './moto';

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

/** A graph registry in a new moto S3 bucket (`s3://<bucket>/graph`) holding these fragments. */
export async function motoRegistry(...fragments: RepoInventory[]): Promise<S3Registry> {
  const s3 = new S3Client(motoClientConfig());
  const bucket = uniqueName('graph');
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const registry = new S3Registry(`s3://${bucket}/graph`, s3);
  for (const fragment of fragments) await registry.publish(fragment);
  return registry;
}
