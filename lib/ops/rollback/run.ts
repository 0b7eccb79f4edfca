import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { listPipelineExecutions } from '../../runtime/aws/codepipeline';
import type { Ledger } from '../../runtime/ledger/ledger';
import { RollbackResponseSchema, type RollbackRequest, type RollbackResponse } from '../../runtime/rollback/rollback';

/** The rollback could not be started or did not finish well; the message names the cause. */
export class RollbackCommandError extends Error {
  constructor(
    message: string,
    readonly response: RollbackResponse | null = null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RollbackCommandError';
  }
}

/** Calls Rollback(λ) with a request and returns its answer. */
export type RollbackInvoker = (request: RollbackRequest) => Promise<RollbackResponse>;

/** Invokes the Rollback function synchronously with the caller's credentials (lambda:InvokeFunction). */
export function lambdaRollbackInvoker(lambda: LambdaClient, functionName: string): RollbackInvoker {
  return async (request) => {
    let out;
    try {
      out = await lambda.send(new InvokeCommand({ FunctionName: functionName, InvocationType: 'RequestResponse', Payload: new TextEncoder().encode(JSON.stringify(request)) }));
    } catch (e) {
      throw new RollbackCommandError(`cannot invoke the Rollback function ${functionName}: ${(e as Error).message}; check that you may call lambda:InvokeFunction on it with your current AWS credentials`, null, { cause: e });
    }
    const text = out.Payload ? new TextDecoder().decode(out.Payload) : '';
    if (out.FunctionError) {
      let detail = text;
      try {
        const err = JSON.parse(text) as { errorMessage?: string; errorType?: string };
        detail = `${err.errorType ?? 'Error'}: ${err.errorMessage ?? text}`;
      } catch {
        // keep the raw text
      }
      throw new RollbackCommandError(`the Rollback function ${functionName} failed: ${detail}`);
    }
    const parsed = RollbackResponseSchema.safeParse(JSON.parse(text || 'null'));
    if (!parsed.success) {
      throw new RollbackCommandError(`the Rollback function ${functionName} answered something that is not a rollback response (${parsed.error.issues[0]?.message}); is it the same version as this CLI?`);
    }
    return parsed.data;
  };
}

/** What `dataops rollback` did. */
export interface RollbackOutcome {
  readonly response: RollbackResponse;
  /** Milliseconds from the command's start to Rollback(λ) answering that RollbackStage was called. */
  readonly initiationMs: number | null;
  /** The rollback execution as CodePipeline last reported it; null for a dry run or --no-wait. */
  readonly execution: { readonly id: string; readonly status: string; readonly seenAt: string } | null;
}

/** What running a rollback needs. */
export interface RollbackRun {
  readonly invoke: RollbackInvoker;
  readonly codepipeline: CodePipelineClient;
  readonly ledger: Ledger;
  readonly pipeline: string;
  readonly progress: (text: string) => void;
  readonly wait: boolean;
  readonly pollMs: number;
  readonly timeoutMs: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const DONE = new Set(['Succeeded', 'Failed', 'Stopped', 'Cancelled', 'Superseded']);

/**
 * Asks Rollback(λ) to roll back, then follows the rollback execution in CodePipeline until it ends.
 * @throws RollbackCommandError when the rollback is refused (the response's message names why), when
 * CodePipeline refused to start it (with the lock holder, if a deployment holds the lock), or when the
 * rollback execution fails or does not end in time
 */
export async function runRollback(request: RollbackRequest, run: RollbackRun): Promise<RollbackOutcome> {
  const started = Date.now();
  const sleep = run.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  run.progress(`${request.dryRun ? 'planning' : 'requesting'} the rollback of ${request.repo}/${request.env}`);
  let response: RollbackResponse;
  try {
    response = await run.invoke(request);
  } catch (e) {
    const lock = await run.ledger.getLock(request.repo, request.env).catch(() => null);
    const held = lock ? `; the ${request.env} lock of ${request.repo} is held by execution ${lock.holder} since ${lock.acquiredAt} (a deployment in progress), wait for it to end or stop it` : '';
    throw new RollbackCommandError(`${(e as Error).message}${held}`, null, { cause: e });
  }
  if (response.status === 'planned') return { response, initiationMs: null, execution: null };
  if (response.status !== 'started') throw new RollbackCommandError(response.message, response);
  const initiationMs = Date.now() - started;
  const id = response.rollbackExecutionId;
  if (!id) throw new RollbackCommandError('the Rollback function reported a started rollback without its execution id', response);
  run.progress(`RollbackStage called after ${(initiationMs / 1000).toFixed(1)} s; rollback execution ${id} of ${run.pipeline} started`);
  if (!run.wait) return { response, initiationMs, execution: { id, status: 'InProgress', seenAt: new Date().toISOString() } };

  let status = 'unknown';
  for (;;) {
    const summary = (await listPipelineExecutions(run.codepipeline, run.pipeline, 50)).find((e) => e.pipelineExecutionId === id);
    const now = summary?.status ?? 'not listed yet';
    if (now !== status) {
      status = now;
      run.progress(`rollback execution ${id}: ${status}`);
    }
    if (DONE.has(status)) break;
    if (Date.now() - started > run.timeoutMs) {
      throw new RollbackCommandError(
        `rollback execution ${id} is still ${status} after ${Math.round(run.timeoutMs / 1000)} s; it keeps running, follow it with dataops status --repo ${request.repo} --env ${request.env} or in the CodePipeline console`,
        response,
      );
    }
    await sleep(run.pollMs);
  }
  const execution = { id, status, seenAt: new Date().toISOString() };
  if (status !== 'Succeeded') {
    throw new RollbackCommandError(`rollback execution ${id} of ${run.pipeline} ended ${status}; ${request.repo}/${request.env} may still run ${response.fromVersion}; see the execution in the CodePipeline console`, response);
  }
  return { response, initiationMs, execution };
}

/** The plan and outcome as the text `dataops rollback` prints. */
export function renderRollback(o: RollbackOutcome): string {
  const r = o.response;
  const lines: string[] = [];
  const dry = r.status === 'planned';
  lines.push(dry ? `Dry run: nothing was changed. Rolling back ${r.repo}/${r.env} would:` : `Rolled back ${r.repo}/${r.env}:`);
  lines.push(`  release going back: ${r.fromVersion ?? 'unknown'} → ${r.toVersion} (target execution ${r.targetExecutionId})`);
  const plan = r.plan;
  if (plan) {
    lines.push(`  DAGs to pause first: ${plan.pauseDags.length ? `${plan.pauseDags.length} (each put back to its prior paused state after the data restore)` : 'none'}`);
    for (const d of plan.pauseDags) lines.push(`    ${d.repo}/${d.dagId}: ${d.reasons.join('; ')}`);
    if (plan.pauseNote) lines.push(`    ${plan.pauseNote}`);
    lines.push(`  assets: restore ${Object.keys(plan.putAssets).length}, remove ${plan.deleteAssets.length}`);
    for (const [file] of Object.entries(plan.putAssets).slice(0, 10)) lines.push(`    restore ${file}`);
    for (const file of plan.deleteAssets.slice(0, 10)) lines.push(`    remove ${file}`);
    lines.push(`  data actions: ${plan.dataRestores.length ? '' : 'none'}`);
    for (const d of plan.dataRestores) lines.push(`    ${d.method} ${d.name} to ${d.toTimestamp}`);
    lines.push(`  needs a person: ${plan.dataForPerson.length ? '' : 'nothing'}`);
    for (const d of plan.dataForPerson) lines.push(`    ${d.name}: ${d.reason} (watermark ${d.watermarkAt ?? 'unknown'}, last load ${d.lastLoadAt ?? 'unknown'})`);
  }
  if (r.hazards.length) for (const hz of r.hazards) lines.push(`  catch-up hazard: ${hz.dagId}: ${hz.change}`);
  if (!dry) {
    if (o.initiationMs !== null) lines.push(`  RollbackStage called ${(o.initiationMs / 1000).toFixed(1)} s after the command started`);
    if (o.execution) lines.push(`  rollback execution ${o.execution.id}: ${o.execution.status}`);
    lines.push('  the rollback execution re-deploys the earlier release with the idempotent deployers (dbt data decisions are in its Deploy log and the ledger)');
  }
  lines.push(`  ledger record: ${r.eventId ?? 'none'}`);
  return `${lines.join('\n')}\n`;
}
