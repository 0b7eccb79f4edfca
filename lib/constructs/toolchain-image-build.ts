import { Duration } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import type { PlatformConfig } from '../config/schema';
import { acknowledge } from './acknowledge';
import { PlatformNames } from './names';
import { PROJECT_ROOT } from './platform-function';
import { projectBuildSpec } from './toolchain-project';

/**
 * What of this project goes into the toolchain image's build context: what the Dockerfile copies
 * (package.json, package-lock.json, bin, lib, config, tsconfig.json, buildspecs). Everything else
 * (tests, caches, virtual environments, the cloud assembly) stays out, so the asset changes only
 * when the image would.
 */
export const TOOLCHAIN_CONTEXT_EXCLUDE = [
  '*',
  '!package.json',
  '!package-lock.json',
  '!tsconfig.json',
  '!bin',
  '!bin/**',
  '!lib',
  '!lib/**',
  '!config',
  '!config/**',
  '!buildspecs',
  '!buildspecs/**',
];

/** Properties of a {@link ToolchainImageBuild}. */
export interface ToolchainImageBuildProps {
  /** Validated platform configuration (the image tag). */
  readonly config: PlatformConfig;
  /** The immutable toolchain image repository. */
  readonly repository: ecr.IRepository;
  /** CMK that encrypts the build's artifacts and cache. */
  readonly encryptionKey: kms.IKey;
  /** KMS-encrypted log group. */
  readonly logGroup: logs.ILogGroup;
}

/**
 * The CodeBuild project that builds buildspecs/toolchain/Dockerfile from this project (uploaded
 * as a CDK asset when the tooling stack deploys) and pushes `<repository>:<ci.toolchainImageTag>`.
 * Started by the platform engineer (README, "Deploy"); it refuses to overwrite an existing tag.
 */
export class ToolchainImageBuild extends Construct {
  /** The project. */
  readonly project: codebuild.Project;

  constructor(scope: Construct, id: string, props: ToolchainImageBuildProps) {
    super(scope, id);
    const names = new PlatformNames(props.config);
    const projectName = names.toolchainImageProjectName();
    const context = new s3assets.Asset(this, 'BuildContext', { path: PROJECT_ROOT, exclude: TOOLCHAIN_CONTEXT_EXCLUDE });
    this.project = new codebuild.Project(this, 'Project', {
      projectName,
      description: `builds the ${props.config.name} toolchain image from buildspecs/toolchain/Dockerfile and pushes it with an immutable tag`,
      source: codebuild.Source.s3({ bucket: context.bucket, path: context.s3ObjectKey }),
      buildSpec: projectBuildSpec('toolchain-image'),
      encryptionKey: props.encryptionKey,
      timeout: Duration.hours(1),
      queuedTimeout: Duration.hours(1),
      environment: {
        buildImage: codebuild.LinuxBuildImage.STANDARD_7_0,
        computeType: codebuild.ComputeType.LARGE,
        privileged: true,
      },
      environmentVariables: {
        IMAGE_REPOSITORY_URI: { value: props.repository.repositoryUri },
        IMAGE_REPOSITORY_NAME: { value: props.repository.repositoryName },
        IMAGE_TAG: { value: props.config.ci.toolchainImageTag },
      },
      logging: { cloudWatch: { logGroup: props.logGroup, prefix: projectName } },
    });
    context.grantRead(this.project);
    props.repository.grantPullPush(this.project);
    this.project.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'RefuseAnExistingTag',
        actions: ['ecr:DescribeImages'],
        resources: [props.repository.repositoryArn],
      }),
    );
    acknowledge(this.project, {
      id: 'HIPAA.Security-CodeBuildProjectSourceRepoUrl',
      reason: 'the source is the platform source uploaded by CDK as an S3 asset (Source type S3): there is no repository URL or credential on the project',
    }, {
      id: 'AwsSolutions-CB3',
      reason: `docker build needs the Docker daemon, which CodeBuild runs only in privileged mode; this project builds only buildspecs/toolchain/Dockerfile from the deployed platform source, is started by the platform engineer (no webhook, no pull-request code) and pushes only to ${names.toolchainRepositoryName()}`,
    });
  }
}
