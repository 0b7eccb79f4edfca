/**
 * Mutations of the real synthesized templates that the project's Guard rules must catch (issue 11,
 * item 9), and the evaluator that checks them. `test/policies/guard-mutations.test.ts` and
 * `bench/guard.bench.ts` both count this one table.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, CloudFormationValidatePlugin, type PolicyViolation } from 'aws-cdk-lib';
import type { PlatformConfig } from '../../lib/config/schema';
import { guardRules } from '../../lib/policies';
import { synthPlatform } from '../helpers/synth';

/** The parts of a CloudFormation template that the mutations touch. */
export interface CfnTemplate {
  Metadata?: Record<string, unknown>;
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  [section: string]: unknown;
}

/** A policy statement as the templates write it. */
export interface Statement {
  Effect: string;
  Action?: unknown;
  NotAction?: unknown;
  Resource?: unknown;
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
  [key: string]: unknown;
}

/** One change to one real template, and the rule that must catch it. */
export interface GuardMutation {
  /** What the change does, as the test name says it. */
  readonly name: string;
  /** Stack id of the template it changes, e.g. `DataOpsTarget-prod`. */
  readonly stack: string;
  /** The rule that must report it. */
  readonly caughtBy: string;
  /** Changes the template in place; throws when the template has no place for the change. */
  readonly mutate: (template: CfnTemplate, config: PlatformConfig) => void;
}

const FOREIGN = '999999999999';

/** The logical ids of the resources of `type` in `template` that `where` accepts, or a clear error. */
function resourcesOf(template: CfnTemplate, type: string, where: (props: Record<string, unknown>) => boolean = () => true): Array<Record<string, unknown>> {
  const found = Object.values(template.Resources)
    .filter((r) => r.Type === type && where(r.Properties ?? {}))
    .map((r) => (r.Properties ??= {}));
  if (found.length === 0) throw new Error(`mutation target missing: no ${type} resource of the wanted shape in the template; the synthesized templates changed, update test/policies/mutations.ts`);
  return found;
}

const statementsOf = (doc: unknown): Statement[] => (doc as { Statement: Statement[] }).Statement;

/** The deploy role of a target template. */
const deployRole = (t: CfnTemplate) => resourcesOf(t, 'AWS::IAM::Role')[0];
/** The trust statement of a target template's deploy role. */
const deployTrust = (t: CfnTemplate) => statementsOf(deployRole(t).AssumeRolePolicyDocument)[0];
/** The permissions (managed policy) of a target template's deploy role. */
const deployPermissions = (t: CfnTemplate) => statementsOf(resourcesOf(t, 'AWS::IAM::ManagedPolicy')[0].PolicyDocument);
/** The inline DefaultPolicy statements of the first deployer role of a pipeline template. */
const deployerPolicy = (t: CfnTemplate) => statementsOf(resourcesOf(t, 'AWS::IAM::Policy')[0].PolicyDocument);
/** The Object Lock default retention of the first locked bucket (the audit bucket) of the tooling template. */
const auditRetention = (t: CfnTemplate) =>
  ((resourcesOf(t, 'AWS::S3::Bucket', (p) => p.ObjectLockEnabled === true)[0].ObjectLockConfiguration as Record<string, any>).Rule as { DefaultRetention: Record<string, unknown> })
    .DefaultRetention;
/** The key policy statement of the tooling KMS key that lets the dev deploy role decrypt. */
function devDeployKeyStatement(t: CfnTemplate, config: PlatformConfig): Statement {
  const statements = statementsOf(resourcesOf(t, 'AWS::KMS::Key')[0].KeyPolicy);
  const found = statements.find((s) => JSON.stringify(s.Principal).includes(config.environments.dev.account));
  if (!found) throw new Error('mutation target missing: the tooling key policy has no statement for the dev deploy role; update test/policies/mutations.ts');
  return found;
}
const withoutMetadata = (t: CfnTemplate) => {
  delete t.Metadata;
};
const allS3OnAll: Statement = { Effect: 'Allow', Action: 's3:*', Resource: '*' };
const notActionOnAll: Statement = { Effect: 'Allow', NotAction: 'iam:*', Resource: '*' };

/** Every mutation of the real templates that the Guard rules must catch. */
export const GUARD_MUTATIONS: readonly GuardMutation[] = [
  // s3:* on *
  { name: 's3:* on * in the prod deploy role policy', stack: 'DataOpsTarget-prod', caughtBy: 'dataops_no_broad_identity_policy', mutate: (t) => void deployPermissions(t).push({ ...allS3OnAll }) },
  { name: 's3:* on * in a pipeline deployer role policy', stack: 'DataOpsPipeline-dbt-core-models', caughtBy: 'dataops_no_broad_identity_policy', mutate: (t) => void deployerPolicy(t).push({ ...allS3OnAll }) },
  {
    name: 's3:* on * in an inline Policies entry of a tooling role',
    stack: 'DataOpsTooling',
    caughtBy: 'dataops_no_broad_inline_policy',
    mutate: (t) => void (resourcesOf(t, 'AWS::IAM::Role')[0].Policies = [{ PolicyName: 'all', PolicyDocument: { Version: '2012-10-17', Statement: [{ ...allS3OnAll }] } }]),
  },
  { name: "Action '*' in a tooling stack policy", stack: 'DataOpsTooling', caughtBy: 'dataops_no_broad_identity_policy', mutate: (t) => void deployerPolicy(t).push({ Effect: 'Allow', Action: '*', Resource: 'arn:aws:s3:::x/*' }) },
  {
    name: 's3:* on a named bucket in the dev deploy role policy',
    stack: 'DataOpsTarget-dev',
    caughtBy: 'dataops_no_broad_identity_policy',
    mutate: (t) => void deployPermissions(t).push({ Effect: 'Allow', Action: ['s3:GetObject', 's3:*'], Resource: 'arn:aws:s3:::northstar-mwaa-dev-dags/*' }),
  },
  { name: 's3:Get* on * in the staging deploy role policy', stack: 'DataOpsTarget-staging', caughtBy: 'dataops_no_broad_identity_policy', mutate: (t) => void deployPermissions(t).push({ Effect: 'Allow', Action: 's3:Get*', Resource: ['arn:aws:s3:::a/*', '*'] }) },
  // NotAction with Resource *
  { name: 'NotAction with Resource * in the prod deploy role policy', stack: 'DataOpsTarget-prod', caughtBy: 'dataops_no_broad_identity_policy', mutate: (t) => void deployPermissions(t).push({ ...notActionOnAll }) },
  { name: 'NotAction with Resource * in a pipeline deployer role policy', stack: 'DataOpsPipeline-spark-claims', caughtBy: 'dataops_no_broad_identity_policy', mutate: (t) => void deployerPolicy(t).push({ ...notActionOnAll }) },
  // AWS-managed admin and power-user policies attached
  {
    name: 'AdministratorAccess attached to the prod deploy role as a string',
    stack: 'DataOpsTarget-prod',
    caughtBy: 'dataops_no_admin_managed_policy',
    mutate: (t) => void (deployRole(t).ManagedPolicyArns = ['arn:aws:iam::aws:policy/AdministratorAccess']),
  },
  {
    name: 'AdministratorAccess attached to a pipeline role with Fn::Join, as the CDK writes it',
    stack: 'DataOpsPipeline-orchestration',
    caughtBy: 'dataops_no_admin_managed_policy',
    mutate: (t) => void (resourcesOf(t, 'AWS::IAM::Role')[0].ManagedPolicyArns = [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/AdministratorAccess']] }]),
  },
  {
    name: 'PowerUserAccess attached to a tooling role with Fn::Sub',
    stack: 'DataOpsTooling',
    caughtBy: 'dataops_no_admin_managed_policy',
    mutate: (t) => void (resourcesOf(t, 'AWS::IAM::Role')[0].ManagedPolicyArns = [{ 'Fn::Sub': 'arn:${AWS::Partition}:iam::aws:policy/PowerUserAccess' }]),
  },
  {
    name: 'job-function/SystemAdministrator attached next to the backup role policy',
    stack: 'DataOpsTooling',
    caughtBy: 'dataops_no_admin_managed_policy',
    mutate: (t) => void (resourcesOf(t, 'AWS::IAM::Role', (p) => Array.isArray(p.ManagedPolicyArns))[0].ManagedPolicyArns as unknown[]).push('arn:aws:iam::aws:policy/job-function/SystemAdministrator'),
  },
  // the deploy-role trust condition removed or widened
  { name: 'the prod deploy role trust condition removed', stack: 'DataOpsTarget-prod', caughtBy: 'dataops_target_trust_prod', mutate: (t) => void delete deployTrust(t).Condition },
  { name: 'the dev deploy role trust condition removed', stack: 'DataOpsTarget-dev', caughtBy: 'dataops_target_trust_dev', mutate: (t) => void delete deployTrust(t).Condition },
  {
    name: 'the staging deploy role trust widened to every tooling role',
    stack: 'DataOpsTarget-staging',
    caughtBy: 'dataops_target_trust_staging',
    mutate: (t, c) => void (deployTrust(t).Condition = { ArnLike: { 'aws:PrincipalArn': `arn:aws:iam::${c.toolingAccount}:role/*` } }),
  },
  {
    name: 'the prod deploy role trust widened to the dev deployer roles',
    stack: 'DataOpsTarget-prod',
    caughtBy: 'dataops_target_trust_prod',
    mutate: (t, c) => void (deployTrust(t).Condition = { ArnLike: { 'aws:PrincipalArn': [`arn:aws:iam::${c.toolingAccount}:role/${c.name}-deployer-prod-*`, `arn:aws:iam::${c.toolingAccount}:role/${c.name}-deployer-dev-*`] } }),
  },
  {
    name: 'the prod deploy role trust turned back into the <name>-deployer-prod-* role-name pattern',
    stack: 'DataOpsTarget-prod',
    caughtBy: 'dataops_target_trust_prod',
    mutate: (t, c) => void (deployTrust(t).Condition = { ArnLike: { 'aws:PrincipalArn': `arn:aws:iam::${c.toolingAccount}:role/${c.name}-deployer-prod-*` } }),
  },
  {
    name: 'a role-name pattern added next to the exact deployer ARNs of the dev deploy role trust',
    stack: 'DataOpsTarget-dev',
    caughtBy: 'dataops_target_trust_dev',
    mutate: (t, c) => {
      const condition = deployTrust(t).Condition?.ArnEquals;
      if (!condition) throw new Error('mutation target missing: the dev deploy role trust has no ArnEquals condition; update test/policies/mutations.ts');
      condition['aws:PrincipalArn'] = [...[condition['aws:PrincipalArn']].flat(), `arn:aws:iam::${c.toolingAccount}:role/${c.name}-deployer-dev-*`];
    },
  },
  {
    name: 'the prod deploy role trust condition turned into a negation',
    stack: 'DataOpsTarget-prod',
    caughtBy: 'dataops_target_trust_prod',
    mutate: (t, c) => void (deployTrust(t).Condition = { ArnNotLike: { 'aws:PrincipalArn': `arn:aws:iam::${c.toolingAccount}:role/${c.name}-deployer-prod-*` } }),
  },
  { name: "the dev deploy role trusting Principal '*'", stack: 'DataOpsTarget-dev', caughtBy: 'dataops_target_trust_dev', mutate: (t) => void (deployTrust(t).Principal = { AWS: '*' }) },
  // a foreign account written with Fn::Join or Fn::Sub in a principal
  {
    name: 'a foreign account written with Fn::Join in the tooling key policy',
    stack: 'DataOpsTooling',
    caughtBy: 'dataops_principal_accounts_tooling',
    mutate: (t, c) => void (devDeployKeyStatement(t, c).Principal = { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${FOREIGN}:root`]] } }),
  },
  {
    name: 'a foreign account split over Fn::Join parts in the tooling key policy',
    stack: 'DataOpsTooling',
    caughtBy: 'dataops_principal_accounts_tooling',
    mutate: (t, c) => void (devDeployKeyStatement(t, c).Principal = { AWS: [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', FOREIGN.slice(0, 4), `${FOREIGN.slice(4)}:root`]] }] }),
  },
  {
    name: 'a foreign account written with Fn::Sub in the prod deploy role trust',
    stack: 'DataOpsTarget-prod',
    caughtBy: 'dataops_principal_accounts_target_prod',
    mutate: (t) => void (deployTrust(t).Principal = { AWS: { 'Fn::Sub': `arn:\${AWS::Partition}:iam::${FOREIGN}:root` } }),
  },
  {
    name: 'a foreign account written with Fn::Join in a pipeline role trust',
    stack: 'DataOpsPipeline-ingest-postgres',
    caughtBy: 'dataops_principal_accounts_tooling',
    mutate: (t) => {
      const role = resourcesOf(t, 'AWS::IAM::Role', (p) => JSON.stringify(p.AssumeRolePolicyDocument).includes(':root'))[0];
      statementsOf(role.AssumeRolePolicyDocument)[0].Principal = { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${FOREIGN}:root`]] } };
    },
  },
  {
    name: 'a foreign account hidden in a Fn::Sub variable map',
    stack: 'DataOpsTooling',
    caughtBy: 'dataops_principal_accounts_tooling',
    mutate: (t, c) => void (devDeployKeyStatement(t, c).Principal = { AWS: { 'Fn::Sub': ['arn:aws:iam::${Acct}:root', { Acct: FOREIGN }] } }),
  },
  {
    name: 'a foreign account passed in as a template parameter',
    stack: 'DataOpsTooling',
    caughtBy: 'dataops_principal_accounts_tooling',
    mutate: (t, c) => {
      (t.Parameters as Record<string, unknown>).TrustedAccount = { Type: 'String', Default: FOREIGN };
      devDeployKeyStatement(t, c).Principal = { AWS: { 'Fn::Join': ['', ['arn:aws:iam::', { Ref: 'TrustedAccount' }, ':root']] } };
    },
  },
  {
    name: 'the prod account named in the dev deploy role trust',
    stack: 'DataOpsTarget-dev',
    caughtBy: 'dataops_principal_accounts_target_dev',
    mutate: (t, c) => void (deployTrust(t).Principal = { AWS: [`arn:aws:iam::${c.toolingAccount}:root`, { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${c.environments.prod.account}:root`]] }] }),
  },
  // Object Lock weakened
  {
    name: 'audit Object Lock changed to GOVERNANCE for one day',
    stack: 'DataOpsTooling',
    caughtBy: 'dataops_object_lock_compliance',
    mutate: (t) => void Object.assign(auditRetention(t), { Mode: 'GOVERNANCE', Days: 1 }),
  },
  { name: 'audit Object Lock changed to GOVERNANCE', stack: 'DataOpsTooling', caughtBy: 'dataops_object_lock_compliance', mutate: (t) => void (auditRetention(t).Mode = 'GOVERNANCE') },
  {
    name: 'audit Object Lock retention one day shorter than audit.retentionDays',
    stack: 'DataOpsTooling',
    caughtBy: 'dataops_object_lock_compliance',
    mutate: (t, c) => void (auditRetention(t).Days = c.audit.retentionDays - 1),
  },
  {
    name: 'audit Object Lock retention written as one year',
    stack: 'DataOpsTooling',
    caughtBy: 'dataops_object_lock_compliance',
    mutate: (t) => {
      const r = auditRetention(t);
      delete r.Days;
      r.Years = 1;
    },
  },
  {
    name: 'audit Object Lock default retention removed',
    stack: 'DataOpsTooling',
    caughtBy: 'dataops_object_lock_compliance',
    mutate: (t) => void delete (resourcesOf(t, 'AWS::S3::Bucket', (p) => p.ObjectLockEnabled === true)[0].ObjectLockConfiguration as Record<string, unknown>).Rule,
  },
  // without DataOps metadata the rules still apply (fail closed)
  { name: 'the DataOps metadata removed from the prod target template', stack: 'DataOpsTarget-prod', caughtBy: 'dataops_stack_metadata', mutate: withoutMetadata },
  { name: 'the DataOps metadata removed from a pipeline template', stack: 'DataOpsPipeline-platform-infra', caughtBy: 'dataops_stack_metadata', mutate: withoutMetadata },
  {
    name: 'the DataOps environment removed from the staging target template',
    stack: 'DataOpsTarget-staging',
    caughtBy: 'dataops_stack_metadata',
    mutate: (t) => void delete (t.Metadata as { DataOps: Record<string, unknown> }).DataOps.Environment,
  },
  {
    name: 'the prod trust condition removed from a template without metadata',
    stack: 'DataOpsTarget-prod',
    caughtBy: 'dataops_target_trust_unmarked',
    mutate: (t) => {
      withoutMetadata(t);
      delete deployTrust(t).Condition;
    },
  },
  {
    name: 's3:* on * in a target template without metadata',
    stack: 'DataOpsTarget-dev',
    caughtBy: 'dataops_no_broad_identity_policy',
    mutate: (t) => {
      withoutMetadata(t);
      deployPermissions(t).push({ ...allS3OnAll });
    },
  },
  {
    name: 'a prod account principal written with Fn::Join in a target template without metadata',
    stack: 'DataOpsTarget-prod',
    caughtBy: 'dataops_principal_accounts_unmarked',
    mutate: (t, c) => {
      withoutMetadata(t);
      deployTrust(t).Principal = { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${c.environments.prod.account}:root`]] } };
    },
  },
  {
    name: 'audit Object Lock GOVERNANCE in a tooling template without metadata',
    stack: 'DataOpsTooling',
    caughtBy: 'dataops_object_lock_compliance',
    mutate: (t) => {
      withoutMetadata(t);
      auditRetention(t).Mode = 'GOVERNANCE';
    },
  },
];

/** The project's Guard rules (no CDK default rules) run on template files, the way synthesis runs them. */
export class GuardEvaluator {
  private readonly plugin: CloudFormationValidatePlugin;
  private readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-guard-mutations-'));
  /** The validation context's app; the Guard rules read only the template files. */
  private readonly app = new App();

  constructor(readonly config: PlatformConfig) {
    this.plugin = new CloudFormationValidatePlugin({ guardRules: guardRules(config), includeDefaultRules: false });
  }

  /** The project (`dataops_*`) violations of the templates, by stack id. */
  violations(templates: Record<string, CfnTemplate>): PolicyViolation[] {
    const stackTemplates = Object.entries(templates).map(([stack, template]) => {
      const templatePath = path.join(this.dir, `${stack}.template.json`);
      fs.writeFileSync(templatePath, JSON.stringify(template));
      return { stackConstructPath: stack, templatePath, accountId: this.config.toolingAccount, region: this.config.region };
    });
    const context = { stackTemplates, templatePaths: stackTemplates.map((s) => s.templatePath), appConstruct: this.app };
    return this.plugin.validate(context).violations.filter((v) => v.ruleName.startsWith('dataops_'));
  }

  /** The names of the `dataops_*` rules that one template breaks. */
  rulesBroken(stack: string, template: CfnTemplate): string[] {
    return [...new Set(this.violations({ [stack]: template }).map((v) => v.ruleName))].sort();
  }
}

/** The real templates of the default platform (synthesized once, without cdk-nag), by stack id. */
export function realTemplates(): { config: PlatformConfig; templates: Record<string, CfnTemplate> } {
  const synth = synthPlatform();
  const templates: Record<string, CfnTemplate> = {};
  for (const file of fs.readdirSync(synth.outdir).filter((f) => f.endsWith('.template.json'))) {
    templates[file.replace(/\.template\.json$/, '')] = JSON.parse(fs.readFileSync(path.join(synth.outdir, file), 'utf8')) as CfnTemplate;
  }
  return { config: synth.config, templates };
}

/** A deep copy of the named real template with one mutation applied. */
export function mutated(templates: Record<string, CfnTemplate>, mutation: GuardMutation, config: PlatformConfig): CfnTemplate {
  const original = templates[mutation.stack];
  if (!original) throw new Error(`mutation '${mutation.name}': no template for stack '${mutation.stack}'; synthesized stacks: ${Object.keys(templates).join(', ')}`);
  const copy = structuredClone(original);
  mutation.mutate(copy, config);
  if (JSON.stringify(copy) === JSON.stringify(original)) throw new Error(`mutation '${mutation.name}' changed nothing in ${mutation.stack}`);
  return copy;
}
