import { Match, type Template } from 'aws-cdk-lib/assertions';
import { approverLabel, ENVIRONMENT_NAMES } from '../../lib/config/schema';
import { PlatformNames } from '../../lib/constructs/names';
import { STAGE_NAMES } from '../../lib/constructs/repo-pipeline';
import { makeTestConfig } from '../helpers/config';
import { synthPipelineStack, synthPlatform } from '../helpers/synth';

interface CfnAction {
  Name: string;
  ActionTypeId: { Category: string; Provider: string };
  RunOrder?: number;
  Configuration?: Record<string, unknown>;
  InputArtifacts?: Array<{ Name: string }>;
  OutputArtifacts?: Array<{ Name: string }>;
}
interface CfnStage {
  Name: string;
  Actions: CfnAction[];
  OnFailure?: { Result?: string };
  OnSuccess?: { Conditions: Array<{ Result: string; Rules: Array<{ RuleTypeId: { Provider: string }; Configuration: Record<string, unknown> }> }> };
  BeforeEntry?: unknown;
}

const config = makeTestConfig();
const names = new PlatformNames(config);
const stagesOf = (template: Template): CfnStage[] => {
  const pipelines = template.findResources('AWS::CodePipeline::Pipeline');
  const [only] = Object.values(pipelines) as Array<{ Properties: { Stages: CfnStage[] } }>;
  return only.Properties.Stages;
};
const stage = (template: Template, name: string): CfnStage => {
  const found = stagesOf(template).find((s) => s.Name === name);
  if (!found) throw new Error(`no stage ${name}`);
  return found;
};
const ordered = (s: CfnStage) => [...s.Actions].sort((a, b) => (a.RunOrder ?? 1) - (b.RunOrder ?? 1)).map((a) => a.Name);

describe('DataOpsPipeline-<repo>', () => {
  // GIVEN the embedded default configuration, synthesized once for the whole file
  beforeAll(() => synthPlatform());

  it('creates one pipeline stack per configured repo', () => {
    // WHEN the platform is built
    const { platform } = synthPlatform();
    // THEN there is a DataOpsPipeline-<repo> stack for each of the 8 repos, in the tooling account
    expect(Object.keys(platform.pipelines).sort()).toEqual(config.repos.map((r) => r.name).sort());
    for (const [repo, stack] of Object.entries(platform.pipelines)) {
      expect(stack.stackName).toBe(`DataOpsPipeline-${repo}`);
      expect(stack.account).toBe(config.toolingAccount);
    }
  });

  it('runs a V2 pipeline with queued executions and the stages in release order', () => {
    const template = synthPipelineStack();
    // THEN the pipeline is V2, queued, named deterministically and encrypted with the platform CMK
    template.hasResourceProperties('AWS::CodePipeline::Pipeline', {
      Name: names.pipelineName(config.repos[0]),
      PipelineType: 'V2',
      ExecutionMode: 'QUEUED',
      ArtifactStore: Match.objectLike({ Type: 'S3', Location: names.artifactBucketName(), EncryptionKey: Match.objectLike({ Type: 'KMS' }) }),
    });
    // AND the stages are Source → Validate → Package → Dev → Staging → Prod
    expect(stagesOf(template).map((s) => s.Name)).toEqual([...STAGE_NAMES]);
  });

  it('sources the configured repository and branch through the CodeConnections connection', () => {
    const [action] = stage(synthPipelineStack(), 'Source').Actions;
    const [owner, repo] = config.repos[0].repository.split('/');
    expect(action.ActionTypeId.Provider).toBe('CodeStarSourceConnection');
    expect(action.Configuration).toMatchObject({ ConnectionArn: config.source.connectionArn, FullRepositoryId: `${owner}/${repo}`, BranchName: 'main' });
  });

  it('lets the Source action and the projects that clone the repo use the connection under both service prefixes', () => {
    // GIVEN a connection ARN with the codeconnections prefix (the console's default since July 2024)
    expect(config.source.connectionArn.startsWith('arn:aws:codeconnections:')).toBe(true);
    const statements = Object.entries(synthPipelineStack().findResources('AWS::IAM::Policy')).flatMap(([id, p]) =>
      ((p as { Properties: { PolicyDocument: { Statement: Array<{ Action: string | string[]; Resource: unknown }> } } }).Properties.PolicyDocument.Statement).map((s) => ({ id, ...s })),
    );
    // THEN the roles of the Source action, Validate and Package may call codeconnections:UseConnection on it
    const users = statements.filter((s) => [s.Action].flat().includes('codeconnections:UseConnection') && s.Resource === config.source.connectionArn).map((s) => s.id);
    expect(users).toEqual(expect.arrayContaining([expect.stringMatching(/^ReleaseSourceActionRole/), expect.stringMatching(/^ReleaseValidateProjectRole/), expect.stringMatching(/^ReleasePackageProjectRole/)]));
  });

  it.each(config.repos.map((r) => [r.name, r.kinds] as const))('validates %s with one parallel CodeBuild action per asset kind %j', (repo, kinds) => {
    // WHEN the Validate stage of the repo is read
    const validate = stage(synthPipelineStack(repo), 'Validate');
    // THEN there is one CodeBuild action per kind, all in the same run order (parallel)
    expect(validate.Actions.map((a) => a.Name).sort()).toEqual(kinds.map((k) => `Validate-${k}`).sort());
    expect(new Set(validate.Actions.map((a) => a.RunOrder ?? 1)).size).toBe(1);
    // AND each passes its kind to buildspecs/validate.yml as ASSET_KIND
    for (const kind of kinds) {
      const action = validate.Actions.find((a) => a.Name === `Validate-${kind}`);
      expect(JSON.parse(String(action?.Configuration?.EnvironmentVariables))).toEqual([{ name: 'ASSET_KIND', type: 'PLAINTEXT', value: kind }]);
    }
  });

  it.each([
    ['Dev', ['Promote', 'Deploy', 'Verify']],
    ['Staging', ['Approve', 'Promote', 'Deploy', 'Verify']],
    ['Prod', ['Approve', 'Promote', 'Deploy', 'Verify', 'Bake']],
  ])('runs the %s stage as %j, one action after the other', (name, actions) => {
    const s = stage(synthPipelineStack(), name);
    expect(ordered(s)).toEqual(actions);
    expect(new Set(s.Actions.map((a) => a.RunOrder)).size).toBe(actions.length);
  });

  it.each(['Staging', 'Prod'])('requires a manual approval, notified on the approvals topic with a summary and link, before %s', (name) => {
    const [first] = [...stage(synthPipelineStack(), name).Actions].sort((a, b) => (a.RunOrder ?? 1) - (b.RunOrder ?? 1));
    expect(first.ActionTypeId).toMatchObject({ Category: 'Approval', Provider: 'Manual' });
    expect(first.Configuration).toMatchObject({
      NotificationArn: `arn:aws:sns:${config.region}:${config.toolingAccount}:${names.topicName('approvals')}`,
      CustomData: expect.stringContaining('#{SourceVariables.CommitId}'),
      ExternalEntityLink: '#{Package.RELEASE_SUMMARY_URL}',
    });
    // AND the request names the release the Package build exported, and who may approve
    for (const v of ['#{Package.RELEASE_VERSION}', '#{Package.RELEASE_ASSETS}', '#{Package.RELEASE_MANIFEST_SHA256}']) expect(first.Configuration?.CustomData).toContain(v);
    expect(first.Configuration?.CustomData).toContain(`Approvers: ${config.approvers[name === 'Staging' ? 'staging' : 'prod'].map(approverLabel).join(', ')}.`);
    expect(String(first.Configuration?.CustomData).length).toBeLessThanOrEqual(500);
  });

  it('has no approval in the Dev stage', () => {
    expect(stage(synthPipelineStack(), 'Dev').Actions.some((a) => a.ActionTypeId.Category === 'Approval')).toBe(false);
  });

  it.each(ENVIRONMENT_NAMES.map((e) => [e]))('gates %s with Promote(λ), given the release and UserParameters {repo, env}', (env) => {
    const name = env.charAt(0).toUpperCase() + env.slice(1);
    const promote = stage(synthPipelineStack(), name).Actions.find((a) => a.Name === 'Promote');
    expect(promote?.ActionTypeId).toMatchObject({ Category: 'Invoke', Provider: 'Lambda' });
    expect(promote?.Configuration?.FunctionName).toBe(names.functionName('promote'));
    expect(JSON.parse(String(promote?.Configuration?.UserParameters))).toEqual({ repo: config.repos[0].name, env });
    expect(promote?.InputArtifacts).toEqual([{ Name: 'Release' }]);
  });

  it('rolls the prod stage back on failure and bakes it under the prod bake alarm before success', () => {
    const template = synthPipelineStack();
    const prod = stage(template, 'Prod');
    // THEN a failure of the prod stage rolls it back
    expect(prod.OnFailure).toEqual({ Result: 'ROLLBACK' });
    // AND the Bake action, last, probes the release for prodBakeMinutes (BAKE_MINUTES) as the prod deployer
    const bake = prod.Actions.find((a) => a.Name === 'Bake');
    expect(bake?.RunOrder).toBe(Math.max(...prod.Actions.map((a) => a.RunOrder ?? 1)));
    const bakeProject = Object.values(template.findResources('AWS::CodeBuild::Project')).find((p) => String(p.Properties.Name).endsWith('-bake-prod')) as { Properties: Record<string, any> };
    expect(bakeProject.Properties.Environment.EnvironmentVariables).toEqual(expect.arrayContaining([{ Name: 'BAKE_MINUTES', Type: 'PLAINTEXT', Value: String(config.ci.prodBakeMinutes) }, { Name: 'TARGET_ENV', Type: 'PLAINTEXT', Value: 'prod' }]));
    expect(bakeProject.Properties.Source.BuildSpec).toContain('dataops bake');
    // AND success then reads the bake alarm, rolling back if it is in ALARM
    const [condition] = prod.OnSuccess?.Conditions ?? [];
    expect(condition.Result).toBe('ROLLBACK');
    expect(condition.Rules[0].RuleTypeId.Provider).toBe('CloudWatchAlarm');
    expect(condition.Rules[0].Configuration).toMatchObject({ AlarmStates: 'ALARM', WaitTime: '1' });
    // AND that alarm exists in the stack under its deterministic name
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: names.prodBakeAlarmName(config.repos[0]),
      Namespace: 'DataOps',
      Dimensions: Match.arrayWith([{ Name: 'Environment', Value: 'prod' }]),
    });
    // AND no other stage rolls back
    expect(stagesOf(template).filter((s) => s.OnFailure || s.OnSuccess).map((s) => s.Name)).toEqual(['Prod']);
  });

  it.each(ENVIRONMENT_NAMES.map((e) => [e]))('deploys and verifies %s in a role that may assume only that environment\'s deploy role', (env) => {
    const template = synthPipelineStack();
    const roleName = names.deployerRoleName(config.repos[0], env);
    // THEN the deployer role has the exact name the target trusts, under its environment's prefix
    template.hasResourceProperties('AWS::IAM::Role', { RoleName: roleName });
    expect(names.deployerRoleArnsOf(env, 0)).toContain(`arn:aws:iam::${config.toolingAccount}:role/${roleName}`);
    expect(roleName.startsWith(names.deployerRolePrefix(env))).toBe(true);
    // AND every sts:AssumeRole it holds names exactly this environment's deploy role
    const policies = template.findResources('AWS::IAM::Policy');
    const assumed = Object.values(policies)
      .filter((p) => JSON.stringify(p).includes(`${env.charAt(0).toUpperCase()}${env.slice(1)}DeployerRole`))
      .flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: Array<{ Action: string | string[]; Resource: unknown }> } } }).Properties.PolicyDocument.Statement)
      .filter((s) => [s.Action].flat().includes('sts:AssumeRole'))
      .flatMap((s) => [s.Resource].flat());
    expect(assumed).toEqual([names.deployRoleArnOf(config.repos[0], env)]);
    // AND its Deploy and Verify projects get TARGET_ENV and DEPLOY_ROLE_ARN
    for (const purpose of ['deploy', 'verify']) {
      template.hasResourceProperties('AWS::CodeBuild::Project', {
        Name: names.projectName(config.repos[0], `${purpose}-${env}`),
        Environment: Match.objectLike({
          EnvironmentVariables: Match.arrayWith([
            { Name: 'TARGET_ENV', Type: 'PLAINTEXT', Value: env },
            { Name: 'DEPLOY_ROLE_ARN', Type: 'PLAINTEXT', Value: names.deployRoleArnOf(config.repos[0], env) },
          ]),
        }),
        Source: Match.objectLike({ BuildSpec: Match.stringLikeRegexp(`${purpose === 'deploy' ? 'dataops deploy' : 'dataops verify'}`) }),
      });
    }
  });

  it('runs every CodeBuild project in the toolchain image by its configured tag, encrypted and logging to a KMS log group', () => {
    const template = synthPipelineStack();
    const projects = template.findResources('AWS::CodeBuild::Project');
    expect(Object.keys(projects)).toHaveLength(1 + 1 + 3 * 2 + 1 + 1); // validate, package, deploy+verify per env, prod bake, PR
    for (const p of Object.values(projects) as Array<{ Properties: Record<string, any> }>) {
      expect(JSON.stringify(p.Properties.Environment.Image)).toContain(`${names.toolchainRepositoryName()}:${config.ci.toolchainImageTag}`);
      expect(p.Properties.Environment.ComputeType).toBe(config.ci.computeType);
      expect(p.Properties.Environment.PrivilegedMode).toBe(false);
      expect(p.Properties.EncryptionKey).toBeDefined();
      expect(p.Properties.LogsConfig.CloudWatchLogs.Status).toBe('ENABLED');
    }
    template.allResourcesProperties('AWS::Logs::LogGroup', { KmsKeyId: Match.anyValue(), RetentionInDays: Match.anyValue() });
  });

  it('validates pull requests with a webhook on created, updated and reopened PRs that reports status to GitHub', () => {
    const template = synthPipelineStack();
    const [owner, repo] = config.repos[0].repository.split('/');
    template.hasResourceProperties('AWS::CodeBuild::Project', {
      Name: names.projectName(config.repos[0], 'pr-validate'),
      Source: Match.objectLike({
        Type: 'GITHUB',
        Location: `https://github.com/${owner}/${repo}.git`,
        ReportBuildStatus: true,
        Auth: { Type: 'CODECONNECTIONS', Resource: config.source.connectionArn },
        BuildSpec: Match.stringLikeRegexp('dataops validate'),
      }),
      Triggers: {
        Webhook: true,
        FilterGroups: [[{ Type: 'EVENT', Pattern: 'PULL_REQUEST_CREATED, PULL_REQUEST_UPDATED, PULL_REQUEST_REOPENED' }]],
      },
    });
  });
});

type PolicyStatement = { Sid?: string; Effect: string; Action: string | string[]; Resource: unknown; Condition?: Record<string, unknown> };
const asList = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/** The CodeBuild project named `name` and every statement of the inline policies of its service role. */
function projectOf(template: Template, name: string): { variables: Record<string, unknown>; buildSpec: string; statements: PolicyStatement[] } {
  const [project] = Object.values(template.findResources('AWS::CodeBuild::Project', { Properties: { Name: name } })) as Array<{ Properties: Record<string, any> }>;
  if (!project) throw new Error(`no project ${name}`);
  const roleId = (project.Properties.ServiceRole as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  const statements = (Object.values(template.findResources('AWS::IAM::Policy')) as Array<{ Properties: Record<string, any> }>)
    .filter((p) => (p.Properties.Roles as Array<{ Ref: string }>).some((r) => r.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as PolicyStatement[]);
  const variables = Object.fromEntries((project.Properties.Environment.EnvironmentVariables ?? []).map((v: { Name: string; Value: unknown }) => [v.Name, v.Value]));
  return { variables, buildSpec: String(project.Properties.Source.BuildSpec), statements };
}

describe('the cross-repo graph registry in the pipeline stack', () => {
  const bucket = names.artifactBucketName();
  const registry = `s3://${bucket}/graph`;
  // the platform CMK, imported from the tooling stack
  const platformKey = { 'Fn::ImportValue': expect.stringMatching(/^DataOpsTooling:.*PlatformKey.*Arn/) };
  const fragment = (repo: string) => `arn:aws:s3:::${bucket}/graph/${repo}.json`;
  const dbtRepo = config.repos.find((r) => r.kinds.includes('dbt'))!;
  const airflowRepo = config.repos.find((r) => r.kinds.includes('airflow') && !r.kinds.includes('dbt'))!;
  const readers = (repo: typeof airflowRepo) => [
    names.projectName(repo, 'validate'),
    names.projectName(repo, 'pr-validate'),
    ...ENVIRONMENT_NAMES.map((env) => names.projectName(repo, `deploy-${env}`)),
  ];
  beforeAll(() => synthPlatform());

  it('publishes the repo\'s fragment from the Package build, which gets the repo name and the artifact bucket', () => {
    const pkg = projectOf(synthPipelineStack(airflowRepo.name), names.projectName(airflowRepo, 'package'));
    // THEN the project names the repo and the bucket that buildspecs/package.yml publishes to
    expect(pkg.variables).toMatchObject({ DATAOPS_REPO: airflowRepo.name, ARTIFACT_BUCKET: bucket });
    expect(pkg.buildSpec).toContain('dataops graph --repos \\"$DATAOPS_REPO=.\\" --publish --registry \\"s3://${ARTIFACT_BUCKET');
    expect(pkg.buildSpec).toContain('}/graph\\"');
  });

  it('lets the Package build put its own fragment only, and denies writing or deleting any other repo\'s', () => {
    const { statements } = projectOf(synthPipelineStack(airflowRepo.name), names.projectName(airflowRepo, 'package'));
    // THEN the only allowed write under graph/ is the repo's own fragment, by its exact key
    const graphWrites = statements.filter(
      (s) => s.Effect === 'Allow' && asList(s.Action).some((a) => a.startsWith('s3:Put')) && asList(s.Resource).some((r) => typeof r === 'string' && r.includes('/graph/')),
    );
    expect(graphWrites).toEqual([{ Sid: 'PublishOwnGraphFragment', Effect: 'Allow', Action: 's3:PutObject', Resource: fragment(airflowRepo.name) }]);
    // AND the write CodePipeline grants on the whole bucket (the Release output) cannot reach another repo's fragment
    const deny = statements.filter((s) => s.Effect === 'Deny');
    expect(deny).toHaveLength(1);
    expect(asList(deny[0].Action).sort()).toEqual(['s3:DeleteObject', 's3:DeleteObjectVersion', 's3:PutObject']);
    expect(asList(deny[0].Resource).sort()).toEqual(config.repos.filter((r) => r.name !== airflowRepo.name).map((r) => fragment(r.name)).sort());
    // AND the CMK may encrypt the fragment, through S3 only
    expect(statements).toContainEqual({
      Sid: 'EncryptOwnGraphFragment',
      Effect: 'Allow',
      Action: ['kms:Encrypt', 'kms:GenerateDataKey'],
      Resource: platformKey,
      Condition: { StringEquals: { 'kms:ViaService': `s3.${config.region}.amazonaws.com` } },
    });
  });

  it.each(readers(config.repos[0]).map((p) => [p]))('gives %s the registry URL and read access to graph/ only', (projectName) => {
    const { variables, statements } = projectOf(synthPipelineStack(), projectName);
    // THEN the project passes DATAOPS_GRAPH_REGISTRY to dataops
    expect(variables.DATAOPS_GRAPH_REGISTRY).toBe(registry);
    // AND it may list the bucket under graph/ only, read graph/*, and decrypt through S3
    const bySid = (sid: string) => statements.find((s) => s.Sid === sid);
    expect(bySid('ListGraphFragments')).toEqual({
      Sid: 'ListGraphFragments',
      Effect: 'Allow',
      Action: 's3:ListBucket',
      Resource: `arn:aws:s3:::${bucket}`,
      Condition: { StringLike: { 's3:prefix': ['graph/', 'graph/*'] } },
    });
    expect(bySid('ReadGraphFragments')).toEqual({ Sid: 'ReadGraphFragments', Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${bucket}/graph/*` });
    expect(bySid('DecryptGraphFragments')).toEqual({ Sid: 'DecryptGraphFragments', Effect: 'Allow', Action: 'kms:Decrypt', Resource: platformKey, Condition: { StringEquals: { 'kms:ViaService': `s3.${config.region}.amazonaws.com` } } });
    // AND none of them may write a fragment
    expect(statements.filter((s) => s.Effect === 'Allow' && asList(s.Resource).some((r) => typeof r === 'string' && r.includes('/graph/')) && asList(s.Action).some((a) => !a.startsWith('s3:Get')))).toEqual([]);
  });

  it('validates a dbt repo with the CI dbt target in the Validate and PR projects', () => {
    const template = synthPipelineStack(dbtRepo.name);
    for (const purpose of ['validate', 'pr-validate']) {
      expect(projectOf(template, names.projectName(dbtRepo, purpose)).variables).toMatchObject({ DATAOPS_DBT_TARGET: 'ci', DATAOPS_GRAPH_REGISTRY: registry });
    }
  });

  it('sets no dbt target for a repo without dbt, names the repo (its DAG package), and leaves TF_PLAN_JSON and DBT_STATE_DIR to the build', () => {
    const template = synthPipelineStack(airflowRepo.name);
    for (const purpose of ['validate', 'pr-validate']) {
      const { variables } = projectOf(template, names.projectName(airflowRepo, purpose));
      expect(Object.keys(variables).sort()).toEqual(['DATAOPS_GRAPH_REGISTRY', 'DATAOPS_REPO']);
      expect(variables.DATAOPS_REPO).toBe(airflowRepo.name);
    }
  });
});
