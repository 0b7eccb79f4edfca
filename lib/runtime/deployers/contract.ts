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
  /**
   * The manual approval the deployment passed (staging and prod, checked by `dataops deploy`), e.g.
   * for the Terraform deployer's policy overrides. @default - none (dev, or a caller that checked none)
   */
  readonly approval?: ApprovalEvidence | null;
  /**
   * The deploy is a rollback's redeploy of an earlier release: a deployer restores and republishes,
   * and builds nothing new from data (the dbt deployer builds no models; docs/rollback.md).
   * @default false
   */
  readonly isRollback?: boolean;
  /**
   * Writes a fact a deployer established (a plan summary, a policy override) to the ledger as a
   * `deploy-note` event of this deployment. @default - not recorded (the log line only)
   */
  readonly record?: (note: DeployNote) => Promise<void>;
}

/** A manual approval as CodePipeline recorded it (ListActionExecutions). */
export interface ApprovalEvidence {
  readonly pipelineName: string;
  readonly stageName: string;
  readonly actionName: string;
  /** The execution whose approval counted: this one, or for a rollback execution the one it rolls back to. */
  readonly approvedExecutionId: string;
  /** ARN of who approved (`updatedBy`); null when CodePipeline names none. */
  readonly approver: string | null;
  /** The approver's comment. */
  readonly summary: string | null;
  /** ISO time of the approval. */
  readonly at: string | null;
}

/** A fact a deployer records in the ledger (kind `deploy-note`). */
export interface DeployNote {
  readonly assetKind: AssetKind;
  /** What the note is about, e.g. `terraform-plan`, `policy-override`. */
  readonly step: string;
  /** The object it is about, e.g. the Terraform run id. */
  readonly target: string;
  readonly result: 'succeeded' | 'refused' | 'failed';
  readonly message: string;
  /** Structured facts (counts, costs, names). */
  readonly details: Record<string, unknown>;
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
