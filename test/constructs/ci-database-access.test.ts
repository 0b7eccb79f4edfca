import { Template } from 'aws-cdk-lib/assertions';
import { PlatformNames } from '../../lib/constructs/names';
import { makeTestConfig } from '../helpers/config';
import { synthPlatform, type SynthesizedPlatform } from '../helpers/synth';

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

const SECRET = 'arn:aws:secretsmanager:us-east-1:111111111111:secret:dataops/snowflake-ci-Qr12St';
const KEY = 'arn:aws:kms:us-east-1:111111111111:key/5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d';

/** Build variables and role policy statements of the CodeBuild project called `name`. */
function projectOf(template: Template, name: string): { variables: Record<string, unknown>; statements: Statement[] } {
  const [project] = Object.values(template.findResources('AWS::CodeBuild::Project', { Properties: { Name: name } })) as Array<{ Properties: Record<string, any> }>;
  if (!project) throw new Error(`no project ${name}`);
  const roleId = (project.Properties.ServiceRole as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  const statements = (Object.values(template.findResources('AWS::IAM::Policy')) as Array<{ Properties: Record<string, any> }>)
    .filter((p) => (p.Properties.Roles as Array<{ Ref: string }>).some((r) => r.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
  const variables = Object.fromEntries((project.Properties.Environment.EnvironmentVariables ?? []).map((v: { Name: string; Value: unknown }) => [v.Name, v.Value]));
  return { variables, statements };
}

describe('CI database access of the PR-validation and Validate projects', () => {
  // GIVEN a configuration with a CI user whose secret is encrypted with a customer-managed key
  const config = makeTestConfig({
    mutate: (raw) => {
      raw.ci = { ...(raw.ci ?? {}), snowflake: { environment: 'dev', secretArn: SECRET, kmsKeyArn: KEY } };
    },
  });
  const names = new PlatformNames(config);
  const dbtRepo = config.repos.find((r) => r.kinds.includes('dbt'))!;
  const otherRepo = config.repos.find((r) => !r.kinds.includes('dbt'))!;
  const mentionsSecret = (s: Statement) => JSON.stringify(s.Resource).includes('snowflake-ci');
  let synth: SynthesizedPlatform;
  // synthesized once for the tests that share this configuration
  beforeAll(() => {
    synth = synthPlatform({ config });
  });
  const pipelineOf = (repo: string): Template => Template.fromStack(synth.platform.pipelines[repo]);

  it("passes the CI secret's ARN to a dbt repo's PR and Validate builds and lets them read exactly that secret", () => {
    // WHEN the dbt repo's pipeline stack is synthesized
    const template = pipelineOf(dbtRepo.name);
    for (const purpose of ['validate', 'pr-validate']) {
      const { variables, statements } = projectOf(template, names.projectName(dbtRepo, purpose));
      // THEN the build gets the ARN next to the CI dbt target
      expect(variables).toMatchObject({ DATAOPS_CI_SNOWFLAKE_SECRET_ARN: SECRET, DATAOPS_DBT_TARGET: 'ci' });
      // AND may read that secret only, and decrypt with its key only through Secrets Manager
      expect(statements.filter(mentionsSecret)).toEqual([{ Sid: 'ReadSnowflakeCiSecret', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: SECRET }]);
      expect(statements.filter((s) => JSON.stringify(s.Resource).includes(KEY))).toEqual([
        { Sid: 'DecryptSnowflakeCiSecret', Effect: 'Allow', Action: 'kms:Decrypt', Resource: KEY, Condition: { StringEquals: { 'kms:ViaService': `secretsmanager.${config.region}.amazonaws.com` } } },
      ]);
    }
  });

  it("gives no other project of the dbt repo's pipeline the CI secret", () => {
    // WHEN the dbt repo's pipeline stack is synthesized
    const template = pipelineOf(dbtRepo.name);
    // THEN the secret's ARN appears in the policies of the PR and Validate projects' roles only
    const withSecret = (Object.values(template.findResources('AWS::IAM::Policy')) as Array<{ Properties: Record<string, any> }>).filter((p) => JSON.stringify(p.Properties.PolicyDocument).includes(SECRET));
    const roles = new Set(withSecret.flatMap((p) => (p.Properties.Roles as Array<{ Ref: string }>).map((r) => r.Ref)));
    const projectRoles = ['validate', 'pr-validate'].map((purpose) => {
      const [project] = Object.values(template.findResources('AWS::CodeBuild::Project', { Properties: { Name: names.projectName(dbtRepo, purpose) } })) as Array<{ Properties: Record<string, any> }>;
      return (project.Properties.ServiceRole as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    });
    expect([...roles].sort()).toEqual(projectRoles.sort());
  });

  it('gives a repo without dbt neither the variable nor the grant', () => {
    // WHEN a repo without dbt is synthesized
    const template = pipelineOf(otherRepo.name);
    for (const purpose of ['validate', 'pr-validate']) {
      const { variables, statements } = projectOf(template, names.projectName(otherRepo, purpose));
      // THEN its validation builds cannot reach the CI user
      expect(variables).not.toHaveProperty('DATAOPS_CI_SNOWFLAKE_SECRET_ARN');
      expect(statements.filter(mentionsSecret)).toEqual([]);
    }
  });

  it('gives a dbt repo no CI target when ci.snowflake is not set, so its Validate build validates with the repo\'s own target', () => {
    // GIVEN a configuration without ci.snowflake
    const none = makeTestConfig({
      mutate: (raw) => {
        if (raw.ci) delete raw.ci.snowflake;
      },
    });
    // WHEN the dbt repo is synthesized THEN neither validation build asks for the CI target or gets the secret
    const template = Template.fromStack(synthPlatform({ config: none }).platform.pipelines[dbtRepo.name]);
    for (const purpose of ['validate', 'pr-validate']) {
      const { variables } = projectOf(template, names.projectName(dbtRepo, purpose));
      expect(variables).not.toHaveProperty('DATAOPS_DBT_TARGET');
      expect(variables).not.toHaveProperty('DATAOPS_CI_SNOWFLAKE_SECRET_ARN');
    }
  });

  it('grants no key when the secret uses the AWS-managed key', () => {
    // GIVEN ci.snowflake without kmsKeyArn
    const managed = makeTestConfig({
      mutate: (raw) => {
        raw.ci = { ...(raw.ci ?? {}), snowflake: { secretArn: SECRET } };
      },
    });
    // WHEN the dbt repo is synthesized THEN its PR project reads the secret and gets no kms:Decrypt for it
    const { statements } = projectOf(Template.fromStack(synthPlatform({ config: managed }).platform.pipelines[dbtRepo.name]), names.projectName(dbtRepo, 'pr-validate'));
    expect(statements.filter((s) => s.Sid === 'ReadSnowflakeCiSecret')).toHaveLength(1);
    expect(statements.filter((s) => s.Sid === 'DecryptSnowflakeCiSecret')).toEqual([]);
  });
});
