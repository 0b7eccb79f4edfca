import * as fs from 'fs';
import * as path from 'path';
import { Annotations, Duration, Stack } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { parse } from 'yaml';
import { acknowledge } from './acknowledge';
import { CONFIG_ENV, configSourceOf } from '../config/loader';
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

/** Working directory of the toolchain image (WORKDIR of buildspecs/toolchain/Dockerfile), where this project's files are. */
export const TOOLCHAIN_WORKDIR = '/opt/dataops';

/** The folder of this project that the toolchain image copies configuration files from. */
export const TOOLCHAIN_CONFIG_DIR = 'config';

/**
 * Path inside the toolchain image of a configuration file of this project, and whether the image
 * holds it: only files under config/ are copied into the image. For any other file the path is
 * where the image would hold it once the file is moved into config/.
 */
export function toolchainConfigPath(file: string, projectRoot: string = PROJECT_ROOT): { readonly path: string; readonly inImage: boolean } {
  const relative = path.relative(path.join(projectRoot, TOOLCHAIN_CONFIG_DIR), path.resolve(file));
  const inImage = relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
  const inside = inImage ? relative.split(path.sep).join('/') : path.basename(file);
  return { path: `${TOOLCHAIN_WORKDIR}/${TOOLCHAIN_CONFIG_DIR}/${inside}`, inImage };
}

/**
 * Build variables that pin `dataops` in a toolchain build to the configuration the pipeline is
 * synthesized from: DATAOPS_CONFIG (its path in the image) and DATAOPS_CONFIG_SHA256 (the sha256
 * of its bytes at synthesis), which the CLI checks before it reads the file. Adds a warning to the
 * stack when the image cannot hold the file (outside config/, or not loaded from a file at all).
 */
export function configPinEnvironment(scope: Construct, config: PlatformConfig): Record<string, codebuild.BuildEnvironmentVariable> {
  const source = configSourceOf(config);
  if (!source) {
    Annotations.of(Stack.of(scope)).addWarningV2(
      'dataops:config-not-from-file',
      `the platform configuration was not loaded from a file, so the CodeBuild projects cannot be pinned to it with ${CONFIG_ENV.path} and ${CONFIG_ENV.sha256}, and dataops in the builds would read the embedded config/northstar.yaml; synthesize from a file under config/ with loadConfig (bin/app.ts does)`,
    );
    return {};
  }
  const inImage = toolchainConfigPath(source.file);
  if (!inImage.inImage) {
    Annotations.of(Stack.of(scope)).addWarningV2(
      'dataops:config-outside-toolchain-image',
      `the platform configuration ${source.file} is not under ${path.join(PROJECT_ROOT, TOOLCHAIN_CONFIG_DIR)}, so the toolchain image cannot contain it (buildspecs/toolchain/Dockerfile copies only config/) and every build will stop because ${inImage.path} is missing; keep the config under config/ so the toolchain image includes it, then rebuild the image (README, "Deploy", step 5)`,
    );
  }
  return { [CONFIG_ENV.path]: { value: inImage.path }, [CONFIG_ENV.sha256]: { value: source.sha256 } };
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
  /** Environment variables, besides DATAOPS_CONFIG and DATAOPS_CONFIG_SHA256 that every project gets. @default - none */
  readonly environmentVariables?: Record<string, codebuild.BuildEnvironmentVariable>;
}

/**
 * A CodeBuild project that runs in the platform's toolchain image (pulled from the tooling
 * account's ECR with an immutable tag, so builds install nothing), encrypted with the platform
 * CMK, logging to a KMS-encrypted log group, with local caches for pip, npm and dbt packages.
 * Its `dataops` runs read the configuration the pipeline was synthesized from ({@link configPinEnvironment}).
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
      // the pin comes last: no project may point dataops at another configuration
      environmentVariables: { ...props.environmentVariables, ...configPinEnvironment(this, props.config) },
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
