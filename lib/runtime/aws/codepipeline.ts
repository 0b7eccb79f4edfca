import {
  GetJobDetailsCommand,
  GetPipelineExecutionCommand,
  GetPipelineStateCommand,
  ListActionExecutionsCommand,
  ListPipelineExecutionsCommand,
  PutJobFailureResultCommand,
  PutJobSuccessResultCommand,
  RollbackStageCommand,
  type ActionExecutionDetail,
  type CodePipelineClient,
  type PipelineExecutionSummary,
  type StageState,
} from '@aws-sdk/client-codepipeline';

/** Raised when a CodePipeline call answers without what the API reference promises. */
export class CodePipelineResponseError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CodePipelineResponseError';
  }
}

/** Where a job runs: the pipeline context of GetJobDetails. */
export interface JobContext {
  readonly jobId: string;
  readonly pipelineName: string;
  readonly stageName: string;
  readonly actionName: string;
  readonly pipelineExecutionId: string;
}

/** GetJobDetails: the pipeline, stage, action and execution id of a job. */
export async function getJobContext(client: CodePipelineClient, jobId: string): Promise<JobContext> {
  const out = await client.send(new GetJobDetailsCommand({ jobId }));
  const ctx = out.jobDetails?.data?.pipelineContext;
  const pipelineExecutionId = ctx?.pipelineExecutionId;
  if (!ctx?.pipelineName || !ctx.stage?.name || !ctx.action?.name || !pipelineExecutionId) {
    throw new CodePipelineResponseError(
      `GetJobDetails for job '${jobId}' returned no complete pipelineContext (pipelineName, stage, action, pipelineExecutionId); check that the job id came from a CodePipeline Lambda invoke action`,
    );
  }
  return { jobId, pipelineName: ctx.pipelineName, stageName: ctx.stage.name, actionName: ctx.action.name, pipelineExecutionId };
}

/** PutJobSuccessResult with an execution summary shown in the console. */
export async function putJobSuccess(client: CodePipelineClient, jobId: string, summary: string): Promise<void> {
  await client.send(new PutJobSuccessResultCommand({ jobId, executionDetails: { summary: summary.slice(0, 2048) } }));
}

/** PutJobFailureResult (type JobFailed); the message is what the person sees in the console. */
export async function putJobFailure(client: CodePipelineClient, jobId: string, message: string, externalExecutionId?: string): Promise<void> {
  await client.send(
    new PutJobFailureResultCommand({
      jobId,
      failureDetails: { type: 'JobFailed', message: message.slice(0, 5000), externalExecutionId },
    }),
  );
}

/** RollbackStage: rolls a stage back to a successful execution; returns the new execution id. */
export async function rollbackStage(
  client: CodePipelineClient,
  pipelineName: string,
  stageName: string,
  targetPipelineExecutionId: string,
): Promise<string> {
  const out = await client.send(new RollbackStageCommand({ pipelineName, stageName, targetPipelineExecutionId }));
  if (!out.pipelineExecutionId) {
    throw new CodePipelineResponseError(`RollbackStage of ${pipelineName}/${stageName} returned no pipelineExecutionId`);
  }
  return out.pipelineExecutionId;
}

/** ListPipelineExecutions, newest first, following nextToken up to `max` summaries. */
export async function listPipelineExecutions(client: CodePipelineClient, pipelineName: string, max = 100): Promise<PipelineExecutionSummary[]> {
  const all: PipelineExecutionSummary[] = [];
  let nextToken: string | undefined;
  do {
    const out = await client.send(new ListPipelineExecutionsCommand({ pipelineName, maxResults: Math.min(100, max - all.length), nextToken }));
    all.push(...(out.pipelineExecutionSummaries ?? []));
    nextToken = out.nextToken;
  } while (nextToken && all.length < max);
  return all;
}

/** GetPipelineState: the stages with their latest execution. */
export async function getStageStates(client: CodePipelineClient, pipelineName: string): Promise<StageState[]> {
  const out = await client.send(new GetPipelineStateCommand({ name: pipelineName }));
  return out.stageStates ?? [];
}

/** Who decided a manual approval action, when, and with what comment (ListActionExecutions). */
export interface ApprovalDecision {
  /** ARN of the approver or rejecter (ActionExecutionDetail.updatedBy); null when CodePipeline names none. */
  readonly approver: string | null;
  /** The approver's comment (output.executionResult.externalExecutionSummary). */
  readonly summary: string | null;
  /** ISO time of the decision (lastUpdateTime). */
  readonly at: string | null;
  /** Succeeded (approved), Failed (rejected), InProgress … */
  readonly status: string | null;
}

/**
 * ListActionExecutions of one execution, narrowed to one stage/action: the latest decision of a
 * manual approval; null when CodePipeline has no record of it (yet).
 */
export async function approvalDecision(client: CodePipelineClient, pipelineName: string, executionId: string, stageName: string, actionName: string): Promise<ApprovalDecision | null> {
  const hits: ActionExecutionDetail[] = [];
  let nextToken: string | undefined;
  do {
    const out = await client.send(new ListActionExecutionsCommand({ pipelineName, filter: { pipelineExecutionId: executionId }, nextToken }));
    hits.push(...(out.actionExecutionDetails ?? []).filter((d) => d.stageName === stageName && d.actionName === actionName));
    nextToken = out.nextToken;
  } while (nextToken);
  if (hits.length === 0) return null;
  const latest = hits.reduce((a, b) => ((b.lastUpdateTime?.getTime() ?? 0) > (a.lastUpdateTime?.getTime() ?? 0) ? b : a));
  return {
    approver: latest.updatedBy ?? null,
    summary: latest.output?.executionResult?.externalExecutionSummary ?? null,
    at: latest.lastUpdateTime ? latest.lastUpdateTime.toISOString() : null,
    status: latest.status ?? null,
  };
}

/** What GetPipelineExecution says about one execution: its status and, for a stage rollback, the execution it rolls back to. */
export interface PipelineExecutionInfo {
  readonly pipelineExecutionId: string;
  readonly status: string | null;
  /** STANDARD or ROLLBACK. */
  readonly executionType: string;
  /** rollbackMetadata.rollbackTargetPipelineExecutionId of a ROLLBACK execution. */
  readonly rollbackTargetExecutionId: string | null;
}

/** GetPipelineExecution. */
export async function getPipelineExecution(client: CodePipelineClient, pipelineName: string, pipelineExecutionId: string): Promise<PipelineExecutionInfo> {
  const out = await client.send(new GetPipelineExecutionCommand({ pipelineName, pipelineExecutionId }));
  const e = out.pipelineExecution;
  if (!e) throw new CodePipelineResponseError(`GetPipelineExecution of ${pipelineName}/${pipelineExecutionId} returned no pipelineExecution`);
  return {
    pipelineExecutionId,
    status: e.status ?? null,
    executionType: e.executionType ?? 'STANDARD',
    rollbackTargetExecutionId: e.rollbackMetadata?.rollbackTargetPipelineExecutionId ?? null,
  };
}
