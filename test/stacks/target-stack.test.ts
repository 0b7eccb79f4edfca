import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ENVIRONMENT_NAMES, type EnvironmentName } from '../../lib/config/schema';
import { DEPLOYERS_PER_DEPLOY_ROLE, PlatformNames } from '../../lib/constructs/names';
import { DAG_S3_PATH, DBT_ARTIFACTS_S3_PATH } from '../../lib/constructs/target-deploy-role';
import { makeTestConfig } from '../helpers/config';
import { projectContext } from '../../lib/stacks/platform';
import { TargetStack } from '../../lib/stacks/target-stack';
import { synthPlatform, synthTargetStack } from '../helpers/synth';

type Statement = { Effect: string; Action: string | string[]; Resource?: string | string[]; Principal?: Record<string, unknown>; Condition?: Record<string, any> };
const config = makeTestConfig();
const names = new PlatformNames(config);

/** IAM ArnLike and ArnEquals (the two behave alike): `*` matches any run of characters, `?` one character. */
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
/** The aws:PrincipalArn values the deploy role of `env` trusts. */
const trustedBy = (env: EnvironmentName): string[] => [roleOf(env).AssumeRolePolicyDocument.Statement[0].Condition!.ArnEquals['aws:PrincipalArn']].flat() as string[];

describe('DataOpsTarget-<env>', () => {
  // GIVEN the embedded default configuration, synthesized once for the whole file
  beforeAll(() => synthPlatform());

  it.each(ENVIRONMENT_NAMES.map((e) => [e]))('deploys the %s target stack to that environment\'s own account', (env) => {
    const stack = synthPlatform().platform.targets[env];
    expect([stack.stackName, stack.account, stack.region]).toEqual([`DataOpsTarget-${env}`, config.environments[env].account, config.region]);
    expect(roleOf(env).RoleName).toBe(names.deployRoleName(env));
  });

  it.each(ENVIRONMENT_NAMES.map((e) => [e]))("lets only the exact ARNs of the tooling account's %s deployer roles assume the deploy role", (env) => {
    // WHEN the trust policy is read
    const statements = roleOf(env).AssumeRolePolicyDocument.Statement;
    // THEN one statement names the tooling account root, narrowed by ArnEquals to each repo's deployer role of the env
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: ['sts:AssumeRole', 'sts:TagSession'],
        Principal: { AWS: `arn:aws:iam::${config.toolingAccount}:root` },
        Condition: { ArnEquals: { 'aws:PrincipalArn': config.repos.map((r) => deployerArn(r, env)) } },
      },
    ]);
  });

  it.each(ENVIRONMENT_NAMES.map((e) => [e]))('trusts in %s exactly the deployer roles the pipeline stacks create for it', (env) => {
    // GIVEN the RoleName of every deployer role of this env in the synthesized pipeline stacks
    const { platform } = synthPlatform();
    const created = Object.values(platform.pipelines).flatMap((stack) =>
      (Object.values(Template.fromStack(stack).findResources('AWS::IAM::Role')) as Array<{ Properties: { RoleName?: string } }>)
        .map((r) => r.Properties.RoleName)
        .filter((n): n is string => n?.startsWith(names.deployerRolePrefix(env)) ?? false),
    );
    // THEN the trust lists their ARNs and nothing else
    const trusted = roleOf(env).AssumeRolePolicyDocument.Statement[0].Condition!.ArnEquals['aws:PrincipalArn'] as string[];
    expect([...trusted].sort()).toEqual(created.map((n) => `arn:aws:iam::${config.toolingAccount}:role/${n}`).sort());
  });

  it.each(
    config.repos.flatMap((repo) =>
      ENVIRONMENT_NAMES.flatMap((target) => ENVIRONMENT_NAMES.map((from) => [repo.name, from, target, from === target] as const)),
    ),
  )("matches %s's %s deployer role against the %s trust: %s", (repoName, from, target, allowed) => {
    // GIVEN a repo's deployer role of one environment
    const repo = config.repos.find((r) => r.name === repoName)!;
    // WHEN it is checked against another environment's trust condition, as IAM evaluates ArnEquals
    const trusted = trustedBy(target);
    // THEN only the same environment's deployer matches: no dev or staging principal reaches prod
    expect(trusted.some((value) => arnLike(value, deployerArn(repo, from)))).toBe(allowed);
  });

  it.each([
    ['a role named like a prod deployer of no configured repo', 'northstar-deployer-prod-intruder'],
    ['a role named like a prod deployer with a suffix', `northstar-deployer-prod-${config.repos[0].name}-2`],
    ['a prod deployer role name under another IAM path', `tmp/northstar-deployer-prod-${config.repos[0].name}`],
    ['the prod deploy role name itself', 'northstar-deploy-prod'],
  ])('fails to let %s assume the prod deploy role (the old <name>-deployer-prod-* pattern matched it)', (_what, roleName) => {
    // GIVEN a role that anyone allowed to create northstar-* roles in the tooling account could create
    const intruder = `arn:aws:iam::${config.toolingAccount}:role/${roleName}`;
    // WHEN the prod trust is evaluated as IAM does (ArnEquals, every value) THEN nothing matches it
    expect(trustedBy('prod').some((value) => arnLike(value, intruder))).toBe(false);
    // AND the pattern the trust used to name would have matched the names under the prefix
    if (roleName.startsWith('northstar-deployer-prod-')) expect(arnLike(`arn:aws:iam::${config.toolingAccount}:role/northstar-deployer-prod-*`, intruder)).toBe(true);
  });

  it('uses no wildcard in a principal or aws:PrincipalArn value of any trust policy of any stack', () => {
    // GIVEN every role of every synthesized stack (tooling, pipelines, targets)
    const { platform } = synthPlatform();
    const stacks = [platform.tooling, ...Object.values(platform.pipelines), ...Object.values(platform.targets)];
    const values = stacks.flatMap((stack) =>
      (Object.values(Template.fromStack(stack).findResources('AWS::IAM::Role')) as Array<{ Properties: { AssumeRolePolicyDocument: { Statement: Statement[] } } }>).flatMap((r) =>
        r.Properties.AssumeRolePolicyDocument.Statement.flatMap((st) => [
          ...[(st.Principal as { AWS?: unknown } | undefined)?.AWS ?? []].flat(),
          ...Object.values(st.Condition ?? {}).flatMap((c) => [c['aws:PrincipalArn'] ?? []].flat()),
        ]),
      ),
    );
    // THEN there are values to check, and none is a pattern
    expect(values.length).toBeGreaterThan(ENVIRONMENT_NAMES.length * config.repos.length);
    expect(values.filter((v) => JSON.stringify(v).includes('*') || JSON.stringify(v).includes('?'))).toEqual([]);
  });

  it("fails to match a deployer role of a repo whose name imitates another environment's", () => {
    // GIVEN a repo named like a prod deployer suffix, in dev
    const tricky = makeTestConfig({ mutate: (raw) => (raw.repos[0].name = 'deployer-prod-x') });
    const n = new PlatformNames(tricky);
    const devRole = n.deployerRoleArn(tricky.repos[0], 'dev');
    // THEN no ARN the prod deploy role trusts matches it
    expect(n.deployerRoleArnsOf('prod', 0).some((value) => arnLike(value, devRole))).toBe(false);
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

describe('deploy roles of a platform with more repos than one trust policy holds', () => {
  /** IAM's default limit of a role trust policy, in characters without whitespace. */
  const MAX_TRUST_POLICY_CHARS = 2048;
  /** The target stacks alone (no pipelines) of a configuration, with each deploy role's trust and name. */
  const targetsOf = (cfg: ReturnType<typeof makeTestConfig>) => {
    const app = new App({ context: projectContext() });
    const stacks = ENVIRONMENT_NAMES.map(
      (env) => new TargetStack(app, `DataOpsTarget-${env}`, { config: cfg, envName: env, env: { account: cfg.environments[env].account, region: cfg.region } }),
    );
    return ENVIRONMENT_NAMES.map((env, i) => {
      const stack = stacks[i];
      const roles = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Role')) as Array<{ Properties: { RoleName: string; AssumeRolePolicyDocument: { Statement: Statement[] } } }>;
      return { env, roles: roles.map((r) => ({ name: r.Properties.RoleName, trust: r.Properties.AssumeRolePolicyDocument })) };
    });
  };

  it(`gives each environment one deploy role per ${DEPLOYERS_PER_DEPLOY_ROLE} repos, each trusting exactly its repos' deployer roles, every repo once`, () => {
    // GIVEN 40 repos WHEN only the target stacks are synthesized
    const many = makeTestConfig({ repoCount: 40 });
    const n = new PlatformNames(many);
    for (const { env, roles } of targetsOf(many)) {
      // THEN three roles per environment, the first keeping its name
      expect(roles.map((r) => r.name)).toEqual([n.deployRoleName(env), `${n.deployRoleName(env)}-2`, `${n.deployRoleName(env)}-3`]);
      // AND each repo's deployer is trusted by exactly the role its Deploy project assumes (DEPLOY_ROLE_ARN)
      for (const repo of many.repos) {
        const trusting = roles.filter((r) => [r.trust.Statement[0].Condition!.ArnEquals['aws:PrincipalArn']].flat().includes(n.deployerRoleArn(repo, env)));
        expect(trusting.map((r) => `arn:aws:iam::${many.environments[env].account}:role/${r.name}`)).toEqual([n.deployRoleArnOf(repo, env)]);
      }
    }
  });

  it(`keeps every trust policy under IAM's ${MAX_TRUST_POLICY_CHARS} characters with ${DEPLOYERS_PER_DEPLOY_ROLE} repos of the longest names`, () => {
    // GIVEN a 63-character platform name and 16 repos with 63-character names (role names shortened to 64)
    const longest = makeTestConfig({
      repoCount: DEPLOYERS_PER_DEPLOY_ROLE,
      mutate: (raw) => {
        raw.name = `p${'x'.repeat(62)}`;
        raw.repos = (raw.repos as Array<Record<string, any>>).map((r, i) => ({ ...r, name: `r${String(i).padStart(2, '0')}${'y'.repeat(60)}` }));
      },
    });
    // WHEN the target stacks are synthesized THEN one role per environment holds all 16, under the limit
    for (const { roles } of targetsOf(longest)) {
      expect(roles).toHaveLength(1);
      expect([roles[0].trust.Statement[0].Condition!.ArnEquals['aws:PrincipalArn']].flat()).toHaveLength(DEPLOYERS_PER_DEPLOY_ROLE);
      expect(JSON.stringify(roles[0].trust).length).toBeLessThan(MAX_TRUST_POLICY_CHARS);
    }
  });
});
