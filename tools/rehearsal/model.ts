import { z } from 'zod';
import type { AssemblyStack, CloudAssembly } from './assembly';
import { RehearsalError } from './errors';
import { Resolver } from './intrinsics';

/** Action types the rehearsal runs (category/provider); any other fails at once, naming it. */
export const KNOWN_ACTION_TYPES = ['Source/CodeStarSourceConnection', 'Build/CodeBuild', 'Invoke/Lambda', 'Approval/Manual'] as const;
export type ActionType = (typeof KNOWN_ACTION_TYPES)[number];

/** Rule types the rehearsal evaluates in stage conditions. */
export const KNOWN_RULE_TYPES = ['Rule/CloudWatchAlarm'] as const;

/** An IAM role of the assembly with its policies, resolved. */
export interface RoleModel {
  readonly logicalId: string;
  readonly stackId: string;
  readonly account: string;
  readonly name: string;
  readonly arn: string;
  readonly trustPolicy: unknown;
  readonly inlinePolicies: ReadonlyArray<{ readonly name: string; readonly document: unknown }>;
  readonly managedPolicyArns: readonly string[];
}

/** A CodeBuild project: its environment variables, buildspec and service role, as synthesized. */
export interface ProjectModel {
  readonly name: string;
  readonly serviceRoleArn: string;
  readonly environmentVariables: ReadonlyArray<{ readonly name: string; readonly type: string; readonly value: string }>;
  /** The buildspec text (JSON or YAML) of the project's source. */
  readonly buildspec: string;
  readonly timeoutMinutes: number;
}

/** A Lambda function: its bundled code folder, handler, environment and role. */
export interface FunctionModel {
  readonly name: string;
  readonly arn: string;
  readonly codeDir: string;
  readonly handler: string;
  readonly runtime: string;
  readonly roleArn: string;
  readonly environment: Readonly<Record<string, string>>;
  readonly timeoutSeconds: number;
}

/** A CloudWatch alarm (name, metric, threshold), as synthesized. */
export interface AlarmModel {
  readonly name: string;
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly statistic: string;
  readonly periodSeconds: number;
  readonly evaluationPeriods: number;
  readonly threshold: number;
  readonly comparisonOperator: string;
  readonly treatMissingData: string;
}

/** One action of a stage. */
export interface ActionModel {
  readonly name: string;
  readonly type: ActionType;
  readonly runOrder: number;
  readonly configuration: Readonly<Record<string, string>>;
  readonly inputArtifacts: readonly string[];
  readonly outputArtifacts: readonly string[];
  readonly namespace?: string;
  readonly roleArn?: string;
}

/** A stage condition rule (e.g. the prod bake's CloudWatchAlarm rule). */
export interface RuleModel {
  readonly name: string;
  readonly provider: string;
  readonly configuration: Readonly<Record<string, string>>;
}

/** One stage with its actions and its failure and success handling. */
export interface StageModel {
  readonly name: string;
  readonly actions: readonly ActionModel[];
  /** `ROLLBACK`, `RETRY` or `FAIL` on failure. @default FAIL */
  readonly onFailure?: string;
  readonly onSuccessConditions: ReadonlyArray<{ readonly result: string; readonly rules: readonly RuleModel[] }>;
}

/** One repo's pipeline as the assembly defines it, with everything its actions run as. */
export interface PipelineModel {
  readonly repo: string;
  readonly stackId: string;
  readonly name: string;
  readonly account: string;
  readonly region: string;
  readonly roleArn: string;
  readonly artifactBucket: string;
  readonly executionMode: string;
  readonly stages: readonly StageModel[];
  readonly projects: ReadonlyMap<string, ProjectModel>;
  readonly functions: ReadonlyMap<string, FunctionModel>;
  readonly alarms: ReadonlyMap<string, AlarmModel>;
  /** Every IAM role of the assembly, by ARN. */
  readonly roles: ReadonlyMap<string, RoleModel>;
  /** Every customer-managed policy of the assembly (AWS::IAM::ManagedPolicy): its document, by ARN. */
  readonly managedPolicies: ReadonlyMap<string, unknown>;
  /** The enabled EventBridge rules of the assembly with an event pattern (what CodePipeline's state-change events reach). */
  readonly eventRules: readonly EventRuleModel[];
}

/** An EventBridge rule with an event pattern, as synthesized: the pattern and the targets it delivers to. */
export interface EventRuleModel {
  /** `<stack>/<logical id>` (the rule's physical name is generated at deploy). */
  readonly id: string;
  readonly pattern: unknown;
  /** Targets that are Lambda functions of the assembly: the rehearsal invokes them with each matching event. */
  readonly functions: readonly FunctionModel[];
  /** ARNs of other targets (queues, topics, buses), which the rehearsal does not deliver to. */
  readonly otherTargets: readonly string[];
}

const EventRuleSchema = z.object({
  EventPattern: z.unknown().optional(),
  State: z.string().optional(),
  Targets: z.array(z.object({ Arn: z.unknown(), Id: z.string() }).loose()).optional(),
});

/** Every ENABLED AWS::Events::Rule with an EventPattern, its Lambda targets read as functions (schedule-only rules are left out). */
function readEventRules(assembly: CloudAssembly, resolver: Resolver): EventRuleModel[] {
  const functionsByArn = new Map<string, { stack: AssemblyStack; logicalId: string }>();
  for (const stack of assembly.stacks.values()) {
    for (const [logicalId, r] of Object.entries(stack.resources)) {
      if (r.Type === 'AWS::Lambda::Function') functionsByArn.set(resolver.resource(stack, logicalId).attributes.Arn, { stack, logicalId });
    }
  }
  const out: EventRuleModel[] = [];
  for (const stack of assembly.stacks.values()) {
    for (const [logicalId, r] of Object.entries(stack.resources)) {
      if (r.Type !== 'AWS::Events::Rule') continue;
      const id = `${stack.id}/${logicalId}`;
      const p = narrow(EventRuleSchema, r.Properties, `event rule ${id}`);
      if (p.EventPattern === undefined || (p.State ?? 'ENABLED') !== 'ENABLED') continue;
      const functions: FunctionModel[] = [];
      const otherTargets: string[] = [];
      for (const t of p.Targets ?? []) {
        const arn = resolver.string(stack, t.Arn, `event rule ${id} target ${t.Id}`);
        const fn = functionsByArn.get(arn);
        if (fn) functions.push(functionAt(assembly, resolver, fn.stack, fn.logicalId));
        else otherTargets.push(arn);
      }
      out.push({ id, pattern: resolver.value(stack, p.EventPattern), functions, otherTargets });
    }
  }
  return out;
}

function readManagedPolicies(assembly: CloudAssembly, resolver: Resolver): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const stack of assembly.stacks.values()) {
    for (const [logicalId, r] of Object.entries(stack.resources)) {
      if (r.Type === 'AWS::IAM::ManagedPolicy') out.set(resolver.resource(stack, logicalId).ref, resolver.value(stack, r.Properties?.PolicyDocument));
    }
  }
  return out;
}

const ActionSchema = z.object({
  Name: z.string(),
  ActionTypeId: z.object({ Category: z.string(), Owner: z.string(), Provider: z.string(), Version: z.string() }),
  Configuration: z.record(z.string(), z.unknown()).optional(),
  InputArtifacts: z.array(z.object({ Name: z.string() })).optional(),
  OutputArtifacts: z.array(z.object({ Name: z.string() })).optional(),
  Namespace: z.string().optional(),
  RoleArn: z.unknown().optional(),
  RunOrder: z.number().int().optional(),
});

const RuleSchema = z.object({ Name: z.string(), RuleTypeId: z.object({ Category: z.string(), Provider: z.string() }), Configuration: z.record(z.string(), z.unknown()).optional() });
const ConditionSchema = z.object({ Result: z.string(), Rules: z.array(RuleSchema) });

const PipelineSchema = z.object({
  Name: z.unknown(),
  RoleArn: z.unknown(),
  ExecutionMode: z.string().optional(),
  ArtifactStore: z.object({ Location: z.unknown(), Type: z.literal('S3') }),
  Stages: z.array(
    z.object({
      Name: z.string(),
      Actions: z.array(ActionSchema),
      OnFailure: z.object({ Result: z.string() }).optional(),
      OnSuccess: z.object({ Conditions: z.array(ConditionSchema) }).optional(),
    }),
  ),
});

const ProjectSchema = z.object({
  Name: z.unknown(),
  ServiceRole: z.unknown(),
  TimeoutInMinutes: z.number().optional(),
  Environment: z.object({ EnvironmentVariables: z.array(z.object({ Name: z.string(), Type: z.string().optional(), Value: z.unknown() })).optional() }),
  Source: z.object({ BuildSpec: z.unknown().optional(), Type: z.string() }),
});

const FunctionSchema = z.object({
  FunctionName: z.unknown().optional(),
  Handler: z.string(),
  Runtime: z.string(),
  Role: z.unknown(),
  Timeout: z.number().optional(),
  Code: z.object({ S3Key: z.unknown() }),
  Environment: z.object({ Variables: z.record(z.string(), z.unknown()) }).optional(),
});

const AlarmSchema = z.object({
  AlarmName: z.unknown().optional(),
  Namespace: z.string(),
  MetricName: z.string(),
  Dimensions: z.array(z.object({ Name: z.string(), Value: z.unknown() })).optional(),
  Statistic: z.string(),
  Period: z.number(),
  EvaluationPeriods: z.number(),
  Threshold: z.number(),
  ComparisonOperator: z.string(),
  TreatMissingData: z.string().optional(),
});

function narrow<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new RehearsalError(`${what} is not a resource the rehearsal can read: ${r.error.issues.slice(0, 3).map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
  return r.data;
}

/** Every IAM role of the assembly with its trust, inline and customer-managed policies, by ARN. */
export function readRoles(assembly: CloudAssembly, resolver: Resolver): Map<string, RoleModel> {
  const roles = new Map<string, RoleModel>();
  const byLogical = new Map<string, { stack: AssemblyStack; logicalId: string; inline: { name: string; document: unknown }[]; managed: string[] }>();
  for (const stack of assembly.stacks.values()) {
    for (const [logicalId, r] of Object.entries(stack.resources)) {
      if (r.Type !== 'AWS::IAM::Role') continue;
      const p = r.Properties ?? {};
      const inline = ((p.Policies as Array<{ PolicyName: string; PolicyDocument: unknown }> | undefined) ?? []).map((x) => ({ name: x.PolicyName, document: resolver.value(stack, x.PolicyDocument) }));
      const managed = ((p.ManagedPolicyArns as unknown[] | undefined) ?? []).map((x) => resolver.string(stack, x, `${logicalId} ManagedPolicyArns`));
      byLogical.set(`${stack.id}/${logicalId}`, { stack, logicalId, inline, managed });
    }
  }
  // AWS::IAM::Policy and ManagedPolicy resources attach to roles by Ref (same stack) or by name
  for (const stack of assembly.stacks.values()) {
    for (const [logicalId, r] of Object.entries(stack.resources)) {
      if (r.Type !== 'AWS::IAM::Policy' && r.Type !== 'AWS::IAM::ManagedPolicy') continue;
      const p = r.Properties ?? {};
      const document = resolver.value(stack, p.PolicyDocument);
      for (const roleRef of (p.Roles as unknown[] | undefined) ?? []) {
        const ref = roleRef as { Ref?: string };
        const target = ref.Ref ? byLogical.get(`${stack.id}/${ref.Ref}`) : [...byLogical.values()].find((x) => x.stack.id === stack.id && resolver.resource(x.stack, x.logicalId).ref === resolver.value(stack, roleRef));
        if (!target) continue;
        if (r.Type === 'AWS::IAM::Policy') target.inline.push({ name: resolver.string(stack, p.PolicyName, `${logicalId} PolicyName`), document });
        else target.managed.push(resolver.resource(stack, logicalId).ref);
      }
    }
  }
  for (const { stack, logicalId, inline, managed } of byLogical.values()) {
    const physical = resolver.resource(stack, logicalId);
    const arn = physical.attributes.Arn;
    roles.set(arn, {
      logicalId,
      stackId: stack.id,
      account: stack.account,
      name: physical.ref,
      arn,
      trustPolicy: resolver.value(stack, stack.resources[logicalId].Properties?.AssumeRolePolicyDocument),
      inlinePolicies: inline,
      managedPolicyArns: managed,
    });
  }
  return roles;
}

function configurationOf(stack: AssemblyStack, resolver: Resolver, config: Record<string, unknown> | undefined, what: string): Record<string, string> {
  return Object.fromEntries(Object.entries(config ?? {}).map(([k, v]) => [k, typeof v === 'boolean' || typeof v === 'number' ? String(v) : resolver.string(stack, v, `${what} ${k}`)]));
}

/**
 * Reads repo `repo`'s pipeline from the assembly (stack `DataOpsPipeline-<repo>`): stages, actions,
 * run order, namespaces, conditions and OnFailure, and every CodeBuild project, Lambda function,
 * alarm and IAM role its actions use, with the intrinsics resolved.
 * @throws RehearsalError when the repo is not in the assembly or an action type is unknown
 */
export function readPipeline(assembly: CloudAssembly, repo: string, resolver = new Resolver(assembly)): PipelineModel {
  const stackId = `DataOpsPipeline-${repo}`;
  if (!assembly.stacks.has(stackId)) {
    const repos = [...assembly.stacks.keys()].filter((s) => s.startsWith('DataOpsPipeline-')).map((s) => s.slice('DataOpsPipeline-'.length));
    throw new RehearsalError(`repo '${repo}' has no pipeline in the cloud assembly ${assembly.dir} (no stack ${stackId}); its repos are ${repos.join(', ') || 'none'}: pass one of them, or synthesize the configuration that has ${repo}`);
  }
  const stack = assembly.stack(stackId);
  const pipelines = Object.entries(stack.resources).filter(([, r]) => r.Type === 'AWS::CodePipeline::Pipeline');
  if (pipelines.length !== 1) throw new RehearsalError(`stack ${stackId} holds ${pipelines.length} pipelines; the rehearsal expects exactly one`);
  const [pipelineId, pipelineResource] = pipelines[0];
  const p = narrow(PipelineSchema, pipelineResource.Properties, `pipeline ${pipelineId} of ${stackId}`);

  const projects = new Map<string, ProjectModel>();
  const functions = new Map<string, FunctionModel>();
  const alarms = new Map<string, AlarmModel>();
  const stages: StageModel[] = p.Stages.map((s) => ({
    name: s.Name,
    onFailure: s.OnFailure?.Result,
    onSuccessConditions: (s.OnSuccess?.Conditions ?? []).map((c) => ({
      result: c.Result,
      rules: c.Rules.map((rule) => {
        const type = `${rule.RuleTypeId.Category}/${rule.RuleTypeId.Provider}`;
        if (!(KNOWN_RULE_TYPES as readonly string[]).includes(type)) {
          throw new RehearsalError(`stage ${s.Name} of ${stackId} has a condition rule ${rule.Name} of type ${type}, which the rehearsal does not evaluate (it knows ${KNOWN_RULE_TYPES.join(', ')})`);
        }
        return { name: rule.Name, provider: rule.RuleTypeId.Provider, configuration: configurationOf(stack, resolver, rule.Configuration, `rule ${rule.Name}`) };
      }),
    })),
    actions: s.Actions.map((a) => {
      const type = `${a.ActionTypeId.Category}/${a.ActionTypeId.Provider}`;
      if (!(KNOWN_ACTION_TYPES as readonly string[]).includes(type)) {
        throw new RehearsalError(`action ${s.Name}/${a.Name} of ${stackId} is of type ${type}, which the rehearsal does not run (it runs ${KNOWN_ACTION_TYPES.join(', ')})`);
      }
      const configuration = configurationOf(stack, resolver, a.Configuration, `action ${s.Name}/${a.Name}`);
      if (type === 'Build/CodeBuild') projects.set(configuration.ProjectName, readProject(assembly, resolver, configuration.ProjectName));
      if (type === 'Invoke/Lambda') functions.set(configuration.FunctionName, readFunction(assembly, resolver, configuration.FunctionName));
      return {
        name: a.Name,
        type: type as ActionType,
        runOrder: a.RunOrder ?? 1,
        configuration,
        inputArtifacts: (a.InputArtifacts ?? []).map((x) => x.Name),
        outputArtifacts: (a.OutputArtifacts ?? []).map((x) => x.Name),
        namespace: a.Namespace,
        roleArn: a.RoleArn === undefined ? undefined : resolver.string(stack, a.RoleArn, `action ${s.Name}/${a.Name} RoleArn`),
      };
    }),
  }));
  for (const s of stages) for (const c of s.onSuccessConditions) for (const r of c.rules) if (r.configuration.AlarmName) alarms.set(r.configuration.AlarmName, readAlarm(assembly, resolver, r.configuration.AlarmName));
  return {
    repo,
    stackId,
    name: resolver.string(stack, p.Name, 'pipeline Name'),
    account: stack.account,
    region: stack.region,
    roleArn: resolver.string(stack, p.RoleArn, 'pipeline RoleArn'),
    artifactBucket: resolver.string(stack, p.ArtifactStore.Location, 'pipeline ArtifactStore.Location'),
    executionMode: p.ExecutionMode ?? 'SUPERSEDED',
    stages,
    projects,
    functions,
    alarms,
    roles: readRoles(assembly, resolver),
    managedPolicies: readManagedPolicies(assembly, resolver),
    eventRules: readEventRules(assembly, resolver),
  };
}

/** Finds the resource of `type` whose physical name (Ref) is `name`, in any stack. */
function findByName(assembly: CloudAssembly, resolver: Resolver, type: string, name: string): { stack: AssemblyStack; logicalId: string } {
  for (const stack of assembly.stacks.values()) {
    for (const [logicalId, r] of Object.entries(stack.resources)) {
      if (r.Type === type && resolver.resource(stack, logicalId).ref === name) return { stack, logicalId };
    }
  }
  throw new RehearsalError(`no ${type} named '${name}' is in the cloud assembly ${assembly.dir}; synthesize every stack together with 'npx cdk synth'`);
}

function readProject(assembly: CloudAssembly, resolver: Resolver, name: string): ProjectModel {
  const { stack, logicalId } = findByName(assembly, resolver, 'AWS::CodeBuild::Project', name);
  const p = narrow(ProjectSchema, stack.resources[logicalId].Properties, `CodeBuild project ${name}`);
  const buildspec = p.Source.BuildSpec === undefined ? undefined : resolver.string(stack, p.Source.BuildSpec, `${name} BuildSpec`);
  if (!buildspec) throw new RehearsalError(`CodeBuild project ${name} has no inline buildspec; the rehearsal runs the buildspec the template holds`);
  return {
    name,
    serviceRoleArn: resolver.string(stack, p.ServiceRole, `${name} ServiceRole`),
    environmentVariables: (p.Environment.EnvironmentVariables ?? []).map((v) => ({ name: v.Name, type: v.Type ?? 'PLAINTEXT', value: resolver.string(stack, v.Value, `${name} variable ${v.Name}`) })),
    buildspec,
    timeoutMinutes: p.TimeoutInMinutes ?? 60,
  };
}

function readFunction(assembly: CloudAssembly, resolver: Resolver, name: string): FunctionModel {
  const { stack, logicalId } = findByName(assembly, resolver, 'AWS::Lambda::Function', name);
  return functionAt(assembly, resolver, stack, logicalId);
}

function functionAt(assembly: CloudAssembly, resolver: Resolver, stack: AssemblyStack, logicalId: string): FunctionModel {
  const name = resolver.resource(stack, logicalId).ref;
  const p = narrow(FunctionSchema, stack.resources[logicalId].Properties, `Lambda function ${name}`);
  const key = resolver.string(stack, p.Code.S3Key, `${name} Code.S3Key`);
  const codeDir = stack.assetDirs.get(key);
  if (!codeDir) throw new RehearsalError(`the code of Lambda function ${name} (asset ${key}) is not in the cloud assembly ${assembly.dir}; synthesize again with 'npx cdk synth'`);
  return {
    name,
    arn: resolver.resource(stack, logicalId).attributes.Arn,
    codeDir,
    handler: p.Handler,
    runtime: p.Runtime,
    roleArn: resolver.string(stack, p.Role, `${name} Role`),
    environment: Object.fromEntries(Object.entries(p.Environment?.Variables ?? {}).map(([k, v]) => [k, resolver.string(stack, v, `${name} variable ${k}`)])),
    timeoutSeconds: p.Timeout ?? 3,
  };
}

function readAlarm(assembly: CloudAssembly, resolver: Resolver, name: string): AlarmModel {
  const { stack, logicalId } = findByName(assembly, resolver, 'AWS::CloudWatch::Alarm', name);
  const p = narrow(AlarmSchema, stack.resources[logicalId].Properties, `alarm ${name}`);
  return {
    name,
    namespace: p.Namespace,
    metricName: p.MetricName,
    dimensions: Object.fromEntries((p.Dimensions ?? []).map((d) => [d.Name, resolver.string(stack, d.Value, `${name} dimension ${d.Name}`)])),
    statistic: p.Statistic,
    periodSeconds: p.Period,
    evaluationPeriods: p.EvaluationPeriods,
    threshold: p.Threshold,
    comparisonOperator: p.ComparisonOperator,
    treatMissingData: p.TreatMissingData ?? 'missing',
  };
}
