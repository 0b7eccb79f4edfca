import * as path from 'path';
import type { AirflowDbtRun, DbtNode, RepoInventory, SparkIo } from '../inventory/types';

/** Kinds of node in the asset graph. */
export type GraphNodeKind = 'dbt' | 'dag' | 'dataset' | 'spark' | 'terraform' | 'table';

/** One asset. `key` is `<repo>/<asset>` (datasets and tables, shared by all repos, have no repo). */
export interface GraphNode {
  readonly key: string;
  readonly repo: string | null;
  /** `dbt:<unique_id>`, `airflow:<dag_id>`, `spark:<job>`, `terraform:<address>`, `dataset:<uri>`, `table:<name>`. */
  readonly asset: string;
  readonly kind: GraphNodeKind;
  readonly file: string | null;
  readonly line: number | null;
}

/** Why one asset depends on another. */
export type EdgeKind =
  | 'ref'
  | 'source'
  | 'exposure'
  | 'sensor'
  | 'marker'
  | 'trigger'
  | 'dataset'
  | 'spark-input'
  | 'spark-output'
  | 'terraform'
  /** DAG → dbt model/seed/snapshot: a task runs `dbt build|run|seed|snapshot` on it (the DAG writes its table). */
  | 'dbt-run'
  /** dbt model → DAG: a task runs `dbt test` on it (the DAG reads its table). */
  | 'dbt-test';

/** dbt node kinds a `dbt run/build` selection writes. */
const DBT_BUILT = new Set(['model', 'seed', 'snapshot']);
/** `n+name+m` with a plain name or dotted fqn, as the Airflow inventory records resolved selectors. */
const SELECTOR = /^(?:(\d*)\+)?([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)(?:\+(\d*))?$/;

/** A dbt selector of a DAG task and the graph nodes it selects (empty when it names nothing known). */
export interface DbtSelection {
  readonly repo: string;
  readonly dagKey: string;
  readonly dagFile: string;
  readonly taskId: string | null;
  readonly run: AirflowDbtRun;
  readonly selector: string;
  readonly nodes: readonly string[];
}

/** upstream → downstream */
export interface GraphEdge {
  readonly from: string;
  readonly to: string;
  readonly kind: EdgeKind;
}

export function nodeKey(repo: string | null, asset: string): string {
  return repo === null ? asset : `${repo}/${asset}`;
}

/** Normalises a storage path / dataset URI so `s3://b/p/` and `s3://b/p` meet. */
export function normaliseUri(uri: string): string {
  return uri.replace(/\/+$/, '');
}

/**
 * The asset graph across repos: dbt nodes, DAGs, datasets, Spark jobs, Terraform items and tables,
 * with edges from upstream to downstream. Built once from the repos' inventories.
 */
export class AssetGraph {
  readonly nodes = new Map<string, GraphNode>();
  readonly edges: GraphEdge[] = [];
  private readonly out = new Map<string, Set<string>>();
  private readonly inn = new Map<string, Set<string>>();
  /** dbt unique_id → key of the node that owns it (the repo whose root project defines it). */
  readonly dbtOwner = new Map<string, string>();
  /** dbt root project name → repo. */
  readonly dbtProjectRepo = new Map<string, string>();
  /** Lowercased relation (`db.schema.name`, `schema.name` and `name`) → dbt node keys. */
  private readonly relationIndex = new Map<string, string[]>();
  /** DAG id → keys of the DAG nodes that declare it (more than one is a duplicate). */
  readonly dagsById = new Map<string, string[]>();
  readonly inventories: ReadonlyMap<string, RepoInventory>;
  /** dbt node by graph key. */
  readonly dbtNodes = new Map<string, DbtNode>();
  /** Every resolved dbt selector of every DAG task, with what it selects (filled by `link`). */
  readonly dbtSelections: DbtSelection[] = [];
  /** dbt node keys by fqn part: node name, root project name, first folder under the model path. */
  private dbtNameIndex: Map<string, string[]> | null = null;
  /** dbt node key → its fqn (`project`, folders under the model path, name), for dotted selectors. */
  private readonly dbtFqn = new Map<string, string[]>();

  constructor(inventories: readonly RepoInventory[]) {
    this.inventories = new Map(inventories.map((i) => [i.repo, i]));
    for (const inv of inventories) for (const p of inv.dbt) if (!this.dbtProjectRepo.has(p.name)) this.dbtProjectRepo.set(p.name, inv.repo);
    // Root-project nodes own their unique_id; installed-package copies only when nobody else does.
    for (const pass of ['root', 'package'] as const) {
      for (const inv of inventories) {
        for (const p of inv.dbt) {
          for (const n of p.nodes) {
            const isRoot = n.package === p.name;
            if ((pass === 'root') !== isRoot) continue;
            if (pass === 'package' && this.dbtProjectRepo.get(n.package) !== undefined) continue;
            const key = nodeKey(inv.repo, `dbt:${n.id}`);
            if (!this.dbtOwner.has(n.id)) this.dbtOwner.set(n.id, key);
            this.addNode({ key, repo: inv.repo, asset: `dbt:${n.id}`, kind: 'dbt', file: n.patchFile ?? n.file, line: null });
            this.dbtNodes.set(key, n);
            if (DBT_BUILT.has(n.kind) && !this.dbtFqn.has(key)) this.dbtFqn.set(key, dbtFqn(p.manifestFile, n));
            if (n.relation) {
              const parts = n.relation.split('.');
              for (let i = 0; i < parts.length; i++) this.indexRelation(parts.slice(i).join('.'), key);
            }
          }
        }
      }
    }
    for (const inv of inventories) this.addRepoEdges(inv);
  }

  private indexRelation(rel: string, key: string): void {
    const list = this.relationIndex.get(rel);
    if (list) {
      if (!list.includes(key)) list.push(key);
    } else this.relationIndex.set(rel, [key]);
  }

  addNode(n: GraphNode): GraphNode {
    const existing = this.nodes.get(n.key);
    if (existing) return existing;
    this.nodes.set(n.key, n);
    return n;
  }

  addEdge(from: string, to: string, kind: EdgeKind): void {
    if (from === to) return;
    let o = this.out.get(from);
    if (!o) this.out.set(from, (o = new Set()));
    if (o.has(to)) return;
    o.add(to);
    let i = this.inn.get(to);
    if (!i) this.inn.set(to, (i = new Set()));
    i.add(from);
    this.edges.push({ from, to, kind });
  }

  /** Key of the dbt node a unique_id resolves to, or undefined when no known repo defines it. */
  resolveDbt(uid: string): string | undefined {
    return this.dbtOwner.get(uid);
  }

  /** dbt nodes whose relation is `name` (`db.schema.table`, `schema.table` or `table`), unambiguous only. */
  resolveRelation(name: string): string | undefined {
    const list = this.relationIndex.get(name.toLowerCase());
    return list && list.length === 1 ? list[0] : undefined;
  }

  /** A Spark `dbt:` reference (`project.model`, `model` or a unique_id) resolved to a dbt node key. */
  resolveDbtName(ref: string): string | undefined {
    if (this.dbtOwner.has(ref)) return this.dbtOwner.get(ref);
    const parts = ref.split('.');
    if (parts.length === 2) return this.dbtOwner.get(`model.${parts[0]}.${parts[1]}`) ?? this.dbtOwner.get(`seed.${parts[0]}.${parts[1]}`) ?? this.dbtOwner.get(`snapshot.${parts[0]}.${parts[1]}`);
    if (parts.length === 1) {
      const hits = [...this.dbtOwner.keys()].filter((uid) => /^(model|seed|snapshot)\./.test(uid) && uid.endsWith(`.${ref}`));
      return hits.length === 1 ? this.dbtOwner.get(hits[0]) : undefined;
    }
    return undefined;
  }

  /** The node a Spark input/output names. Tables that no dbt node defines become `table:` nodes. */
  sparkIoNode(io: SparkIo): string {
    if (io.dbt) {
      const k = this.resolveDbtName(io.dbt);
      if (k) return k;
      return this.addNode({ key: `table:${io.dbt.toLowerCase()}`, repo: null, asset: `table:${io.dbt.toLowerCase()}`, kind: 'table', file: null, line: null }).key;
    }
    if (io.table) {
      const k = this.resolveRelation(io.table);
      if (k) return k;
      return this.addNode({ key: `table:${io.table}`, repo: null, asset: `table:${io.table}`, kind: 'table', file: null, line: null }).key;
    }
    const uri = normaliseUri(io.path ?? '');
    return this.addNode({ key: `dataset:${uri}`, repo: null, asset: `dataset:${uri}`, kind: 'dataset', file: null, line: null }).key;
  }

  private addRepoEdges(inv: RepoInventory): void {
    const repo = inv.repo;
    for (const p of inv.dbt) {
      for (const n of p.nodes) {
        const key = nodeKey(repo, `dbt:${n.id}`);
        if (!this.nodes.has(key)) continue;
        for (const dep of n.dependsOn) {
          const parent = this.resolveDbt(dep);
          if (parent) this.addEdge(parent, key, n.kind === 'exposure' ? 'exposure' : dep.startsWith('source.') ? 'source' : 'ref');
        }
      }
    }
    for (const d of inv.airflow) {
      if (d.id.value === null) continue;
      const key = nodeKey(repo, `airflow:${d.id.value}`);
      this.addNode({ key, repo, asset: `airflow:${d.id.value}`, kind: 'dag', file: d.file, line: d.line });
      const list = this.dagsById.get(d.id.value);
      if (list) list.push(key);
      else this.dagsById.set(d.id.value, [key]);
    }
    for (const j of inv.spark) {
      const key = nodeKey(repo, `spark:${j.name}`);
      this.addNode({ key, repo, asset: `spark:${j.name}`, kind: 'spark', file: j.file, line: 1 });
    }
    for (const t of inv.terraform) {
      this.addNode({ key: nodeKey(repo, `terraform:${t.address}`), repo, asset: `terraform:${t.address}`, kind: 'terraform', file: t.file, line: t.line });
    }
  }

  /** Adds the edges that need every repo's nodes first: DAG references, datasets, Spark and Terraform links. */
  link(): void {
    for (const inv of this.inventories.values()) {
      for (const d of inv.airflow) {
        if (d.id.value === null) continue;
        const key = nodeKey(inv.repo, `airflow:${d.id.value}`);
        for (const r of d.refs) {
          if (r.dagId.value === null) continue;
          for (const target of this.dagsById.get(r.dagId.value) ?? []) {
            if (r.kind === 'sensor') this.addEdge(target, key, 'sensor');
            else this.addEdge(key, target, r.kind);
          }
        }
        for (const o of d.outlets) {
          if (o.uri === null) continue;
          const ds = this.addNode({ key: `dataset:${normaliseUri(o.uri)}`, repo: null, asset: `dataset:${normaliseUri(o.uri)}`, kind: 'dataset', file: null, line: null });
          this.addEdge(key, ds.key, 'dataset');
        }
        for (const uri of datasetUris(d.schedule.datasets)) {
          const ds = this.addNode({ key: `dataset:${normaliseUri(uri)}`, repo: null, asset: `dataset:${normaliseUri(uri)}`, kind: 'dataset', file: null, line: null });
          this.addEdge(ds.key, key, 'dataset');
        }
      }
      for (const j of inv.spark) {
        const key = nodeKey(inv.repo, `spark:${j.name}`);
        for (const io of j.inputs) this.addEdge(this.sparkIoNode(io), key, 'spark-input');
        for (const io of j.outputs) this.addEdge(key, this.sparkIoNode(io), 'spark-output');
      }
    }
    this.linkDbtRuns();
    // Terraform buckets feed the datasets and paths stored in them.
    const buckets = new Map<string, string>();
    for (const inv of this.inventories.values()) {
      for (const t of inv.terraform) if (t.type === 'aws_s3_bucket') for (const n of t.names) buckets.set(n, nodeKey(inv.repo, `terraform:${t.address}`));
    }
    if (buckets.size > 0) {
      for (const n of [...this.nodes.values()]) {
        if (n.kind !== 'dataset') continue;
        const m = /^dataset:s3a?:\/\/([^/]+)/.exec(n.key);
        const owner = m ? buckets.get(m[1]) : undefined;
        if (owner) this.addEdge(owner, n.key, 'terraform');
      }
    }
  }

  /**
   * The dbt models/seeds/snapshots one selector value selects, as dbt's default (fqn) method does: a
   * node name, a project name, a folder under the model path, or a dotted fqn prefix; `+` before
   * adds ancestors and after adds descendants (`n+` limits the depth), following the dbt edges of
   * every repo. Matches in `repo` win; otherwise every repo that has one. Empty when nothing matches.
   */
  selectDbt(repo: string, selector: string): string[] {
    const m = SELECTOR.exec(selector);
    if (!m) return [];
    const parts = m[2].split('.');
    let hits: string[];
    if (parts.length === 1) hits = this.dbtIndex().get(parts[0]) ?? [];
    else {
      hits = [];
      for (const [key, fqn] of this.dbtFqn) {
        const rel = fqn[0] === parts[0] ? fqn : [fqn[0], ...fqn];
        if (parts.every((p, i) => rel[i] === p) || (parts.length === 2 && fqn[0] === parts[0] && fqn[fqn.length - 1] === parts[1])) hits.push(key);
      }
    }
    const own = hits.filter((k) => this.nodes.get(k)?.repo === repo);
    const start = own.length > 0 ? own : hits;
    const out = new Set(start);
    if (m[1] !== undefined) for (const k of this.dbtWalk(start, 'up', m[1] === '' ? Infinity : Number(m[1]))) out.add(k);
    if (m[3] !== undefined) for (const k of this.dbtWalk(start, 'down', m[3] === '' ? Infinity : Number(m[3]))) out.add(k);
    return [...out].filter((k) => DBT_BUILT.has(this.dbtNodes.get(k)?.kind ?? '')).sort();
  }

  private dbtIndex(): Map<string, string[]> {
    if (this.dbtNameIndex) return this.dbtNameIndex;
    const idx = new Map<string, string[]>();
    const add = (name: string, key: string): void => {
      const list = idx.get(name);
      if (!list) idx.set(name, [key]);
      else if (list[list.length - 1] !== key) list.push(key);
    };
    for (const [key, fqn] of this.dbtFqn) {
      add(fqn[fqn.length - 1], key);
      add(fqn[0], key);
      if (fqn.length > 2) add(fqn[1], key);
    }
    this.dbtNameIndex = idx;
    return idx;
  }

  /** dbt nodes reachable from `start` over dbt → dbt edges, up to `depth` steps. */
  private dbtWalk(start: readonly string[], dir: 'up' | 'down', depth: number): string[] {
    const seen = new Set<string>(start);
    let frontier = [...start];
    for (let d = 0; d < depth && frontier.length > 0; d++) {
      const next: string[] = [];
      for (const k of frontier) {
        for (const n of (dir === 'down' ? this.out : this.inn).get(k) ?? []) {
          if (seen.has(n) || !this.dbtNodes.has(n)) continue;
          seen.add(n);
          next.push(n);
        }
      }
      frontier = next;
    }
    for (const k of start) seen.delete(k);
    return [...seen];
  }

  /** DAG → model edges for the dbt commands the DAGs' tasks run (`dbt test`: model → DAG). */
  private linkDbtRuns(): void {
    const runs: Array<{ inv: RepoInventory; dagKey: string; file: string; taskId: string | null; run: AirflowDbtRun }> = [];
    for (const inv of this.inventories.values()) {
      for (const d of inv.airflow) {
        if (d.id.value === null) continue;
        const dagKey = nodeKey(inv.repo, `airflow:${d.id.value}`);
        for (const t of d.tasks) for (const run of t.dbt ?? []) runs.push({ inv, dagKey, file: d.file, taskId: t.id.value, run });
      }
    }
    // Selections are resolved over the dbt edges only, before any DAG edge is added.
    const resolved = runs.map((r) => {
      const excluded = new Set(r.run.exclude.flatMap((x) => (x.value === null ? [] : this.selectDbt(r.inv.repo, x.value))));
      const picks = r.run.select.flatMap((s) => {
        if (s.value === null) return [];
        const nodes = this.selectDbt(r.inv.repo, s.value);
        this.dbtSelections.push({ repo: r.inv.repo, dagKey: r.dagKey, dagFile: r.file, taskId: r.taskId, run: r.run, selector: s.value, nodes });
        return nodes.filter((k) => !excluded.has(k));
      });
      return { r, picks };
    });
    for (const { r, picks } of resolved) {
      for (const k of picks) {
        if (r.run.verb === 'test') this.addEdge(k, r.dagKey, 'dbt-test');
        else this.addEdge(r.dagKey, k, 'dbt-run');
      }
    }
  }

  /** Direct downstream keys. */
  children(key: string): readonly string[] {
    return [...(this.out.get(key) ?? [])];
  }

  /** Direct upstream keys. */
  parents(key: string): readonly string[] {
    return [...(this.inn.get(key) ?? [])];
  }

  /** Every asset downstream of `keys` (transitively), not including `keys` themselves, sorted. */
  downstream(keys: Iterable<string>): string[] {
    const start = new Set(keys);
    const seen = new Set<string>();
    const queue = [...start];
    for (let i = 0; i < queue.length; i++) {
      for (const c of this.out.get(queue[i]) ?? []) {
        if (seen.has(c) || start.has(c)) continue;
        seen.add(c);
        queue.push(c);
      }
    }
    return [...seen].sort();
  }
}

/**
 * A dbt node's fqn as dbt's default selector method sees it: the project, the folders under the
 * model path and the name. The project folder is taken to be the parent of the manifest's folder
 * (`<project>/target/manifest.json`) and the model path its first folder (`models/`).
 */
function dbtFqn(manifestFile: string, n: DbtNode): string[] {
  const root = path.posix.dirname(path.posix.dirname(manifestFile));
  const rel = root === '.' || root === '' ? n.file : n.file.startsWith(`${root}/`) ? n.file.slice(root.length + 1) : null;
  const folders = rel === null ? [] : rel.split('/').slice(1, -1);
  return [n.package, ...folders, n.name];
}

/** Every URI in a Dataset/Asset schedule condition. */
export function datasetUris(c: import('../inventory/types').DatasetCondition | null): string[] {
  if (!c) return [];
  if (c.op === 'uri') return c.uri === null ? [] : [c.uri];
  return c.items.flatMap((i) => datasetUris(i));
}

/** Builds and links the graph of the given inventories. */
export function buildAssetGraph(inventories: readonly RepoInventory[]): AssetGraph {
  const g = new AssetGraph(inventories);
  g.link();
  return g;
}
