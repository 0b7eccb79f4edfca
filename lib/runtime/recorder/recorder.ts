import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { S3Client } from '@aws-sdk/client-s3';
import { putDataOpsMetrics } from '../aws/cloudwatch';
import { approvalDecision, listPipelineExecutions, type ApprovalDecision } from '../aws/codepipeline';
import { metricDataFor } from '../../ops/metrics';
import { putEvent } from '../aws/eventbridge';
import type { RuntimeLog } from '../aws/handler-env';
import { putLockedObject } from '../aws/s3';
import type { Ledger } from '../ledger/ledger';
import { evidenceKey, observationsFor, planRecording, RecorderEventSchema, type RecorderEvent, type RecordingPlan } from './logic';

/** Source of the events the platform publishes. */
export const DATAOPS_EVENT_SOURCE = 'dataops.ledger';
/** Detail type of the event published when an environment stage ends. */
export const DEPLOYMENT_COMPLETED = 'DataOps Deployment Completed';

/** Version of the evidence object format (docs/ledger.md). */
export const EVIDENCE_SCHEMA_VERSION = 1;

/** Raised when the Recorder gets an event it cannot read; the function's DLQ keeps it. */
export class RecorderInputError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RecorderInputError';
  }
}

/** What the Recorder needs from the outside world. */
export interface RecorderDeps {
  readonly codepipeline: CodePipelineClient;
  readonly s3: S3Client;
  readonly eventbridge: EventBridgeClient;
  readonly ledger: Ledger;
  /** Repo name → pipeline name. */
  readonly pipelines: Readonly<Record<string, string>>;
  readonly auditBucket: string;
  readonly eventBusName: string;
  /** Days to lock evidence; undefined = the bucket's default retention. */
  readonly retentionDays?: number;
  /** Publishes the platform metrics (lib/ops/metrics.ts) when given. @default - no metrics */
  readonly cloudwatch?: CloudWatchClient;
  readonly log: RuntimeLog;
}

/** What the Recorder did, for the log and tests. */
export interface RecorderOutcome {
  readonly plan: RecordingPlan | null;
  readonly eventId: string | null;
  readonly evidenceKey: string | null;
  readonly publishedEventId: string | null;
  /** Names of the metrics published. */
  readonly metrics: readonly string[];
}

async function isRollbackExecution(deps: RecorderDeps, pipeline: string, executionId: string): Promise<boolean> {
  const list = await listPipelineExecutions(deps.codepipeline, pipeline, 50);
  return list.some((e) => e.pipelineExecutionId === executionId && e.executionType === 'ROLLBACK');
}

/** A manual approval action that was decided (approved = SUCCEEDED, rejected = FAILED). */
function isManualApprovalEnd(event: RecorderEvent): boolean {
  if (event['detail-type'] !== 'CodePipeline Action Execution State Change') return false;
  const state = event.detail.state.toUpperCase();
  if (state !== 'SUCCEEDED' && state !== 'FAILED') return false;
  const type = event.detail.type;
  return type ? type.category === 'Approval' : /approv/i.test(event.detail.action);
}

/**
 * Who decided the approval, from ListActionExecutions. A failed lookup is logged and the event is
 * recorded without the approver (audit export then completes it from CodePipeline's history).
 */
async function approvalOf(deps: RecorderDeps, plan: RecordingPlan): Promise<ApprovalDecision | null> {
  try {
    return await approvalDecision(deps.codepipeline, plan.pipeline, plan.executionId, plan.stage ?? '', plan.action ?? '');
  } catch (e) {
    deps.log.error('cannot read the approver from ListActionExecutions; recorded without it (grant codepipeline:ListActionExecutions to the Recorder)', {
      pipeline: plan.pipeline,
      executionId: plan.executionId,
      error: (e as Error).message,
    });
    return null;
  }
}

/**
 * The Recorder: turns a CodePipeline state-change event into ledger records; when an environment
 * stage ends it moves the env's CURRENT pointer (on success), releases the repo/env lock, writes an
 * evidence object to the Object Lock audit bucket and publishes an event on the bus. Safe to run
 * twice for one event (EventBridge delivers at least once).
 */
export async function record(raw: unknown, deps: RecorderDeps): Promise<RecorderOutcome> {
  const parsed = RecorderEventSchema.safeParse(raw);
  if (!parsed.success) {
    throw new RecorderInputError(
      `the Recorder got an event that is not a CodePipeline state change: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}; check the EventBridge rule's pattern`,
    );
  }
  const event = parsed.data;
  const repoOf = new Map(Object.entries(deps.pipelines).map(([repo, pipeline]) => [pipeline, repo]));
  const plan = planRecording(event, (p) => repoOf.get(p));
  if (!plan) {
    deps.log.info('event is not about a platform pipeline; ignored', { pipeline: event.detail.pipeline });
    return { plan: null, eventId: null, evidenceKey: null, publishedEventId: null, metrics: [] };
  }
  const env = plan.scope === 'pipeline' ? null : plan.scope;
  const exec = env ? await deps.ledger.getExecution(plan.executionId, env) : null;
  const what = [plan.stage, plan.action].filter(Boolean).join('/');
  const at = new Date(event.time);
  const approval = isManualApprovalEnd(event) ? await approvalOf(deps, plan) : null;
  const history = deps.cloudwatch ? await deps.ledger.eventsFor(plan.repo, plan.scope, { from: new Date(at.getTime() - 7 * 86_400_000).toISOString() }) : [];
  const ev = await deps.ledger.appendEvent({
    kind: plan.kind,
    eventId: event.id,
    at: at.toISOString(),
    repo: plan.repo,
    env: plan.scope,
    actor: approval?.approver ?? 'codepipeline',
    version: exec?.version ?? null,
    executionId: plan.executionId,
    result: plan.state === 'SUCCEEDED' ? 'succeeded' : plan.state === 'FAILED' ? 'failed' : plan.state === 'STARTED' ? 'started' : 'skipped',
    message: approval?.approver
      ? `${plan.pipeline} ${what} ${plan.state === 'SUCCEEDED' ? 'approved' : 'rejected'} by ${approval.approver}${approval.summary ? `: ${approval.summary}` : ''} (execution ${plan.executionId})`
      : `${plan.pipeline}${what ? ` ${what}` : ''} ${plan.state.toLowerCase()} (execution ${plan.executionId})`,
    pipeline: plan.pipeline,
    stage: plan.stage,
    action: plan.action,
    state: plan.state,
    ...(approval ? { summary: approval.summary } : {}),
  });
  const publish = async (wasRollback: boolean): Promise<string[]> => {
    if (!deps.cloudwatch) return [];
    const data = observationsFor(plan, at, history.filter((e) => e.eventId !== ev.eventId), wasRollback).flatMap(metricDataFor);
    if (data.length > 0) await putDataOpsMetrics(deps.cloudwatch, data);
    return [...new Set(data.map((d) => d.MetricName))];
  };
  if (!env) return { plan, eventId: ev.eventId, evidenceKey: null, publishedEventId: null, metrics: await publish(false) };

  if ((plan.recordSuccess || plan.markFailed) && !exec) {
    deps.log.error('stage ended but no promotion of this execution is in the ledger; CURRENT not moved', { repo: plan.repo, env, executionId: plan.executionId });
  }
  let wasRollback = exec?.isRollback ?? false;
  if (plan.recordSuccess && exec) {
    wasRollback = wasRollback || (await isRollbackExecution(deps, plan.pipeline, plan.executionId));
    await deps.ledger.recordSuccess({
      repo: plan.repo,
      env,
      version: exec.version,
      executionId: plan.executionId,
      manifestSha256: exec.manifestSha256,
      wasRollback,
      at: ev.at,
    });
    await deps.ledger.putReleaseStatus({ repo: plan.repo, env, version: exec.version, status: 'succeeded', manifestSha256: exec.manifestSha256, executionId: plan.executionId });
  }
  if (plan.markFailed && exec) {
    await deps.ledger.putReleaseStatus({ repo: plan.repo, env, version: exec.version, status: 'failed', manifestSha256: exec.manifestSha256, executionId: plan.executionId });
  }
  if (plan.releaseLock) await deps.ledger.releaseLock(plan.repo, env, plan.executionId);
  const metrics = await publish(wasRollback);
  if (!plan.evidence) return { plan, eventId: ev.eventId, evidenceKey: null, publishedEventId: null, metrics };

  const events = await deps.ledger.eventsFor(plan.repo, env, { executionId: plan.executionId });
  const key = evidenceKey(plan.repo, env, plan.executionId, plan.state, ev.at);
  const evidence = {
    schemaVersion: EVIDENCE_SCHEMA_VERSION,
    repo: plan.repo,
    env,
    pipeline: plan.pipeline,
    stage: plan.stage,
    executionId: plan.executionId,
    state: plan.state,
    at: ev.at,
    release: exec ? { version: exec.version, manifestSha256: exec.manifestSha256, isRollback: exec.isRollback, assets: exec.assets } : null,
    events,
  };
  const body = `${JSON.stringify(evidence, null, 2)}\n`;
  if (deps.retentionDays !== undefined) await putLockedObject(deps.s3, deps.auditBucket, key, body, { retentionDays: deps.retentionDays });
  else await putLockedObject(deps.s3, deps.auditBucket, key, body, { retentionDays: 0, useBucketDefault: true });
  const publishedEventId = await putEvent(deps.eventbridge, {
    busName: deps.eventBusName,
    source: DATAOPS_EVENT_SOURCE,
    detailType: DEPLOYMENT_COMPLETED,
    detail: { repo: plan.repo, env, pipeline: plan.pipeline, executionId: plan.executionId, state: plan.state, version: exec?.version ?? null, evidence: `s3://${deps.auditBucket}/${key}` },
  });
  deps.log.info('stage end recorded', { repo: plan.repo, env, state: plan.state, evidence: key });
  return { plan, eventId: ev.eventId, evidenceKey: key, publishedEventId, metrics };
}
