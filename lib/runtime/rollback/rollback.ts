import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { z } from 'zod';
import { ENVIRONMENT_NAMES } from '../../config/schema';
import { putDataOpsMetrics } from '../aws/cloudwatch';
import { listPipelineExecutions, rollbackStage } from '../aws/codepipeline';
import { metricDataFor } from '../../ops/metrics';
import type { RuntimeLog } from '../aws/handler-env';
import type { Ledger } from '../ledger/ledger';
import { STAGE_NAME_BY_ENV } from '../ledger/model';
import type { FragmentRegistry } from '../../checks/graph/registry';
import { chooseRollbackTarget, planRollback, type CatchUpHazard, type PipelineExecutionFact, type RollbackPlan, type ReleaseState } from '../rollback-plan/logic';
import { restoreTargetsOf } from './dag-guard';
import { dagFactsFor, GRAPH_REGISTRY_ENV } from './data-restore';

/** A rollback request, as `dataops rollback` or an alarm sends it to Rollback(λ). */
export const RollbackRequestSchema = z.strictObject({
  repo: z.string().min(1, { error: 'name the repo to roll back' }),
  env: z.enum(ENVIRONMENT_NAMES, { error: `env must be one of ${ENVIRONMENT_NAMES.join(', ')}` }),
  reason: z.string().trim().min(3, { error: 'give a reason (at least 3 characters); it goes into the audit record' }),
  requestedBy: z.string().trim().min(1, { error: 'name who requests the rollback (a person or an alarm)' }),
  /** Version to roll back to. @default - the newest earlier successful release */
  toVersion: z.string().min(1).optional(),
  /** Plan and record only; do not call RollbackStage. @default false */
  dryRun: z.boolean().default(false),
  /** When the person or alarm asked (ISO); the rollback-start figure counts from it. @default - when the handler got the request */
  requestedAt: z.iso.datetime().optional(),
});
export type RollbackRequest = z.input<typeof RollbackRequestSchema>;
export type ParsedRollbackRequest = z.output<typeof RollbackRequestSchema>;

const PlanSchema = z.strictObject({
  fromVersion: z.string(),
  toVersion: z.string(),
  targetExecutionId: z.string(),
  /** DAGs paused before anything moves, with their repo and why (their file changes, or which restored table they read or write). */
  pauseDags: z.array(z.strictObject({ dagId: z.string(), repo: z.string(), reasons: z.array(z.string()) })),
  /** Why DAGs of other repos are not known (no or unreadable asset graph registry); null when they are. */
  pauseNote: z.string().nullable(),
  putAssets: z.record(z.string(), z.string()),
  deleteAssets: z.array(z.string()),
  dataRestores: z.array(z.strictObject({ name: z.string(), method: z.enum(['swap-back', 'time-travel-clone']), toTimestamp: z.string() })),
  dataForPerson: z.array(z.strictObject({ name: z.string(), reason: z.string(), watermarkAt: z.string().nullable(), lastLoadAt: z.string().nullable() })),
});

/** What Rollback(λ) answers; the CLI prints it. */
export const RollbackResponseSchema = z.strictObject({
  /** started: RollbackStage was called. planned: dry run. refused: a rule said no. invalid: bad request. replayed: this rollback had already been started. */
  status: z.enum(['started', 'planned', 'refused', 'invalid', 'replayed']),
  message: z.string(),
  repo: z.string().nullable(),
  env: z.string().nullable(),
  pipeline: z.string().nullable(),
  stage: z.string().nullable(),
  fromVersion: z.string().nullable(),
  toVersion: z.string().nullable(),
  targetExecutionId: z.string().nullable(),
  rollbackExecutionId: z.string().nullable(),
  plan: PlanSchema.nullable(),
  hazards: z.array(z.strictObject({ dagId: z.string(), change: z.string() })),
  /** Ledger event id of the rollback record (null when the request was invalid). */
  eventId: z.string().nullable(),
  /** When RollbackStage was called (ISO), for the rollback-initiation figure. */
  calledAt: z.string().nullable(),
});
export type RollbackResponse = z.output<typeof RollbackResponseSchema>;

/** What Rollback(λ) needs from the outside world. */
export interface RollbackDeps {
  readonly codepipeline: CodePipelineClient;
  readonly ledger: Ledger;
  /** Repo name → pipeline name. */
  readonly pipelines: Readonly<Record<string, string>>;
  readonly log: RuntimeLog;
  readonly now?: () => Date;
  /** Publishes RollbackStarted / RollbackStartSeconds when given. @default - no metrics */
  readonly cloudwatch?: CloudWatchClient;
  /**
   * The cross-repo asset graph registry, to list the DAGs of every repo that touch the tables the
   * rollback may restore. @default - none: the plan says those DAGs are not known here
   */
  readonly registry?: FragmentRegistry;
}

/** The tables the execution's dbt apply swapped in (from its recorded previous state). */
async function swappedTables(ledger: Ledger, repo: string, env: string, executionId: string) {
  const events = await ledger.eventsFor(repo, env, { executionId });
  const applies = events.filter((e) => e.kind === 'deploy-step' && e.assetKind === 'dbt' && e.step === 'apply');
  const done = applies.filter((e) => e.result === 'succeeded').at(-1) ?? applies.filter((e) => e.result === 'started').at(0);
  return restoreTargetsOf(done && 'previous' in done ? done.previous : null);
}

const EMPTY = {
  repo: null,
  env: null,
  pipeline: null,
  stage: null,
  fromVersion: null,
  toVersion: null,
  targetExecutionId: null,
  rollbackExecutionId: null,
  plan: null,
  hazards: [] as CatchUpHazard[],
  eventId: null,
  calledAt: null,
};

/**
 * Rollback(λ): validates the request, refuses a rollback of a rollback, plans against the ledger,
 * records the request, and asks CodePipeline to roll the environment's stage back to the last
 * successful execution (RollbackStage). Data-side steps run in that rollback execution's Deploy
 * action (`dataops deploy` recognises the redeploy of an earlier release).
 */
export async function rollback(raw: unknown, deps: RollbackDeps): Promise<RollbackResponse> {
  const parsed = RollbackRequestSchema.safeParse(raw);
  if (!parsed.success) {
    return {
      ...EMPTY,
      status: 'invalid',
      message: `rollback request refused: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(request)'}: ${i.message}`).join('; ')}`,
    };
  }
  const req = parsed.data;
  const now = deps.now ?? (() => new Date());
  const receivedAt = req.requestedAt ? new Date(req.requestedAt) : now();
  const pipeline = deps.pipelines[req.repo];
  const stage = STAGE_NAME_BY_ENV[req.env];
  const base = { ...EMPTY, repo: req.repo, env: req.env, stage };
  if (!pipeline) {
    return { ...base, status: 'invalid', message: `repo '${req.repo}' has no pipeline on this platform; known repos: ${Object.keys(deps.pipelines).sort().join(', ')}` };
  }
  const withPipeline = { ...base, pipeline };

  const [current, candidates, summaries] = await Promise.all([
    deps.ledger.getCurrent(req.repo, req.env),
    deps.ledger.successes(req.repo, req.env, 50),
    listPipelineExecutions(deps.codepipeline, pipeline, 100),
  ]);
  const executions: PipelineExecutionFact[] = summaries.map((s) => ({
    executionId: s.pipelineExecutionId ?? '',
    status: s.status ?? 'Unknown',
    type: s.executionType ?? 'STANDARD',
  }));

  const record = async (result: 'started' | 'refused' | 'skipped', message: string, extra: { toVersion?: string | null; targetExecutionId?: string | null; dataDecisions?: string[] } = {}) =>
    deps.ledger.appendEvent({
      kind: 'rollback',
      repo: req.repo,
      env: req.env,
      actor: req.requestedBy,
      version: current?.version ?? null,
      executionId: current?.executionId ?? null,
      result,
      message,
      reason: req.reason,
      requestedBy: req.requestedBy,
      fromVersion: current?.version ?? null,
      toVersion: extra.toVersion ?? null,
      targetExecutionId: extra.targetExecutionId ?? null,
      dryRun: req.dryRun,
      dataDecisions: extra.dataDecisions ?? [],
    });

  const choice = chooseRollbackTarget({
    repo: req.repo,
    env: req.env,
    current: current ? { version: current.version, executionId: current.executionId, viaRollback: current.viaRollback } : null,
    candidates,
    executions,
    toVersion: req.toVersion,
  });
  if (!choice.ok) {
    const ev = await record('refused', choice.message);
    return { ...withPipeline, status: 'refused', message: choice.message, fromVersion: current?.version ?? null, eventId: ev.eventId };
  }
  const target = choice.target;
  const fromVersion = current?.version ?? null;
  const [currentExec, targetExec] = await Promise.all([
    current ? deps.ledger.getExecution(current.executionId, req.env) : Promise.resolve(null),
    deps.ledger.getExecution(target.executionId, req.env),
  ]);
  const toState = (e: typeof currentExec, fallback: { version: string; executionId: string }): ReleaseState => ({
    version: e?.version ?? fallback.version,
    executionId: e?.executionId ?? fallback.executionId,
    assets: e?.assets ?? {},
    dags: e?.dags ?? [],
  });
  // The data restore itself is decided by the Deploy action (it reads the tables' load times); here the
  // tables it may restore, and every DAG in any repo that reads or writes them, are listed.
  const targets = current ? await swappedTables(deps.ledger, req.repo, req.env, current.executionId) : [];
  const facts = await dagFactsFor(
    req.repo,
    targets,
    deps.registry,
    `Rollback(λ) has no asset graph registry (${GRAPH_REGISTRY_ENV}); the rollback execution's Deploy action finds them, or skips the data restore if it cannot`,
  );
  const decision = planRollback(toState(currentExec, { version: fromVersion ?? '', executionId: current?.executionId ?? '' }), toState(targetExec, target), [], facts);
  const targetInfo = { toVersion: target.version, targetExecutionId: target.executionId };
  if (!decision.ok) {
    const ev = await record('refused', decision.message, targetInfo);
    return { ...withPipeline, ...targetInfo, status: 'refused', message: decision.message, fromVersion, hazards: [...(decision.hazards ?? [])], eventId: ev.eventId };
  }
  const plan: RollbackPlan = decision.plan;
  const crossRepo = plan.pauseDags.filter((d) => d.repo !== req.repo).length;
  const planText = `roll ${req.repo}/${req.env} back from ${fromVersion} to ${target.version} (execution ${target.executionId}); pause ${plan.pauseDags.length} DAGs (${crossRepo} of other repos), restore ${Object.keys(plan.putAssets).length} and remove ${plan.deleteAssets.length} assets; data decisions are made by the rollback execution's Deploy action`;
  if (req.dryRun) {
    const ev = await record('skipped', `dry run: ${planText}`, targetInfo);
    return { ...withPipeline, ...targetInfo, status: 'planned', message: `dry run: would ${planText}`, fromVersion, plan: { ...plan, deleteAssets: [...plan.deleteAssets], pauseDags: plan.pauseDags.map((d) => ({ ...d, reasons: [...d.reasons] })), dataRestores: [...plan.dataRestores], dataForPerson: [...plan.dataForPerson] }, eventId: ev.eventId };
  }

  // One rollback per deployed execution: a repeated alarm or a double-click finds the first one.
  const owner = `${req.requestedBy}@${now().toISOString()}`;
  const claimAction = `rollback:${req.env}`;
  const claimKey = current?.executionId ?? 'none';
  const claim = await deps.ledger.claim(claimKey, claimAction, owner);
  if (claim.status !== 'claimed') {
    const prior = claim.status === 'completed' ? RollbackResponseSchema.safeParse(JSON.parse(claim.outcome ?? 'null')) : null;
    const message =
      claim.status === 'completed'
        ? `a rollback of ${req.repo}/${req.env} from ${fromVersion} was already started${prior?.success ? ` (execution ${prior.data.rollbackExecutionId}, requested by a previous call)` : ''}; a rollback of a rollback is refused`
        : `a rollback of ${req.repo}/${req.env} is being started by ${claim.owner}; wait for it`;
    const ev = await record('refused', message, targetInfo);
    return { ...withPipeline, ...targetInfo, status: 'replayed', message, fromVersion, rollbackExecutionId: prior?.success ? prior.data.rollbackExecutionId : null, eventId: ev.eventId };
  }

  try {
    // The failed execution may still hold the repo/env lock if the Recorder missed its stage end.
    const lock = await deps.ledger.getLock(req.repo, req.env);
    if (lock && !executions.some((e) => e.executionId === lock.holder && (e.status === 'InProgress' || e.status === 'Stopping'))) {
      await deps.ledger.releaseLock(req.repo, req.env, lock.holder);
    }
    const calledAt = now().toISOString();
    const rollbackExecutionId = await rollbackStage(deps.codepipeline, pipeline, stage, target.executionId);
    await deps.ledger.putExecution({
      executionId: rollbackExecutionId,
      repo: req.repo,
      env: req.env,
      version: target.version,
      manifestSha256: targetExec?.manifestSha256 ?? null,
      isRollback: true,
      dags: targetExec?.dags ?? [],
      assets: targetExec?.assets ?? {},
    });
    const ev = await record('started', `RollbackStage called at ${calledAt}: ${planText}; rollback execution ${rollbackExecutionId}`, targetInfo);
    const response: RollbackResponse = {
      ...withPipeline,
      ...targetInfo,
      status: 'started',
      message: `rollback started: ${planText}; follow pipeline execution ${rollbackExecutionId}`,
      fromVersion,
      rollbackExecutionId,
      plan: { ...plan, deleteAssets: [...plan.deleteAssets], pauseDags: plan.pauseDags.map((d) => ({ ...d, reasons: [...d.reasons] })), dataRestores: [...plan.dataRestores], dataForPerson: [...plan.dataForPerson] },
      eventId: ev.eventId,
      calledAt,
    };
    await deps.ledger.settleClaim(claimKey, claimAction, owner, 'completed', response);
    if (deps.cloudwatch) {
      const secondsToStart = Math.max(0, (Date.parse(calledAt) - receivedAt.getTime()) / 1000);
      await putDataOpsMetrics(deps.cloudwatch, metricDataFor({ kind: 'rollback-started', repo: req.repo, env: req.env, secondsToStart, at: new Date(calledAt) })).catch((e: Error) =>
        deps.log.error('rollback metrics not published', { error: e.message }),
      );
    }
    deps.log.info('rollback started', { repo: req.repo, env: req.env, rollbackExecutionId, target: target.executionId });
    return response;
  } catch (e) {
    await deps.ledger.settleClaim(claimKey, claimAction, owner, 'failed', { message: (e as Error).message });
    await record('refused', `RollbackStage failed: ${(e as Error).message}`, targetInfo);
    throw new RollbackError(`rollback of ${req.repo}/${req.env} to ${target.version} failed when calling CodePipeline: ${(e as Error).message}; check the pipeline '${pipeline}' in the console and retry`, { cause: e });
  }
}

/** Raised when CodePipeline or the ledger fails during a rollback that the rules allowed. */
export class RollbackError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RollbackError';
  }
}
