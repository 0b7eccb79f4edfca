import { execFileSync, spawn } from 'child_process';
import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricStatisticsCommand, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { CodePipelineClient, RollbackStageCommand } from '@aws-sdk/client-codepipeline';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { unzipSync, zipSync } from 'fflate';
import { runBuildspec } from '../../lib/checks/buildspec/runner';
import { CloudAssembly } from './assembly';
import { awsEnvironment, clientConfig, type AwsTarget, type Credentials } from './aws';
import { assumeServiceRole, enforceIam, provisionRoles } from './iam';
import { RehearsalError } from './errors';
import { codepipelineEvent, FunctionWorker, matchesPattern, type BusEvent } from './events';
import { readToolchainImage, type ToolchainImage } from './image';
import { Resolver } from './intrinsics';
import { readPipeline, type ActionModel, type AlarmModel, type FunctionModel, type PipelineModel, type ProjectModel, type StageModel } from './model';
import { provisionPlatform, type ProvisionedPlatform } from './platform';
import { resolveVariables, type ExecutionVariables } from './variables';

/**
 * The CodePipeline side the rehearsal drives: executions, stage states, approvals and the job API
 * (GetJobDetails, PutJobSuccessResult, PutJobFailureResult, …) that a Lambda action's handler calls.
 */
export interface PipelineService {
  readonly endpoint: string;
  addPipeline(name: string, stages: string[]): void;
  startExecution(pipelineName: string): string;
  setStage(pipelineName: string, executionId: string, stage: string, status: 'InProgress' | 'Succeeded' | 'Failed', executionStatus?: 'InProgress' | 'Succeeded' | 'Failed'): void;
  setApproval(pipelineName: string, executionId: string, stageName: string, actionName: string, decision: { status: 'InProgress' | 'Succeeded' | 'Failed'; updatedBy?: string; summary?: string }): void;
  createJob(input: { pipelineName: string; stageName: string; actionName: string; executionId: string; configuration?: Record<string, string>; inputArtifacts?: { name: string; bucketName: string; objectKey: string }[] }): { readonly id: string };
  lambdaEvent(job: { readonly id: string }): Record<string, unknown>;
  readonly jobs: ReadonlyMap<string, { readonly status: string; readonly result?: { kind: 'success'; summary?: string } | { kind: 'failure'; type: string; message: string } }>;
}

/** A manual approval's decision, given by a named approver identity. */
export interface ApprovalDecision {
  /** ARN of who approves (an IAM user or an assumed-role session). */
  readonly approver: string;
  readonly approve: boolean;
  readonly summary?: string;
}

/** What an approval request showed the approver: the resolved CustomData and link. */
export interface ApprovalRequest {
  readonly stage: string;
  readonly action: string;
  readonly customData: string;
  readonly externalEntityLink: string;
}

/** Options of {@link Rehearsal.prepare}. */
export interface RehearsalOptions {
  /** The folder `cdk synth` wrote (cdk.out). */
  readonly assemblyDir: string;
  /** The repo whose pipeline runs (stack DataOpsPipeline-<repo>). */
  readonly repo: string;
  /** The AWS stand-in (moto in server mode). */
  readonly aws: AwsTarget;
  /** The CodePipeline stand-in whose job API the Lambda actions call. */
  readonly codepipeline: PipelineService;
  /** Endpoints of other stand-ins every build and function gets (e.g. AWS_ENDPOINT_URL_MWAA). @default none */
  readonly endpoints?: Readonly<Record<string, string>>;
  /** Receives progress lines. @default - discarded */
  readonly log?: (line: string) => void;
  /**
   * The AWS stand-in enforces IAM (see {@link Rehearsal.enforceIam}): provision the synthesized roles
   * and run every action with only its role's policies, so a missing permission fails the action
   * naming the role, action and resource. @default false
   */
  readonly enforceIam?: boolean;
}

/** Hooks of one execution. */
export interface ExecutionOptions {
  /** The git work tree whose HEAD the Source action delivers (the repo on the configured branch). */
  readonly sourceDir: string;
  /** Decides each manual approval. @default - approved by arn:aws:iam::<tooling>:user/rehearsal-approver */
  readonly approve?: (request: ApprovalRequest) => ApprovalDecision | Promise<ApprovalDecision>;
  /** Runs during a stage's bake (its CloudWatchAlarm condition's wait), e.g. a probe or an injected fault. */
  readonly duringBake?: (stage: string) => Promise<void>;
  /**
   * Runs alongside an action, as the world goes on while it runs (e.g. the environment's scheduler
   * running a DAG while the prod Bake action probes). The action's outcome does not wait for it to end,
   * but the execution does.
   */
  readonly whileRunning?: (stage: string, action: string, executionType: 'STANDARD' | 'ROLLBACK') => Promise<void> | undefined;
  /** Seconds the bake waits instead of the rule's WaitTime minutes (the alarm is evaluated over this window). @default 0 */
  readonly bakeSeconds?: number;
}

/** One action's run. */
export interface ActionRun {
  readonly stage: string;
  readonly action: string;
  readonly type: string;
  readonly status: 'Succeeded' | 'Failed';
  readonly message: string;
  readonly durationMs: number;
  /** The build log (CodeBuild) or the function's output (Lambda). */
  readonly log: string;
}

/** One pipeline execution (standard, or a stage rollback). */
export interface ExecutionResult {
  readonly executionId: string;
  readonly type: 'STANDARD' | 'ROLLBACK';
  readonly status: 'Succeeded' | 'Failed';
  readonly stages: Readonly<Record<string, 'Succeeded' | 'Failed' | 'RolledBack'>>;
  readonly actions: readonly ActionRun[];
  readonly approvals: readonly ApprovalRequest[];
  readonly variables: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** The stage rollback the execution triggered (OnFailure ROLLBACK, or a bake condition). */
  readonly rollback?: ExecutionResult;
  /** The first failure, naming the stage and action. */
  readonly failure?: { readonly stage: string; readonly action: string; readonly message: string };
  /** The execution's state-change events that an EventBridge rule delivered to a Lambda target (the Recorder), in order. */
  readonly deliveries: readonly EventDelivery[];
  readonly durationMs: number;
}

/** One state-change event delivered to one rule's Lambda target. */
export interface EventDelivery {
  readonly detailType: string;
  readonly state: string;
  readonly stage?: string;
  readonly action?: string;
  readonly rule: string;
  readonly target: string;
  readonly ok: boolean;
  /** The handler's error (EventBridge would retry the delivery, then dead-letter it). */
  readonly error?: string;
}

/** One action to run: where it is, its resolved configuration, the execution it runs in and the one whose artifacts it takes. */
interface ActionCall {
  readonly stage: StageModel;
  readonly action: ActionModel;
  readonly configuration: Record<string, string>;
  readonly state: ExecutionState;
  readonly source: ExecutionState;
  readonly run: (status: ActionRun['status'], message: string, log?: string) => ActionRun;
}

/** What an execution keeps for a later stage rollback to it: artifact locations and variables. */
interface ExecutionState {
  readonly id: string;
  readonly commit: string;
  readonly sourceDir: string;
  readonly artifacts: Map<string, { readonly bucket: string; readonly key: string } | { readonly clone: string }>;
  readonly variables: ExecutionVariables;
  readonly deliveries: EventDelivery[];
}

const git = (dir: string, ...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

function listFiles(dir: string, base = dir): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(path.join(dir, e.name), base) : [path.relative(base, path.join(dir, e.name))]));
}

/**
 * The pipeline rehearsal: runs one repo's pipeline as CodePipeline would, from the cloud assembly
 * `cdk synth` wrote. CodeBuild actions run the project's buildspec through the buildspec runner with
 * exactly the project's environment (the toolchain image's ENV, CodeBuild's variables, the project's
 * and the action's variables, `#{Namespace.Variable}` resolved) and the credentials of the project's
 * service role; Lambda actions run the bundled handler with a CodePipeline job event and the
 * function's environment and role; manual approvals are decided by a named approver; a stage's
 * CloudWatchAlarm condition is evaluated over its bake, and OnFailure ROLLBACK rolls the stage back to
 * the last execution in which it succeeded.
 */
export class Rehearsal {
  private readonly states: ExecutionState[] = [];
  private readonly buildNumbers = new Map<string, number>();
  private readonly credentialCache = new Map<string, Credentials>();
  /** Stages each standard execution succeeded in (the targets of a stage rollback). */
  private readonly succeeded = new Map<string, Set<string>>();
  /** A warm process per event-target function, as Lambda keeps a container for consecutive invocations. */
  private readonly workers = new Map<string, FunctionWorker>();

  private constructor(
    readonly pipeline: PipelineModel,
    readonly provisioned: ProvisionedPlatform & { readonly iamNotes: readonly string[] },
    private readonly opts: RehearsalOptions,
    private readonly image: ToolchainImage,
  ) {}

  /**
   * Reads the assembly and the repo's pipeline, and provisions the platform in the AWS stand-in: the
   * tooling buckets, tables and the pipeline's alarms, and, with IAM enforcement, the roles of the
   * pipeline, tooling and target stacks with their synthesized policies.
   */
  static async prepare(opts: RehearsalOptions): Promise<Rehearsal> {
    const assembly = CloudAssembly.read(opts.assemblyDir);
    const resolver = new Resolver(assembly);
    const pipeline = readPipeline(assembly, opts.repo, resolver);
    const aws = opts.aws;
    const notes: string[] = [];
    if (opts.enforceIam) {
      const stacks = new Set([pipeline.stackId, ...[...assembly.stacks.keys()].filter((id) => !id.startsWith('DataOpsPipeline-'))]);
      notes.push(...(await provisionRoles(aws, [...pipeline.roles.values()].filter((r) => stacks.has(r.stackId)), pipeline.managedPolicies)));
    }
    const provisioned = await provisionPlatform(aws, assembly, resolver, pipeline);
    opts.codepipeline.addPipeline(pipeline.name, pipeline.stages.map((s) => s.name));
    for (const n of notes) opts.log?.(`iam: ${n}`);
    return new Rehearsal(pipeline, { ...provisioned, iamNotes: notes }, { ...opts, aws }, readToolchainImage());
  }

  /**
   * Turns IAM enforcement on in a moto server of the rehearsal's own, with an administrator role in
   * every account of the assembly; returns the stand-in with the administrator's key, to pass to
   * {@link Rehearsal.prepare} with `enforceIam: true` and to whatever sets up the environments' stand-ins.
   */
  static async enforceIam(assemblyDir: string, target: AwsTarget): Promise<AwsTarget> {
    const assembly = CloudAssembly.read(assemblyDir);
    const tooling = assembly.stack('DataOpsTooling');
    return enforceIam(target, tooling.account, [...assembly.stacks.values()].map((s) => s.account));
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }

  /** Credentials of a synthesized role as `service` (codebuild.amazonaws.com, lambda.amazonaws.com, codepipeline.amazonaws.com) receives them. */
  private async credentials(roleArn: string, service: string, session: string): Promise<Credentials> {
    const cached = this.credentialCache.get(roleArn);
    if (cached) return cached;
    const c = await assumeServiceRole(this.opts.aws, this.pipeline.roles.get(roleArn), roleArn, service, session);
    this.credentialCache.set(roleArn, c);
    return c;
  }

  /** Runs one execution of the pipeline on the HEAD of `sourceDir`. */
  async run(exec: ExecutionOptions): Promise<ExecutionResult> {
    const started = Date.now();
    const { pipeline } = this;
    const cp = this.opts.codepipeline;
    const id = cp.startExecution(pipeline.name);
    const commit = git(exec.sourceDir, 'rev-parse', 'HEAD');
    const state: ExecutionState = { id, commit, sourceDir: path.resolve(exec.sourceDir), artifacts: new Map(), variables: new Map([['codepipeline', { PipelineExecutionId: id }]]), deliveries: [] };
    this.states.push(state);
    this.log(`execution ${id} of ${pipeline.name} on ${commit.slice(0, 7)}`);
    await this.emitPipeline(state, 'STARTED');
    const actions: ActionRun[] = [];
    const approvals: ApprovalRequest[] = [];
    const stages: Record<string, 'Succeeded' | 'Failed' | 'RolledBack'> = {};
    for (const stage of pipeline.stages) {
      cp.setStage(pipeline.name, id, stage.name, 'InProgress');
      await this.emitStage(state, stage.name, 'STARTED');
      const outcome = await this.runStage(stage, state, exec, actions, approvals);
      if (outcome.ok) {
        const bake = await this.evaluateConditions(stage, exec);
        if (bake.ok) {
          stages[stage.name] = 'Succeeded';
          this.succeeded.set(id, (this.succeeded.get(id) ?? new Set()).add(stage.name));
          cp.setStage(pipeline.name, id, stage.name, 'Succeeded');
          await this.emitStage(state, stage.name, 'SUCCEEDED');
          continue;
        }
        cp.setStage(pipeline.name, id, stage.name, 'Failed', 'Failed');
        stages[stage.name] = 'Failed';
        await this.emitStage(state, stage.name, 'FAILED');
        await this.emitPipeline(state, 'FAILED');
        const failure = { stage: stage.name, action: bake.rule, message: bake.message };
        const rollback = await this.rollbackStage(stage, state, exec, 'condition');
        if (rollback) stages[stage.name] = 'RolledBack';
        return this.result(state, 'Failed', stages, actions, approvals, started, failure, rollback);
      }
      stages[stage.name] = 'Failed';
      cp.setStage(pipeline.name, id, stage.name, 'Failed', 'Failed');
      await this.emitStage(state, stage.name, 'FAILED');
      await this.emitPipeline(state, 'FAILED');
      const rollback = stage.onFailure === 'ROLLBACK' ? await this.rollbackStage(stage, state, exec, 'failure') : undefined;
      if (rollback) stages[stage.name] = 'RolledBack';
      return this.result(state, 'Failed', stages, actions, approvals, started, outcome.failure, rollback);
    }
    cp.setStage(pipeline.name, id, pipeline.stages[pipeline.stages.length - 1].name, 'Succeeded', 'Succeeded');
    await this.emitPipeline(state, 'SUCCEEDED');
    return this.result(state, 'Succeeded', stages, actions, approvals, started);
  }

  private result(
    state: ExecutionState,
    status: 'Succeeded' | 'Failed',
    stages: ExecutionResult['stages'],
    actions: ActionRun[],
    approvals: ApprovalRequest[],
    started: number,
    failure?: ExecutionResult['failure'],
    rollback?: ExecutionResult,
  ): ExecutionResult {
    this.log(`execution ${state.id}: ${status}${failure ? ` at ${failure.stage}/${failure.action}: ${failure.message.slice(0, 300)}` : ''}`);
    return {
      executionId: state.id,
      type: 'STANDARD',
      status,
      stages,
      actions,
      approvals,
      variables: Object.fromEntries(state.variables),
      rollback,
      failure,
      deliveries: state.deliveries,
      durationMs: Date.now() - started,
    };
  }

  /** Runs a stage's actions by run order (the same run order in parallel); stops after the first order with a failure. */
  private async runStage(
    stage: StageModel,
    state: ExecutionState,
    exec: ExecutionOptions,
    runs: ActionRun[],
    approvals: ApprovalRequest[],
    rollbackOf?: ExecutionState,
  ): Promise<{ ok: true } | { ok: false; failure: NonNullable<ExecutionResult['failure']> }> {
    const orders = [...new Set(stage.actions.map((a) => a.runOrder))].sort((a, b) => a - b);
    for (const order of orders) {
      const group = stage.actions.filter((a) => a.runOrder === order);
      const alongside = group.map((a) => exec.whileRunning?.(stage.name, a.name, rollbackOf ? 'ROLLBACK' : 'STANDARD')).filter((p): p is Promise<void> => p !== undefined);
      const results = await Promise.all(group.map((a) => this.runAction(stage, a, state, exec, approvals, rollbackOf)));
      await Promise.all(alongside);
      runs.push(...results);
      const failed = results.find((r) => r.status === 'Failed');
      if (failed) return { ok: false, failure: { stage: stage.name, action: failed.action, message: failed.message } };
    }
    return { ok: true };
  }

  /** Runs one action between its STARTED and its SUCCEEDED or FAILED state-change event. */
  private async runAction(stage: StageModel, action: ActionModel, state: ExecutionState, exec: ExecutionOptions, approvals: ApprovalRequest[], rollbackOf?: ExecutionState): Promise<ActionRun> {
    await this.emitAction(state, stage, action, 'STARTED');
    const r = await this.runActionItself(stage, action, state, exec, approvals, rollbackOf);
    await this.emitAction(state, stage, action, r.status === 'Succeeded' ? 'SUCCEEDED' : 'FAILED');
    return r;
  }

  private async runActionItself(stage: StageModel, action: ActionModel, state: ExecutionState, exec: ExecutionOptions, approvals: ApprovalRequest[], rollbackOf?: ExecutionState): Promise<ActionRun> {
    const started = Date.now();
    const run = (status: ActionRun['status'], message: string, log = ''): ActionRun => {
      this.log(`  ${stage.name}/${action.name}: ${status}${status === 'Failed' ? ` — ${message.slice(0, 400)}` : ''}`);
      return { stage: stage.name, action: action.name, type: action.type, status, message, durationMs: Date.now() - started, log };
    };
    // a stage rollback re-runs the stage with the target execution's artifacts and variables
    const source = rollbackOf ?? state;
    try {
      const where = `action ${stage.name}/${action.name}`;
      const configuration = Object.fromEntries(Object.entries(action.configuration).map(([k, v]) => [k, resolveVariables(v, source.variables, where)]));
      switch (action.type) {
        case 'Source/CodeStarSourceConnection': {
          const out = action.outputArtifacts[0];
          if (out) state.artifacts.set(out, { clone: source.sourceDir });
          const vars = this.sourceVariables(source, configuration);
          if (action.namespace) state.variables.set(action.namespace, vars);
          return run('Succeeded', `commit ${vars.CommitId}`);
        }
        case 'Build/CodeBuild':
          return await this.runBuild({ stage, action, configuration, state, source, run });
        case 'Invoke/Lambda':
          return await this.runLambda({ stage, action, configuration, state, source, run });
        case 'Approval/Manual': {
          if (rollbackOf) return run('Succeeded', 'a stage rollback does not wait for approval');
          const request: ApprovalRequest = { stage: stage.name, action: action.name, customData: configuration.CustomData ?? '', externalEntityLink: configuration.ExternalEntityLink ?? '' };
          approvals.push(request);
          this.opts.codepipeline.setApproval(this.pipeline.name, state.id, stage.name, action.name, { status: 'InProgress' });
          const decision = (await exec.approve?.(request)) ?? { approver: `arn:aws:iam::${this.pipeline.account}:user/rehearsal-approver`, approve: true };
          this.opts.codepipeline.setApproval(this.pipeline.name, state.id, stage.name, action.name, {
            status: decision.approve ? 'Succeeded' : 'Failed',
            updatedBy: decision.approver,
            summary: decision.summary,
          });
          return decision.approve ? run('Succeeded', `approved by ${decision.approver}`) : run('Failed', `rejected by ${decision.approver}${decision.summary ? `: ${decision.summary}` : ''}`);
        }
      }
    } catch (e) {
      return run('Failed', (e as Error).message);
    }
  }

  private sourceVariables(state: ExecutionState, configuration: Record<string, string>): Record<string, string> {
    const [commitId, authorDate, message] = git(state.sourceDir, 'log', '-1', '--format=%H%n%aI%n%s').split('\n');
    return {
      CommitId: commitId,
      AuthorDate: authorDate,
      CommitMessage: message ?? '',
      BranchName: configuration.BranchName ?? '',
      FullRepositoryName: configuration.FullRepositoryId ?? '',
      ConnectionArn: configuration.ConnectionArn ?? '',
      ProviderType: 'GitHub',
    };
  }

  /** The input artifact of a CodeBuild action as a folder: a git clone (CODEBUILD_CLONE_REF) or the unzipped S3 artifact. */
  private async inputFolder(name: string, source: ExecutionState, creds: Credentials, work: string): Promise<string> {
    const artifact = source.artifacts.get(name);
    if (!artifact) throw new RehearsalError(`input artifact ${name} was not produced by an earlier action of execution ${source.id}`);
    const dir = path.join(work, 'src');
    if ('clone' in artifact) {
      execFileSync('git', ['clone', '--quiet', '--no-hardlinks', artifact.clone, dir], { stdio: 'ignore' });
      execFileSync('git', ['checkout', '--quiet', '--detach', source.commit], { cwd: dir, stdio: 'ignore' });
      return dir;
    }
    const s3 = new S3Client(clientConfig(this.opts.aws, creds));
    try {
      const got = await s3.send(new GetObjectCommand({ Bucket: artifact.bucket, Key: artifact.key }));
      const entries = unzipSync(await got.Body!.transformToByteArray());
      for (const [file, bytes] of Object.entries(entries)) {
        if (file.endsWith('/')) continue;
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.writeFileSync(path.join(dir, file), bytes);
      }
    } catch (e) {
      throw new RehearsalError(`the build could not read its input artifact ${name} (s3://${artifact.bucket}/${artifact.key}) with its service role: ${(e as Error).message}`, { cause: e });
    } finally {
      s3.destroy();
    }
    return dir;
  }

  /** Uploads a build's output folder as CodePipeline stores artifacts: a zip under <pipeline>/<artifact>/ of the artifact bucket. */
  private async storeArtifact(name: string, dir: string, creds: Credentials, state: ExecutionState): Promise<void> {
    const files: Record<string, Uint8Array> = {};
    for (const f of listFiles(dir)) files[f.split(path.sep).join('/')] = fs.readFileSync(path.join(dir, f));
    const key = `${this.pipeline.name.slice(0, 20)}/${name.slice(0, 20)}/${randomUUID().slice(0, 7)}`;
    const s3 = new S3Client(clientConfig(this.opts.aws, creds));
    try {
      await s3.send(new PutObjectCommand({ Bucket: this.pipeline.artifactBucket, Key: key, Body: zipSync(files) }));
    } catch (e) {
      throw new RehearsalError(`the build could not store its output artifact ${name} in s3://${this.pipeline.artifactBucket}/${key} with its service role: ${(e as Error).message}`, { cause: e });
    } finally {
      s3.destroy();
    }
    state.artifacts.set(name, { bucket: this.pipeline.artifactBucket, key });
  }

  /** A project's environment variables with their values: PLAINTEXT as is, PARAMETER_STORE and SECRETS_MANAGER read with the project's role. */
  private async projectVariables(project: ProjectModel, creds: Credentials): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const v of project.environmentVariables) {
      if (v.type === 'PLAINTEXT') out[v.name] = this.image.toLocal(v.value);
      else if (v.type === 'PARAMETER_STORE') {
        const ssm = new SSMClient(clientConfig(this.opts.aws, creds));
        const got = await ssm.send(new GetParameterCommand({ Name: v.value, WithDecryption: true })).finally(() => ssm.destroy());
        out[v.name] = got.Parameter?.Value ?? '';
      } else if (v.type === 'SECRETS_MANAGER') {
        const { secretId, jsonKey, versionStage, versionId } = secretsManagerReference(v.value);
        const sm = new SecretsManagerClient(clientConfig(this.opts.aws, creds));
        const got = await sm.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: versionStage, VersionId: versionId })).finally(() => sm.destroy());
        const secret = got.SecretString ?? '';
        out[v.name] = jsonKey ? String((JSON.parse(secret) as Record<string, unknown>)[jsonKey] ?? '') : secret;
      } else throw new RehearsalError(`CodeBuild project ${project.name} variable ${v.name} has type ${v.type}, which CodeBuild does not know`);
    }
    return out;
  }

  private async runBuild({ stage, action, configuration, state, source, run }: ActionCall): Promise<ActionRun> {
    const project = this.pipeline.projects.get(configuration.ProjectName);
    if (!project) throw new RehearsalError(`action ${stage.name}/${action.name} names CodeBuild project ${configuration.ProjectName}, which is not in the assembly`);
    const creds = await this.credentials(project.serviceRoleArn, 'codebuild.amazonaws.com', `codebuild-${project.name}`);
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-rehearsal-build-'));
    try {
      const srcDir = await this.inputFolder(action.inputArtifacts[0], source, creds, work);
      const buildspec = path.join(work, 'buildspec.yml');
      fs.writeFileSync(buildspec, project.buildspec);
      const number = (this.buildNumbers.get(project.name) ?? 0) + 1;
      this.buildNumbers.set(project.name, number);
      const buildId = `${project.name}:${randomUUID()}`;
      const actionVariables = Object.fromEntries(
        (JSON.parse(configuration.EnvironmentVariables ?? '[]') as Array<{ name: string; value: string; type?: string }>).map((v) => [v.name, this.image.toLocal(v.value)]),
      );
      const env = {
        ...awsEnvironment(this.opts.aws, creds),
        ...(this.opts.endpoints ?? {}),
        AWS_ENDPOINT_URL_CODEPIPELINE: this.opts.codepipeline.endpoint,
        CODEBUILD_BUILD_ID: buildId,
        CODEBUILD_BUILD_ARN: `arn:aws:codebuild:${this.pipeline.region}:${this.pipeline.account}:build/${buildId}`,
        CODEBUILD_BUILD_NUMBER: String(number),
        CODEBUILD_INITIATOR: `codepipeline/${this.pipeline.name}`,
        CODEBUILD_RESOLVED_SOURCE_VERSION: source.commit,
        CODEBUILD_SOURCE_VERSION: source.commit,
        CODEBUILD_BUILD_URL: `https://${this.pipeline.region}.console.aws.amazon.com/codesuite/codebuild/${this.pipeline.account}/projects/${project.name}/build/${encodeURIComponent(buildId)}`,
        ...(await this.projectVariables(project, creds)),
        ...actionVariables,
      };
      const outDir = action.outputArtifacts.length > 0 ? path.join(work, 'out') : undefined;
      const result = await runBuildspec({ file: buildspec, srcDir, env, baseEnv: this.image.environment(), artifactsDir: outDir, timeoutMs: project.timeoutMinutes * 60_000 });
      if (!result.succeeded) {
        const failed = result.phases.find((p) => p.status === 'FAILED');
        const tail = withoutSdkNodeWarning(result.log).trim().split('\n').slice(-15).join('\n');
        return run('Failed', `build ${buildId} failed in phase ${failed?.name ?? '?'}${failed?.failedCommand ? ` at '${failed.failedCommand.command.split('\n')[0].slice(0, 120)}' (exit ${failed.failedCommand.exitCode})` : ''}:\n${tail}`, result.log);
      }
      if (outDir) {
        fs.mkdirSync(outDir, { recursive: true });
        await this.storeArtifact(action.outputArtifacts[0], outDir, creds, state);
      }
      if (action.namespace) state.variables.set(action.namespace, { ...result.exportedVariables });
      return run('Succeeded', `build ${buildId} succeeded`, result.log);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }

  private async runLambda({ stage, action, configuration, state, source, run }: ActionCall): Promise<ActionRun> {
    const fn = this.pipeline.functions.get(configuration.FunctionName);
    if (!fn) throw new RehearsalError(`action ${stage.name}/${action.name} invokes ${configuration.FunctionName}, which is not in the assembly`);
    const inputArtifacts = action.inputArtifacts.map((name) => {
      const a = source.artifacts.get(name);
      if (!a || 'clone' in a) throw new RehearsalError(`input artifact ${name} of ${stage.name}/${action.name} is not an S3 artifact of execution ${source.id}`);
      return { name, bucketName: a.bucket, objectKey: a.key };
    });
    const cp = this.opts.codepipeline;
    const job = cp.createJob({ pipelineName: this.pipeline.name, stageName: stage.name, actionName: action.name, executionId: state.id, configuration, inputArtifacts });
    const out = await invokeBundledHandler(fn.codeDir, fn.handler, cp.lambdaEvent(job), await this.functionEnvironment(fn), fn.timeoutSeconds * 1000 + 30_000);
    const result = cp.jobs.get(job.id)?.result;
    if (out.error && !result) return run('Failed', `${fn.name} failed without reporting to CodePipeline: ${out.error}`, out.log);
    if (!result) return run('Failed', `${fn.name} returned without reporting the job result (PutJobSuccessResult or PutJobFailureResult); CodePipeline times the action out`, out.log);
    return result.kind === 'success' ? run('Succeeded', result.summary ?? '', out.log) : run('Failed', `${result.type}: ${result.message}`, out.log);
  }

  /** What a function's process gets: the synthesized environment, its role's credentials and the stand-ins' endpoints. */
  private async functionEnvironment(fn: FunctionModel): Promise<Record<string, string>> {
    const creds = await this.credentials(fn.roleArn, 'lambda.amazonaws.com', fn.name);
    return {
      ...fn.environment,
      ...awsEnvironment(this.opts.aws, creds),
      ...(this.opts.endpoints ?? {}),
      AWS_ENDPOINT_URL_CODEPIPELINE: this.opts.codepipeline.endpoint,
      AWS_LAMBDA_FUNCTION_NAME: fn.name,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
      AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
      __REHEARSAL_FUNCTION_ARN: fn.arn,
      PATH: process.env.PATH ?? '',
      HOME: os.tmpdir(),
    };
  }

  /**
   * CodePipeline puts a state-change event on the account's default bus; each enabled rule whose
   * pattern matches delivers it to its Lambda targets (the Recorder), which run with their own role.
   * Delivered in order and awaited here (EventBridge delivers within seconds, before the next
   * stage's work in practice); a handler error is recorded on the execution and logged, as
   * EventBridge would retry and then dead-letter it, and does not stop the pipeline.
   */
  private async emit(state: ExecutionState, event: BusEvent): Promise<void> {
    for (const rule of this.pipeline.eventRules) {
      if (!matchesPattern(rule.pattern, event, `of rule ${rule.id}`)) continue;
      for (const fn of rule.functions) {
        let worker = this.workers.get(fn.name);
        if (!worker) {
          worker = new FunctionWorker(fn.codeDir, fn.handler, () => this.functionEnvironment(fn), fn.timeoutSeconds * 1000 + 30_000);
          this.workers.set(fn.name, worker);
        }
        const out = await worker.invoke(event);
        const d = event.detail as { state: string; stage?: string; action?: string };
        const delivery: EventDelivery = { detailType: event['detail-type'], state: d.state, stage: d.stage, action: d.action, rule: rule.id, target: fn.name, ok: out.error === undefined, ...(out.error !== undefined ? { error: out.error } : {}) };
        state.deliveries.push(delivery);
        if (out.error !== undefined) {
          this.log(`  event ${event['detail-type']} ${[d.stage, d.action, d.state].filter(Boolean).join('/')} → ${fn.name} failed: ${out.error.split('\n')[0].slice(0, 400)}`);
        }
      }
    }
  }

  private emitPipeline(state: ExecutionState, s: 'STARTED' | 'SUCCEEDED' | 'FAILED'): Promise<void> {
    return this.emit(state, codepipelineEvent('CodePipeline Pipeline Execution State Change', this.pipeline, { 'execution-id': state.id, state: s }));
  }

  private emitStage(state: ExecutionState, stage: string, s: 'STARTED' | 'SUCCEEDED' | 'FAILED'): Promise<void> {
    return this.emit(state, codepipelineEvent('CodePipeline Stage Execution State Change', this.pipeline, { 'execution-id': state.id, stage, state: s }));
  }

  private emitAction(state: ExecutionState, stage: StageModel, action: ActionModel, s: 'STARTED' | 'SUCCEEDED' | 'FAILED'): Promise<void> {
    const [category, provider] = action.type.split('/');
    return this.emit(
      state,
      codepipelineEvent('CodePipeline Action Execution State Change', this.pipeline, {
        'execution-id': state.id,
        stage: stage.name,
        action: action.name,
        state: s,
        region: this.pipeline.region,
        type: { owner: 'AWS', provider, category, version: '1' },
      }),
    );
  }

  /** Ends the warm function processes the event deliveries started. */
  close(): void {
    for (const w of this.workers.values()) w.stop();
    this.workers.clear();
  }

  /** Evaluates a stage's success conditions (CloudWatchAlarm rules) over its bake. */
  private async evaluateConditions(stage: StageModel, exec: ExecutionOptions): Promise<{ ok: true } | { ok: false; rule: string; message: string }> {
    for (const condition of stage.onSuccessConditions) {
      for (const rule of condition.rules) {
        const alarm = this.pipeline.alarms.get(rule.configuration.AlarmName);
        if (!alarm) throw new RehearsalError(`rule ${rule.name} of stage ${stage.name} names alarm ${rule.configuration.AlarmName}, which is not in the assembly`);
        this.log(`  ${stage.name}: condition reads ${alarm.name} over ${rule.configuration.WaitTime ?? '0'} min in the pipeline (${exec.bakeSeconds ?? 0} s here)`);
        await exec.duringBake?.(stage.name);
        const wait = (exec.bakeSeconds ?? 0) * 1000;
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        // CloudWatch's state now: the alarm's last evaluation periods, ending now
        const window = alarm.periodSeconds * alarm.evaluationPeriods * 1000;
        let state: { value: string; reason: string };
        try {
          state = await this.alarmState(alarm, new Date(Date.now() - window), new Date());
        } catch (e) {
          // CodePipeline fails a condition whose rule cannot be evaluated, with the condition's result
          return { ok: false, rule: rule.name, message: `rule ${rule.name} could not be evaluated: ${(e as Error).message}; the condition's result is ${condition.result}` };
        }
        const states = (rule.configuration.AlarmStates ?? 'ALARM').split(',').map((s) => s.trim());
        if (states.includes(state.value)) return { ok: false, rule: rule.name, message: `alarm ${alarm.name} went to ${state.value} during the bake (${state.reason}); the condition's result is ${condition.result}` };
      }
    }
    return { ok: true };
  }

  /** The alarm's state over [from, to], evaluated from the metric as CloudWatch would, and set on the alarm in the stand-in. */
  private async alarmState(alarm: AlarmModel, from: Date, to: Date): Promise<{ value: 'OK' | 'ALARM'; reason: string }> {
    // CodePipeline reads the alarm with the pipeline's role (its ReadTheProdBakeAlarm grant); CloudWatch evaluates it
    const asPipeline = new CloudWatchClient(clientConfig(this.opts.aws, await this.credentials(this.pipeline.roleArn, 'codepipeline.amazonaws.com', 'codepipeline')));
    try {
      const described = await asPipeline.send(new DescribeAlarmsCommand({ AlarmNames: [alarm.name] }));
      if (!described.MetricAlarms?.length) throw new RehearsalError(`alarm ${alarm.name} does not exist in the AWS stand-in; the rehearsal provisions it from the template`);
    } catch (e) {
      if (e instanceof RehearsalError) throw e;
      throw new RehearsalError(`the pipeline role ${this.pipeline.roleArn} cannot read the bake alarm ${alarm.name}: ${(e as Error).message}`, { cause: e });
    } finally {
      asPipeline.destroy();
    }
    const cw = new CloudWatchClient(clientConfig(this.opts.aws));
    try {
      const start = new Date(Math.floor(from.getTime() / (alarm.periodSeconds * 1000)) * alarm.periodSeconds * 1000);
      const got = await cw.send(
        new GetMetricStatisticsCommand({
          Namespace: alarm.namespace,
          MetricName: alarm.metricName,
          Dimensions: Object.entries(alarm.dimensions).map(([Name, Value]) => ({ Name, Value })),
          StartTime: start,
          EndTime: new Date(to.getTime() + alarm.periodSeconds * 1000),
          Period: alarm.periodSeconds,
          Statistics: [alarm.statistic as 'Sum'],
        }),
      );
      const values = (got.Datapoints ?? []).map((d) => Number((d as Record<string, unknown>)[alarm.statistic] ?? 0));
      const breaching = values.filter((v) => compare(alarm.comparisonOperator, v, alarm.threshold)).length;
      const value = breaching >= alarm.evaluationPeriods ? 'ALARM' : 'OK';
      const reason = `${values.length} datapoint(s) of ${alarm.namespace}/${alarm.metricName} ${JSON.stringify(alarm.dimensions)}: [${values.join(', ')}], ${breaching} ${alarm.comparisonOperator} ${alarm.threshold}`;
      await cw.send(new SetAlarmStateCommand({ AlarmName: alarm.name, StateValue: value, StateReason: reason.slice(0, 1023) }));
      return { value, reason };
    } finally {
      cw.destroy();
    }
  }

  /**
   * CodePipeline's stage rollback: a ROLLBACK execution that runs the stage again with the artifacts
   * and variables of the last execution in which the stage succeeded. None such: no rollback.
   */
  private async rollbackStage(stage: StageModel, failed: ExecutionState, exec: ExecutionOptions, why: 'failure' | 'condition'): Promise<ExecutionResult | undefined> {
    const target = [...this.states].reverse().find((s) => s.id !== failed.id && this.succeeded.get(s.id)?.has(stage.name));
    if (!target) {
      this.log(`  ${stage.name}: no earlier execution succeeded in the stage; nothing to roll back to`);
      return undefined;
    }
    const started = Date.now();
    // the stage rollback as CodePipeline records it: a ROLLBACK execution whose target is the earlier execution
    const cp = new CodePipelineClient({ endpoint: this.opts.codepipeline.endpoint, region: this.pipeline.region, credentials: this.opts.aws.credentials, maxAttempts: 1 });
    const started_ = await cp.send(new RollbackStageCommand({ pipelineName: this.pipeline.name, stageName: stage.name, targetPipelineExecutionId: target.id })).finally(() => cp.destroy());
    const id = started_.pipelineExecutionId;
    if (!id) throw new RehearsalError(`RollbackStage of ${stage.name} to ${target.id} returned no execution id`);
    const state: ExecutionState = { id, commit: target.commit, sourceDir: target.sourceDir, artifacts: new Map(target.artifacts), variables: new Map([...target.variables, ['codepipeline', { PipelineExecutionId: id }]]), deliveries: [] };
    this.log(`  ${stage.name}: rolling back (${why}) to execution ${target.id} as ${id}`);
    await this.emitPipeline(state, 'STARTED');
    await this.emitStage(state, stage.name, 'STARTED');
    const runs: ActionRun[] = [];
    const outcome = await this.runStage(stage, state, exec, runs, [], { ...target, variables: state.variables });
    this.opts.codepipeline.setStage(this.pipeline.name, id, stage.name, outcome.ok ? 'Succeeded' : 'Failed', outcome.ok ? 'Succeeded' : 'Failed');
    await this.emitStage(state, stage.name, outcome.ok ? 'SUCCEEDED' : 'FAILED');
    await this.emitPipeline(state, outcome.ok ? 'SUCCEEDED' : 'FAILED');
    this.log(`  ${stage.name}: rollback execution ${id} ${outcome.ok ? 'succeeded' : `failed at ${outcome.failure.action}`}`);
    return {
      executionId: id,
      type: 'ROLLBACK',
      status: outcome.ok ? 'Succeeded' : 'Failed',
      stages: { [stage.name]: outcome.ok ? 'Succeeded' : 'Failed' },
      actions: runs,
      approvals: [],
      variables: Object.fromEntries(state.variables),
      failure: outcome.ok ? undefined : outcome.failure,
      deliveries: state.deliveries,
      durationMs: Date.now() - started,
    };
  }

}

/**
 * A CodeBuild SECRETS_MANAGER variable's value, `<secret-id>[:<json-key>[:<version-stage>[:<version-id>]]]`,
 * whose secret id is a name or a full ARN (seven colon-separated fields of its own).
 */
export function secretsManagerReference(value: string): { secretId: string; jsonKey?: string; versionStage?: string; versionId?: string } {
  const parts = value.split(':');
  const idFields = value.startsWith('arn:') ? 7 : 1;
  if (parts.length < idFields) throw new RehearsalError(`SECRETS_MANAGER variable value ${value} is not <secret-id>[:<json-key>[:<version-stage>[:<version-id>]]] (a secret ARN has seven fields)`);
  const [jsonKey, versionStage, versionId] = parts.slice(idFields).map((p) => p || undefined);
  return { secretId: parts.slice(0, idFields).join(':'), jsonKey, versionStage, versionId };
}

/**
 * A build log without the AWS SDK's NodeVersionSupportWarning (each node process on Node 20 prints it
 * once), so that the tail a failure message quotes is the build's own last lines.
 */
export function withoutSdkNodeWarning(log: string): string {
  return log.replace(/\(node:\d+\) Warning: NodeVersionSupportWarning:[\s\S]*?https:\/\/a\.co\/\S+\n(\(Use `node --trace-warnings[^\n]*\n)?/g, '');
}

function compare(op: string, v: number, threshold: number): boolean {
  switch (op) {
    case 'GreaterThanOrEqualToThreshold':
      return v >= threshold;
    case 'GreaterThanThreshold':
      return v > threshold;
    case 'LessThanThreshold':
      return v < threshold;
    case 'LessThanOrEqualToThreshold':
      return v <= threshold;
    default:
      throw new RehearsalError(`alarm comparison ${op} is not one the rehearsal evaluates`);
  }
}

const HANDLER_RUNNER = `
const fs = require('fs');
const [codeDir, handler, eventFile, resultFile] = process.argv.slice(1);
const dot = handler.lastIndexOf('.');
const mod = require(require('path').join(codeDir, handler.slice(0, dot)));
const fn = mod[handler.slice(dot + 1)];
const event = JSON.parse(fs.readFileSync(eventFile, 'utf8'));
const deadline = Date.now() + Number(process.env.__REHEARSAL_TIMEOUT_MS || 60000);
const context = { functionName: process.env.AWS_LAMBDA_FUNCTION_NAME, functionVersion: '$LATEST', invokedFunctionArn: process.env.__REHEARSAL_FUNCTION_ARN || '', memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE, awsRequestId: require('crypto').randomUUID(), logGroupName: '/aws/lambda/' + process.env.AWS_LAMBDA_FUNCTION_NAME, logStreamName: 'rehearsal', getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()), callbackWaitsForEmptyEventLoop: true };
Promise.resolve().then(() => fn(event, context)).then(
  (r) => { fs.writeFileSync(resultFile, JSON.stringify({ result: r === undefined ? null : r })); process.exit(0); },
  (e) => { fs.writeFileSync(resultFile, JSON.stringify({ error: (e && e.stack) || String(e) })); process.exit(0); },
);
`;

/**
 * Runs a bundled Lambda handler once, in a node process of its own with exactly the function's
 * environment (no variable of this process leaks in), as the Lambda runtime would invoke it.
 */
export async function invokeBundledHandler(codeDir: string, handler: string, event: unknown, env: Record<string, string>, timeoutMs: number): Promise<{ result?: unknown; error?: string; log: string }> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-rehearsal-fn-'));
  try {
    const eventFile = path.join(work, 'event.json');
    const resultFile = path.join(work, 'result.json');
    fs.writeFileSync(eventFile, JSON.stringify(event));
    const log: string[] = [];
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', HANDLER_RUNNER, codeDir, handler, eventFile, resultFile], { env: { ...env, __REHEARSAL_TIMEOUT_MS: String(timeoutMs) }, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.on('data', (b: Buffer) => log.push(b.toString()));
      child.stderr.on('data', (b: Buffer) => log.push(b.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('error', reject);
      child.on('close', (c) => {
        clearTimeout(timer);
        resolve(c ?? 1);
      });
    });
    if (!fs.existsSync(resultFile)) return { error: `the handler process exited with ${code} before it returned (timeout ${timeoutMs} ms?)`, log: log.join('') };
    const out = JSON.parse(fs.readFileSync(resultFile, 'utf8')) as { result?: unknown; error?: string };
    return { ...out, log: log.join('') };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
