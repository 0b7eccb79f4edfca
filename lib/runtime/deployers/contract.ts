import type { AssetKind, EnvironmentConfig, EnvironmentName } from '../../config/schema';
import type { ReleaseManifest } from '../release/manifest';

/** What every deployer is given. */
export interface DeployContext {
  readonly repo: string;
  readonly env: EnvironmentName;
  readonly environment: EnvironmentConfig;
  readonly release: ReleaseManifest;
  /** Directory holding the release's artifacts (tarballs) as the Package action wrote them. */
  readonly releaseDir: string;
  /** Progress lines for the build log. */
  readonly log: (line: string) => void;
}

/** What an apply did; `previous` is enough to put the environment back exactly as it was. */
export interface ApplyResult<Previous> {
  /** Number of writes to the target (uploads, deletes, parameter puts, runs). 0 for a no-op. */
  readonly writes: number;
  readonly previous: Previous;
  readonly summary: string;
  /**
   * Decisions left to a person, each naming the exact object and timestamps (e.g. a table whose
   * data a rollback did not restore because a load landed after the deploy). @default - none
   */
  readonly forPerson?: readonly string[];
}

/**
 * The one contract every asset kind's deployer follows: read the current state, plan the
 * difference to the release, apply only the difference, record what was there before.
 * Applying the same release twice writes nothing.
 */
export interface Deployer<State, Plan, Previous> {
  readonly kind: AssetKind;
  readCurrent(ctx: DeployContext): Promise<State>;
  /** Pure: no I/O. */
  plan(current: State, ctx: DeployContext): Plan;
  apply(plan: Plan, ctx: DeployContext): Promise<ApplyResult<Previous>>;
  /**
   * Pure: what `apply` will record as previous, computed from the state read before it, so that a
   * caller can record it before applying (a crash between apply and its record then loses
   * nothing). @default - only `apply` returns it
   */
  previousOf?(current: State, plan: Plan, ctx: DeployContext): Previous;
  /** Checks the environment after apply (import errors, image presence, run status). */
  verify(ctx: DeployContext): Promise<{ ok: boolean; problems: string[] }>;
  /** Puts back what `apply` recorded as previous. Idempotent. */
  restore(previous: Previous, ctx: DeployContext): Promise<ApplyResult<Previous>>;
}
