import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { EnvironmentName, PlatformConfig } from '../config/schema';
import { acknowledge } from './acknowledge';
import { PlatformNames } from './names';

/** Key prefix of the DAG folder in an environment's DAG bucket (MWAA's DagS3Path); each repo deploys under `dags/<repo>/`. */
export const DAG_S3_PATH = 'dags';

/**
 * Key prefix of the published dbt artifacts in the same bucket (`dbt/<repo>/project.tar.gz` and
 * `manifest.json`); equals DBT_S3_PATH of lib/runtime/deployers/dbt-snowflake-deployer.ts (a test ties them).
 */
export const DBT_ARTIFACTS_S3_PATH = 'dbt';

/** Properties of a {@link TargetDeployRole}. */
export interface TargetDeployRoleProps {
  /** Validated platform configuration. */
  readonly config: PlatformConfig;
  /** The environment this role deploys to (the stack's account). */
  readonly envName: EnvironmentName;
  /**
   * Which of the environment's deploy roles this is (PlatformNames.deployRoleCount): it is trusted
   * by the deployer roles of its repos only. @default 0 (the first, `<name>-deploy-<env>`)
   */
  readonly index?: number;
}

/**
 * The role a pipeline assumes to deploy into one environment account. It trusts only the exact ARNs
 * of the tooling account's Deploy/Verify CodeBuild roles of this environment for its repos (known
 * at synthesis; written as the tooling account root with an `ArnEquals aws:PrincipalArn` condition,
 * so the trust can be written before those roles exist, and a role created later under a similar
 * name is not trusted), and may touch only this environment's resources: the DAG folder of the MWAA DAG bucket, the ECR
 * repositories under the environment's prefix, the dbt artifacts folder of the same bucket, the SSM parameter path, the Snowflake deploy
 * secret and a CLI token of the environment's MWAA environment, plus read access to release
 * artifacts in the tooling account.
 */
export class TargetDeployRole extends Construct {
  /** The role. */
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: TargetDeployRoleProps) {
    super(scope, id);
    const { config, envName } = props;
    const index = props.index ?? 0;
    const names = new PlatformNames(config);
    const env = config.environments[envName];
    const { region } = Stack.of(this);
    const account = env.account;
    const toolingRoot = `arn:aws:iam::${config.toolingAccount}:root`;

    const deployers = names.deployerRoleArnsOf(envName, index);
    if (deployers.length === 0) throw new Error(`deploy role ${index} of ${envName} has no repos; PlatformNames.deployRoleCount() is ${names.deployRoleCount()}`);
    const roleName = names.deployRoleName(envName, index);
    this.role = new iam.Role(this, 'Role', {
      roleName,
      description: `dataops-cicd: deploys releases into ${envName}; assumed only by the tooling account's ${envName} deployer roles of its ${deployers.length} repos`,
      maxSessionDuration: Duration.hours(1),
      // one statement: AssumeRole, and TagSession (CodeBuild passes session tags for traceability in CloudTrail)
      assumedBy: new iam.ArnPrincipal(toolingRoot).withConditions({ ArnEquals: { 'aws:PrincipalArn': deployers } }).withSessionTags(),
    });

    const dagObjects = `arn:aws:s3:::${env.mwaa.dagBucket}/${DAG_S3_PATH}/*`;
    const dbtObjects = `arn:aws:s3:::${env.mwaa.dagBucket}/${DBT_ARTIFACTS_S3_PATH}/*`;
    const ecrRepos = `arn:aws:ecr:${region}:${account}:repository/${env.ecrRepositoryPrefix}/*`;
    const ssmPath = `arn:aws:ssm:${region}:${account}:parameter${env.ssmParameterPath}/*`;
    const artifactObjects = `arn:aws:s3:::${names.artifactBucketName()}/*`;
    const toolingKeys = `arn:aws:kms:${config.region}:${config.toolingAccount}:key/*`;

    const statements = [
      new iam.PolicyStatement({
        sid: 'ListDagFolder',
        actions: ['s3:ListBucket', 's3:ListBucketVersions'],
        resources: [`arn:aws:s3:::${env.mwaa.dagBucket}`],
        conditions: { StringLike: { 's3:prefix': [`${DAG_S3_PATH}/*`, `${DBT_ARTIFACTS_S3_PATH}/*`] } },
      }),
      new iam.PolicyStatement({
        sid: 'SyncDagFiles',
        actions: ['s3:GetObject', 's3:GetObjectVersion', 's3:PutObject', 's3:DeleteObject'],
        resources: [dagObjects],
      }),
      new iam.PolicyStatement({
        sid: 'PublishDbtArtifacts',
        actions: ['s3:GetObject', 's3:GetObjectVersion', 's3:PutObject', 's3:DeleteObject'],
        resources: [dbtObjects],
      }),
      new iam.PolicyStatement({
        sid: 'MwaaCliToken',
        actions: ['airflow:CreateCliToken', 'airflow:GetEnvironment'],
        resources: [`arn:aws:airflow:${region}:${account}:environment/${env.mwaa.environmentName}`],
      }),
      new iam.PolicyStatement({
        sid: 'PushAndReadImages',
        actions: [
          'ecr:BatchCheckLayerAvailability',
          'ecr:BatchGetImage',
          'ecr:CompleteLayerUpload',
          'ecr:DescribeImages',
          'ecr:GetDownloadUrlForLayer',
          'ecr:InitiateLayerUpload',
          'ecr:PutImage',
          'ecr:UploadLayerPart',
        ],
        resources: [ecrRepos],
      }),
      new iam.PolicyStatement({ sid: 'EcrLogin', actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }),
      new iam.PolicyStatement({
        sid: 'EnvironmentPointers',
        actions: ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath', 'ssm:GetParameterHistory', 'ssm:PutParameter', 'ssm:LabelParameterVersion'],
        resources: [ssmPath],
      }),
      new iam.PolicyStatement({
        sid: 'SnowflakeDeployKey',
        actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        resources: [env.snowflake.deploySecretArn],
      }),
      new iam.PolicyStatement({ sid: 'ReadReleaseArtifacts', actions: ['s3:GetObject', 's3:GetObjectVersion'], resources: [artifactObjects] }),
      new iam.PolicyStatement({
        sid: 'DecryptReleaseArtifacts',
        actions: ['kms:Decrypt', 'kms:DescribeKey'],
        resources: [toolingKeys],
        conditions: { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': names.keyAlias() } },
      }),
    ];
    const policy = new iam.ManagedPolicy(this, 'Permissions', {
      managedPolicyName: `${roleName}-permissions`,
      description: `what the ${envName} deploy role may do: this environment's DAG folder, images, pointers, Snowflake key and MWAA CLI`,
      statements,
      roles: [this.role],
    });

    acknowledge(
      policy,
      { id: `AwsSolutions-IAM5[Resource::${dagObjects}]`, reason: `DAG files are objects under the ${DAG_S3_PATH}/ folder of the ${envName} DAG bucket; each repo syncs its own ${DAG_S3_PATH}/<repo>/ prefix, and the bucket root (requirements, plugins) stays out of reach` },
      { id: `AwsSolutions-IAM5[Resource::${dbtObjects}]`, reason: `the dbt project tarball and manifest each repo publishes under ${DBT_ARTIFACTS_S3_PATH}/<repo>/ of the ${envName} MWAA bucket, where the environment's dbt runs read them in-account; the bucket root stays out of reach` },
      { id: `AwsSolutions-IAM5[Resource::${ecrRepos}]`, reason: `Spark job images are pushed to the ${envName} repositories under ${env.ecrRepositoryPrefix}/, one per job; new jobs add repositories` },
      { id: `AwsSolutions-IAM5[Resource::${ssmPath}]`, reason: `image-digest and release pointers of ${envName} are parameters under ${env.ssmParameterPath}/` },
      { id: `AwsSolutions-IAM5[Resource::${artifactObjects}]`, reason: 'release artifacts are objects of the tooling artifact bucket, keyed by pipeline execution; deploys read the release they promote' },
      { id: `AwsSolutions-IAM5[Resource::${toolingKeys}]`, reason: `the tooling key id is not known before deployment; the statement is limited to the key with alias ${names.keyAlias()} by kms:ResourceAliases` },
    );
  }
}
