import { z } from 'zod';
import { ASSET_KINDS, ENVIRONMENT_NAMES } from '../../config/schema';
import { DagEntrySchema } from '../release/manifest';

/**
 * Record kinds of the deployment ledger and the keys they live under (docs/ledger.md).
 *
 * Item families (pk / sk):
 * - event      `REPO#<repo>#ENV#<env>` / `EVENT#<at>#<eventId>`            append-only history (GSI byTime)
 * - release    `REPO#<repo>#ENV#<env>` / `RELEASE#<version>`               status of one release in one env
 * - success    `REPO#<repo>#ENV#<env>` / `SUCCESS#<at>#<executionId>`      one per stage that succeeded
 * - current    `REPO#<repo>#ENV#<env>` / `CURRENT`                         what the env runs now
 * - execution  `EXEC#<executionId>`    / `ENV#<env>`                        what an execution promoted
 * - lock       `LOCK#<repo>#<env>`     / `LOCK`                             one deploy per repo and env
 * - claim      `IDEMPOTENCY#<executionId>#<action>` / `CLAIM`              a retried job does nothing twice
 */

export const ENV = z.enum(ENVIRONMENT_NAMES);
const isoTime = z.iso.datetime();
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, { error: 'must be a lowercase hex sha256 digest' });

/** What a ledger event is about. */
export const LEDGER_EVENT_KINDS = [
  'promotion',
  'deploy-step',
  'deployment',
  'verification',
  'rollback',
  'rollback-step',
  'deploy-note',
  'pipeline-state',
  'stage-state',
  'action-state',
] as const;
export type LedgerEventKind = (typeof LEDGER_EVENT_KINDS)[number];

/** How an event ended. `refused` = a gate said no (not an error of the platform). */
export const EVENT_RESULTS = ['started', 'succeeded', 'failed', 'refused', 'skipped'] as const;
export type EventResult = (typeof EVENT_RESULTS)[number];

const base = {
  eventId: z.string().min(1),
  repo: z.string().min(1),
  env: ENV,
  /** ISO-8601 UTC timestamp with milliseconds. */
  at: isoTime,
  /** Who caused it: an IAM principal, a person, or `codepipeline`. */
  actor: z.string().min(1),
  /** Release version, when one is involved. */
  version: z.string().min(1).nullable(),
  /** CodePipeline execution id, when one is involved. */
  executionId: z.string().min(1).nullable(),
  result: z.enum(EVENT_RESULTS),
  /** One line a person can read. */
  message: z.string(),
};

/** Promote(λ) decided about a release. */
export const PromotionEventSchema = z.strictObject({
  ...base,
  kind: z.literal('promotion'),
  manifestSha256: sha256.nullable(),
  /** Artifact file → sha256 as checked. */
  checksums: z.record(z.string(), sha256),
  previousEnv: ENV.nullable(),
  jobId: z.string().nullable(),
});

/** One deployer's apply (or restore) for one asset kind. */
export const DeployStepEventSchema = z.strictObject({
  ...base,
  kind: z.literal('deploy-step'),
  assetKind: z.enum(ASSET_KINDS),
  step: z.enum(['apply', 'restore']),
  writes: z.int().nonnegative(),
  /** What was there before, as the deployer returned it (enough to restore it). */
  previous: z.unknown(),
  summary: z.string(),
});

/** A whole `dataops deploy` of a release to an env. */
export const DeploymentEventSchema = z.strictObject({
  ...base,
  kind: z.literal('deployment'),
  manifestSha256: sha256.nullable(),
  writes: z.int().nonnegative(),
  /** True when the release redeploys an earlier one (a CodePipeline stage rollback). */
  isRollback: z.boolean(),
  /**
   * The release's commit time (the manifest's createdAt), for DORA lead time (commit → prod).
   * Absent on records written before it was added.
   */
  commitAt: isoTime.nullable().optional(),
});

/** A verification (per asset kind, or the whole release when assetKind is null). */
export const VerificationEventSchema = z.strictObject({
  ...base,
  kind: z.literal('verification'),
  assetKind: z.enum(ASSET_KINDS).nullable(),
  problems: z.array(z.string()),
});

/** A rollback request as Rollback(λ) handled it. */
export const RollbackEventSchema = z.strictObject({
  ...base,
  kind: z.literal('rollback'),
  reason: z.string(),
  requestedBy: z.string(),
  fromVersion: z.string().nullable(),
  toVersion: z.string().nullable(),
  targetExecutionId: z.string().nullable(),
  dryRun: z.boolean(),
  /** The data decisions surfaced for a person (objects and timestamps). */
  dataDecisions: z.array(z.string()),
});

/** One step of a data-side rollback (pause, restore, decision for a person). */
export const RollbackStepEventSchema = z.strictObject({
  ...base,
  kind: z.literal('rollback-step'),
  step: z.string().min(1),
  target: z.string(),
});

/**
 * A fact a deployer established during a deployment (lib/runtime/deployers/contract.ts DeployNote):
 * a Terraform plan's summary and cost estimate, a policy override and who approved it.
 */
export const DeployNoteEventSchema = z.strictObject({
  ...base,
  kind: z.literal('deploy-note'),
  assetKind: z.enum(ASSET_KINDS),
  step: z.string().min(1),
  target: z.string(),
  details: z.record(z.string(), z.unknown()),
});

/** A CodePipeline state change as the Recorder saw it. */
export const PipelineStateEventSchema = z.strictObject({
  ...base,
  /** `pipeline` for pipeline-level events, which belong to no single environment. */
  env: z.union([ENV, z.literal('pipeline')]),
  kind: z.enum(['pipeline-state', 'stage-state', 'action-state']),
  pipeline: z.string().min(1),
  stage: z.string().nullable(),
  action: z.string().nullable(),
  state: z.string().min(1),
  /** Manual approvals: the approver's comment as CodePipeline recorded it (the actor is the approver's ARN). */
  summary: z.string().nullable().optional(),
});

/** Any event of the ledger, discriminated by `kind`. */
export const LedgerEventSchema = z.discriminatedUnion('kind', [
  PromotionEventSchema,
  DeployStepEventSchema,
  DeploymentEventSchema,
  VerificationEventSchema,
  RollbackEventSchema,
  RollbackStepEventSchema,
  DeployNoteEventSchema,
  PipelineStateEventSchema,
]);
export type LedgerEvent = z.output<typeof LedgerEventSchema>;
export type PromotionEvent = z.output<typeof PromotionEventSchema>;
export type DeployStepEvent = z.output<typeof DeployStepEventSchema>;
export type DeploymentEvent = z.output<typeof DeploymentEventSchema>;
export type VerificationEvent = z.output<typeof VerificationEventSchema>;
export type RollbackEvent = z.output<typeof RollbackEventSchema>;
export type RollbackStepEvent = z.output<typeof RollbackStepEventSchema>;
export type DeployNoteEvent = z.output<typeof DeployNoteEventSchema>;
export type PipelineStateEvent = z.output<typeof PipelineStateEventSchema>;

/** Distributes Omit over a union so each event kind keeps its own fields. */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/**
 * An event as callers write it: the ledger fills `at` and `eventId` when absent. A caller that may
 * deliver twice (the Recorder) passes both, so the second write is recognised and dropped.
 */
export type NewLedgerEvent = DistributiveOmit<LedgerEvent, 'eventId' | 'at'> & { at?: string; eventId?: string };

/** Where a release stands in one environment. */
export const RELEASE_STATUSES = ['promoted', 'deployed', 'verified', 'succeeded', 'failed', 'rolled-back'] as const;
export type ReleaseStatus = (typeof RELEASE_STATUSES)[number];

/** Status of one release in one env (`RELEASE#<version>`). */
export const ReleaseRecordSchema = z.strictObject({
  repo: z.string().min(1),
  env: ENV,
  version: z.string().min(1),
  status: z.enum(RELEASE_STATUSES),
  manifestSha256: sha256.nullable(),
  executionId: z.string().nullable(),
  updatedAt: isoTime,
});
export type ReleaseRecord = z.output<typeof ReleaseRecordSchema>;

/** A stage that succeeded (`SUCCESS#<at>#<executionId>`): the targets a rollback may choose from. */
export const SuccessRecordSchema = z.strictObject({
  repo: z.string().min(1),
  env: ENV,
  version: z.string().min(1),
  executionId: z.string().min(1),
  manifestSha256: sha256.nullable(),
  at: isoTime,
  /** True when this success was itself a rollback execution (never a rollback target). */
  wasRollback: z.boolean(),
});
export type SuccessRecord = z.output<typeof SuccessRecordSchema>;

/** What an environment runs now (`CURRENT`). */
export const CurrentRecordSchema = z.strictObject({
  repo: z.string().min(1),
  env: ENV,
  version: z.string().min(1),
  executionId: z.string().min(1),
  manifestSha256: sha256.nullable(),
  at: isoTime,
  /** True when the env got here by a rollback; a further rollback is refused. */
  viaRollback: z.boolean(),
  /** The version it replaced, if any. */
  previousVersion: z.string().nullable(),
});
export type CurrentRecord = z.output<typeof CurrentRecordSchema>;

/** What an execution promoted into an env (`EXEC#<executionId>` / `ENV#<env>`). */
export const ExecutionRecordSchema = z.strictObject({
  executionId: z.string().min(1),
  repo: z.string().min(1),
  env: ENV,
  version: z.string().min(1),
  manifestSha256: sha256.nullable(),
  at: isoTime,
  isRollback: z.boolean(),
  /** The release's DAG inventory, so a rollback can check catch-up hazards without the artifact. */
  dags: z.array(DagEntrySchema).default([]),
  /** Asset path → sha256 of the release, so a rollback can plan the exact object set. */
  assets: z.record(z.string(), sha256).default({}),
});
export type ExecutionRecord = z.output<typeof ExecutionRecordSchema>;
/** An execution record as callers write it (dags and assets optional). */
export type ExecutionRecordInput = z.input<typeof ExecutionRecordSchema>;

/** The per-repo, per-env deploy lock. */
export const LockRecordSchema = z.strictObject({
  repo: z.string().min(1),
  env: ENV,
  /** Pipeline execution id (or another caller's id) that holds it. */
  holder: z.string().min(1),
  acquiredAt: isoTime,
  /** Epoch seconds after which the lock is free for anyone (also the table TTL). */
  expiresAt: z.int(),
});
export type LockRecord = z.output<typeof LockRecordSchema>;

/** States of an idempotency claim. */
export const CLAIM_STATES = ['in-progress', 'completed', 'failed'] as const;
export type ClaimState = (typeof CLAIM_STATES)[number];

/** An idempotency claim for one action of one pipeline execution. */
export const ClaimRecordSchema = z.strictObject({
  executionId: z.string().min(1),
  action: z.string().min(1),
  state: z.enum(CLAIM_STATES),
  /** Who claimed it (a job id or process id), for the log. */
  owner: z.string().min(1),
  claimedAt: isoTime,
  /** Epoch seconds after which an in-progress claim counts as abandoned (also the table TTL). */
  expiresAt: z.int(),
  /** JSON text of the outcome, stored on completion and returned to retries. */
  outcome: z.string().nullable(),
});
export type ClaimRecord = z.output<typeof ClaimRecordSchema>;

/** Key builders; every item the runtime writes uses these and nothing else. */
export const keys = {
  /** Partition of everything about one repo in one env. */
  repoEnv: (repo: string, env: string): string => `REPO#${repo}#ENV#${env}`,
  eventSk: (at: string, eventId: string): string => `EVENT#${at}#${eventId}`,
  releaseSk: (version: string): string => `RELEASE#${version}`,
  successSk: (at: string, executionId: string): string => `SUCCESS#${at}#${executionId}`,
  currentSk: 'CURRENT',
  execution: (executionId: string): string => `EXEC#${executionId}`,
  executionSk: (env: string): string => `ENV#${env}`,
  lock: (repo: string, env: string): string => `LOCK#${repo}#${env}`,
  lockSk: 'LOCK',
  claim: (executionId: string, action: string): string => `IDEMPOTENCY#${executionId}#${action}`,
  claimSk: 'CLAIM',
  /** GSI byTime partition: one per UTC day. */
  dayPk: (at: string): string => `DAY#${at.slice(0, 10)}`,
  /** GSI byTime sort key: time first, so a day reads in order. */
  daySk: (at: string, repo: string, env: string, eventId: string): string => `${at}#${repo}#${env}#${eventId}`,
} as const;

/** Prefixes for begins_with queries. */
export const SK_PREFIX = { event: 'EVENT#', release: 'RELEASE#', success: 'SUCCESS#' } as const;

/**
 * CodePipeline stage name of each environment's stage. The pipeline construct names its stages with
 * these, and the Recorder and Rollback(λ) map stage ↔ env with them.
 */
export const STAGE_NAME_BY_ENV = { dev: 'Dev', staging: 'Staging', prod: 'Prod' } as const;

/** The environment a pipeline stage deploys to, or null for Source/Validate/Package. */
export function envOfStage(stage: string): z.output<typeof ENV> | null {
  const hit = Object.entries(STAGE_NAME_BY_ENV).find(([, name]) => name.toLowerCase() === stage.toLowerCase());
  return hit ? ENV.parse(hit[0]) : null;
}
