import type { DbtNode, RepoInventory, SparkIo } from '../inventory/types';

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
export type EdgeKind = 'ref' | 'source' | 'exposure' | 'sensor' | 'marker' | 'trigger' | 'dataset' | 'spark-input' | 'spark-output' | 'terraform';

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
