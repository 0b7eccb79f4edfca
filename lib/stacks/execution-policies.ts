import { ENVIRONMENT_NAMES, type EnvironmentName, type PlatformConfig } from '../config/schema';
import { PlatformNames } from '../constructs/names';

/** An IAM policy document as JSON. */
export interface PolicyDocumentJson {
  readonly Version: '2012-10-17';
  readonly Statement: ReadonlyArray<{ readonly Sid: string; readonly Effect: 'Allow'; readonly Action: readonly string[]; readonly Resource: string | readonly string[] }>;
}

/** The accounts the platform deploys to: the tooling account and each environment's. */
export type DeployAccount = 'tooling' | EnvironmentName;

/**
 * Prefix of the stack names (`DataOpsTooling`, `DataOpsPipeline-<repo>`, `DataOpsTarget-<env>`):
 * roles that CloudFormation names itself are called `<stack>-<logical id>-<random>`.
 */
export const STACK_NAME_PREFIX = 'DataOps';

/**
 * The CloudFormation execution policy of the tooling account (README "Deploy", step 2): the services
 * of the tooling and pipeline stacks, and IAM on the roles the stacks create: those CloudFormation
 * names itself (`DataOps*`, with a random suffix) and the deployer roles (`<name>-deployer-*`, plus
 * the exact ARN of any whose long name was shortened with a hash). This policy does not decide who
 * reaches an environment: a target deploy role trusts only the exact ARNs of its repos' deployer
 * roles, so a role these stacks could create under another deployer-like name is trusted nowhere.
 */
export function toolingExecutionPolicy(config: PlatformConfig): PolicyDocumentJson {
  const names = new PlatformNames(config);
  const iamArn = (what: string) => `arn:aws:iam::${config.toolingAccount}:${what}`;
  const deployerPrefix = `${config.name}-deployer-`;
  const shortened = config.repos
    .flatMap((repo) => ENVIRONMENT_NAMES.map((env) => names.deployerRoleName(repo, env)))
    .filter((n) => !n.startsWith(deployerPrefix))
    .map((n) => iamArn(`role/${n}`));
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'PlatformServices',
        Effect: 'Allow',
        Action: ['backup:*', 'cloudtrail:*', 'cloudwatch:*', 'codebuild:*', 'codepipeline:*', 'dynamodb:*', 'ecr:*', 'events:*', 'kms:*', 'lambda:*', 'logs:*', 's3:*', 'sns:*', 'sqs:*', 'ssm:GetParameter*'],
        Resource: '*',
      },
      {
        Sid: 'TheSourceConnection',
        Effect: 'Allow',
        Action: ['codeconnections:PassConnection', 'codestar-connections:PassConnection', 'codeconnections:UseConnection', 'codestar-connections:UseConnection'],
        Resource: config.source.connectionArn,
      },
      {
        Sid: 'PlatformRoles',
        Effect: 'Allow',
        Action: ['iam:*Role*', 'iam:*RolePolicy*', 'iam:PassRole', 'iam:GetPolicy*', 'iam:*PolicyVersion*', 'iam:CreateServiceLinkedRole'],
        Resource: [iamArn(`role/${STACK_NAME_PREFIX}*`), iamArn(`role/${deployerPrefix}*`), ...shortened, iamArn('role/aws-service-role/*')],
      },
      {
        Sid: 'ApprovalPolicies',
        Effect: 'Allow',
        Action: ['iam:CreatePolicy', 'iam:DeletePolicy', 'iam:GetPolicy*', 'iam:*PolicyVersion*', 'iam:AttachGroupPolicy', 'iam:DetachGroupPolicy'],
        Resource: [iamArn(`policy/${config.name}-approve-*`), iamArn('group/*')],
      },
    ],
  };
}

/**
 * The CloudFormation execution policy of an environment account: the target stack holds only the
 * deploy roles (one per 16 repos) and their managed policies, so it names exactly those.
 */
export function targetExecutionPolicy(config: PlatformConfig, env: EnvironmentName): PolicyDocumentJson {
  const names = new PlatformNames(config);
  const account = config.environments[env].account;
  const roles = Array.from({ length: names.deployRoleCount() }, (_, i) => names.deployRoleName(env, i));
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'DeployRoles',
        Effect: 'Allow',
        Action: [
          'iam:CreateRole',
          'iam:DeleteRole',
          'iam:GetRole',
          'iam:UpdateRole',
          'iam:UpdateAssumeRolePolicy',
          'iam:TagRole',
          'iam:UntagRole',
          'iam:AttachRolePolicy',
          'iam:DetachRolePolicy',
          'iam:CreatePolicy',
          'iam:DeletePolicy',
          'iam:GetPolicy',
          'iam:CreatePolicyVersion',
          'iam:DeletePolicyVersion',
          'iam:GetPolicyVersion',
          'iam:ListPolicyVersions',
        ],
        Resource: [...roles.map((r) => `arn:aws:iam::${account}:role/${r}`), ...roles.map((r) => `arn:aws:iam::${account}:policy/${r}-permissions`)],
      },
    ],
  };
}

/** The CloudFormation execution policy of one account. */
export function executionPolicy(config: PlatformConfig, account: DeployAccount): PolicyDocumentJson {
  return account === 'tooling' ? toolingExecutionPolicy(config) : targetExecutionPolicy(config, account);
}
