import { randomUUID } from 'crypto';
import type { Ledger } from '../ledger/ledger';
import type { DeployStepEvent } from '../ledger/model';
import type { ApplyResult, DeployContext, Deployer } from './contract';
import { DeployError } from './errors';

/** Who runs a step, for which pipeline execution. */
export interface StepDeps {
  readonly ledger: Ledger;
  /** CodePipeline execution id; a retried action of the same execution does nothing twice. */
  readonly executionId: string;
  /** IAM principal or person, as recorded in the ledger. */
  readonly actor: string;
}

/** What a step did. `replayed`: an earlier attempt of the same execution had completed it. */
export interface StepResult<Previous> {
  readonly writes: number;
  readonly summary: string;
  readonly previous: Previous | null;
  readonly replayed: boolean;
  readonly forPerson: readonly string[];
}

type AnyDeployer = Deployer<unknown, unknown, unknown>;

/**
 * The idempotency action name of a deployer's step. It names the environment because one pipeline
 * execution deploys the same release to dev, staging and prod.
 */
export function stepAction(kind: string, step: 'apply' | 'restore', env: string): string {
  return `${step === 'apply' ? 'deploy' : 'restore'}:${env}:${kind}`;
}

async function stepEvents(ledger: Ledger, ctx: DeployContext, executionId: string, kind: string, step: 'apply' | 'restore'): Promise<DeployStepEvent[]> {
  const events = await ledger.eventsFor(ctx.repo, ctx.env, { executionId });
  return events.filter((e): e is DeployStepEvent => e.kind === 'deploy-step' && e.assetKind === kind && e.step === step);
}

/**
 * The previous state an apply of `kind` in execution `executionId` recorded: from its `succeeded`
 * event, or else from the `started` event written before it applied. Null when none was recorded.
 */
export async function recordedPrevious(ledger: Ledger, ctx: DeployContext, executionId: string, kind: string): Promise<unknown> {
  const events = await stepEvents(ledger, ctx, executionId, kind, 'apply');
  const done = events.filter((e) => e.result === 'succeeded').at(-1) ?? events.filter((e) => e.result === 'started').at(0);
  return done ? done.previous : null;
}

async function claimOrReplay(deps: StepDeps, action: string, owner: string): Promise<{ replay: StepResult<never> | null; takeover: boolean }> {
  const claim = await deps.ledger.claim(deps.executionId, action, owner);
  if (claim.status === 'completed') {
    const outcome = claim.outcome ? (JSON.parse(claim.outcome) as { summary?: string }) : {};
    return { replay: { writes: 0, summary: `already done by an earlier attempt of execution ${deps.executionId}: ${outcome.summary ?? ''}`.trim(), previous: null, replayed: true, forPerson: [] }, takeover: false };
  }
  if (claim.status === 'in-progress') {
    throw new DeployError(`${action} of execution ${deps.executionId} is in progress in another attempt (${claim.owner}) until ${new Date(claim.expiresAt * 1000).toISOString()}; wait for it, or retry after that time`);
  }
  return { replay: null, takeover: claim.takeover };
}

/**
 * Runs one deployer for one release in one environment with the ledger's guarantees:
 * an idempotency claim per (execution, `deploy:<env>:<kind>`), so a retried CodePipeline job that already
 * completed does nothing; the previous state recorded in a `started` event before anything changes
 * (so a crash between apply and its record loses nothing: the retry takes the claim over and keeps
 * the first record); then apply and a `succeeded` (or `failed`) event with the writes.
 * The caller holds the per-repo, per-environment lock.
 */
export async function runDeployStep<S, P, Prev>(deployer: Deployer<S, P, Prev>, ctx: DeployContext, deps: StepDeps): Promise<StepResult<Prev>> {
  const action = stepAction(deployer.kind, 'apply', ctx.env);
  const owner = `${deps.executionId}/${randomUUID()}`;
  const { replay, takeover } = await claimOrReplay(deps, action, owner);
  if (replay) return replay;
  const base = { kind: 'deploy-step' as const, repo: ctx.repo, env: ctx.env, actor: deps.actor, version: ctx.release.version, executionId: deps.executionId, assetKind: deployer.kind, step: 'apply' as const };
  try {
    const current = await deployer.readCurrent(ctx);
    const plan = deployer.plan(current, ctx);
    const earlier = takeover ? ((await recordedPrevious(deps.ledger, ctx, deps.executionId, deployer.kind)) as Prev | null) : null;
    if (earlier === null) {
      const previous = (deployer as AnyDeployer).previousOf?.(current, plan, ctx) ?? null;
      await deps.ledger.appendEvent({ ...base, result: 'started', writes: 0, previous, summary: 'previous state recorded before apply', message: `${deployer.kind} deploy of ${ctx.release.version} started` });
    }
    const result: ApplyResult<Prev> = await deployer.apply(plan, ctx);
    // After a takeover the state before this attempt is already the release's; keep the first record.
    const previous = earlier ?? result.previous;
    await deps.ledger.appendEvent({ ...base, result: 'succeeded', writes: result.writes, previous, summary: result.summary, message: result.summary });
    await deps.ledger.settleClaim(deps.executionId, action, owner, 'completed', { writes: result.writes, summary: result.summary });
    return { writes: result.writes, summary: result.summary, previous, replayed: false, forPerson: result.forPerson ?? [] };
  } catch (e) {
    await deps.ledger.appendEvent({ ...base, result: 'failed', writes: 0, previous: null, summary: (e as Error).message, message: (e as Error).message }).catch(() => undefined);
    await deps.ledger.settleClaim(deps.executionId, action, owner, 'failed', { error: (e as Error).message }).catch(() => undefined);
    throw e;
  }
}

/**
 * Restores what an earlier apply recorded as previous, with the same claim and events
 * (`restore:<env>:<kind>` under the rollback's execution id).
 */
export async function runRestoreStep<S, P, Prev>(deployer: Deployer<S, P, Prev>, previous: Prev, ctx: DeployContext, deps: StepDeps): Promise<StepResult<Prev>> {
  const action = stepAction(deployer.kind, 'restore', ctx.env);
  const owner = `${deps.executionId}/${randomUUID()}`;
  const { replay } = await claimOrReplay(deps, action, owner);
  if (replay) return replay;
  const base = { kind: 'deploy-step' as const, repo: ctx.repo, env: ctx.env, actor: deps.actor, version: ctx.release.version, executionId: deps.executionId, assetKind: deployer.kind, step: 'restore' as const };
  try {
    const result = await deployer.restore(previous, ctx);
    await deps.ledger.appendEvent({ ...base, result: 'succeeded', writes: result.writes, previous: result.previous, summary: result.summary, message: result.summary });
    await deps.ledger.settleClaim(deps.executionId, action, owner, 'completed', { writes: result.writes, summary: result.summary });
    return { writes: result.writes, summary: result.summary, previous: result.previous, replayed: false, forPerson: result.forPerson ?? [] };
  } catch (e) {
    await deps.ledger.appendEvent({ ...base, result: 'failed', writes: 0, previous: null, summary: (e as Error).message, message: (e as Error).message }).catch(() => undefined);
    await deps.ledger.settleClaim(deps.executionId, action, owner, 'failed', { error: (e as Error).message }).catch(() => undefined);
    throw e;
  }
}
