import { z } from 'zod';
import type { MetricObservation } from '../../ops/metrics';
import { envOfStage, type LedgerEvent, type PipelineStateEvent } from '../ledger/model';
import type { EnvironmentName } from '../../config/schema';

const common = {
  version: z.string(),
  id: z.string().min(1),
  source: z.literal('aws.codepipeline'),
  account: z.string(),
  time: z.iso.datetime(),
  region: z.string(),
  resources: z.array(z.string()),
};

/** "CodePipeline Pipeline Execution State Change" (types from aws-lambda, narrowed here). */
export const PipelineEventSchema = z.object({
  ...common,
  'detail-type': z.literal('CodePipeline Pipeline Execution State Change'),
  detail: z.object({ pipeline: z.string().min(1), 'execution-id': z.string().min(1), state: z.string().min(1) }).loose(),
});

/** "CodePipeline Stage Execution State Change". */
export const StageEventSchema = z.object({
  ...common,
  'detail-type': z.literal('CodePipeline Stage Execution State Change'),
  detail: z.object({ pipeline: z.string().min(1), 'execution-id': z.string().min(1), stage: z.string().min(1), state: z.string().min(1) }).loose(),
});

/** "CodePipeline Action Execution State Change". */
export const ActionEventSchema = z.object({
  ...common,
  'detail-type': z.literal('CodePipeline Action Execution State Change'),
  detail: z
    .object({
      pipeline: z.string().min(1),
      'execution-id': z.string().min(1),
      stage: z.string().min(1),
      action: z.string().min(1),
      state: z.string().min(1),
      type: z.object({ category: z.string(), provider: z.string() }).loose().optional(),
    })
    .loose(),
});

/** Any CodePipeline state-change event the Recorder handles. */
export const RecorderEventSchema = z.discriminatedUnion('detail-type', [PipelineEventSchema, StageEventSchema, ActionEventSchema]);
export type RecorderEvent = z.output<typeof RecorderEventSchema>;

/** Terminal stage states. */
const STAGE_DONE = new Set(['SUCCEEDED', 'FAILED', 'CANCELED', 'STOPPED']);

/** What the Recorder does for one event. Pure: `planRecording` decides, the service carries it out. */
export interface RecordingPlan {
  readonly repo: string;
  /** The env of a stage/action, `pipeline` for pipeline-level events. */
  readonly scope: EnvironmentName | 'pipeline';
  readonly kind: 'pipeline-state' | 'stage-state' | 'action-state';
  readonly executionId: string;
  readonly pipeline: string;
  readonly stage: string | null;
  readonly action: string | null;
  readonly state: string;
  /** The stage deployed successfully: record the success and move the env's CURRENT pointer. */
  readonly recordSuccess: boolean;
  /** The stage ended badly: mark the release failed in the env. */
  readonly markFailed: boolean;
  /** The stage ended: release the repo/env lock if this execution holds it. */
  readonly releaseLock: boolean;
  /** The stage ended: write an evidence object and publish a completion event. */
  readonly evidence: boolean;
}

/** Decides what to record for an event; null when it is not about an environment stage of a known pipeline. */
export function planRecording(event: RecorderEvent, repoOfPipeline: (pipeline: string) => string | undefined): RecordingPlan | null {
  const d = event.detail;
  const repo = repoOfPipeline(d.pipeline);
  if (!repo) return null;
  const state = d.state.toUpperCase();
  const base = { repo, executionId: d['execution-id'], pipeline: d.pipeline, state, recordSuccess: false, markFailed: false, releaseLock: false, evidence: false };
  switch (event['detail-type']) {
    case 'CodePipeline Pipeline Execution State Change':
      return { ...base, scope: 'pipeline', kind: 'pipeline-state', stage: null, action: null };
    case 'CodePipeline Stage Execution State Change': {
      const env = envOfStage(event.detail.stage);
      if (!env) return { ...base, scope: 'pipeline', kind: 'stage-state', stage: event.detail.stage, action: null };
      const done = STAGE_DONE.has(state);
      return {
        ...base,
        scope: env,
        kind: 'stage-state',
        stage: event.detail.stage,
        action: null,
        recordSuccess: state === 'SUCCEEDED',
        markFailed: state === 'FAILED',
        releaseLock: done,
        evidence: done,
      };
    }
    case 'CodePipeline Action Execution State Change': {
      const env = envOfStage(event.detail.stage);
      return { ...base, scope: env ?? 'pipeline', kind: 'action-state', stage: event.detail.stage, action: event.detail.action };
    }
  }
}

/** The audit bucket key of an evidence object: by repo, env and day, one per execution and outcome. */
export function evidenceKey(repo: string, env: string, executionId: string, state: string, at: string): string {
  return `evidence/${repo}/${env}/${at.slice(0, 4)}/${at.slice(5, 7)}/${at.slice(8, 10)}/${executionId}-${state.toLowerCase()}.json`;
}

/**
 * The platform metrics an event gives (lib/ops/metrics.ts): pipeline outcomes, stage durations,
 * promotion time (approval → Verify succeeded), prod deployments and time to restore. Pure: `history`
 * is the env's recent ledger events (this event excluded), oldest first.
 */
export function observationsFor(plan: RecordingPlan, at: Date, history: readonly LedgerEvent[], wasRollback: boolean): MetricObservation[] {
  const out: MetricObservation[] = [];
  const seconds = (from: string) => Math.max(0, (at.getTime() - Date.parse(from)) / 1000);
  const ofExecution = history.filter((e): e is PipelineStateEvent => (e.kind === 'stage-state' || e.kind === 'action-state') && e.executionId === plan.executionId);
  if (plan.kind === 'pipeline-state' && (plan.state === 'SUCCEEDED' || plan.state === 'FAILED')) {
    out.push({ kind: 'pipeline-finished', repo: plan.repo, succeeded: plan.state === 'SUCCEEDED', at });
  }
  if (plan.kind === 'stage-state' && plan.scope !== 'pipeline' && (plan.state === 'SUCCEEDED' || plan.state === 'FAILED')) {
    const started = ofExecution.find((e) => e.kind === 'stage-state' && e.stage === plan.stage && e.state === 'STARTED');
    if (started) out.push({ kind: 'stage-finished', repo: plan.repo, env: plan.scope, seconds: seconds(started.at), at });
    if (plan.scope === 'prod') {
      // Lead time: the release's commit time, as `dataops deploy` recorded it on this execution's deployment.
      const deployed = history.find((e) => e.kind === 'deployment' && e.executionId === plan.executionId && e.result === 'succeeded');
      const commitAt = deployed?.kind === 'deployment' ? deployed.commitAt : null;
      const leadTimeSeconds = plan.state === 'SUCCEEDED' && commitAt ? seconds(commitAt) : null;
      out.push({ kind: 'prod-deployment', repo: plan.repo, failed: plan.state === 'FAILED', leadTimeSeconds, at });
      if (plan.state === 'SUCCEEDED' && wasRollback) {
        const failure = [...history].reverse().find((e) => e.kind === 'stage-state' && e.state === 'FAILED');
        if (failure) out.push({ kind: 'prod-restored', repo: plan.repo, seconds: seconds(failure.at), at });
      }
    }
  }
  if (plan.kind === 'action-state' && plan.scope !== 'pipeline' && plan.action === 'Verify' && plan.state === 'SUCCEEDED') {
    const approved = ofExecution.find((e) => e.kind === 'action-state' && e.action === 'Approve' && e.state === 'SUCCEEDED');
    if (approved) out.push({ kind: 'promotion-finished', repo: plan.repo, env: plan.scope, seconds: seconds(approved.at), at });
  }
  return out;
}
