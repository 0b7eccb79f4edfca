import type { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import type { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { ENVIRONMENT_NAMES, type EnvironmentName } from '../../config/schema';
import { approvalDecision, getJobContext, getPipelineExecution, putJobFailure, putJobSuccess } from '../aws/codepipeline';
import type { RuntimeLog } from '../aws/handler-env';
import { getObjectBytes } from '../aws/s3';
import type { Ledger } from '../ledger/ledger';
import { unzipArtifact } from '../release/artifact';
import { checkRelease, type ReleaseCheck } from '../release/checksums';
import { STAGE_NAME_BY_ENV } from '../ledger/model';
import { APPROVAL_ACTION_NAME } from '../orchestrator/approval-gate';
import { decidePromotion, previousEnvironment, type ApprovalFacts, type LockOutcome, type PromotionDecision } from './logic';
import { SEPARATED_ENVIRONMENTS } from './separation-of-duties';

/** The CodePipeline Lambda invoke event, narrowed to what Promote reads. */
export const PromoteEventSchema = z.object({
  'CodePipeline.job': z.object({
    id: z.string().min(1),
    accountId: z.string(),
    data: z.object({
      actionConfiguration: z.object({ configuration: z.object({ UserParameters: z.string().optional() }).loose() }),
      inputArtifacts: z.array(
        z.object({ name: z.string(), location: z.object({ type: z.literal('S3'), s3Location: z.object({ bucketName: z.string(), objectKey: z.string() }) }) }),
      ),
    }),
  }),
});
export type PromoteEvent = z.output<typeof PromoteEventSchema>;

/** The action's UserParameters (JSON): which repo and env this Promote action gates. */
export const PromoteUserParametersSchema = z.strictObject({
  repo: z.string().min(1),
  env: z.enum(ENVIRONMENT_NAMES),
});
export type PromoteUserParameters = z.output<typeof PromoteUserParametersSchema>;

/** What Promote needs from the outside world. */
export interface PromoteDeps {
  readonly codepipeline: CodePipelineClient;
  readonly s3: S3Client;
  readonly ledger: Ledger;
  readonly log: RuntimeLog;
}

/** What Promote reported, for the log and for tests. */
export interface PromoteOutcome {
  readonly jobId: string;
  readonly reported: 'success' | 'failure';
  readonly message: string;
  /** True when the execution had already been promoted and this retry did nothing again. */
  readonly replayed: boolean;
}

/** Raised for a malformed invoke event or UserParameters; reported to CodePipeline as a failure. */
export class PromoteInputError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PromoteInputError';
  }
}

function parseUserParameters(raw: string | undefined): PromoteUserParameters {
  let json: unknown;
  try {
    json = JSON.parse(raw ?? '');
  } catch (e) {
    throw new PromoteInputError(`UserParameters '${raw ?? ''}' is not JSON; set the Promote action's UserParameters to {"repo":"<repo>","env":"dev|staging|prod"}`, { cause: e });
  }
  const r = PromoteUserParametersSchema.safeParse(json);
  if (!r.success) {
    throw new PromoteInputError(
      `UserParameters ${raw}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`).join('; ')}; expected {"repo":"<repo>","env":"dev|staging|prod"}`,
      { cause: r.error },
    );
  }
  return r.data;
}

async function readRelease(deps: PromoteDeps, event: PromoteEvent): Promise<ReleaseCheck> {
  const artifacts = event['CodePipeline.job'].data.inputArtifacts;
  if (artifacts.length === 0) {
    return { ok: false, manifest: null, manifestSha256: null, problems: ['the Promote action has no input artifact; give it the Package stage output artifact'] };
  }
  const loc = artifacts[0].location.s3Location;
  const zip = await getObjectBytes(deps.s3, loc.bucketName, loc.objectKey);
  return checkRelease(unzipArtifact(zip, `input artifact ${artifacts[0].name} (s3://${loc.bucketName}/${loc.objectKey})`));
}

/**
 * The approval of the stage, which runs before Promote (`<Stage>/Approve`, runOrder 1): who approved
 * this execution (ListActionExecutions, the latest decision), else whether it is a stage rollback
 * (GetPipelineExecution), which skips the approval.
 */
async function readApproval(deps: PromoteDeps, pipelineName: string, executionId: string, env: EnvironmentName): Promise<ApprovalFacts> {
  const stageName = STAGE_NAME_BY_ENV[env];
  const approval = `${stageName}/${APPROVAL_ACTION_NAME}`;
  const own = await approvalDecision(deps.codepipeline, pipelineName, executionId, stageName, APPROVAL_ACTION_NAME);
  if (own?.status === 'Succeeded') return { state: 'approved', approval, approver: own.approver };
  const execution = await getPipelineExecution(deps.codepipeline, pipelineName, executionId);
  if (execution.executionType === 'ROLLBACK' && execution.rollbackTargetExecutionId) {
    return { state: 'rollback', approval, targetExecutionId: execution.rollbackTargetExecutionId };
  }
  return { state: 'not-approved', approval, detail: own ? (own.status?.toLowerCase() ?? 'in an unknown state') : 'not run' };
}

/**
 * Promote(λ): checks the release, that it succeeded in the previous environment, that its prod
 * approver did not author its commit (docs/decisions.md, "Separation of duties"), takes the
 * repo/env lock keyed by the pipeline execution id, records the promotion, and reports to CodePipeline.
 * A retried job of an execution that was already promoted reports success again and writes nothing.
 */
export async function promote(rawEvent: unknown, deps: PromoteDeps): Promise<PromoteOutcome> {
  const parsedEvent = PromoteEventSchema.safeParse(rawEvent);
  if (!parsedEvent.success) {
    throw new PromoteInputError(`Promote was invoked with an event that is not a CodePipeline job: ${parsedEvent.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const event = parsedEvent.data;
  const jobId = event['CodePipeline.job'].id;
  const report = async (ok: boolean, message: string, replayed = false): Promise<PromoteOutcome> => {
    if (ok) await putJobSuccess(deps.codepipeline, jobId, message);
    else await putJobFailure(deps.codepipeline, jobId, message);
    deps.log.info('promote reported', { jobId, ok, message, replayed });
    return { jobId, reported: ok ? 'success' : 'failure', message, replayed };
  };

  let params: PromoteUserParameters;
  try {
    params = parseUserParameters(event['CodePipeline.job'].data.actionConfiguration.configuration.UserParameters);
  } catch (e) {
    return report(false, (e as Error).message);
  }
  const { repo, env } = params;
  const ctx = await getJobContext(deps.codepipeline, jobId);
  const executionId = ctx.pipelineExecutionId;
  const action = `promote:${env}`;

  const claim = await deps.ledger.claim(executionId, action, jobId);
  if (claim.status === 'completed') {
    const prior = z.object({ ok: z.boolean(), message: z.string() }).safeParse(JSON.parse(claim.outcome ?? 'null'));
    const message = prior.success ? prior.data.message : 'promotion already completed for this execution';
    return report(prior.success ? prior.data.ok : true, `${message} (retry of execution ${executionId}: nothing done again)`, true);
  }
  if (claim.status === 'in-progress') {
    return report(false, `promotion of ${repo} to ${env} for execution ${executionId} is already running as job ${claim.owner}; retry after ${new Date(claim.expiresAt * 1000).toISOString()} if it does not finish`);
  }

  let outcome: { ok: boolean; message: string };
  try {
    const release = await readRelease(deps, event);
    const prevEnv = previousEnvironment(env);
    const version = release.manifest?.version ?? null;
    const prevStatus = prevEnv && version ? ((await deps.ledger.getReleaseStatus(repo, prevEnv, version))?.status ?? null) : null;
    const approval = SEPARATED_ENVIRONMENTS.includes(env) ? await readApproval(deps, ctx.pipelineName, executionId, env) : undefined;
    const facts = { repo, env, release, previousEnvStatus: prevStatus, approval, lock: { state: 'not-attempted' } as LockOutcome };
    let decision: PromotionDecision = decidePromotion(facts);
    if (decision.action === 'take-lock') {
      const lock = await deps.ledger.acquireLock(repo, env, executionId);
      const lockOutcome: LockOutcome = lock.acquired ? { state: 'acquired', reentrant: lock.reentrant } : { state: 'held', holder: lock.holder, expiresAt: lock.expiresAt };
      decision = decidePromotion({ ...facts, lock: lockOutcome });
    }
    if (decision.action === 'take-lock') throw new Error('decidePromotion asked for the lock twice');
    const ok = decision.action === 'promote';
    await deps.ledger.appendEvent({
      kind: 'promotion',
      repo,
      env,
      actor: `codepipeline:${ctx.pipelineName}`,
      version,
      executionId,
      result: ok ? 'succeeded' : 'refused',
      message: decision.message,
      manifestSha256: release.manifestSha256,
      checksums: release.ok ? release.checksums : {},
      previousEnv: prevEnv,
      jobId,
    });
    if (ok && release.ok) {
      // A stage rollback (a ROLLBACK execution, CodePipeline's RollbackStage) redeploys the release of
      // its target execution: the deploy must know, to restore the replaced release's data instead of
      // rebuilding (the CURRENT pointer cannot tell when the failure came after Deploy in the stage).
      const isRollback = approval?.state === 'rollback' || (approval?.state !== 'approved' && (await getPipelineExecution(deps.codepipeline, ctx.pipelineName, executionId)).executionType === 'ROLLBACK');
      await deps.ledger.putExecution({
        executionId,
        repo,
        env,
        version: release.manifest.version,
        manifestSha256: release.manifestSha256,
        isRollback,
        dags: release.manifest.dags,
        assets: Object.fromEntries(release.manifest.assets.map((a) => [a.path, a.sha256])),
      });
      await deps.ledger.putReleaseStatus({ repo, env, version: release.manifest.version, status: 'promoted', manifestSha256: release.manifestSha256, executionId });
    }
    // Only a promotion is final; a refusal writes nothing but its event, so a retry decides afresh
    // (the previous env may have finished recording, or the lock may be free by then).
    const settle = ok ? 'completed' : 'failed';
    await deps.ledger.settleClaim(executionId, action, jobId, settle, { ok, message: decision.message });
    outcome = { ok, message: decision.message };
  } catch (e) {
    await deps.ledger.settleClaim(executionId, action, jobId, 'failed', { ok: false, message: (e as Error).message });
    deps.log.error('promote failed', { jobId, error: (e as Error).message });
    outcome = { ok: false, message: `promotion of ${repo} to ${env} failed: ${(e as Error).message}; retry the action, and if it fails again check the Promote function's log` };
  }
  // Reported after the outcome is settled: if reporting fails, the invocation fails and its retry
  // finds the completed claim and reports the same outcome, without promoting twice.
  return report(outcome.ok, outcome.message);
}



/** Environments, re-exported for handler wiring. */
export type { EnvironmentName };
