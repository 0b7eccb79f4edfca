import { createHash } from 'crypto';
import type { EnvironmentName, PlatformConfig, RepoConfig } from '../config/schema';
import { DATAOPS_METRICS } from '../ops/metrics';

/**
 * Shortens `value` to at most `max` characters, keeping it unique by replacing the tail with a
 * hash of the whole value. Values that already fit are returned unchanged, so short names stay
 * readable and long ones stay deterministic.
 */
export function fitName(value: string, max: number): string {
  if (value.length <= max) return value;
  const hash = createHash('sha256').update(value).digest('hex').slice(0, 8);
  return `${value.slice(0, max - hash.length - 1).replace(/-+$/, '')}-${hash}`;
}

/**
 * The physical names the platform gives its resources. Cross-account references (the target
 * deploy role trusting tooling roles, CodeBuild roles assuming the deploy role) use these plain
 * names and ARNs rather than CloudFormation exports, which cannot cross accounts. Every name is
 * derived from the configuration only, so the stacks agree on them without talking to each other.
 */
export class PlatformNames {
  constructor(private readonly config: PlatformConfig) {}

  private get prefix(): string {
    return this.config.name;
  }

  /** Name of the repo's CodePipeline. */
  pipelineName(repo: RepoConfig | string): string {
    return fitName(`${this.prefix}-${typeof repo === 'string' ? repo : repo.name}`, 100);
  }

  /** ARN pattern matching every pipeline of the platform (for the Rollback and Recorder functions). */
  pipelineArnPattern(): string {
    return `arn:aws:codepipeline:${this.config.region}:${this.config.toolingAccount}:${this.prefix}-*`;
  }

  /** Name of the artifact bucket (pipeline artifacts and releases) in the tooling account. */
  artifactBucketName(): string {
    return fitName(`${this.prefix}-artifacts-${this.config.toolingAccount}-${this.config.region}`, 63);
  }

  /** Alias of the platform CMK in the tooling account. */
  keyAlias(): string {
    return `alias/${this.prefix}-platform`;
  }

  /** Name of the deploy role in an environment account. */
  deployRoleName(env: EnvironmentName): string {
    return fitName(`${this.prefix}-deploy-${env}`, 64);
  }

  /** ARN of the deploy role in an environment account. */
  deployRoleArn(env: EnvironmentName): string {
    return `arn:aws:iam::${this.config.environments[env].account}:role/${this.deployRoleName(env)}`;
  }

  /**
   * Name prefix of the tooling-account roles that may assume an environment's deploy role. Only
   * the CodeBuild projects that deploy to and verify that environment get a role with this prefix;
   * the environment comes before the repo name, so no other environment's role can match.
   */
  deployerRolePrefix(env: EnvironmentName): string {
    return `${this.prefix}-deployer-${env}-`;
  }

  /** ARN pattern of the tooling-account roles that may assume an environment's deploy role. */
  deployerRoleArnPattern(env: EnvironmentName): string {
    return `arn:aws:iam::${this.config.toolingAccount}:role/${this.deployerRolePrefix(env)}*`;
  }

  /** Name of the CodeBuild role that deploys and verifies a repo in an environment. */
  deployerRoleName(repo: RepoConfig, env: EnvironmentName): string {
    return fitName(`${this.deployerRolePrefix(env)}${repo.name}`, 64);
  }

  /** Name of the CloudWatch alarm that the prod stage bakes under. */
  prodBakeAlarmName(repo: RepoConfig | string): string {
    return fitName(`${this.prefix}-${typeof repo === 'string' ? repo : repo.name}-prod-bake`, 255);
  }

  /** Name of a platform Lambda function. */
  functionName(purpose: 'promote' | 'rollback' | 'recorder'): string {
    return fitName(`${this.prefix}-${purpose}`, 64);
  }

  /** Name of a platform SNS topic. */
  topicName(purpose: 'approvals' | 'alerts'): string {
    return fitName(`${this.prefix}-${purpose}`, 256);
  }

  /** Name of a CodeBuild project of a repo. */
  projectName(repo: RepoConfig, purpose: string): string {
    return fitName(`${this.prefix}-${repo.name}-${purpose}`, 150);
  }

  /** Name of the toolchain image repository in the tooling account's ECR. */
  toolchainRepositoryName(): string {
    return `${this.prefix}/toolchain`;
  }

  /** Name of the deployment ledger table (the Deploy and Verify actions write it by name). */
  ledgerTableName(): string {
    return fitName(`${this.prefix}-ledger`, 255);
  }

  /** Name of the CodeBuild project that builds and pushes the toolchain image. */
  toolchainImageProjectName(): string {
    return fitName(`${this.prefix}-toolchain-image`, 150);
  }

  /** Name of the customer-managed policy that lets its holders approve releases into a gated environment. */
  approvalPolicyName(env: 'staging' | 'prod'): string {
    return fitName(`${this.prefix}-approve-${env}`, 128);
  }

  /** ARN of the ManualApproval action of a gated stage (`pipeline/Stage/Action`), for PutApprovalResult. */
  approvalActionArn(repo: RepoConfig | string, env: 'staging' | 'prod'): string {
    const stage = env === 'staging' ? 'Staging' : 'Prod';
    return `arn:aws:codepipeline:${this.config.region}:${this.config.toolingAccount}:${this.pipelineName(repo)}/${stage}/Approve`;
  }

  /** ARN of a repo's pipeline. */
  pipelineArn(repo: RepoConfig | string): string {
    return `arn:aws:codepipeline:${this.config.region}:${this.config.toolingAccount}:${this.pipelineName(repo)}`;
  }

  /** Custom CloudWatch namespace of the platform's own metrics. */
  metricNamespace(): string {
    return DATAOPS_METRICS.namespace;
  }
}
