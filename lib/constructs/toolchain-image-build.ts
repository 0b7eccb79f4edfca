import * as fs from 'fs';
import * as path from 'path';
import { Duration } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { parse } from 'yaml';
import type { PlatformConfig } from '../config/schema';
import { acknowledge } from './acknowledge';
import { PlatformNames } from './names';
import { PROJECT_ROOT } from './platform-function';

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

/**
 * The first command of the image build: it refuses to go on when any of `pins` (variable name →
 * the value synthesis put into this buildspec) has another value in the build's environment, which a
 * `start-build --environment-variables-override` would give it. The values are written into the
 * command's text, so they cannot be overridden by an environment variable; a buildspec override can
 * replace the command itself (docs/decisions.md, "Toolchain image supply chain").
 */
export function overrideGuardCommand(pins: Readonly<Record<string, string>>): string {
  const quote = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;
  const checks = Object.entries(pins).map(([name, value]) => {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(name)) throw new Error(`overrideGuardCommand: '${name}' is not an environment variable name, expected [A-Z_][A-Z0-9_]*`);
    return `pin ${name} ${quote(value)}`;
  });
  return [
    `pin() { if [ "\${!1-}" != "$2" ]; then echo "$1 is '\${!1-}' but this project was synthesized with '$2': start-build overrides of $1 are refused; start the build without overriding it (to change it, change the configuration and deploy DataOpsTooling)" >&2; exit 4; fi; }`,
    ...checks,
  ].join('\n');
}

/**
 * buildspecs/toolchain-image.yml with {@link overrideGuardCommand} as the first command of its
 * first phase, pinning the image variables the project sets and the versions the buildspec declares.
 */
export function toolchainImageBuildSpec(project: Readonly<Record<string, string>>): { spec: Record<string, unknown>; pins: Record<string, string> } {
  const file = path.join(PROJECT_ROOT, 'buildspecs', 'toolchain-image.yml');
  const doc = parse(fs.readFileSync(file, 'utf8')) as {
    env?: { variables?: Record<string, string> };
    phases?: Record<string, { commands?: string[] }>;
  };
  const declared = doc.env?.variables ?? {};
  const first = doc.phases?.pre_build;
  if (!first?.commands) throw new Error('buildspecs/toolchain-image.yml: expected phases.pre_build.commands; fix the file');
  const pins: Record<string, string> = { ...project };
  for (const name of ['TERRAFORM_VERSION', 'NODE_VERSION']) {
    const value = declared[name];
    if (!value) throw new Error(`buildspecs/toolchain-image.yml: env.variables.${name} is missing or empty, expected the version the image installs; set it in the file`);
    pins[name] = value;
  }
  first.commands = [overrideGuardCommand(pins), ...first.commands];
  return { spec: doc as Record<string, unknown>, pins };
}

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
 * Started by the platform engineer (README, "Deploy"); it refuses to overwrite an existing tag, and
 * its first command refuses a start-build override of the image variables and versions.
 */
export class ToolchainImageBuild extends Construct {
  /** The project. */
  readonly project: codebuild.Project;

  constructor(scope: Construct, id: string, props: ToolchainImageBuildProps) {
    super(scope, id);
    const names = new PlatformNames(props.config);
    const projectName = names.toolchainImageProjectName();
    // Written out from the configuration, not from the repository's tokens, so that the buildspec text
    // holds the very values the override guard compares against.
    const urlSuffix = props.config.region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
    const image = {
      IMAGE_REPOSITORY_URI: `${props.config.toolingAccount}.dkr.ecr.${props.config.region}.${urlSuffix}/${names.toolchainRepositoryName()}`,
      IMAGE_REPOSITORY_NAME: names.toolchainRepositoryName(),
      IMAGE_TAG: props.config.ci.toolchainImageTag,
    };
    const buildSpec = toolchainImageBuildSpec(image);
    const context = new s3assets.Asset(this, 'BuildContext', { path: PROJECT_ROOT, exclude: TOOLCHAIN_CONTEXT_EXCLUDE });
    this.project = new codebuild.Project(this, 'Project', {
      projectName,
      description: `builds the ${props.config.name} toolchain image from buildspecs/toolchain/Dockerfile and pushes it with an immutable tag`,
      source: codebuild.Source.s3({ bucket: context.bucket, path: context.s3ObjectKey }),
      buildSpec: codebuild.BuildSpec.fromObject(buildSpec.spec),
      encryptionKey: props.encryptionKey,
      timeout: Duration.hours(1),
      queuedTimeout: Duration.hours(1),
      environment: {
        buildImage: codebuild.LinuxBuildImage.STANDARD_7_0,
        computeType: codebuild.ComputeType.LARGE,
        privileged: true,
      },
      environmentVariables: Object.fromEntries(Object.entries(image).map(([name, value]) => [name, { value }])),
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
