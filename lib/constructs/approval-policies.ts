import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { PlatformConfig } from '../config/schema';
import { PlatformNames } from './names';

/** Gated environments: the ones whose stage starts with a ManualApproval action. */
export const GATED_ENVIRONMENTS = ['staging', 'prod'] as const;
export type GatedEnvironment = (typeof GATED_ENVIRONMENTS)[number];

/**
 * Repos per approval policy: every repo adds an action ARN and a pipeline ARN (about 190
 * characters), and a customer-managed policy holds at most 6,144; 24 repos stay well inside.
 */
export const REPOS_PER_APPROVAL_POLICY = 24;

/** Properties of {@link ApprovalPolicies}. */
export interface ApprovalPoliciesProps {
  /** Validated platform configuration. */
  readonly config: PlatformConfig;
}

/**
 * Least-privilege approval: per gated environment, customer-managed policies that allow
 * `codepipeline:PutApprovalResult` only on the `<pipeline>/Staging/Approve` (or `Prod/Approve`)
 * action of each repo pipeline, plus `GetPipelineState` (the approval token) on those pipelines.
 * They are attached to the approver entries that are IAM groups; permission sets reference them by
 * name (`<platform>-approve-<env>`, `-2`, … when the repos need more than one policy).
 */
export class ApprovalPolicies extends Construct {
  /** The policies of each gated environment (one per {@link REPOS_PER_APPROVAL_POLICY} repos). */
  readonly policies: Record<GatedEnvironment, iam.ManagedPolicy[]>;

  constructor(scope: Construct, id: string, props: ApprovalPoliciesProps) {
    super(scope, id);
    const { config } = props;
    const names = new PlatformNames(config);
    this.policies = { staging: [], prod: [] };
    for (const env of GATED_ENVIRONMENTS) {
      const groups = config.approvers[env].flatMap((a) =>
        typeof a === 'object' && 'iamGroup' in a ? [iam.Group.fromGroupName(this, `${env}-${a.iamGroup}`, a.iamGroup)] : [],
      );
      for (let i = 0; i < config.repos.length; i += REPOS_PER_APPROVAL_POLICY) {
        const repos = config.repos.slice(i, i + REPOS_PER_APPROVAL_POLICY);
        const part = i / REPOS_PER_APPROVAL_POLICY;
        const name = part === 0 ? names.approvalPolicyName(env) : `${names.approvalPolicyName(env)}-${part + 1}`;
        this.policies[env].push(
          new iam.ManagedPolicy(this, `${env}${part === 0 ? '' : part + 1}`, {
            managedPolicyName: name,
            description: `approve or reject ${config.name} releases into ${env} (the ${env === 'staging' ? 'Staging' : 'Prod'}/Approve action of ${repos.length} repo pipelines)`,
            statements: [
              new iam.PolicyStatement({
                sid: 'ApproveTheGate',
                actions: ['codepipeline:PutApprovalResult'],
                resources: repos.map((r) => names.approvalActionArn(r, env)),
              }),
              new iam.PolicyStatement({
                sid: 'ReadTheApprovalToken',
                actions: ['codepipeline:GetPipelineState'],
                resources: repos.map((r) => names.pipelineArn(r)),
              }),
            ],
            groups,
          }),
        );
      }
    }
  }
}
