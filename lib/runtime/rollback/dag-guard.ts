import { DeleteObjectCommand, GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import type { AssetGraph, GraphNode } from '../../checks/graph/graph';
import type { AirflowCli } from '../mwaa/cli-client';
import { type DagPause, type DagTouch } from '../rollback-plan/logic';
import { swapSql } from '../snowflake/statements';
import { AirflowPauseSwitch, DagHolds, holderId, holdsPrefix, S3HoldStore, type DagHoldsProps, type HolderId } from './dag-holds';

/**
 * The DAG guard of a data-safe rollback (DESIGN.md "Rollback without harming data", docs/rollback.md):
 * before the data restore it pauses every DAG that reads or writes the restored tables — in this
 * repo or any other, found through the cross-repo asset graph — and after the restore it puts each
 * one back to the paused state it had before — once no other run holds it. It never clears or triggers runs.
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
  /** S3 client of the environment's account (deploy role), for the hold records in the DAG bucket. */
  readonly s3: S3Client;
  /** The environment's DAG bucket. */
  readonly bucket: string;
  /** Key prefix of the DAG folder in the bucket (DagS3Path). @default dags */
  readonly dagS3Path?: string;
  /** Waiting for another holder's release and counting one as abandoned. @default DagHolds' defaults */
  readonly holds?: Pick<DagHoldsProps, 'clock' | 'waitMs' | 'pollMs' | 'staleAfterMs'>;
}

/** What the guard did for one DAG. */
export interface GuardedDag {
  readonly dagId: string;
  /** Paused state before the first holder (this rollback or another run) paused it. */
  readonly prior: boolean;
  /** True when this call paused (or put back) it; false when it already was in that state or others still hold it. */
  readonly changed: boolean;
  /** Other runs holding it: at the pause, those that held it already; at the resume, those that keep it paused. */
  readonly others: readonly HolderId[];
}

const HolderIndexSchema = z.object({ holder: z.string(), dags: z.array(z.string()) });

/**
 * Pauses DAGs around a rollback's data restore through per-DAG holds ({@link DagHolds}): each DAG's
 * hold record in the DAG bucket (`<dagS3Path>/.dataops/dag-holds/<dag id>.json`; Airflow does not
 * parse it, and no repo's deployer sync reaches outside its own folder) lists every run holding it
 * and the paused state from before the first of them. The rollback of `repo` in execution E holds
 * as `rollback:<repo>:<E>`; a retry of the same execution finds its own holds. The DAG is put back
 * only when the last holder resumes, so a rollback that finishes first never unpauses a DAG another
 * rollback (or deploy) still restores under. The DAGs a holder took are also listed in its index
 * (`…/dag-holds/by-holder/<holder>.json`), so a retry releases them even when its plan changed.
 */
export class DagGuard {
  private readonly holds: DagHolds;
  private readonly store: S3HoldStore;

  constructor(private readonly props: DagGuardProps) {
    this.store = new S3HoldStore({ s3: props.s3, bucket: props.bucket, ...(props.dagS3Path ? { dagS3Path: props.dagS3Path } : {}) });
    this.holds = new DagHolds({ ...props.holds, store: this.store, dags: new AirflowPauseSwitch(props.airflow) });
  }

  /** The holder id of a rollback of `repo` in `executionId`. */
  holderOf(repo: string, executionId: string): HolderId {
    return holderId('rollback', repo, executionId);
  }

  /** Key of `dagId`'s hold record in the DAG bucket. */
  holdKey(dagId: string): string {
    return this.store.keyOf(dagId);
  }

  /** Key of the index of the DAGs `holder` may hold. */
  indexKey(holder: HolderId): string {
    return `${holdsPrefix(this.props.dagS3Path)}by-holder/${encodeURIComponent(holder)}.json`;
  }

  private async readIndex(holder: HolderId): Promise<string[]> {
    const key = this.indexKey(holder);
    try {
      const out = await this.props.s3.send(new GetObjectCommand({ Bucket: this.props.bucket, Key: key }));
      return HolderIndexSchema.parse(JSON.parse(await out.Body!.transformToString())).dags;
    } catch (e) {
      if (e instanceof NoSuchKey || (e as { name?: string }).name === 'NoSuchKey') return [];
      throw new DagGuardError(`cannot read the rollback's hold index s3://${this.props.bucket}/${key}: ${(e as Error).message}; the DAGs it holds keep their state until it can be read`, { cause: e });
    }
  }

  /**
   * Takes this rollback's hold on each DAG (the first holder of a DAG records its prior paused state)
   * and pauses those not paused.
   * @returns the DAGs it holds (prior states) and the wanted DAGs the environment does not list
   */
  async pause(repo: string, executionId: string, dags: readonly DagPause[], log: (line: string) => void): Promise<{ guarded: GuardedDag[]; missing: string[] }> {
    const holder = this.holderOf(repo, executionId);
    const wanted = [...new Set(dags.map((d) => d.dagId))].sort();
    const indexed = await this.readIndex(holder);
    const all = [...new Set([...indexed, ...wanted])].sort();
    if (all.length > indexed.length) {
      // Written before the first hold, so a retry finds every DAG this rollback may hold.
      await this.props.s3.send(new PutObjectCommand({ Bucket: this.props.bucket, Key: this.indexKey(holder), Body: JSON.stringify({ holder, dags: all }, null, 2), ContentType: 'application/json' }));
    }
    const guarded: GuardedDag[] = [];
    const missing: string[] = [];
    for (const dagId of wanted) {
      const a = await this.holds.acquire(dagId, holder);
      if (!a.listed) {
        missing.push(dagId);
        continue;
      }
      if (a.changed) log(`pausing DAG ${dagId} for the data restore (it was unpaused)`);
      guarded.push({ dagId, prior: a.prior, changed: a.changed, others: a.others });
    }
    return { guarded, missing };
  }

  /**
   * Lets go of this rollback's holds: a DAG no other run holds goes back to its prior state (a DAG a
   * person had paused stays paused); one that others still hold stays paused for them.
   */
  async resume(repo: string, executionId: string, log: (line: string) => void): Promise<GuardedDag[]> {
    const holder = this.holderOf(repo, executionId);
    const out: GuardedDag[] = [];
    for (const dagId of await this.readIndex(holder)) {
      const r = await this.holds.release(dagId, holder);
      if (!r.held || r.prior === null) continue;
      if (r.changed) log(`${r.prior ? 'pausing' : 'unpausing'} DAG ${dagId} (its state before the first run paused it)`);
      else if (r.remaining.length > 0) log(`DAG ${dagId} stays paused: ${r.remaining.join(', ')} still hold it`);
      out.push({ dagId, prior: r.prior, changed: r.changed, others: r.remaining });
    }
    await this.props.s3.send(new DeleteObjectCommand({ Bucket: this.props.bucket, Key: this.indexKey(holder) }));
    return out;
  }
}

/** The guard could not read or write its hold index. */
export class DagGuardError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DagGuardError';
  }
}
