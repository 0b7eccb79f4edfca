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
 * Repos per deploy role. A deploy role's trust policy lists the exact ARN of each of its repos'
 * deployer roles; IAM's default limit for a role trust policy is 2,048 characters, and 16 ARNs of the
 * longest names (64-character role names, 97 characters each as JSON) with the statement fit in it.
 * Past 16 repos an environment gets a further deploy role per 16 (`<name>-deploy-<env>-2`, …).
 */
export const DEPLOYERS_PER_DEPLOY_ROLE = 16;

/** Name of a deployer role (`<platform>-deployer-<env>-<repo>`, shortened with a hash past 64 characters). */
export function deployerRoleNameOf(platformName: string, repoName: string, env: EnvironmentName): string {
  return fitName(`${platformName}-deployer-${env}-${repoName}`, 64);
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

  /**
   * Name of a deploy role in an environment account: `<name>-deploy-<env>` for the first
   * {@link DEPLOYERS_PER_DEPLOY_ROLE} repos, `-2`, `-3`, … for each further group of them.
   */
  deployRoleName(env: EnvironmentName, index = 0): string {
    return fitName(`${this.prefix}-deploy-${env}${index === 0 ? '' : `-${index + 1}`}`, 64);
  }

  /** ARN of a deploy role in an environment account (the first by default). */
  deployRoleArn(env: EnvironmentName, index = 0): string {
    return `arn:aws:iam::${this.config.environments[env].account}:role/${this.deployRoleName(env, index)}`;
  }

  /** How many deploy roles each environment has: one per {@link DEPLOYERS_PER_DEPLOY_ROLE} repos, in configuration order. */
  deployRoleCount(): number {
    return Math.max(1, Math.ceil(this.config.repos.length / DEPLOYERS_PER_DEPLOY_ROLE));
  }

  /** The repos whose deployer roles a deploy role trusts. */
  reposOfDeployRole(index: number): RepoConfig[] {
    return this.config.repos.slice(index * DEPLOYERS_PER_DEPLOY_ROLE, (index + 1) * DEPLOYERS_PER_DEPLOY_ROLE);
  }

  /** ARN of the deploy role that a repo's deployer role assumes in an environment. */
  deployRoleArnOf(repo: RepoConfig, env: EnvironmentName): string {
    const i = this.config.repos.findIndex((r) => r.name === repo.name);
    if (i < 0) throw new Error(`repo '${repo.name}' is not in the configuration; its deploy role is not known`);
    return this.deployRoleArn(env, Math.floor(i / DEPLOYERS_PER_DEPLOY_ROLE));
  }

  /** ARNs of every deploy role of an environment. */
  deployRoleArns(env: EnvironmentName): string[] {
    return Array.from({ length: this.deployRoleCount() }, (_, i) => this.deployRoleArn(env, i));
  }

  /**
   * Name prefix of an environment's deployer roles (`<name>-deployer-<env>-`): the environment
   * comes before the repo name, so no two environments' names overlap. The deploy roles do not
   * trust the prefix but the exact ARNs ({@link deployerRoleArnsOf}).
   */
  deployerRolePrefix(env: EnvironmentName): string {
    return `${this.prefix}-deployer-${env}-`;
  }

  /** Name of the CodeBuild role that deploys and verifies a repo in an environment. */
  deployerRoleName(repo: RepoConfig | string, env: EnvironmentName): string {
    return deployerRoleNameOf(this.prefix, typeof repo === 'string' ? repo : repo.name, env);
  }

  /** ARN of the CodeBuild role that deploys and verifies a repo in an environment (tooling account). */
  deployerRoleArn(repo: RepoConfig | string, env: EnvironmentName): string {
    return `arn:aws:iam::${this.config.toolingAccount}:role/${this.deployerRoleName(repo, env)}`;
  }

  /**
   * The exact ARNs of the deployer roles that one deploy role of an environment trusts: those of its
   * repos, known at synthesis, so no role created later under a similar name is trusted.
   */
  deployerRoleArnsOf(env: EnvironmentName, deployRoleIndex: number): string[] {
    return this.reposOfDeployRole(deployRoleIndex).map((r) => this.deployerRoleArn(r, env));
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
