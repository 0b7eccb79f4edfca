import { ENVIRONMENT_NAMES, type EnvironmentName } from '../../lib/config/schema';
import { PlatformNames } from '../../lib/constructs/names';
import { DAG_S3_PATH, DBT_ARTIFACTS_S3_PATH } from '../../lib/constructs/target-deploy-role';
import { makeTestConfig } from '../helpers/config';
import { synthPlatform, synthTargetStack } from '../helpers/synth';

type Statement = { Effect: string; Action: string | string[]; Resource?: string | string[]; Principal?: Record<string, unknown>; Condition?: Record<string, any> };
const config = makeTestConfig();
const names = new PlatformNames(config);

/** IAM ArnLike: `*` matches any run of characters, `?` one character. */
const arnLike = (pattern: string, arn: string) =>
  new RegExp(`^${pattern.split('').map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/]/g, '\\$&'))).join('')}$`).test(arn);

const roleOf = (env: EnvironmentName) => {
  const roles = synthTargetStack(env).findResources('AWS::IAM::Role');
  const [role] = Object.values(roles) as Array<{ Properties: { RoleName: string; AssumeRolePolicyDocument: { Statement: Statement[] } } }>;
  return role.Properties;
};
const permissionsOf = (env: EnvironmentName): Statement[] =>
  (Object.values(synthTargetStack(env).findResources('AWS::IAM::ManagedPolicy')) as Array<{ Properties: { PolicyDocument: { Statement: Statement[] } } }>).flatMap(
    (p) => p.Properties.PolicyDocument.Statement,
  );
const deployerArn = (repo: (typeof config.repos)[number], env: EnvironmentName) => `arn:aws:iam::${config.toolingAccount}:role/${names.deployerRoleName(repo, env)}`;

describe('DataOpsTarget-<env>', () => {
  // GIVEN the embedded default configuration, synthesized once for the whole file
  beforeAll(() => synthPlatform());

  it.each(ENVIRONMENT_NAMES.map((e) => [e]))('deploys the %s target stack to that environment\'s own account', (env) => {
    const stack = synthPlatform().platform.targets[env];
    expect([stack.stackName, stack.account, stack.region]).toEqual([`DataOpsTarget-${env}`, config.environments[env].account, config.region]);
    expect(roleOf(env).RoleName).toBe(names.deployRoleName(env));
  });

  it.each(ENVIRONMENT_NAMES.map((e) => [e]))('lets only the tooling account\'s %s deployer roles assume the %s deploy role', (env) => {
    // WHEN the trust policy is read
    const statements = roleOf(env).AssumeRolePolicyDocument.Statement;
    // THEN every statement names the tooling account root as principal, narrowed to the env's deployer roles
    for (const s of statements) {
      expect(s.Principal).toEqual({ AWS: `arn:aws:iam::${config.toolingAccount}:root` });
      expect(s.Condition).toEqual({ ArnLike: { 'aws:PrincipalArn': names.deployerRoleArnPattern(env) } });
    }
    expect(statements.flatMap((s) => [s.Action].flat()).sort()).toEqual(['sts:AssumeRole', 'sts:TagSession']);
  });

  it.each(
    config.repos.flatMap((repo) =>
      ENVIRONMENT_NAMES.flatMap((target) => ENVIRONMENT_NAMES.map((from) => [repo.name, from, target, from === target] as const)),
    ),
  )("matches %s's %s deployer role against the %s trust: %s", (repoName, from, target, allowed) => {
    // GIVEN a repo's deployer role of one environment
    const repo = config.repos.find((r) => r.name === repoName)!;
    // WHEN it is checked against another environment's trust condition
    const pattern = roleOf(target).AssumeRolePolicyDocument.Statement[0].Condition!.ArnLike['aws:PrincipalArn'] as string;
    // THEN only the same environment's deployer matches: no dev or staging principal reaches prod
    expect(arnLike(pattern, deployerArn(repo, from))).toBe(allowed);
  });

  it('fails to match a deployer role of a repo whose name imitates another environment', () => {
    // GIVEN a repo named like a prod deployer suffix, in dev
    const tricky = makeTestConfig({ mutate: (raw) => (raw.repos[0].name = 'deployer-prod-x') });
    const n = new PlatformNames(tricky);
    const devRole = `arn:aws:iam::${tricky.toolingAccount}:role/${n.deployerRoleName(tricky.repos[0], 'dev')}`;
    // THEN the prod pattern does not match it
    expect(arnLike(n.deployerRoleArnPattern('prod'), devRole)).toBe(false);
  });

  it.each(ENVIRONMENT_NAMES.map((e) => [e]))('never allows Action * in the %s deploy role', (env) => {
    for (const s of permissionsOf(env)) expect([s.Action].flat()).not.toContain('*');
  });

  it.each(ENVIRONMENT_NAMES.map((e) => [e]))('scopes the %s deploy role to that environment\'s own resources', (env) => {
    const e = config.environments[env];
    const bySid = Object.fromEntries(permissionsOf(env).map((s) => [(s as { Sid?: string }).Sid, s]));
    expect(bySid.SyncDagFiles.Resource).toBe(`arn:aws:s3:::${e.mwaa.dagBucket}/${DAG_S3_PATH}/*`);
    expect(bySid.ListDagFolder.Condition).toEqual({ StringLike: { 's3:prefix': [`${DAG_S3_PATH}/*`, `${DBT_ARTIFACTS_S3_PATH}/*`] } });
    expect(bySid.PublishDbtArtifacts.Resource).toBe(`arn:aws:s3:::${e.mwaa.dagBucket}/${DBT_ARTIFACTS_S3_PATH}/*`);
    expect(bySid.MwaaCliToken.Resource).toBe(`arn:aws:airflow:${config.region}:${e.account}:environment/${e.mwaa.environmentName}`);
    expect(bySid.PushAndReadImages.Resource).toBe(`arn:aws:ecr:${config.region}:${e.account}:repository/${e.ecrRepositoryPrefix}/*`);
    expect(bySid.EnvironmentPointers.Resource).toBe(`arn:aws:ssm:${config.region}:${e.account}:parameter${e.ssmParameterPath}/*`);
    expect(bySid.SnowflakeDeployKey.Resource).toBe(e.snowflake.deploySecretArn);
    // AND Resource * appears only for the ECR login, which has no resource-level permission
    const starred = permissionsOf(env).filter((s) => [s.Resource].flat().includes('*'));
    expect(starred.map((s) => s.Action)).toEqual(['ecr:GetAuthorizationToken']);
    // AND no other environment's account, bucket or secret appears anywhere in the stack
    const body = JSON.stringify(synthTargetStack(env).toJSON());
    for (const other of ENVIRONMENT_NAMES.filter((o) => o !== env)) {
      const o = config.environments[other];
      for (const value of [o.account, o.mwaa.dagBucket, o.snowflake.deploySecretArn, o.ssmParameterPath]) expect(body).not.toContain(value);
    }
  });
});
