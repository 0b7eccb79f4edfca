import { DeleteObjectCommand, GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import type { AssetGraph, GraphNode } from '../../checks/graph/graph';
import { listDags, setPaused } from '../mwaa/airflow-commands';
import type { AirflowCli } from '../mwaa/cli-client';
import { dagFolderPrefix } from '../mwaa/dag-package';
import { decidePause, decideResume, type DagPause, type DagTouch } from '../rollback-plan/logic';
import { swapSql } from '../snowflake/statements';

/**
 * The DAG guard of a data-safe rollback (DESIGN.md "Rollback without harming data", docs/rollback.md):
 * before the data restore it pauses every DAG that reads or writes the restored tables — in this
 * repo or any other, found through the cross-repo asset graph — and after the restore it puts each
 * one back to the paused state it had before. It never clears or triggers runs.
 */

/** A table a failed release swapped in, which the rollback's data restore may swap back. */
export interface RestoreTarget {
  /** Upper-case `DATABASE.SCHEMA.TABLE`. */
  readonly name: string;
  /** dbt unique_id of the model. */
  readonly uniqueId: string;
  /** Table that holds the data from before the failed release. */
  readonly keptAs: string;
  /** LAST_ALTERED before the failed release (its load watermark). */
  readonly watermarkAt: string;
  /** When the failed release swapped it in; null when that was not recorded. */
  readonly swappedAt: string | null;
  /** Snowflake time just before the failed release's first change; null when not recorded. */
  readonly preDeployAt: string | null;
  /** The failed release's version. */
  readonly failedVersion: string;
  /** The statement that restores the data by hand (swap back). */
  readonly swapStatement: string;
}

const TableRefSchema = z.object({ database: z.string(), schema: z.string(), name: z.string() });
/** The part of the dbt deployer's recorded previous state (DbtPrevious) a restore works on. */
const DbtPreviousTablesSchema = z.object({
  releaseVersion: z.string(),
  preDeployAt: z.string().nullable(),
  tables: z.array(
    z.object({
      uniqueId: z.string(),
      table: TableRefSchema,
      keptAs: TableRefSchema,
      before: z.object({ lastAltered: z.string() }),
      lastAlteredAfterSwap: z.string().nullable(),
    }),
  ),
});

const fqn = (t: { database: string; schema: string; name: string }): string => `${t.database}.${t.schema}.${t.name}`.toUpperCase();

/**
 * The tables a dbt apply recorded as swapped (its `previous`), i.e. what a rollback's data restore
 * may swap back. Empty when nothing was swapped or the record is not a dbt one.
 */
export function restoreTargetsOf(previous: unknown): RestoreTarget[] {
  const p = DbtPreviousTablesSchema.safeParse(previous);
  if (!p.success) return [];
  return p.data.tables.map((t) => ({
    name: fqn(t.table),
    uniqueId: t.uniqueId,
    keptAs: fqn(t.keptAs),
    watermarkAt: t.before.lastAltered,
    swappedAt: t.lastAlteredAfterSwap,
    preDeployAt: p.data.preDeployAt,
    failedVersion: p.data.releaseVersion,
    swapStatement: swapSql(t.table, t.keptAs),
  }));
}

/** `snowflake://db/schema/table` or `table://db/schema/table` (the Spark descriptor's table URI) as `DB.SCHEMA.TABLE`. */
function tableOfUri(uri: string): string | null {
  const m = /^(?:snowflake|table):\/\/([^/]+)\/([^/]+)\/([^/]+)\/?$/i.exec(uri);
  return m ? `${m[1]}.${m[2]}.${m[3]}`.toUpperCase() : null;
}

/** Graph nodes that stand for a table: its dbt node, a `table:` node, or a Dataset/path with its table URI. */
function nodesOfTable(graph: AssetGraph, target: { name: string; uniqueId: string | null }): GraphNode[] {
  const keys = new Set<string>();
  const byId = target.uniqueId ? graph.resolveDbt(target.uniqueId) : undefined;
  if (byId) keys.add(byId);
  const byRelation = graph.resolveRelation(target.name);
  if (byRelation) keys.add(byRelation);
  for (const n of graph.nodes.values()) {
    if (n.kind === 'table' && n.asset.slice('table:'.length).toUpperCase() === target.name) keys.add(n.key);
    if (n.kind === 'dataset' && tableOfUri(n.asset.slice('dataset:'.length)) === target.name) keys.add(n.key);
  }
  return [...keys].map((k) => graph.nodes.get(k)).filter((n): n is GraphNode => n !== undefined);
}

/**
 * Every DAG, in any repo of the graph, linked by a graph edge to a node that stands for one of
 * `targets`: a DAG upstream of it writes it (Dataset/Asset outlet, or any DAG → model edge), a DAG
 * downstream reads it (scheduled on its Dataset, or any model → DAG edge). The graph's own edges
 * decide; nothing is parsed here. Tables are matched by dbt unique_id, by relation, and by the table
 * URI (`snowflake://db/schema/table`) the Spark descriptor also uses.
 */
export function dagsTouching(graph: AssetGraph, targets: ReadonlyArray<{ readonly name: string; readonly uniqueId: string | null }>): DagTouch[] {
  const edgeKind = new Map(graph.edges.map((e) => [`${e.from}\u0000${e.to}`, e.kind]));
  const out = new Map<string, DagTouch>();
  const add = (dag: GraphNode, object: string, how: 'reads' | 'writes', via: string): void => {
    const dagId = dag.asset.slice('airflow:'.length);
    const key = `${dag.key}\u0000${object}\u0000${how}`;
    if (!out.has(key)) out.set(key, { dagId, repo: dag.repo ?? '', object, how, via });
  };
  for (const t of targets) {
    const name = t.name.toUpperCase();
    for (const n of nodesOfTable(graph, { name, uniqueId: t.uniqueId })) {
      const label = n.kind === 'dataset' ? `dataset ${n.asset.slice('dataset:'.length)}` : n.asset;
      for (const p of graph.parents(n.key)) {
        const dag = graph.nodes.get(p);
        if (dag?.kind === 'dag') add(dag, name, 'writes', `${edgeKind.get(`${p}\u0000${n.key}`) ?? 'edge'} → ${label}`);
      }
      for (const c of graph.children(n.key)) {
        const dag = graph.nodes.get(c);
        if (dag?.kind === 'dag') add(dag, name, 'reads', `${label} → ${edgeKind.get(`${n.key}\u0000${c}`) ?? 'edge'}`);
      }
    }
  }
  return [...out.values()].sort((a, b) => a.repo.localeCompare(b.repo) || a.dagId.localeCompare(b.dagId) || a.object.localeCompare(b.object) || a.how.localeCompare(b.how));
}

/** Props of {@link DagGuard}. */
export interface DagGuardProps {
  /** Airflow CLI of the environment's MWAA (one environment runs every repo's DAGs). */
  readonly airflow: AirflowCli;
  /** S3 client of the environment's account (deploy role), for the marker in the DAG bucket. */
  readonly s3: S3Client;
  /** The environment's DAG bucket. */
  readonly bucket: string;
  /** Key prefix of the DAG folder in the bucket (DagS3Path). @default dags */
  readonly dagS3Path?: string;
}

/** What the guard did for one DAG. */
export interface GuardedDag {
  readonly dagId: string;
  /** Paused state before the rollback touched it. */
  readonly prior: boolean;
  /** True when this call paused (or unpaused) it; false when it already was in that state. */
  readonly changed: boolean;
}

const MarkerSchema = z.object({ executionId: z.string(), repo: z.string(), paused: z.record(z.string(), z.boolean()) });

/**
 * Pauses DAGs around a rollback's data restore, crash-safely: the prior paused state of every DAG is
 * written to `<dagS3Path>/<repo package>/.dataops/paused-by-rollback.json` in the DAG bucket before
 * the first pause (as the MWAA deployer does with paused-by-deploy.json; Airflow does not parse it,
 * and the deployer's sync leaves `.dataops/` alone). A retried rollback finds the marker and takes
 * the states from it, so it never takes its own pause for a person's; `resume` sets each DAG back
 * to its prior state and deletes the marker.
 */
export class DagGuard {
  constructor(private readonly props: DagGuardProps) {}

  /** Where the marker of `repo`'s rollbacks lives. */
  markerKey(repo: string): string {
    return `${dagFolderPrefix(repo, this.props.dagS3Path)}.dataops/paused-by-rollback.json`;
  }

  /** The prior states a rollback of `repo` recorded and has not put back yet, or null. */
  async readMarker(repo: string): Promise<Record<string, boolean> | null> {
    const key = this.markerKey(repo);
    try {
      const out = await this.props.s3.send(new GetObjectCommand({ Bucket: this.props.bucket, Key: key }));
      return MarkerSchema.parse(JSON.parse(await out.Body!.transformToString())).paused;
    } catch (e) {
      if (e instanceof NoSuchKey || (e as { name?: string }).name === 'NoSuchKey') return null;
      throw new DagGuardError(`cannot read the rollback pause marker s3://${this.props.bucket}/${key}: ${(e as Error).message}; the DAGs it lists keep their state until it can be read`, { cause: e });
    }
  }

  /**
   * Records the prior state of each DAG (the marker) and pauses those not paused.
   * @returns the DAGs it guards (prior states) and the wanted DAGs the environment does not list
   */
  async pause(repo: string, executionId: string, dags: readonly DagPause[], log: (line: string) => void): Promise<{ guarded: GuardedDag[]; missing: string[] }> {
    const [listed, marker] = await Promise.all([listDags(this.props.airflow), this.readMarker(repo)]);
    const d = decidePause(listed, marker, dags.map((x) => x.dagId));
    if (Object.keys(d.priors).length > 0) {
      const body = JSON.stringify({ executionId, repo, paused: d.priors }, null, 2);
      await this.props.s3.send(new PutObjectCommand({ Bucket: this.props.bucket, Key: this.markerKey(repo), Body: body, ContentType: 'application/json' }));
    }
    const toPause = new Set(d.pause);
    for (const id of d.pause) {
      log(`pausing DAG ${id} for the data restore (it was unpaused)`);
      await setPaused(this.props.airflow, id, true);
    }
    const guarded = Object.entries(d.priors)
      .map(([dagId, prior]) => ({ dagId, prior, changed: toPause.has(dagId) }))
      .sort((a, b) => a.dagId.localeCompare(b.dagId));
    return { guarded, missing: [...d.missing] };
  }

  /** Puts every DAG the marker lists back to its prior state, then deletes the marker. */
  async resume(repo: string, log: (line: string) => void): Promise<GuardedDag[]> {
    const [listed, marker] = await Promise.all([listDags(this.props.airflow), this.readMarker(repo)]);
    if (marker === null) return [];
    const changes = new Set<string>();
    for (const r of decideResume(listed, marker)) {
      log(`${r.paused ? 'pausing' : 'unpausing'} DAG ${r.dagId} (its state before the rollback)`);
      await setPaused(this.props.airflow, r.dagId, r.paused);
      changes.add(r.dagId);
    }
    await this.props.s3.send(new DeleteObjectCommand({ Bucket: this.props.bucket, Key: this.markerKey(repo) }));
    return Object.entries(marker)
      .map(([dagId, prior]) => ({ dagId, prior, changed: changes.has(dagId) }))
      .sort((a, b) => a.dagId.localeCompare(b.dagId));
  }
}

/** The guard could not read or write its marker. */
export class DagGuardError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DagGuardError';
  }
}
