import { Duration } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { PlatformConfig, RepoConfig } from '../config/schema';
import { ciDatabaseEnvironment, grantCiDatabaseSecret } from './ci-database-access';
import { GRAPH_REGISTRY_ENV, grantReadGraphRegistry, graphRegistryUrl } from './graph-registry';
import { PlatformNames } from './names';
import { validationEnvironment } from './repo-pipeline';
import type { SharedServices } from './shared-services';
import { ToolchainProject } from './toolchain-project';

/** Pull-request events that start a validation build. */
export const PR_EVENTS = [
  codebuild.EventAction.PULL_REQUEST_CREATED,
  codebuild.EventAction.PULL_REQUEST_UPDATED,
  codebuild.EventAction.PULL_REQUEST_REOPENED,
] as const;

/** Properties of a {@link PrValidation}. */
export interface PrValidationProps {
  /** Validated platform configuration. */
  readonly config: PlatformConfig;
  /** The repo whose pull requests are validated. */
  readonly repo: RepoConfig;
  /** Tooling-stack services. */
  readonly shared: SharedServices;
  /** KMS-encrypted log group of the repo's CodeBuild projects. */
  readonly logGroup: logs.ILogGroup;
}

/**
 * PR validation of one repo: a CodeBuild project with a GitHub webhook filtered on pull requests
 * created, updated and reopened, authenticated through the platform's CodeConnections connection
 * (no OAuth token stored), reporting the build status back to the pull request as a commit status.
 * It runs buildspecs/pr-validate.yml in the toolchain image: only the checks the change affects.
 */
export class PrValidation extends Construct {
  /** The project. */
  readonly project: codebuild.Project;

  constructor(scope: Construct, id: string, props: PrValidationProps) {
    super(scope, id);
    const { config, repo, shared } = props;
    const names = new PlatformNames(config);
    const [owner, repoName] = repo.repository.split('/');
    this.project = new ToolchainProject(this, 'Build', {
      projectName: names.projectName(repo, 'pr-validate'),
      description: `${repo.name}: pull-request validation (change-scoped checks)`,
      buildSpec: 'pr-validate',
      config,
      toolchainRepository: shared.toolchainRepository,
      encryptionKey: shared.encryptionKey,
      logGroup: props.logGroup,
      timeout: Duration.minutes(Math.ceil(config.ci.prTimeBudgetMinutes * 2)),
      // the dependency-graph check compares the change with the other repos' published fragments
      environmentVariables: { [GRAPH_REGISTRY_ENV]: { value: graphRegistryUrl(config) }, ...validationEnvironment(config, repo), ...ciDatabaseEnvironment(config, repo) },
      source: codebuild.Source.gitHub({
        owner,
        repo: repoName,
        cloneDepth: 0,
        webhook: true,
        reportBuildStatus: true,
        webhookFilters: [codebuild.FilterGroup.inEventOf(...PR_EVENTS)],
      }),
    }).project;
    // The L2 has no CodeConnections auth for GitHub sources; the connection replaces an OAuth token.
    const cfn = this.project.node.defaultChild as codebuild.CfnProject;
    cfn.addPropertyOverride('Source.Auth', { Type: 'CODECONNECTIONS', Resource: config.source.connectionArn });
    this.project.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'UseTheSourceConnection',
        actions: ['codeconnections:UseConnection', 'codeconnections:GetConnectionToken', 'codestar-connections:UseConnection', 'codestar-connections:GetConnectionToken'],
        resources: [config.source.connectionArn],
      }),
    );
    grantReadGraphRegistry(this.project, config, shared.encryptionKey);
    grantCiDatabaseSecret(this.project, config, repo);
  }
}
