/**
 * What the runtime needs from the synthesized platform: the variables each CodeBuild action and
 * Lambda handler reads (lib/runtime/aws/handler-env.ts, lib/runtime/orchestrator/runtime.ts,
 * buildspecs/package.yml) and the permissions of the credentials that make each call.
 */
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type { CfnBucket } from 'aws-cdk-lib/aws-s3';
import * as fs from 'fs';
import * as path from 'path';
import { parse } from 'yaml';
import {
  ACTION_ENV as CONSTRUCT_ACTION_ENV,
  APPROVAL_CUSTOM_DATA_LIMIT,
  approvalInformation,
  PACKAGE_EXPORTED_VARIABLES,
  PACKAGE_VARIABLES_NAMESPACE,
} from '../../lib/constructs/repo-pipeline';
import { PROJECT_ROOT } from '../../lib/constructs/platform-function';
import { PlatformNames } from '../../lib/constructs/names';
import { DBT_ARTIFACTS_S3_PATH } from '../../lib/constructs/target-deploy-role';
import { DBT_S3_PATH } from '../../lib/runtime/deployers/dbt-snowflake-deployer';
import { HANDLER_ENV, LEDGER_TABLE } from '../../lib/runtime/ledger/table';
import { ACTION_ENV } from '../../lib/runtime/orchestrator/runtime';
import { makeTestConfig } from '../helpers/config';
import { synthPlatform } from '../helpers/synth';

type Statement = { Sid?: string; Action: string | string[]; Resource: unknown; Condition?: Record<string, unknown> };
type Resource = { Type: string; Properties: Record<string, any> };

const config = makeTestConfig();
const names = new PlatformNames(config);
const asArray = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/** Every Allow statement of the inline policies attached to `role`. */
function statementsOf(role: iam.Role): Statement[] {
  const stack = Stack.of(role);
  const template = Template.fromStack(stack);
  const logicalId = stack.getLogicalId(role.node.defaultChild as iam.CfnRole);
  return (Object.values(template.findResources('AWS::IAM::Policy')) as Resource[])
    .filter((p) => (p.Properties.Roles as Array<{ Ref: string }>).some((r) => r.Ref === logicalId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}
const allows = (statements: Statement[], action: string): Statement[] => statements.filter((s) => asArray(s.Action).includes(action));

function projectVariables(template: Template, projectName: string): Record<string, { Type: string; Value: unknown }> {
  const [project] = Object.values(template.findResources('AWS::CodeBuild::Project', { Properties: { Name: projectName } })) as Resource[];
  if (!project) throw new Error(`no project ${projectName}`);
  return Object.fromEntries((project.Properties.Environment.EnvironmentVariables as Array<{ Name: string; Type: string; Value: unknown }>).map((v) => [v.Name, { Type: v.Type, Value: v.Value }]));
}

describe('runtime wiring of the synthesized platform', () => {
  // GIVEN the embedded default configuration, synthesized once for the whole file
  beforeAll(() => synthPlatform());

  it('keeps the construct copies of the runtime contracts equal to the runtime values', () => {
    // THEN the action variables and the dbt folder the constructs use are the ones the runtime reads
    expect(CONSTRUCT_ACTION_ENV).toEqual(ACTION_ENV);
    expect(DBT_ARTIFACTS_S3_PATH).toBe(DBT_S3_PATH);
  });

  it('names in the approval request exactly the variables buildspecs/package.yml exports, in the Package namespace', () => {
    const spec = parse(fs.readFileSync(path.join(PROJECT_ROOT, 'buildspecs', 'package.yml'), 'utf8')) as { env: { 'exported-variables': string[] } };
    expect([...spec.env['exported-variables']].sort()).toEqual([...PACKAGE_EXPORTED_VARIABLES].sort());
    const template = Template.fromStack(synthPlatform().platform.pipelines[config.repos[0].name]);
    const [pipeline] = Object.values(template.findResources('AWS::CodePipeline::Pipeline')) as Resource[];
    const pkg = (pipeline.Properties.Stages as Array<{ Name: string; Actions: Array<{ Namespace?: string }> }>).find((s) => s.Name === 'Package')!.Actions[0];
    expect(pkg.Namespace).toBe(PACKAGE_VARIABLES_NAMESPACE);
  });

  it('keeps the approval request under 500 characters once resolved, summarising approvers that do not fit', () => {
    // GIVEN forty long approver names
    const approvers = Array.from({ length: 40 }, (_, i) => `clinical-data-governance-board-member-${i}`);
    const pkg = (name: string) => `#{Package.${name}}`;
    // WHEN the text is built
    const text = approvalInformation('ingest-kafka-streaming', 'prod', approvers, pkg);
    // THEN with each variable at its longest it fits, and it says how many approvers were left out
    const resolved = text.replace(/#\{[A-Za-z]+\.([A-Za-z_]+)\}/g, (_m, n: string) => 'x'.repeat({ RELEASE_SUMMARY_URL: 200, RELEASE_MANIFEST_SHA256: 64, RELEASE_ASSETS: 6 }[n] ?? 40));
    expect(resolved.length).toBeLessThanOrEqual(APPROVAL_CUSTOM_DATA_LIMIT);
    expect(text).toMatch(/and \d+ more\.$/);
    expect(text).toContain(approvers[0]);
  });

  it.each(config.repos.map((r) => [r.name]))('sets DATAOPS_REPO on the Package project of %s to the repo name', (repo) => {
    // WHEN the repo's pipeline stack is synthesized
    const template = Template.fromStack(synthPlatform().platform.pipelines[repo]);
    const r = config.repos.find((x) => x.name === repo)!;
    // THEN buildspecs/package.yml gets the repo name it refuses to guess
    expect(projectVariables(template, names.projectName(r, 'package')).DATAOPS_REPO).toEqual({ Type: 'PLAINTEXT', Value: repo });
  });

  it('gives every Deploy and Verify action the execution id, and their projects the ledger table and artifact bucket', () => {
    for (const repo of config.repos) {
      const template = Template.fromStack(synthPlatform().platform.pipelines[repo.name]);
      const [pipeline] = Object.values(template.findResources('AWS::CodePipeline::Pipeline')) as Resource[];
      const actions = (pipeline.Properties.Stages as Array<{ Actions: Array<{ Name: string; Configuration: Record<string, string> }> }>)
        .flatMap((s) => s.Actions)
        .filter((a) => a.Name === 'Deploy' || a.Name === 'Verify');
      // THEN six actions (Deploy and Verify of three environments) pass #{codepipeline.PipelineExecutionId}
      expect(actions).toHaveLength(6);
      for (const a of actions) {
        expect(JSON.parse(a.Configuration.EnvironmentVariables)).toEqual([{ name: ACTION_ENV.executionId, type: 'PLAINTEXT', value: '#{codepipeline.PipelineExecutionId}' }]);
      }
      for (const env of ['dev', 'staging', 'prod'] as const) {
        for (const purpose of [`deploy-${env}`, `verify-${env}`]) {
          const vars = projectVariables(template, names.projectName(repo, purpose));
          expect(vars[HANDLER_ENV.ledgerTable]).toEqual({ Type: 'PLAINTEXT', Value: names.ledgerTableName() });
          expect(vars[HANDLER_ENV.artifactBucket]).toEqual({ Type: 'PLAINTEXT', Value: names.artifactBucketName() });
          // AND only repos with Terraform get the Terraform Cloud token, from the environment's secret
          const token = vars[ACTION_ENV.terraformToken];
          if (repo.kinds.includes('terraform')) {
            expect(token).toEqual({ Type: 'SECRETS_MANAGER', Value: config.environments[env].terraformCloud.tokenSecretArn });
          } else {
            expect(token).toBeUndefined();
          }
        }
      }
    }
  });

  it('names the ledger table deterministically, so the Deploy and Verify projects address it', () => {
    Template.fromStack(synthPlatform().platform.tooling).hasResourceProperties('AWS::DynamoDB::Table', { TableName: names.ledgerTableName() });
  });

  it('lets each deployer role write the ledger and the key, publish only DataOps metrics, and assume only its environment', () => {
    const { platform } = synthPlatform();
    const ledgerArn = `arn:aws:dynamodb:${config.region}:${config.toolingAccount}:table/${names.ledgerTableName()}`;
    for (const [repo, stack] of Object.entries(platform.pipelines)) {
      for (const env of ['dev', 'staging', 'prod'] as const) {
        const st = statementsOf(stack.repoPipeline.deployerRoles[env]);
        // THEN the orchestrator's own credentials may take the lock (conditional writes) and record
        for (const action of ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query']) {
          const s = allows(st, action);
          expect({ repo, env, action, resources: s.flatMap((x) => asArray(x.Resource)) }).toEqual({
            repo,
            env,
            action,
            resources: [ledgerArn, `${ledgerArn}/index/${LEDGER_TABLE.timeIndex.name}`],
          });
        }
        expect(allows(st, 'kms:GenerateDataKey')).toHaveLength(1);
        const metrics = allows(st, 'cloudwatch:PutMetricData');
        expect(metrics.map((m) => m.Condition)).toEqual([{ StringEquals: { 'cloudwatch:namespace': 'DataOps' } }]);
        expect(allows(st, 'sts:AssumeRole').flatMap((s) => asArray(s.Resource))).toEqual([names.deployRoleArn(env)]);
      }
    }
  });

  it('lets only a Terraform repo keep configurations in the artifact bucket, under its own prefix', () => {
    const { platform } = synthPlatform();
    for (const repo of config.repos) {
      const st = statementsOf(platform.pipelines[repo.name].repoPipeline.deployerRoles.prod);
      const puts = allows(st, 's3:PutObject').flatMap((s) => asArray(s.Resource));
      expect({ repo: repo.name, puts }).toEqual({
        repo: repo.name,
        puts: repo.kinds.includes('terraform') ? [`arn:aws:s3:::${names.artifactBucketName()}/terraform/${repo.name}/*`] : [],
      });
    }
  });

  it('fails synthesis naming the setting when a Terraform repo has no token secret for an environment', () => {
    // GIVEN the default configuration without the staging Terraform Cloud token secret
    const noToken = makeTestConfig({ mutate: (raw) => delete raw.environments.staging.terraformCloud.tokenSecretArn });
    // WHEN it is synthesized THEN synthesis fails and says which setting to add
    expect(() => synthPlatform({ config: noToken })).toThrow(/platform-infra has Terraform assets but environments\.staging\.terraformCloud\.tokenSecretArn is not set/);
  });

  describe('Lambda handlers', () => {
    const fnProps = (purpose: 'promote' | 'rollback' | 'recorder') => {
      const fn = synthPlatform().platform.tooling.functions[purpose];
      const template = Template.fromStack(Stack.of(fn));
      const [only] = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { FunctionName: names.functionName(purpose) } })) as Resource[];
      return { variables: only.Properties.Environment.Variables as Record<string, unknown>, statements: statementsOf(fn.role) };
    };

    it.each<[ 'promote' | 'rollback' | 'recorder', string[]]>([
      ['promote', [HANDLER_ENV.ledgerTable]],
      ['rollback', [HANDLER_ENV.ledgerTable, HANDLER_ENV.pipelines]],
      ['recorder', [HANDLER_ENV.ledgerTable, HANDLER_ENV.pipelines, HANDLER_ENV.auditBucket, HANDLER_ENV.auditRetentionDays, HANDLER_ENV.eventBus]],
    ])('gives %s the variables its handler requires: %j', (purpose, required) => {
      const { variables } = fnProps(purpose);
      for (const name of required) expect({ name, set: variables[name] !== undefined && variables[name] !== '' }).toEqual({ name, set: true });
      expect(JSON.parse(variables[HANDLER_ENV.pipelines] as string)).toEqual(Object.fromEntries(config.repos.map((r) => [r.name, names.pipelineName(r)])));
    });

    it('locks Recorder evidence for the configured audit retention', () => {
      expect(fnProps('recorder').variables[HANDLER_ENV.auditRetentionDays]).toBe(String(config.audit.retentionDays));
    });

    const pipelineArns = config.repos.map((r) => names.pipelineArn(r)).sort();
    it.each<['promote' | 'rollback' | 'recorder', string, 'pipelines' | 'any' | 'default bus']>([
      ['promote', 'codepipeline:GetJobDetails', 'any'],
      ['promote', 'codepipeline:PutJobSuccessResult', 'any'],
      ['promote', 'codepipeline:PutJobFailureResult', 'any'],
      // who approved the execution's Prod stage (separation of duties), and whether it is a stage rollback
      ['promote', 'codepipeline:ListActionExecutions', 'pipelines'],
      ['promote', 'codepipeline:GetPipelineExecution', 'pipelines'],
      ['rollback', 'codepipeline:RollbackStage', 'pipelines'],
      ['rollback', 'codepipeline:ListPipelineExecutions', 'pipelines'],
      ['rollback', 'codepipeline:GetPipelineState', 'pipelines'],
      ['recorder', 'codepipeline:ListPipelineExecutions', 'pipelines'],
      ['recorder', 'events:PutEvents', 'default bus'],
    ])('lets %s call %s on %s', (purpose, action, scope) => {
      const resources = allows(fnProps(purpose).statements, action).flatMap((s) => asArray(s.Resource));
      if (scope === 'any') expect(resources).toEqual(['*']);
      if (scope === 'pipelines') expect([...resources].sort()).toEqual(pipelineArns);
      if (scope === 'default bus') expect(resources).toEqual([`arn:aws:events:${config.region}:${config.toolingAccount}:event-bus/default`]);
    });

    it('lets Promote read and decrypt the release in the artifact bucket with its own role', () => {
      const { statements } = fnProps('promote');
      expect(allows(statements, 's3:GetObject*').length + allows(statements, 's3:GetObject').length).toBeGreaterThan(0);
      const read = [...allows(statements, 's3:GetObject*'), ...allows(statements, 's3:GetObject')].flatMap((s) => asArray(s.Resource));
      const tooling = synthPlatform().platform.tooling;
      const bucketId = tooling.getLogicalId(tooling.buckets.artifacts.node.defaultChild as CfnBucket);
      expect(read).toContainEqual({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/*']] });
      expect(allows(statements, 'kms:Decrypt')).toHaveLength(1);
    });

    it('lets the Recorder write audit objects with their Object Lock retention, encrypted', () => {
      const { statements } = fnProps('recorder');
      for (const action of ['s3:PutObject', 's3:PutObjectRetention']) {
        const s = allows(statements, action);
        expect({ action, resources: JSON.stringify(s.map((x) => x.Resource)) }).toEqual({ action, resources: expect.stringMatching(/AuditAuditBucket/) });
      }
      expect(allows(statements, 'kms:GenerateDataKey*')).toHaveLength(1);
    });

    it.each(['recorder', 'rollback'] as const)('lets %s publish metrics only in the DataOps namespace', (purpose) => {
      const s = allows(fnProps(purpose).statements, 'cloudwatch:PutMetricData');
      expect(s.map((x) => ({ Resource: x.Resource, Condition: x.Condition }))).toEqual([
        { Resource: '*', Condition: { StringEquals: { 'cloudwatch:namespace': names.metricNamespace() } } },
      ]);
    });

    it('gives Promote no metric, rollback or event permission', () => {
      const { statements } = fnProps('promote');
      for (const action of ['cloudwatch:PutMetricData', 'codepipeline:RollbackStage', 'events:PutEvents']) expect(allows(statements, action)).toEqual([]);
    });
  });

  it('lets a target deploy role publish dbt artifacts only under dbt/ of its own MWAA bucket', () => {
    for (const env of ['dev', 'staging', 'prod'] as const) {
      const template = Template.fromStack(synthPlatform().platform.targets[env]);
      const bucket = config.environments[env].mwaa.dagBucket;
      template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Sid: 'ListDagFolder', Condition: { StringLike: { 's3:prefix': ['dags/*', 'dbt/*'] } } }),
            Match.objectLike({ Sid: 'PublishDbtArtifacts', Action: Match.arrayWith(['s3:DeleteObject', 's3:PutObject']), Resource: `arn:aws:s3:::${bucket}/dbt/*` }),
          ]),
        },
      });
    }
  });
});


