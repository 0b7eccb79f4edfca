import type { Finding } from '../findings';
import type { RepoInventory } from '../inventory/types';
import type { CatalogRow } from './catalog';
import type { AssetGraph } from './graph';

/** Everything a check reads. Built once by runGraphChecks. */
export interface CheckContext {
  /** The graph of the repos' current state (local repos) plus the registry's other repos. */
  readonly graph: AssetGraph;
  /** The graph of the base state (local repos at --base, registry repos as they are), when --base is given. */
  readonly baseGraph: AssetGraph | null;
  /** Names of the repos given with --repos: findings are about them (or caused by them). */
  readonly local: ReadonlySet<string>;
  /** Folder of each local repo, to read line numbers from its files. */
  readonly repoDirs: ReadonlyMap<string, string>;
  /** Base inventories of local repos, when --base is given. */
  readonly base: ReadonlyMap<string, RepoInventory>;
  readonly strict: boolean;
  readonly now: Date;
  /** Airflow's catchup_by_default for the environment (True in Airflow 2, False in Airflow 3). */
  readonly catchupByDefault: boolean;
  /** A start_date older than this many days is a catch-up hazard. */
  readonly catchupHorizonDays: number;
  /** Live catalog columns (information_schema.columns), when given. */
  readonly catalog: readonly CatalogRow[] | null;
}

/** One check: reads the context, returns findings. */
export type Check = (ctx: CheckContext) => Finding[];

/** The repo part of a graph key (`repo/asset`), or null for shared nodes. */
export function repoOfKey(key: string): string | null {
  const i = key.indexOf('/');
  const colon = key.indexOf(':');
  return i > 0 && (colon < 0 || i < colon) ? key.slice(0, i) : null;
}
