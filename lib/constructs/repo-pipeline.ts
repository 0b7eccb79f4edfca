import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { approverLabel, ENVIRONMENT_NAMES, type EnvironmentName, type PlatformConfig, type RepoConfig } from '../config/schema';
import { HANDLER_ENV, LEDGER_TABLE } from '../runtime/ledger/table';
import { DATAOPS_METRICS } from '../ops/metrics';
import { type Acknowledgement, acknowledge } from './acknowledge';
import { ciDatabaseEnvironment, ciSnowflakeOf, grantCiDatabaseSecret } from './ci-database-access';
import { GRAPH_REGISTRY_ENV, grantPublishGraphFragment, grantReadGraphRegistry, graphRegistryUrl } from './graph-registry';
import { PlatformNames } from './names';
import type { SharedServices } from './shared-services';
import { ToolchainProject } from './toolchain-project';

/** Properties of a {@link RepoPipeline}. */
export interface RepoPipelineProps {
  /** Validated platform configuration. */
  readonly config: PlatformConfig;
  /** The repo this pipeline releases. */
  readonly repo: RepoConfig;
  /** Tooling-stack services. */
  readonly shared: SharedServices;
  /** KMS-encrypted log group of the repo's CodeBuild projects. */
  readonly logGroup: logs.ILogGroup;
}

/** Names of the pipeline's stages, in order. */
export const STAGE_NAMES = ['Source', 'Validate', 'Package', 'Dev', 'Staging', 'Prod'] as const;

/**
 * Name of the DataOps metric (dimensions Repo, Environment) that Verify publishes, 1 per failed
 * post-deployment check; the prod bake alarm watches it.
 */
export const VERIFY_FAILURES_METRIC = 'VerifyFailures';

/** Namespace of the Package action's exported variables. */
export const PACKAGE_VARIABLES_NAMESPACE = 'Package';

/** Variables buildspecs/package.yml exports (`env.exported-variables`; a test ties them). */
export const PACKAGE_EXPORTED_VARIABLES = ['RELEASE_VERSION', 'RELEASE_ASSETS', 'RELEASE_MANIFEST_SHA256', 'RELEASE_SUMMARY_URL'] as const;

/** CodePipeline's limit on a ManualApproval action's CustomData, in characters. */
export const APPROVAL_CUSTOM_DATA_LIMIT = 500;

/** Longest value a pipeline variable of the approval text is assumed to resolve to. */
const VARIABLE_BYTES: Readonly<Record<string, number>> = {
  'SourceVariables.CommitId': 40,
  RELEASE_VERSION: 40,
  RELEASE_ASSETS: 6,
  RELEASE_MANIFEST_SHA256: 64,
  RELEASE_SUMMARY_URL: 200,
};

/**
 * The approval request text (CustomData): repo, release version, asset count, manifest checksum
 * and commit, resolved by CodePipeline, and the approvers. It stays under CodePipeline's 500
 * characters once the variables resolve: approvers that do not fit are summarised as "and N more".
 */
export function approvalInformation(repo: string, env: string, approvers: readonly string[], pkg: (name: (typeof PACKAGE_EXPORTED_VARIABLES)[number]) => string): string {
  const head =
    `Promote ${repo} release ${pkg('RELEASE_VERSION')} (${pkg('RELEASE_ASSETS')} assets, manifest sha256 ${pkg('RELEASE_MANIFEST_SHA256')}, ` +
    `commit #{SourceVariables.CommitId}) to ${env}. The link is the Package build: its log lists every artifact with its sha256.`;
  const resolved = (text: string) =>
    text.replace(/#\{([A-Za-z]+)\.([A-Za-z_]+)\}/g, (_m, ns: string, name: string) => 'x'.repeat(VARIABLE_BYTES[`${ns}.${name}`] ?? VARIABLE_BYTES[name] ?? 100)).length;
  for (let shown = approvers.length; shown >= 0; shown--) {
    const rest = approvers.length - shown;
    const list = [...approvers.slice(0, shown), ...(rest > 0 ? [`and ${rest} more`] : [])].join(', ');
    const text = `${head} Approvers: ${list}.`;
    if (resolved(text) <= APPROVAL_CUSTOM_DATA_LIMIT) return text;
  }
  return head;
}

/**
 * Variables of the Deploy and Verify actions that lib/runtime/orchestrator/runtime.ts reads
 * (ACTION_ENV there; a test ties them). Kept as a copy so synthesis does not load the runtime.
 */
export const ACTION_ENV = {
  executionId: 'PIPELINE_EXECUTION_ID',
  terraformToken: 'TFC_TOKEN',
} as const;

/**
 * Variable of the Deploy and Verify projects naming the repo's pipeline: `dataops deploy` reads the
 * execution's approval there (PIPELINE_NAME_ENV of lib/runtime/orchestrator/approval-gate.ts; a test ties them).
 */
export const PIPELINE_NAME_ENV = 'DATAOPS_PIPELINE_NAME';

/**
 * One repo's release pipeline (CodePipeline V2, queued executions):
 * Source (CodeConnections) → Validate (one CodeBuild action per asset kind, in parallel) →
 * Package (one immutable release) → Dev (Promote → Deploy → Verify) → Staging (Approve → Promote
 * → Deploy → Verify) → Prod (Approve → Promote → Deploy → Verify → Bake; rolls back on failure, and on
 * success only after baking under the prod bake alarm).
 *
 * Deploy and Verify of an environment run in one CodeBuild role per environment, whose exact ARN
 * the environment's deploy role trusts; that role may assume only that deploy role.
 */
export class RepoPipeline extends Construct {
  /** The pipeline. */
  readonly pipeline: codepipeline.Pipeline;
  /** The alarm the prod stage bakes under. */
  readonly prodBakeAlarm: cloudwatch.Alarm;
  /** Tooling-account role of each environment's Deploy and Verify projects. */
  readonly deployerRoles: Record<EnvironmentName, iam.Role>;

  constructor(scope: Construct, id: string, props: RepoPipelineProps) {
    super(scope, id);
    const { config, repo, shared } = props;
    const names = new PlatformNames(config);
    const pipelineName = names.pipelineName(repo);
    const project = (pid: string, purpose: string, buildSpec: string, extra: Partial<ConstructorParameters<typeof ToolchainProject>[2]> = {}) =>
      new ToolchainProject(this, pid, {
        projectName: names.projectName(repo, purpose),
        description: `${repo.name}: ${purpose}`,
        buildSpec,
        config,
        toolchainRepository: shared.toolchainRepository,
        encryptionKey: shared.encryptionKey,
        logGroup: props.logGroup,
        ...extra,
      }).project;

    const sourceOutput = new codepipeline.Artifact('Source');
    const releaseOutput = new codepipeline.Artifact('Release');
    const [owner, repoName] = repo.repository.split('/');

    const graphRegistry = { [GRAPH_REGISTRY_ENV]: { value: graphRegistryUrl(config) } };
    const validateProject = project('Validate', 'validate', 'validate', {
      timeout: Duration.minutes(20),
      environmentVariables: { ...graphRegistry, ...validationEnvironment(config, repo), ...ciDatabaseEnvironment(config, repo) },
    });
    grantReadGraphRegistry(validateProject, config, shared.encryptionKey);
    grantCiDatabaseSecret(validateProject, config, repo);
    // DATAOPS_REPO: the release is named after the configured repo (Promote checks it); buildspecs/package.yml refuses to guess.
    // ARTIFACT_BUCKET: the Package build publishes the repo's graph fragment to s3://<bucket>/graph/<repo>.json
    const packageProject = project('Package', 'package', 'package', {
      timeout: Duration.minutes(30),
      environmentVariables: { DATAOPS_REPO: { value: repo.name }, [HANDLER_ENV.artifactBucket]: { value: names.artifactBucketName() } },
    });
    grantPublishGraphFragment(packageProject, config, repo, shared.encryptionKey);
    // `dataops graph --publish` loads the whole graph (every fragment) after publishing
    grantReadGraphRegistry(packageProject, config, shared.encryptionKey);

    // aws-cdk-lib grants codestar-connections:UseConnection; a connection whose ARN has the newer
    // codeconnections prefix needs the action of that prefix too (IAM matches action prefix to ARN)
    const useConnection = new iam.PolicyStatement({
      sid: 'UseTheSourceConnection',
      actions: ['codestar-connections:UseConnection', 'codeconnections:UseConnection'],
      resources: [config.source.connectionArn],
    });
    const sourceActionRole = new iam.Role(this, 'SourceActionRole', {
      assumedBy: new iam.AccountRootPrincipal(),
      description: `${repo.name}: the pipeline's Source action (CodeConnections)`,
    });
    for (const principal of [sourceActionRole, validateProject, packageProject]) {
      if (principal instanceof iam.Role) principal.addToPolicy(useConnection);
      else principal.addToRolePolicy(useConnection);
    }

    const ledgerTableArn = `arn:aws:dynamodb:${config.region}:${config.toolingAccount}:table/${names.ledgerTableName()}`;
    const terraformPrefix = `terraform/${repo.name}/*`;
    this.deployerRoles = {} as Record<EnvironmentName, iam.Role>;
    const envProjects = {} as Record<EnvironmentName, { deploy: codebuild.IProject; verify: codebuild.IProject }>;
    let bakeProject: codebuild.IProject | undefined;
    for (const env of ENVIRONMENT_NAMES) {
      const role = new iam.Role(this, `${capitalize(env)}DeployerRole`, {
        roleName: names.deployerRoleName(repo, env),
        assumedBy: new iam.ServicePrincipal('codebuild.amazonaws.com'),
        description: `${repo.name}: Deploy and Verify in ${env}; may assume only the ${env} deploy role`,
      });
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'AssumeTheEnvironmentDeployRole',
          actions: ['sts:AssumeRole', 'sts:TagSession'],
          resources: [names.deployRoleArnOf(repo, env)],
        }),
      );
      // the orchestrator writes the ledger (locks, idempotency, records) with this build's own
      // credentials; only the deployers use the assumed environment role (lib/runtime/orchestrator/runtime.ts)
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'WriteTheLedger',
          actions: [
            'dynamodb:GetItem',
            'dynamodb:PutItem',
            'dynamodb:UpdateItem',
            'dynamodb:DeleteItem',
            'dynamodb:Query',
            'dynamodb:ConditionCheckItem',
            'dynamodb:DescribeTable',
          ],
          resources: [ledgerTableArn, `${ledgerTableArn}/index/${LEDGER_TABLE.timeIndex.name}`],
        }),
      );
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'UseThePlatformKeyForLedgerAndArtifacts',
          actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
          resources: [shared.encryptionKey.keyArn],
        }),
      );
      if (repo.kinds.includes('terraform')) {
        // the Terraform Cloud deployer keeps each applied configuration and a per-environment pointer
        // in the tooling artifact bucket (lib/runtime/deployers/terraform-cloud-deployer.ts)
        role.addToPolicy(
          new iam.PolicyStatement({
            sid: 'KeepTerraformConfigurations',
            actions: ['s3:GetObject', 's3:PutObject'],
            resources: [`arn:aws:s3:::${names.artifactBucketName()}/${terraformPrefix}`],
          }),
        );
      }
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'PublishVerifyMetrics',
          actions: ['cloudwatch:PutMetricData'],
          resources: ['*'],
          conditions: { StringEquals: { 'cloudwatch:namespace': names.metricNamespace() } },
        }),
      );
      if (env !== 'dev') {
        // `dataops deploy` refuses an execution whose Approve action of this stage has not succeeded
        // (lib/runtime/orchestrator/approval-gate.ts): it reads the approval and, for a stage rollback, its target
        role.addToPolicy(
          new iam.PolicyStatement({
            sid: 'ReadTheExecutionsApproval',
            actions: ['codepipeline:ListActionExecutions', 'codepipeline:GetPipelineExecution'],
            resources: [names.pipelineArn(repo)],
          }),
        );
      }
      this.deployerRoles[env] = role;
      const environmentVariables: Record<string, codebuild.BuildEnvironmentVariable> = {
        TARGET_ENV: { value: env },
        [PIPELINE_NAME_ENV]: { value: pipelineName },
        DEPLOY_ROLE_ARN: { value: names.deployRoleArnOf(repo, env) },
        DATAOPS_REPO: { value: repo.name },
        [HANDLER_ENV.ledgerTable]: { value: names.ledgerTableName() },
        [HANDLER_ENV.artifactBucket]: { value: names.artifactBucketName() },
        // a rollback pauses the DAGs of other repos that consume this repo's assets (the cross-repo graph)
        ...graphRegistry,
      };
      grantReadGraphRegistry(role, config, shared.encryptionKey);
      if (repo.kinds.includes('terraform')) {
        const tokenSecretArn = config.environments[env].terraformCloud.tokenSecretArn;
        if (tokenSecretArn) {
          environmentVariables[ACTION_ENV.terraformToken] = { type: codebuild.BuildEnvironmentVariableType.SECRETS_MANAGER, value: tokenSecretArn };
        } else {
          this.node.addValidation({
            validate: () => [
              `${repo.name} has Terraform assets but environments.${env}.terraformCloud.tokenSecretArn is not set; ` +
                'store the Terraform Cloud token in Secrets Manager in the tooling account and set its ARN there',
            ],
          });
        }
      }
      envProjects[env] = {
        deploy: project(`${capitalize(env)}Deploy`, `deploy-${env}`, 'deploy', { role, environmentVariables }),
        verify: project(`${capitalize(env)}Verify`, `verify-${env}`, 'verify', { role, environmentVariables, timeout: Duration.minutes(45) }),
      };
      if (env === 'prod') {
        // the prod bake: probes what the release deployed for ci.prodBakeMinutes and feeds the bake alarm
        bakeProject = project('ProdBake', 'bake-prod', 'bake', {
          role,
          environmentVariables: { ...environmentVariables, BAKE_MINUTES: { value: String(config.ci.prodBakeMinutes) } },
          timeout: Duration.minutes(config.ci.prodBakeMinutes + 15),
        });
      }
      const findings: Acknowledgement[] = [];
      if (repo.kinds.includes('terraform')) {
        findings.push({
          id: `AwsSolutions-IAM5[Resource::arn:aws:s3:::${names.artifactBucketName()}/${terraformPrefix}]`,
          reason: `the Terraform Cloud deployer keeps each applied configuration (terraform/${repo.name}/<sha256>.tar.gz) and the per-environment pointer under this repo's own prefix of the artifact bucket; the keys are content hashes known only at deploy time`,
        });
        const tokenSecretArn = config.environments[env].terraformCloud.tokenSecretArn;
        if (tokenSecretArn) {
          findings.push({
            id: `AwsSolutions-IAM5[Resource::${tokenSecretArn}*]`,
            reason: `aws-cdk-lib grants the TFC_TOKEN secret (a SECRETS_MANAGER build variable) as its configured ARN followed by *, so a version or JSON key may follow the ARN; it matches only the ${env} Terraform Cloud token secret`,
          });
        }
      }
      const defaultPolicy = role.node.tryFindChild('DefaultPolicy');
      if (defaultPolicy && findings.length > 0) acknowledge(defaultPolicy, ...findings);
    }

    this.prodBakeAlarm = new cloudwatch.Alarm(this, 'ProdBakeAlarm', {
      alarmName: names.prodBakeAlarmName(repo),
      alarmDescription: `${repo.name}: a post-deployment check failed in prod during the bake; the prod stage rolls back`,
      metric: new cloudwatch.Metric({
        namespace: names.metricNamespace(),
        metricName: VERIFY_FAILURES_METRIC,
        dimensionsMap: { [DATAOPS_METRICS.dimensions.repo]: repo.name, [DATAOPS_METRICS.dimensions.environment]: 'prod' },
        statistic: cloudwatch.Stats.SUM,
        period: Duration.minutes(1),
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.prodBakeAlarm.addAlarmAction(new cwActions.SnsAction(shared.alertsTopic));

    const promote = (env: EnvironmentName, runOrder: number) =>
      new actions.LambdaInvokeAction({
        actionName: 'Promote',
        lambda: shared.promoteFunction,
        inputs: [releaseOutput],
        userParameters: { repo: repo.name, env },
        runOrder,
      });
    // locks and idempotency keys are the execution id, which only the action can resolve
    const executionEnvironment = { [ACTION_ENV.executionId]: { value: '#{codepipeline.PipelineExecutionId}' } };
    const deployAndVerify = (env: EnvironmentName, firstRunOrder: number) => [
      new actions.CodeBuildAction({
        actionName: 'Deploy',
        project: envProjects[env].deploy,
        input: releaseOutput,
        runOrder: firstRunOrder,
        environmentVariables: executionEnvironment,
      }),
      new actions.CodeBuildAction({
        actionName: 'Verify',
        project: envProjects[env].verify,
        input: releaseOutput,
        runOrder: firstRunOrder + 1,
        environmentVariables: executionEnvironment,
      }),
    ];
    const pkg = (name: (typeof PACKAGE_EXPORTED_VARIABLES)[number]) => `#{${PACKAGE_VARIABLES_NAMESPACE}.${name}}`;
    const approve = (env: 'staging' | 'prod') =>
      new actions.ManualApprovalAction({
        actionName: 'Approve',
        runOrder: 1,
        notificationTopic: shared.approvalsTopic,
        // the Package build's page: its log is the `dataops package` summary of this release
        externalEntityLink: pkg('RELEASE_SUMMARY_URL'),
        additionalInformation: approvalInformation(repo.name, env, config.approvers[env].map(approverLabel), pkg),
      });

    this.pipeline = new codepipeline.Pipeline(this, 'Pipeline', {
      pipelineName,
      pipelineType: codepipeline.PipelineType.V2,
      executionMode: codepipeline.ExecutionMode.QUEUED,
      artifactBucket: shared.artifactBucket,
      crossAccountKeys: false,
      restartExecutionOnUpdate: false,
      stages: [
        {
          stageName: 'Source',
          actions: [
            new actions.CodeStarConnectionsSourceAction({
              actionName: 'Source',
              role: sourceActionRole,
              variablesNamespace: 'SourceVariables',
              connectionArn: config.source.connectionArn,
              owner,
              repo: repoName,
              branch: repo.branch,
              output: sourceOutput,
              codeBuildCloneOutput: true,
              triggerOnPush: true,
            }),
          ],
        },
        {
          stageName: 'Validate',
          actions: repo.kinds.map(
            (kind) =>
              new actions.CodeBuildAction({
                actionName: `Validate-${kind}`,
                project: validateProject,
                input: sourceOutput,
                environmentVariables: { ASSET_KIND: { value: kind } },
                runOrder: 1,
              }),
          ),
        },
        {
          stageName: 'Package',
          actions: [
            new actions.CodeBuildAction({
              actionName: 'Package',
              project: packageProject,
              input: sourceOutput,
              outputs: [releaseOutput],
              variablesNamespace: PACKAGE_VARIABLES_NAMESPACE,
            }),
          ],
        },
        { stageName: 'Dev', actions: [promote('dev', 1), ...deployAndVerify('dev', 2)] },
        { stageName: 'Staging', actions: [approve('staging'), promote('staging', 2), ...deployAndVerify('staging', 3)] },
        {
          stageName: 'Prod',
          actions: [
            approve('prod'),
            promote('prod', 2),
            ...deployAndVerify('prod', 3),
            new actions.CodeBuildAction({ actionName: 'Bake', project: bakeProjectOf(bakeProject), input: releaseOutput, runOrder: 5, environmentVariables: executionEnvironment }),
          ],
          onFailure: { result: codepipeline.Result.ROLLBACK },
          onSuccess: {
            conditions: [
              {
                result: codepipeline.Result.ROLLBACK,
                rules: [
                  new codepipeline.Rule({
                    name: 'ProdBake',
                    provider: 'CloudWatchAlarm',
                    version: '1',
                    configuration: {
                      AlarmName: this.prodBakeAlarm.alarmName,
                      AlarmStates: 'ALARM',
                      // the Bake action has probed for ci.prodBakeMinutes; the condition reads the alarm once the probes are in
                      WaitTime: '1',
                    },
                  }),
                ],
              },
            ],
          },
        },
      ],
    });
    this.pipeline.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadTheProdBakeAlarm',
        actions: ['cloudwatch:DescribeAlarms'],
        resources: [this.prodBakeAlarm.alarmArn],
      }),
    );
  }
}

/** The dbt target of CodeBuild validation: the CI target (a zero-copy clone in Snowflake), for repos with dbt. */
export const CI_DBT_TARGET = 'ci';

/**
 * Build variables that `dataops validate` reads in the Validate and PR-validation projects:
 * DATAOPS_REPO (the repo name, whose package the DAG import test imports the DAG folder as) and
 * DATAOPS_DBT_TARGET (lib/checks/validate/checks/dbt.ts) for repos with dbt when `ci.snowflake` gives
 * the builds a CI user (without one there is no CI clone to build in, and dbt validates with the repo's
 * own default target, else the offline profile). TF_PLAN_JSON and
 * DBT_STATE_DIR are per-build files (a start-build override), so the project leaves them to the
 * buildspec's empty defaults.
 */
export function validationEnvironment(config: PlatformConfig, repo: RepoConfig): Record<string, codebuild.BuildEnvironmentVariable> {
  return { DATAOPS_REPO: { value: repo.name }, ...(ciSnowflakeOf(config, repo) ? { DATAOPS_DBT_TARGET: { value: CI_DBT_TARGET } } : {}) };
}

function bakeProjectOf(project: codebuild.IProject | undefined): codebuild.IProject {
  if (!project) throw new Error('the prod bake project was not created; ENVIRONMENT_NAMES must include prod');
  return project;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
