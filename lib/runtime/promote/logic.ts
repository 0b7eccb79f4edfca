import { ENVIRONMENT_NAMES, type EnvironmentName } from '../../config/schema';
import type { ReleaseStatus } from '../ledger/model';
import type { ReleaseCheck } from '../release/checksums';
import { recordedCommitAuthors } from '../release/manifest';
import { SEPARATED_ENVIRONMENTS, separationOfDuties } from './separation-of-duties';

/** The environment a release must have succeeded in before `env`, or null for the first. */
export function previousEnvironment(env: EnvironmentName): EnvironmentName | null {
  const i = ENVIRONMENT_NAMES.indexOf(env);
  return i > 0 ? ENVIRONMENT_NAMES[i - 1] : null;
}

/** Statuses that count as "succeeded in that environment" for promotion. */
export const SUCCEEDED_STATUSES: readonly ReleaseStatus[] = ['verified', 'succeeded'];

/** Outcome of trying the per-repo, per-env lock. */
export type LockOutcome =
  | { readonly state: 'not-attempted' }
  | { readonly state: 'acquired'; readonly reentrant: boolean }
  | { readonly state: 'held'; readonly holder: string; readonly expiresAt: number };

/**
 * The approval that let the execution into the stage, as read from CodePipeline (Prod/Approve runs
 * before Promote in the stage): approved by someone, a stage rollback (which skips the approval; its
 * release already passed the stage), or not approved.
 */
export type ApprovalFacts =
  | { readonly state: 'approved'; readonly approval: string; readonly approver: string | null }
  | { readonly state: 'rollback'; readonly approval: string; readonly targetExecutionId: string }
  | { readonly state: 'not-approved'; readonly approval: string; readonly detail: string };

/** Everything Promote(λ) knows when it decides. */
export interface PromotionFacts {
  readonly repo: string;
  readonly env: EnvironmentName;
  readonly release: ReleaseCheck;
  /** Status of this release's version in the previous environment (null: never seen there). */
  readonly previousEnvStatus: ReleaseStatus | null;
  /** The stage's approval; read for the environments whose approver may not be an author (prod). */
  readonly approval?: ApprovalFacts;
  readonly lock: LockOutcome;
}

/** Why a promotion was refused. */
export type RefusalCause =
  | 'invalid-release'
  | 'checksum-mismatch'
  | 'wrong-repo'
  | 'not-succeeded-in-previous-env'
  | 'not-approved'
  | 'self-approval'
  | 'approval-unverifiable'
  | 'locked';

/** What Promote(λ) does. `take-lock` asks the caller to try the lock and decide again. */
export type PromotionDecision =
  | { readonly action: 'promote'; readonly message: string }
  | { readonly action: 'take-lock' }
  | { readonly action: 'refuse'; readonly cause: RefusalCause; readonly message: string };

/**
 * Pure promotion gate: a valid release whose checksums match, for the right repo, that succeeded in
 * the previous environment (dev needs only a valid release), approved for prod by someone who did
 * not author its commit (a stage rollback excepted), under the repo/env lock.
 */
export function decidePromotion(f: PromotionFacts): PromotionDecision {
  const r = f.release;
  if (!r.ok) {
    const mismatch = r.manifest !== null;
    return {
      action: 'refuse',
      cause: mismatch ? 'checksum-mismatch' : 'invalid-release',
      message: `release for ${f.repo} refused for ${f.env}: ${r.problems.join('; ')}`,
    };
  }
  const version = r.manifest.version;
  if (r.manifest.repo !== f.repo) {
    return {
      action: 'refuse',
      cause: 'wrong-repo',
      message: `release ${version} belongs to repo '${r.manifest.repo}' but this pipeline promotes '${f.repo}'; check the action's UserParameters repo or the Package stage's --repo`,
    };
  }
  const prev = previousEnvironment(f.env);
  if (prev !== null && (f.previousEnvStatus === null || !SUCCEEDED_STATUSES.includes(f.previousEnvStatus))) {
    const seen = f.previousEnvStatus === null ? 'was never deployed there' : `is '${f.previousEnvStatus}' there`;
    return {
      action: 'refuse',
      cause: 'not-succeeded-in-previous-env',
      message: `release ${version} of ${f.repo} has not succeeded in ${prev} (it ${seen}); environments cannot be skipped, let the ${prev} stage deploy and verify this release first`,
    };
  }
  if (SEPARATED_ENVIRONMENTS.includes(f.env)) {
    const a = f.approval;
    if (a === undefined || a.state === 'not-approved') {
      return {
        action: 'refuse',
        cause: 'not-approved',
        message: `release ${version} of ${f.repo} has not passed the approval ${a?.approval ?? `of the ${f.env} stage`}${a ? ` (it is ${a.detail})` : ' (it was not read)'}; ${f.env} is promoted only after an approver approves the release in CodePipeline`,
      };
    }
    if (a.state === 'approved') {
      const problem = separationOfDuties(f.env, a.approver, { repo: f.repo, version, gitSha: r.manifest.gitSha, commitAuthors: recordedCommitAuthors(r.manifest) }, a.approval);
      if (problem) return { action: 'refuse', cause: problem.cause, message: problem.message };
    }
  }
  switch (f.lock.state) {
    case 'not-attempted':
      return { action: 'take-lock' };
    case 'held':
      return {
        action: 'refuse',
        cause: 'locked',
        message: `${f.repo}/${f.env} is locked by pipeline execution ${f.lock.holder} until ${new Date(f.lock.expiresAt * 1000).toISOString()}; wait for that deployment to finish (or its lock to expire) and retry this action`,
      };
    case 'acquired': {
      const a = SEPARATED_ENVIRONMENTS.includes(f.env) ? f.approval : undefined;
      const approved =
        a?.state === 'approved'
          ? `; approved by ${a.approver}, not an author of the commit`
          : a?.state === 'rollback'
            ? `; a stage rollback to execution ${a.targetExecutionId}, whose release passed ${a.approval}`
            : '';
      return {
        action: 'promote',
        message: `release ${version} of ${f.repo} promoted to ${f.env}${prev ? ` (succeeded in ${prev})` : ''}; checksums of ${r.manifest.artifacts.length} artifacts match${approved}`,
      };
    }
  }
}
