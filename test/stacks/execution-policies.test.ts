import * as fs from 'fs';
import * as path from 'path';
import { Template } from 'aws-cdk-lib/assertions';
import { ENVIRONMENT_NAMES } from '../../lib/config/schema';
import { PlatformNames } from '../../lib/constructs/names';
import { STACK_NAME_PREFIX, targetExecutionPolicy, toolingExecutionPolicy } from '../../lib/stacks/execution-policies';
import { makeTestConfig } from '../helpers/config';
import { synthPlatform } from '../helpers/synth';

const ROOT = path.join(__dirname, '..', '..');
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const config = makeTestConfig();

/** IAM ArnLike: `*` matches any run of characters, `?` one character. */
const arnLike = (pattern: string, arn: string) =>
  new RegExp(`^${pattern.split('').map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/]/g, '\\$&'))).join('')}$`).test(arn);
const resourcesOf = (doc: ReturnType<typeof toolingExecutionPolicy>) => doc.Statement.flatMap((s) => [s.Resource].flat());
type Role = { Properties: { RoleName?: string } };
type Policy = { Properties: { ManagedPolicyName?: string } };

describe('CloudFormation execution policies (README "Deploy", step 2)', () => {
  // GIVEN the default platform, synthesized once
  beforeAll(() => synthPlatform());

  it.each(ENVIRONMENT_NAMES.map((e) => [e]))('names in the %s policy exactly the roles and policies of its target stack, with no wildcard', (env) => {
    // GIVEN the names the target stack gives its roles and managed policies
    const template = Template.fromStack(synthPlatform().platform.targets[env]);
    const account = config.environments[env].account;
    const expected = [
      ...(Object.values(template.findResources('AWS::IAM::Role')) as Role[]).map((r) => `arn:aws:iam::${account}:role/${r.Properties.RoleName}`),
      ...(Object.values(template.findResources('AWS::IAM::ManagedPolicy')) as Policy[]).map((p) => `arn:aws:iam::${account}:policy/${p.Properties.ManagedPolicyName}`),
    ];
    // THEN the execution policy lists exactly those
    expect(resourcesOf(targetExecutionPolicy(config, env)).sort()).toEqual(expected.sort());
    expect(resourcesOf(targetExecutionPolicy(config, env)).filter((r) => r.includes('*'))).toEqual([]);
  });

  it("covers every role of the tooling and pipeline stacks in the tooling policy, with no role wildcard but CloudFormation's names, the deployer prefix and service-linked roles", () => {
    // GIVEN every role of the tooling and pipeline stacks
    const { platform } = synthPlatform();
    const stacks = [platform.tooling, ...Object.values(platform.pipelines)];
    const policy = toolingExecutionPolicy(config);
    const roleResources = [policy.Statement.find((s) => s.Sid === 'PlatformRoles')!.Resource].flat();
    for (const stack of stacks) {
      expect(stack.stackName.startsWith(STACK_NAME_PREFIX)).toBe(true);
      for (const r of Object.values(Template.fromStack(stack).findResources('AWS::IAM::Role')) as Role[]) {
        // THEN a named role is matched by the policy by its name, a CloudFormation-named one as <stack>-…
        const name = r.Properties.RoleName ?? `${stack.stackName}-SomeRole-RANDOM`;
        expect({ name, covered: roleResources.some((p) => arnLike(p, `arn:aws:iam::${config.toolingAccount}:role/${name}`)) }).toEqual({ name, covered: true });
      }
    }
    // AND the wildcards are CloudFormation's names, the deployer prefix and service-linked roles, nothing wider
    expect(roleResources.filter((r) => r.includes('*'))).toEqual([
      `arn:aws:iam::${config.toolingAccount}:role/DataOps*`,
      `arn:aws:iam::${config.toolingAccount}:role/${config.name}-deployer-*`,
      `arn:aws:iam::${config.toolingAccount}:role/aws-service-role/*`,
    ]);
    // AND the connection is the configured one, not every connection of the account
    expect(policy.Statement.find((s) => s.Sid === 'TheSourceConnection')?.Resource).toBe(config.source.connectionArn);
  });

  it('lists by exact ARN a deployer role whose long name was shortened with a hash', () => {
    // GIVEN a platform name so long that the deployer role names are shortened
    const long = makeTestConfig({ mutate: (raw) => (raw.name = `n${'x'.repeat(55)}`) });
    const names = new PlatformNames(long);
    const roleResources = [toolingExecutionPolicy(long).Statement.find((s) => s.Sid === 'PlatformRoles')!.Resource].flat();
    // THEN every deployer role is still covered
    for (const repo of long.repos) {
      for (const env of ENVIRONMENT_NAMES) expect(roleResources.some((p) => arnLike(p, names.deployerRoleArn(repo, env)))).toBe(true);
    }
    expect(roleResources.length).toBeGreaterThan(3);
  });

  it("shows in the README exactly the prod policy of the embedded default, and no role-name pattern for a deploy role's trust", () => {
    // GIVEN the JSON block of the README's execution-policy step
    const block = /```json\n([\s\S]*?)```/.exec(README.slice(README.indexOf('**Execution policies.**')))?.[1];
    expect(block).toBeDefined();
    // THEN it is the policy dataops prints for prod
    expect(JSON.parse(block!)).toEqual(targetExecutionPolicy(config, 'prod'));
    // AND no README text grants or trusts the deployer or deploy roles by a role-name pattern
    for (const pattern of [/deployer-<env>-\*/, /deployer-(dev|staging|prod)-\*/, /role\/northstar-\*/, /role\/northstar-deploy-\*/, /policy\/northstar-deploy-\*/]) {
      expect(README).not.toMatch(pattern);
    }
  });
});
