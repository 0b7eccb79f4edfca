import * as fs from 'fs';
import * as path from 'path';
import { Duration } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { parse } from 'yaml';
import { acknowledge } from './acknowledge';
import type { PlatformConfig } from '../config/schema';
import { PROJECT_ROOT } from './platform-function';

/** Reads a buildspec of this project (buildspecs/NAME.yml) into a CodeBuild inline buildspec. */
export function projectBuildSpec(name: string): codebuild.BuildSpec {
  const file = path.join(PROJECT_ROOT, 'buildspecs', `${name}.yml`);
  const doc: unknown = parse(fs.readFileSync(file, 'utf8'));
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new Error(`buildspecs/${name}.yml: expected a buildspec mapping at the top level; fix the file`);
  }
  return codebuild.BuildSpec.fromObject(doc as Record<string, unknown>);
}

/** Properties of a {@link ToolchainProject}. */
export interface ToolchainProjectProps {
  /** Physical project name. */
  readonly projectName: string;
  /** One line describing the project. */
  readonly description: string;
  /** Buildspec file name under buildspecs/, without `.yml`. */
  readonly buildSpec: string;
  /** Validated platform configuration (compute type, toolchain image tag). */
  readonly config: PlatformConfig;
  /** The toolchain image repository in the tooling account's ECR. */
  readonly toolchainRepository: ecr.IRepository;
  /** CMK that encrypts build artifacts and cached data. */
  readonly encryptionKey: kms.IKey;
  /** KMS-encrypted log group the project writes to, under its own stream prefix. */
  readonly logGroup: logs.ILogGroup;
  /** Source of a project that is not run by CodePipeline. @default - CodePipeline source */
  readonly source?: codebuild.ISource;
  /** Service role. @default - a new role */
  readonly role?: iam.IRole;
  /** Build timeout. @default 30 minutes */
  readonly timeout?: Duration;
  /** Environment variables. @default - none */
  readonly environmentVariables?: Record<string, codebuild.BuildEnvironmentVariable>;
}

/**
 * A CodeBuild project that runs in the platform's toolchain image (pulled from the tooling
 * account's ECR with an immutable tag, so builds install nothing), encrypted with the platform
 * CMK, logging to a KMS-encrypted log group, with local caches for pip, npm and dbt packages.
 */
export class ToolchainProject extends Construct {
  /** The project. */
  readonly project: codebuild.Project;

  constructor(scope: Construct, id: string, props: ToolchainProjectProps) {
    super(scope, id);
    const common = {
      projectName: props.projectName,
      description: props.description,
      buildSpec: projectBuildSpec(props.buildSpec),
      role: props.role,
      encryptionKey: props.encryptionKey,
      timeout: props.timeout ?? Duration.minutes(30),
      queuedTimeout: Duration.hours(1),
      environment: {
        buildImage: codebuild.LinuxBuildImage.fromEcrRepository(props.toolchainRepository, props.config.ci.toolchainImageTag),
        computeType: codebuild.ComputeType[props.config.ci.computeType.replace('BUILD_GENERAL1_', '') as 'SMALL' | 'MEDIUM' | 'LARGE'],
        privileged: false,
      },
      environmentVariables: props.environmentVariables,
      cache: codebuild.Cache.local(codebuild.LocalCacheMode.SOURCE, codebuild.LocalCacheMode.CUSTOM),
      logging: { cloudWatch: { logGroup: props.logGroup, prefix: props.projectName } },
    };
    this.project = props.source
      ? new codebuild.Project(this, 'Project', { ...common, source: props.source })
      : new codebuild.PipelineProject(this, 'Project', common);
    acknowledge(
      this.project,
      {
        id: 'AwsSolutions-CB5',
        reason: 'builds run in the platform toolchain image (Airflow under MWAA constraints, dbt, Terraform, checkov, the dataops CLI) so no build installs tools; it is built from this project and pulled by immutable tag from the tooling ECR',
      },
      {
        id: 'HIPAA.Security-CodeBuildProjectSourceRepoUrl',
        reason: props.source
          ? 'the GitHub source authenticates through the CodeConnections connection (Source.Auth CODECONNECTIONS, set by property override): no credential is in the URL or stored in CodeBuild'
          : 'the source is the CodePipeline artifact (Source type CODEPIPELINE): there is no repository URL or credential on the project',
      },
    );
  }
}
