import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ApprovalPolicies, GATED_ENVIRONMENTS, REPOS_PER_APPROVAL_POLICY } from '../../lib/constructs/approval-policies';
import { PlatformNames } from '../../lib/constructs/names';
import type { PlatformConfig } from '../../lib/config/schema';
import { makeTestConfig } from '../helpers/config';

type Policy = { Properties: { ManagedPolicyName: string; Groups?: string[]; PolicyDocument: { Statement: Array<{ Sid: string; Action: string; Resource: string[] }> } } };

function policiesOf(config: PlatformConfig): Policy[] {
  const stack = new Stack(new App(), 'Test', { env: { account: config.toolingAccount, region: config.region } });
  new ApprovalPolicies(stack, 'Approvals', { config });
  return Object.values(Template.fromStack(stack).findResources('AWS::IAM::ManagedPolicy')) as Policy[];
}

describe('ApprovalPolicies', () => {
  const config = makeTestConfig();
  const names = new PlatformNames(config);

  it.each(GATED_ENVIRONMENTS.map((e) => [e]))('lets %s approvers answer only the Approve action of that stage of every repo pipeline', (env) => {
    // GIVEN the default configuration WHEN the policies are synthesized
    const policy = policiesOf(config).find((p) => p.Properties.ManagedPolicyName === names.approvalPolicyName(env))!;
    const bySid = Object.fromEntries(policy.Properties.PolicyDocument.Statement.map((s) => [s.Sid, s]));
    const stage = env === 'staging' ? 'Staging' : 'Prod';
    // THEN PutApprovalResult names pipeline/stage/action for each repo, and nothing else is writable
    expect(bySid.ApproveTheGate.Action).toBe('codepipeline:PutApprovalResult');
    expect([...bySid.ApproveTheGate.Resource].sort()).toEqual(
      config.repos.map((r) => `arn:aws:codepipeline:${config.region}:${config.toolingAccount}:${names.pipelineName(r)}/${stage}/Approve`).sort(),
    );
    // AND the only other permission reads the pipeline state (where the approval token is)
    expect(bySid.ReadTheApprovalToken.Action).toBe('codepipeline:GetPipelineState');
    expect([...bySid.ReadTheApprovalToken.Resource].sort()).toEqual(config.repos.map((r) => names.pipelineArn(r)).sort());
    expect(Object.keys(bySid).sort()).toEqual(['ApproveTheGate', 'ReadTheApprovalToken']);
  });

  it('attaches each policy to the IAM-group approvers of its environment only', () => {
    // GIVEN staging approved by an IAM group and a display name, prod by a group and a permission set
    const mixed = makeTestConfig({
      mutate: (raw) => {
        raw.approvers.staging = [{ iamGroup: 'leads' }, 'Head of Data'];
        raw.approvers.prod = [{ iamGroup: 'owners' }, { identityCenterPermissionSet: 'ProdApprover' }];
      },
    });
    const byName = Object.fromEntries(policiesOf(mixed).map((p) => [p.Properties.ManagedPolicyName, p.Properties.Groups]));
    // THEN only the IAM groups are attached; names and permission sets are not IAM principals here
    expect(byName).toEqual({ [names.approvalPolicyName('staging')]: ['leads'], [names.approvalPolicyName('prod')]: ['owners'] });
  });

  it('creates the policies unattached when no approver is an IAM group', () => {
    const plain = makeTestConfig({ mutate: (raw) => ((raw.approvers.staging = ['Leads']), (raw.approvers.prod = ['Owners'])) });
    expect(policiesOf(plain).map((p) => p.Properties.Groups)).toEqual([undefined, undefined]);
  });

  it('splits 64 repos over several policies per environment, each inside the 6,144-character managed-policy limit', () => {
    // GIVEN the 64-repo capacity configuration
    const big = makeTestConfig({ repoCount: 64 });
    const bigNames = new PlatformNames(big);
    const policies = policiesOf(big);
    for (const env of GATED_ENVIRONMENTS) {
      const mine = policies.filter((p) => p.Properties.ManagedPolicyName.startsWith(bigNames.approvalPolicyName(env)));
      // THEN every repo's action is covered once, across ceil(64 / per-policy) policies
      expect(mine).toHaveLength(Math.ceil(64 / REPOS_PER_APPROVAL_POLICY));
      const covered = mine.flatMap((p) => p.Properties.PolicyDocument.Statement.find((s) => s.Sid === 'ApproveTheGate')!.Resource);
      expect(new Set(covered).size).toBe(64);
      // AND each document (as IAM counts it, without whitespace) fits
      for (const p of mine) expect(JSON.stringify(p.Properties.PolicyDocument).length).toBeLessThan(6144);
    }
  });
});
