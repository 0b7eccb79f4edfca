import { randomUUID } from 'crypto';
import * as http from 'http';
import type { AddressInfo } from 'net';
import { CodePipelineClient } from '@aws-sdk/client-codepipeline';

/**
 * A small, protocol-faithful stand-in for the CodePipeline job and execution API: the rehearsal's own
 * CodePipeline, which the Lambda actions' handlers and the Deploy approval gate call, and the tests'. It speaks
 * the AWS JSON 1.1 protocol (POST /, `X-Amz-Target: CodePipeline_20150709.<Operation>`, errors as
 * HTTP 400 with `{"__type","message"}`), so the real @aws-sdk/client-codepipeline talks to it through
 * an endpoint override. Behaviour follows the CodePipeline API Reference for the operations the
 * runtime uses: GetJobDetails, PutJobSuccessResult, PutJobFailureResult, RollbackStage,
 * ListPipelineExecutions, GetPipelineExecution (execution type and rollback target), GetPipelineState
 * (with the approval actions' states), and ListActionExecutions (approval actions only: who decided,
 * when, and the summary; filtered by pipelineExecutionId, an execution the pipeline does not have is
 * PipelineExecutionNotFoundException; maxResults 1-100, default 100, with nextToken).
 */

const TARGET_PREFIX = 'CodePipeline_20150709.';
const EXECUTION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NAME = /^[A-Za-z0-9.@\-_]+$/;
const FAILURE_TYPES = ['JobFailed', 'ConfigurationError', 'PermissionError', 'RevisionOutOfSync', 'RevisionUnavailable', 'SystemUnavailable'];

/** Stage execution status (API reference: StageExecution.status). */
export type StageStatus = 'Cancelled' | 'InProgress' | 'Failed' | 'Stopped' | 'Stopping' | 'Succeeded' | 'Skipped';

/** A pipeline execution the fake keeps. */
export interface FakeExecution {
  readonly pipelineExecutionId: string;
  status: 'Cancelled' | 'InProgress' | 'Stopped' | 'Stopping' | 'Succeeded' | 'Superseded' | 'Failed';
  readonly executionType: 'STANDARD' | 'ROLLBACK';
  readonly rollbackTargetPipelineExecutionId?: string;
  readonly startTime: Date;
  lastUpdateTime: Date;
  /** Per stage, the status of this execution in it. */
  readonly stages: Record<string, StageStatus>;
}

/** A job (one run of a custom or Lambda action) the fake keeps. */
export interface FakeJob {
  readonly id: string;
  readonly pipelineName: string;
  readonly stageName: string;
  readonly actionName: string;
  readonly pipelineExecutionId: string;
  readonly configuration: Record<string, string>;
  readonly inputArtifacts: { name: string; bucketName: string; objectKey: string }[];
  status: 'InProgress' | 'Succeeded' | 'Failed';
  /** What PutJob*Result reported. */
  result?: { kind: 'success'; summary?: string } | { kind: 'failure'; type: string; message: string };
}

/** A call the fake received, for assertions. */
export interface FakeCall {
  readonly operation: string;
  readonly input: Record<string, unknown>;
  readonly at: Date;
}

/** A manual approval action of one execution (set with setApproval). */
export interface FakeApproval {
  readonly pipelineExecutionId: string;
  readonly stageName: string;
  readonly actionName: string;
  readonly actionExecutionId: string;
  readonly token: string;
  status: 'InProgress' | 'Succeeded' | 'Failed';
  /** ARN of who approved or rejected (ActionExecutionDetail.updatedBy / ActionExecution.lastUpdatedBy). */
  updatedBy?: string;
  /** The approver's comment (externalExecutionSummary / summary). */
  summary?: string;
  readonly startTime: Date;
  lastUpdateTime: Date;
}

class ApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

function str(input: Record<string, unknown>, field: string, pattern?: RegExp): string {
  const v = input[field];
  if (typeof v !== 'string' || v.length === 0) throw new ApiError('ValidationException', `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`);
  if (pattern && !pattern.test(v)) {
    throw new ApiError('ValidationException', `1 validation error detected: Value '${v}' at '${field}' failed to satisfy constraint: Member must satisfy regular expression pattern: ${pattern.source}`);
  }
  return v;
}

const epoch = (d: Date): number => d.getTime() / 1000;

/** The fake server with its state; start() before use, stop() after. */
export class CodePipelineFake {
  readonly pipelines = new Map<string, { stages: string[]; executions: FakeExecution[]; version: number }>();
  readonly jobs = new Map<string, FakeJob>();
  /** Manual approval actions, by pipeline name. */
  readonly approvals = new Map<string, FakeApproval[]>();
  readonly calls: FakeCall[] = [];
  readonly accountId = '111111111111';
  readonly region = 'us-east-1';
  /** Operations that fail with the given error type the next `times` calls (fault injection). */
  readonly faults = new Map<string, { type: string; times: number }>();
  private server: http.Server | undefined;
  private url: string | undefined;

  /** Starts the HTTP server on a free loopback port. */
  async start(): Promise<string> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    return this.url;
  }

  /** Stops the server. */
  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** The endpoint; start() first. */
  get endpoint(): string {
    if (!this.url) throw new Error('CodePipelineFake is not started; call start() first');
    return this.url;
  }

  /** A real SDK client pointed at the fake. */
  client(): CodePipelineClient {
    return new CodePipelineClient({ endpoint: this.endpoint, region: this.region, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }, maxAttempts: 1 });
  }

  /** Adds a pipeline with its stage names in order. */
  addPipeline(name: string, stages: string[]): void {
    this.pipelines.set(name, { stages, executions: [], version: 1 });
  }

  /** Starts a STANDARD execution; every stage starts not yet run (absent). Returns its id. */
  startExecution(pipelineName: string, at = new Date()): string {
    const p = this.pipeline(pipelineName);
    const id = randomUUID();
    p.executions.unshift({ pipelineExecutionId: id, status: 'InProgress', executionType: 'STANDARD', startTime: at, lastUpdateTime: at, stages: {} });
    return id;
  }

  /** Sets an execution's status in a stage (and the execution's overall status when given). */
  setStage(pipelineName: string, executionId: string, stage: string, status: StageStatus, executionStatus?: FakeExecution['status']): void {
    const e = this.execution(pipelineName, executionId);
    e.stages[stage] = status;
    if (executionStatus) e.status = executionStatus;
    e.lastUpdateTime = new Date();
  }

  /** Sets a manual approval action of an execution: waiting (InProgress) or decided by `updatedBy`. */
  setApproval(pipelineName: string, executionId: string, stageName: string, actionName: string, decision: { status: FakeApproval['status']; updatedBy?: string; summary?: string; at?: Date }): void {
    this.execution(pipelineName, executionId);
    const list = this.approvals.get(pipelineName) ?? [];
    const at = decision.at ?? new Date();
    const existing = list.find((a) => a.pipelineExecutionId === executionId && a.stageName === stageName && a.actionName === actionName);
    if (existing) {
      existing.status = decision.status;
      existing.updatedBy = decision.updatedBy;
      existing.summary = decision.summary;
      existing.lastUpdateTime = at;
    } else {
      list.push({ pipelineExecutionId: executionId, stageName, actionName, actionExecutionId: randomUUID(), token: randomUUID(), status: decision.status, updatedBy: decision.updatedBy, summary: decision.summary, startTime: at, lastUpdateTime: at });
    }
    this.approvals.set(pipelineName, list);
  }

  /** Creates a job for an action of a running execution, as CodePipeline does before invoking a Lambda action. */
  createJob(input: { pipelineName: string; stageName: string; actionName: string; executionId: string; configuration?: Record<string, string>; inputArtifacts?: FakeJob['inputArtifacts'] }): FakeJob {
    this.execution(input.pipelineName, input.executionId);
    const job: FakeJob = {
      id: randomUUID(),
      pipelineName: input.pipelineName,
      stageName: input.stageName,
      actionName: input.actionName,
      pipelineExecutionId: input.executionId,
      configuration: input.configuration ?? {},
      inputArtifacts: input.inputArtifacts ?? [],
      status: 'InProgress',
    };
    this.jobs.set(job.id, job);
    return job;
  }

  /** The Lambda invoke event CodePipeline sends for a job (docs: actions-invoke-lambda-function). */
  lambdaEvent(job: FakeJob): Record<string, unknown> {
    return {
      'CodePipeline.job': {
        id: job.id,
        accountId: this.accountId,
        data: {
          actionConfiguration: { configuration: { FunctionName: 'promote', ...job.configuration } },
          inputArtifacts: job.inputArtifacts.map((a) => ({ name: a.name, revision: null, location: { type: 'S3', s3Location: { bucketName: a.bucketName, objectKey: a.objectKey } } })),
          outputArtifacts: [],
          artifactCredentials: { accessKeyId: 'AKIA-FAKE', secretAccessKey: 'fake', sessionToken: 'fake' },
        },
      },
    };
  }

  /** Calls of one operation. */
  callsOf(operation: string): FakeCall[] {
    return this.calls.filter((c) => c.operation === operation);
  }

  private pipeline(name: string): { stages: string[]; executions: FakeExecution[]; version: number } {
    const p = this.pipelines.get(name);
    if (!p) throw new ApiError('PipelineNotFoundException', `The account with id '${this.accountId}' does not include a pipeline with the name '${name}'`);
    return p;
  }

  private execution(pipelineName: string, id: string): FakeExecution {
    const e = this.pipeline(pipelineName).executions.find((x) => x.pipelineExecutionId === id);
    if (!e) throw new ApiError('PipelineExecutionNotFoundException', `Pipeline execution with id '${id}' does not exist in pipeline '${pipelineName}'`);
    return e;
  }

  private job(input: Record<string, unknown>): FakeJob {
    const id = str(input, 'jobId');
    const job = this.jobs.get(id);
    if (!job) throw new ApiError('JobNotFoundException', `Job with id ${id} not found`);
    return job;
  }

  private operations: Record<string, (input: Record<string, unknown>) => Record<string, unknown>> = {
    GetJobDetails: (input) => {
      const job = this.job(input);
      return {
        jobDetails: {
          id: job.id,
          accountId: this.accountId,
          data: {
            actionTypeId: { category: 'Invoke', owner: 'AWS', provider: 'Lambda', version: '1' },
            actionConfiguration: { configuration: job.configuration },
            pipelineContext: {
              pipelineName: job.pipelineName,
              stage: { name: job.stageName },
              action: { name: job.actionName, actionExecutionId: randomUUID() },
              pipelineArn: `arn:aws:codepipeline:${this.region}:${this.accountId}:${job.pipelineName}`,
              pipelineExecutionId: job.pipelineExecutionId,
            },
            inputArtifacts: job.inputArtifacts.map((a) => ({ name: a.name, location: { type: 'S3', s3Location: { bucketName: a.bucketName, objectKey: a.objectKey } } })),
            outputArtifacts: [],
          },
        },
      };
    },
    PutJobSuccessResult: (input) => {
      const job = this.job(input);
      if (job.status !== 'InProgress') throw new ApiError('InvalidJobStateException', `Job ${job.id} is in state ${job.status}; a result can be put only for a job that is InProgress`);
      const details = input.executionDetails as { summary?: unknown } | undefined;
      if (details?.summary !== undefined && (typeof details.summary !== 'string' || details.summary.length > 2048)) {
        throw new ApiError('ValidationException', "Value at 'executionDetails.summary' failed to satisfy constraint: Member must have length less than or equal to 2048");
      }
      job.status = 'Succeeded';
      job.result = { kind: 'success', summary: typeof details?.summary === 'string' ? details.summary : undefined };
      return {};
    },
    PutJobFailureResult: (input) => {
      const job = this.job(input);
      const fd = input.failureDetails as { type?: unknown; message?: unknown } | undefined;
      if (!fd || typeof fd.type !== 'string' || !FAILURE_TYPES.includes(fd.type)) {
        throw new ApiError('ValidationException', `Value at 'failureDetails.type' failed to satisfy constraint: Member must satisfy enum value set: [${FAILURE_TYPES.join(', ')}]`);
      }
      if (typeof fd.message !== 'string' || fd.message.length < 1 || fd.message.length > 5000) {
        throw new ApiError('ValidationException', "Value at 'failureDetails.message' failed to satisfy constraint: Member must have length between 1 and 5000");
      }
      if (job.status !== 'InProgress') throw new ApiError('InvalidJobStateException', `Job ${job.id} is in state ${job.status}; a result can be put only for a job that is InProgress`);
      job.status = 'Failed';
      job.result = { kind: 'failure', type: fd.type, message: fd.message };
      return {};
    },
    RollbackStage: (input) => {
      const pipelineName = str(input, 'pipelineName', NAME);
      const stageName = str(input, 'stageName', NAME);
      const targetId = str(input, 'targetPipelineExecutionId', EXECUTION_ID);
      const p = this.pipeline(pipelineName);
      if (!p.stages.includes(stageName)) throw new ApiError('StageNotFoundException', `Stage ${stageName} not found in pipeline ${pipelineName}`);
      if (p.stages[0] === stageName) throw new ApiError('UnableToRollbackStageException', 'A source stage cannot be rolled back');
      const target = this.execution(pipelineName, targetId);
      if (target.executionType === 'ROLLBACK') throw new ApiError('UnableToRollbackStageException', `Cannot roll back to execution ${targetId}: it is a rollback execution`);
      if (target.stages[stageName] !== 'Succeeded') {
        throw new ApiError('UnableToRollbackStageException', `Cannot roll back stage ${stageName} to execution ${targetId}: the stage did not succeed in that execution`);
      }
      if (p.executions.some((e) => e.stages[stageName] === 'InProgress')) {
        throw new ApiError('UnableToRollbackStageException', `Cannot roll back stage ${stageName}: the stage is currently running`);
      }
      const now = new Date();
      const id = randomUUID();
      p.executions.unshift({
        pipelineExecutionId: id,
        status: 'InProgress',
        executionType: 'ROLLBACK',
        rollbackTargetPipelineExecutionId: targetId,
        startTime: now,
        lastUpdateTime: now,
        stages: { [stageName]: 'InProgress' },
      });
      return { pipelineExecutionId: id };
    },
    ListPipelineExecutions: (input) => {
      const p = this.pipeline(str(input, 'pipelineName', NAME));
      const max = input.maxResults === undefined ? 100 : Number(input.maxResults);
      if (!Number.isInteger(max) || max < 1 || max > 100) throw new ApiError('ValidationException', "Value at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 100");
      const start = input.nextToken === undefined ? 0 : Number(input.nextToken);
      if (!Number.isInteger(start) || start < 0 || start > p.executions.length) throw new ApiError('InvalidNextTokenException', 'The next token was specified in an invalid format');
      const page = p.executions.slice(start, start + max);
      const next = start + max < p.executions.length ? String(start + max) : undefined;
      return {
        pipelineExecutionSummaries: page.map((e) => ({
          pipelineExecutionId: e.pipelineExecutionId,
          status: e.status,
          startTime: epoch(e.startTime),
          lastUpdateTime: epoch(e.lastUpdateTime),
          executionMode: 'SUPERSEDED',
          executionType: e.executionType,
          ...(e.rollbackTargetPipelineExecutionId ? { rollbackMetadata: { rollbackTargetPipelineExecutionId: e.rollbackTargetPipelineExecutionId } } : {}),
          trigger: { triggerType: e.executionType === 'ROLLBACK' ? 'ManualRollback' : 'StartPipelineExecution' },
        })),
        ...(next ? { nextToken: next } : {}),
      };
    },
    ListActionExecutions: (input) => {
      const name = str(input, 'pipelineName', NAME);
      this.pipeline(name);
      const filter = input.filter as { pipelineExecutionId?: unknown } | undefined;
      const executionId = typeof filter?.pipelineExecutionId === 'string' ? filter.pipelineExecutionId : undefined;
      if (executionId !== undefined && !this.pipeline(name).executions.some((e) => e.pipelineExecutionId === executionId)) {
        throw new ApiError('PipelineExecutionNotFoundException', `The pipeline execution ${executionId} was specified in an invalid format or cannot be found, or it does not belong to pipeline ${name}`);
      }
      const max = input.maxResults === undefined ? 100 : Number(input.maxResults);
      if (!Number.isInteger(max) || max < 1 || max > 100) throw new ApiError('ValidationException', "Value at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 100");
      const start = input.nextToken === undefined ? 0 : Number(input.nextToken);
      const all = (this.approvals.get(name) ?? []).filter((a) => executionId === undefined || a.pipelineExecutionId === executionId);
      if (!Number.isInteger(start) || start < 0 || start > all.length) throw new ApiError('InvalidNextTokenException', 'The next token was specified in an invalid format');
      const list = all.slice(start, start + max);
      return {
        ...(start + max < all.length ? { nextToken: String(start + max) } : {}),
        actionExecutionDetails: list.map((a) => ({
          pipelineExecutionId: a.pipelineExecutionId,
          actionExecutionId: a.actionExecutionId,
          pipelineVersion: 1,
          stageName: a.stageName,
          actionName: a.actionName,
          startTime: epoch(a.startTime),
          lastUpdateTime: epoch(a.lastUpdateTime),
          status: a.status,
          ...(a.updatedBy ? { updatedBy: a.updatedBy } : {}),
          input: { actionTypeId: { category: 'Approval', owner: 'AWS', provider: 'Manual', version: '1' }, configuration: {} },
          output: { executionResult: { ...(a.summary ? { externalExecutionSummary: a.summary } : {}) } },
        })),
      };
    },
    GetPipelineExecution: (input) => {
      const pipelineName = str(input, 'pipelineName', NAME);
      const p = this.pipeline(pipelineName);
      const id = str(input, 'pipelineExecutionId');
      const e = p.executions.find((x) => x.pipelineExecutionId === id);
      if (!e) throw new ApiError('PipelineExecutionNotFoundException', `Pipeline execution with id '${id}' does not exist in pipeline '${pipelineName}'`);
      return {
        pipelineExecution: {
          pipelineName,
          pipelineVersion: p.version,
          pipelineExecutionId: e.pipelineExecutionId,
          status: e.status,
          artifactRevisions: [],
          trigger: { triggerType: e.executionType === 'ROLLBACK' ? 'ManualRollback' : 'StartPipelineExecution' },
          executionMode: 'QUEUED',
          executionType: e.executionType,
          ...(e.rollbackTargetPipelineExecutionId ? { rollbackMetadata: { rollbackTargetPipelineExecutionId: e.rollbackTargetPipelineExecutionId } } : {}),
        },
      };
    },
    GetPipelineState: (input) => {
      const name = str(input, 'name', NAME);
      const p = this.pipeline(name);
      return {
        pipelineName: name,
        pipelineVersion: p.version,
        stageStates: p.stages.map((stageName) => {
          const latest = p.executions.find((e) => e.stages[stageName] !== undefined);
          const approvals = (this.approvals.get(name) ?? []).filter((a) => a.stageName === stageName && a.pipelineExecutionId === latest?.pipelineExecutionId);
          return {
            stageName,
            ...(latest ? { latestExecution: { pipelineExecutionId: latest.pipelineExecutionId, status: latest.stages[stageName] } } : {}),
            actionStates: approvals.map((a) => ({
              actionName: a.actionName,
              latestExecution: {
                actionExecutionId: a.actionExecutionId,
                status: a.status,
                lastStatusChange: epoch(a.lastUpdateTime),
                ...(a.status === 'InProgress' ? { token: a.token } : {}),
                ...(a.summary ? { summary: a.summary } : {}),
                ...(a.updatedBy ? { lastUpdatedBy: a.updatedBy } : {}),
              },
            })),
          };
        }),
        created: epoch(new Date(0)),
        updated: epoch(new Date()),
      };
    },
  };

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
      res.end(JSON.stringify(body));
    };
    const target = String(req.headers['x-amz-target'] ?? '');
    const error = (type: string, message: string) => {
      res.setHeader('x-amzn-errortype', type);
      send(400, { __type: type, message });
    };
    if (req.method !== 'POST' || !target.startsWith(TARGET_PREFIX)) return error('UnknownOperationException', `expected POST with X-Amz-Target ${TARGET_PREFIX}<Operation>`);
    if (!req.headers.authorization) return error('MissingAuthenticationTokenException', 'Missing Authentication Token');
    const operation = target.slice(TARGET_PREFIX.length);
    const impl = this.operations[operation];
    if (!impl) return error('UnknownOperationException', `operation ${operation} is not supported by this fake`);
    let input: Record<string, unknown>;
    try {
      input = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {};
    } catch {
      return error('SerializationException', 'body is not JSON');
    }
    this.calls.push({ operation, input, at: new Date() });
    const fault = this.faults.get(operation);
    if (fault && fault.times > 0) {
      fault.times -= 1;
      return error(fault.type, `injected fault for ${operation}`);
    }
    try {
      send(200, impl(input));
    } catch (e) {
      if (e instanceof ApiError) return error(e.type, e.message);
      send(500, { __type: 'InternalFailure', message: (e as Error).message });
    }
  }
}
