/**
 * Dependency intelligence: one asset graph across repos (dbt, Airflow, Spark, Terraform) and the
 * checks that stop bad releases. `dataops check`, `dataops graph`, `dataops impact` and
 * `dataops validate` call this module; see docs/dependency-graph.md and docs/findings.md.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Finding } from '../findings';
import { buildRepoInventory } from '../inventory/repo';
import type { RepoInventory } from '../inventory/types';
import { changedFiles, inventoryAtRef, isGitRepo } from './base';
import { loadCatalog, type CatalogInput } from './catalog';
import { checkDbtColumns } from './checks/dbt-columns';
import { checkDbtContracts } from './checks/dbt-contract';
import { checkDbtRefs } from './checks/dbt-refs';
import { checkDagDbtSelects } from './checks/dag-dbt';
import { checkCatchup, checkDagDuplicates, checkDagRefs, checkDatasets } from './checks/dags';
import { checkInventoryProblems } from './checks/inventory-problems';
import { checkSourceDrift } from './checks/source-drift';
import { sortFindings } from './checks/util';
import type { Check, CheckContext } from './context';
import { AssetGraph, buildAssetGraph } from './graph';
import { openRegistry, type FragmentRegistry } from './registry';

export { AssetGraph, buildAssetGraph, type GraphNode, type GraphEdge } from './graph';
export { openRegistry, DirRegistry, S3Registry, RegistryError, type FragmentRegistry } from './registry';
export type { CatalogInput, CatalogRow } from './catalog';
export { buildRepoInventory } from '../inventory/repo';
export type { RepoInventory } from '../inventory/types';

/** Every finding code the graph checks emit (stable; documented in docs/findings.md). */
export const GRAPH_FINDING_CODES = [
  'DBT_REF_MISSING',
  'DBT_COLUMN_REMOVED',
  'DBT_COLUMN_TYPE_CHANGED',
  'DBT_CONTRACT_BROKEN',
  'SOURCE_SCHEMA_DRIFT',
  'DAG_REF_MISSING_DAG',
  'DAG_REF_MISSING_TASK',
  'DAG_DUPLICATE_ID',
  'DATASET_NO_PRODUCER',
  'DAG_CATCHUP_HAZARD',
  'DAG_REF_UNRESOLVED',
  'DAG_ID_UNRESOLVED',
  'DAG_DBT_SELECT_MISSING',
  'INVENTORY_UNREADABLE',
  'INVENTORY_SKIPPED',
] as const;
export type GraphFindingCode = (typeof GRAPH_FINDING_CODES)[number];

/** Which repos to read, and from where. */
export interface GraphSourceOptions {
  /** Folders of the repos to check (their work trees). Repo names are the folder names. */
  readonly repos: readonly string[];
  /**
   * The other repos' published fragments: a folder, `s3://bucket/prefix`, or a registry object.
   * Fragments of repos given in `repos` are replaced by their work tree. @default - no registry
   */
  readonly registry?: string | FragmentRegistry;
  /** S3 client for an `s3://` registry (tests point it at moto). @default - from the environment */
  readonly s3Client?: S3Client;
  /** Reference time (days_ago, catch-up horizon). @default - now */
  readonly now?: Date;
  /** Python interpreter for the Airflow helper. @default - $DATAOPS_PYTHON, else python3 */
  readonly python?: string;
}

/** Options of runGraphChecks. */
export interface GraphCheckOptions extends GraphSourceOptions {
  /**
   * Git ref to compare with (e.g. `origin/main`): enables the column, contract and start_date/schedule
   * change checks. Repos that are not git work trees are checked without a base. @default - no base
   */
  readonly base?: string;
  /** Report references outside the known repos as errors, not warnings. @default false */
  readonly strict?: boolean;
  /** Live catalog for SOURCE_SCHEMA_DRIFT. @default - $DATAOPS_CATALOG_URL / $DATAOPS_CATALOG_SNAPSHOT, else the check is skipped */
  readonly catalog?: CatalogInput;
  /** Airflow's `catchup_by_default` in the target environment. @default true (Airflow 2 / MWAA 2.x) */
  readonly catchupByDefault?: boolean;
  /** A start_date older than this many days, with catchup on, is a hazard. @default 1 */
  readonly catchupHorizonDays?: number;
  /** Only run these checks (by code prefix family). @default - all */
  readonly only?: readonly GraphFindingCode[];
}

/** The graph of the head state, plus what the checks compare it with. */
export interface LoadedGraph {
  readonly graph: AssetGraph;
  readonly baseGraph: AssetGraph | null;
  readonly local: ReadonlySet<string>;
  readonly repoDirs: ReadonlyMap<string, string>;
  readonly base: ReadonlyMap<string, RepoInventory>;
  /** Inventories of the repos given (head state), e.g. to publish. */
  readonly localInventories: readonly RepoInventory[];
}

/** Two `--repos` folders with the same name. */
export class GraphInputError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GraphInputError';
  }
}

/**
 * A `--repos` entry: `DIR` (the repo is named after the folder) or `NAME=DIR` (CodeBuild checks a
 * repo out into a folder with a generated name, so pipelines name the repo as the config does).
 */
export function parseRepoSpec(spec: string): { name: string; dir: string } {
  const m = /^([A-Za-z0-9][A-Za-z0-9_.-]*)=(.+)$/.exec(spec);
  if (m && !fs.existsSync(spec)) return { name: m[1], dir: path.resolve(m[2]) };
  return { name: path.basename(path.resolve(spec)), dir: path.resolve(spec) };
}

/** Reads the repos (and their base, when `base` is given) and the registry, and builds the graphs. */
export async function loadGraph(opts: GraphSourceOptions & { base?: string }): Promise<LoadedGraph> {
  const now = opts.now ?? new Date();
  const repoDirs = new Map<string, string>();
  for (const spec of opts.repos) {
    const { name, dir } = parseRepoSpec(spec);
    if (repoDirs.has(name)) throw new GraphInputError(`two --repos folders are both named '${name}' (${repoDirs.get(name)} and ${dir}); name them with NAME=DIR`);
    repoDirs.set(name, path.resolve(dir));
  }
  const local = await Promise.all([...repoDirs].map(([name, d]) => buildRepoInventory(d, { now, python: opts.python, name })));
  const registry = opts.registry ? openRegistry(opts.registry, { s3Client: opts.s3Client }) : null;
  const published = registry ? await registry.list() : [];
  const others = published.filter((f) => !repoDirs.has(f.repo));
  const base = new Map<string, RepoInventory>();
  if (opts.base) {
    for (const [name, dir] of repoDirs) {
      if (!isGitRepo(dir)) continue;
      const inv = await inventoryAtRef(dir, opts.base, { now, python: opts.python, name });
      // dbt manifests are build outputs, usually not committed: use the published fragment's dbt part.
      const fragment = published.find((f) => f.repo === name);
      base.set(name, inv.dbt.length === 0 && fragment ? { ...inv, dbt: fragment.dbt } : inv);
    }
  }
  const graph = buildAssetGraph([...local, ...others]);
  const baseGraph = opts.base ? buildAssetGraph([...local.map((l) => base.get(l.repo) ?? l), ...others]) : null;
  return { graph, baseGraph, local: new Set(repoDirs.keys()), repoDirs, base, localInventories: local };
}

const CHECKS: ReadonlyArray<{ codes: readonly GraphFindingCode[]; run: Check }> = [
  { codes: ['INVENTORY_UNREADABLE', 'INVENTORY_SKIPPED', 'DAG_ID_UNRESOLVED'], run: checkInventoryProblems },
  { codes: ['DBT_REF_MISSING'], run: checkDbtRefs },
  { codes: ['DBT_COLUMN_REMOVED', 'DBT_COLUMN_TYPE_CHANGED'], run: checkDbtColumns },
  { codes: ['DBT_CONTRACT_BROKEN'], run: checkDbtContracts },
  { codes: ['SOURCE_SCHEMA_DRIFT'], run: checkSourceDrift },
  { codes: ['DAG_REF_MISSING_DAG', 'DAG_REF_MISSING_TASK', 'DAG_REF_UNRESOLVED'], run: checkDagRefs },
  { codes: ['DAG_DUPLICATE_ID'], run: checkDagDuplicates },
  { codes: ['DATASET_NO_PRODUCER'], run: checkDatasets },
  { codes: ['DAG_CATCHUP_HAZARD'], run: checkCatchup },
  { codes: ['DAG_DBT_SELECT_MISSING'], run: checkDagDbtSelects },
];

function catalogFromEnv(): CatalogInput | undefined {
  const url = process.env.DATAOPS_CATALOG_URL;
  const snapshotFile = process.env.DATAOPS_CATALOG_SNAPSHOT;
  return url || snapshotFile ? { url, snapshotFile } : undefined;
}

/** Runs every check over an already loaded graph. */
export async function runChecksOn(loaded: LoadedGraph, opts: Omit<GraphCheckOptions, 'repos'> = {}): Promise<Finding[]> {
  const catalogInput = opts.catalog ?? catalogFromEnv();
  const ctx: CheckContext = {
    graph: loaded.graph,
    baseGraph: loaded.baseGraph,
    local: loaded.local,
    repoDirs: loaded.repoDirs,
    base: loaded.base,
    strict: opts.strict ?? false,
    now: opts.now ?? new Date(),
    catchupByDefault: opts.catchupByDefault ?? true,
    catchupHorizonDays: opts.catchupHorizonDays ?? 1,
    catalog: catalogInput ? await loadCatalog(catalogInput) : null,
  };
  const findings: Finding[] = [];
  for (const c of CHECKS) {
    if (opts.only && !c.codes.some((code) => opts.only?.includes(code))) continue;
    findings.push(...c.run(ctx).filter((f) => !opts.only || opts.only.includes(f.code as GraphFindingCode)));
  }
  return sortFindings(findings);
}

/**
 * Builds the graph across `repos` (+ the registry's other repos) and runs every dependency check.
 * Findings are about the repos given, or about consumers in other repos that a change to them breaks.
 * Any finding with severity `error` should fail the build (`hasBlocking` in lib/checks/findings.ts).
 */
export async function runGraphChecks(opts: GraphCheckOptions): Promise<Finding[]> {
  const loaded = await loadGraph(opts);
  return runChecksOn(loaded, opts);
}

/** Builds the asset graph across `repos` and the registry (no checks). */
export async function buildGraph(opts: GraphSourceOptions): Promise<AssetGraph> {
  return (await loadGraph(opts)).graph;
}

/** What `dataops impact` reports: the assets a change touches and everything downstream of them. */
export interface ImpactReport {
  readonly repo: string;
  readonly base: string;
  /** Files changed between the base ref and the work tree. */
  readonly changedFiles: readonly string[];
  /** Assets of the repo that the change adds, removes or modifies (`<repo>/<asset>`). */
  readonly changed: ReadonlyArray<{ readonly asset: string; readonly change: 'added' | 'removed' | 'modified' }>;
  /** Every asset, in any known repo, downstream of a changed one (`<repo>/<asset>`). */
  readonly affected: readonly string[];
}

function assetSignatures(inv: RepoInventory): Map<string, string> {
  const out = new Map<string, string>();
  const key = (a: string): string => `${inv.repo}/${a}`;
  for (const p of inv.dbt) {
    for (const n of p.nodes) {
      if (n.package !== p.name) continue;
      out.set(key(`dbt:${n.id}`), JSON.stringify([n.checksum, n.columns, n.dependsOn, n.contractEnforced, n.relation]));
    }
  }
  for (const d of inv.airflow) {
    if (d.id.value === null) continue;
    const { line: _line, tasks, refs, outlets, ...rest } = d;
    void _line;
    out.set(key(`airflow:${d.id.value}`), JSON.stringify([rest, tasks.map((t) => [t.id, t.operator]), refs.map((r) => ({ ...r, line: 0 })), outlets.map((o) => ({ ...o, line: 0 }))]));
  }
  for (const j of inv.spark) out.set(key(`spark:${j.name}`), JSON.stringify({ ...j, inputs: j.inputs.map((i) => ({ ...i, line: 0 })), outputs: j.outputs.map((o) => ({ ...o, line: 0 })) }));
  for (const t of inv.terraform) out.set(key(`terraform:${t.address}`), JSON.stringify({ ...t, line: 0 }));
  return out;
}

/**
 * Lists every asset, in any known repo, that a change to `repo` (its work tree against `base`)
 * affects: the changed assets themselves and everything downstream of them. DAGs whose file
 * changed count as modified even when their inventory did not change.
 */
export async function computeImpact(opts: { repo: string; base: string; registry?: string | FragmentRegistry; s3Client?: S3Client; now?: Date; python?: string }): Promise<ImpactReport> {
  const loaded = await loadGraph({ repos: [opts.repo], registry: opts.registry, base: opts.base, s3Client: opts.s3Client, now: opts.now, python: opts.python });
  const [repo] = loaded.local;
  const head = loaded.graph.inventories.get(repo);
  const before = loaded.base.get(repo);
  if (!head || !before) throw new GraphInputError(`${opts.repo} is not a git work tree, so there is no base to compare with; run impact in a clone`);
  const files = changedFiles(loaded.repoDirs.get(repo) ?? opts.repo, opts.base);
  const fileSet = new Set(files);
  const now = assetSignatures(head);
  const was = assetSignatures(before);
  const changed: Array<{ asset: string; change: 'added' | 'removed' | 'modified' }> = [];
  for (const [k, sig] of now) {
    if (!was.has(k)) changed.push({ asset: k, change: 'added' });
    else if (was.get(k) !== sig) changed.push({ asset: k, change: 'modified' });
  }
  for (const d of head.airflow) {
    const k = `${repo}/airflow:${d.id.value ?? ''}`;
    if (d.id.value && fileSet.has(d.file) && was.has(k) && !changed.some((c) => c.asset === k)) changed.push({ asset: k, change: 'modified' });
  }
  for (const k of was.keys()) if (!now.has(k)) changed.push({ asset: k, change: 'removed' });
  changed.sort((a, b) => a.asset.localeCompare(b.asset));
  const inHead = changed.filter((c) => c.change !== 'removed').map((c) => c.asset);
  const inBase = changed.filter((c) => c.change === 'removed').map((c) => c.asset);
  const affected = new Set([...loaded.graph.downstream(inHead), ...(loaded.baseGraph?.downstream(inBase) ?? [])]);
  for (const c of changed) affected.delete(c.asset);
  return { repo, base: opts.base, changedFiles: files, changed, affected: [...affected].sort() };
}

/** Publishes the inventory fragment of each repo to the registry (what a repo's main pipeline does). */
export async function publishFragments(opts: GraphSourceOptions & { registry: string | FragmentRegistry }): Promise<RepoInventory[]> {
  const loaded = await loadGraph({ ...opts, registry: undefined });
  const registry = openRegistry(opts.registry, { s3Client: opts.s3Client });
  for (const inv of loaded.localInventories) await registry.publish(inv);
  return [...loaded.localInventories];
}
