/** What `dataops deploy` needs to check the execution's approval: the pipeline's name and read access to its action executions, in staging and prod only. */
import { Match } from 'aws-cdk-lib/assertions';
import { ENVIRONMENT_NAMES } from '../../lib/config/schema';
import { PlatformNames } from '../../lib/constructs/names';
import { PIPELINE_NAME_ENV } from '../../lib/constructs/repo-pipeline';
import { makeTestConfig } from '../helpers/config';
import { synthPipelineStack, synthPlatform } from '../helpers/synth';

const config = makeTestConfig();
const names = new PlatformNames(config);
const repo = config.repos.find((r) => r.kinds.includes('terraform')) ?? config.repos[0];

interface Statement {
  Sid?: string;
  Action: string | string[];
  Resource: unknown;
}

describe('approval access of the Deploy and Verify projects', () => {
  beforeAll(() => synthPlatform());

  it.each(ENVIRONMENT_NAMES)('gives the %s Deploy and Verify projects the pipeline name as DATAOPS_PIPELINE_NAME', (env) => {
    // GIVEN the repo's pipeline stack WHEN its env projects are read THEN both name the pipeline
    const template = synthPipelineStack(repo.name);
    for (const purpose of [`deploy-${env}`, `verify-${env}`]) {
      template.hasResourceProperties('AWS::CodeBuild::Project', {
        Name: names.projectName(repo, purpose),
        Environment: Match.objectLike({ EnvironmentVariables: Match.arrayWith([{ Name: PIPELINE_NAME_ENV, Type: 'PLAINTEXT', Value: names.pipelineName(repo) }]) }),
      });
    }
  });

  it.each(ENVIRONMENT_NAMES)('lets the %s deployer role read the approvals of exactly its own pipeline, and only in staging and prod', (env) => {
    // GIVEN the deployer role's policy
    const template = synthPipelineStack(repo.name);
    const roles = template.findResources('AWS::IAM::Role', { Properties: { RoleName: names.deployerRoleName(repo, env) } });
    const [roleId] = Object.keys(roles);
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as Array<{ Properties: { Roles: Array<{ Ref: string }>; PolicyDocument: { Statement: Statement[] } } }>;
    const statements = policies.filter((p) => p.Properties.Roles.some((r) => r.Ref === roleId)).flatMap((p) => p.Properties.PolicyDocument.Statement);
    // WHEN the CodePipeline statements are picked out
    const codepipeline = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('codepipeline:')));
    // THEN staging and prod may list action executions and read executions of this pipeline only; dev may not
    if (env === 'dev') expect(codepipeline).toEqual([]);
    else expect(codepipeline).toEqual([{ Sid: 'ReadTheExecutionsApproval', Effect: 'Allow', Action: ['codepipeline:GetPipelineExecution', 'codepipeline:ListActionExecutions'], Resource: names.pipelineArn(repo) }]);
  });
});
