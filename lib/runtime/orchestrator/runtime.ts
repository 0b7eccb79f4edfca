import { randomUUID } from 'crypto';
import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { loadPlatformConfig } from '../../config/loader';
import { ENVIRONMENT_NAMES, type EnvironmentName } from '../../config/schema';
import { createDeployers, type AwsCredentialIdentity, type DeployerFactory } from '../deployers/registry';
import { DeployError } from '../deployers/errors';
import { Ledger } from '../ledger/ledger';
import { HANDLER_ENV } from '../ledger/table';
import { recordedCommitAuthors } from '../release/manifest';
import type { AssetKind, EnvironmentConfig } from '../../config/schema';
import { createRollbackDataDeps } from '../rollback/data-restore';
import { PIPELINE_NAME_ENV, requireApproval } from './approval-gate';
import { loadRelease, type OrchestratorDeps, type ReleaseOnDisk } from './deploy';

/** Options shared by `dataops deploy` and `dataops verify`. */
export interface RunOptions {
  readonly release: string;
  readonly env: string;
  readonly roleArn?: string;
  readonly executionId?: string;
  readonly config?: string;
  readonly ledgerTable?: string;
  readonly artifactBucket?: string;
  readonly region?: string;
  /** Cross-repo asset graph registry (folder or s3://bucket/prefix) for a rollback's DAG guard. @default - $DATAOPS_GRAPH_REGISTRY */
  readonly registry?: string;
  /** The repo's pipeline, whose approval a staging or prod deploy checks. @default - $DATAOPS_PIPELINE_NAME */
  readonly pipelineName?: string;
}

/** Everything an orchestrated run needs, built from options and the CodeBuild environment. */
export interface Orchestration {
  readonly release: ReleaseOnDisk;
  readonly env: EnvironmentName;
  readonly environment: EnvironmentConfig;
  readonly deps: OrchestratorDeps;
  /** Credentials of the environment's deploy role (--role-arn). @default - the default chain */
  readonly targetCredentials?: AwsCredentialIdentity;
  /** Region of the run. */
  readonly region: string;
}

/**
 * Metric the Verify action publishes (namespace DataOps, dimensions Repo and Environment): the number
 * of asset kinds that failed verification, 0 when all passed. The prod stage's bake alarm watches it;
 * it must equal VERIFY_FAILURES_METRIC in lib/constructs/repo-pipeline.ts (a test checks).
 */
export const VERIFY_FAILURES_METRIC = 'VerifyFailures';

/** Environment variables the Deploy and Verify CodeBuild actions get (besides HANDLER_ENV.ledgerTable and artifactBucket). */
export const ACTION_ENV = {
  /** `#{codepipeline.PipelineExecutionId}`: locks and idempotency are keyed by it. */
  executionId: 'PIPELINE_EXECUTION_ID',
  /** Terraform Cloud API token (from Secrets Manager). */
  terraformToken: 'TFC_TOKEN',
} as const;

async function assumeRole(roleArn: string, region: string, env: string): Promise<AwsCredentialIdentity> {
  const sts = new STSClient({ region });
  const out = await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: `dataops-${env}-${Date.now()}`, DurationSeconds: 3600 }));
  const c = out.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey) throw new DeployError(`AssumeRole of ${roleArn} returned no credentials; check that this build's role may assume it`);
  return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
}

/** Builds the release, ledger, deployers and identity for a run; fails naming each missing input. */
export async function buildOrchestration(
  opts: RunOptions,
  log: (line: string) => void,
  processEnv: NodeJS.ProcessEnv = process.env,
  factories?: Readonly<Partial<Record<AssetKind, DeployerFactory>>>,
): Promise<Orchestration> {
  if (!(ENVIRONMENT_NAMES as readonly string[]).includes(opts.env)) {
    throw new DeployError(`--env '${opts.env}' is not an environment; use one of ${ENVIRONMENT_NAMES.join(', ')}`);
  }
  const env = opts.env as EnvironmentName;
  const config = loadPlatformConfig(opts.config, processEnv);
  const release = loadRelease(opts.release);
  const region = opts.region ?? processEnv.AWS_REGION ?? config.region;
  const table = opts.ledgerTable ?? processEnv[HANDLER_ENV.ledgerTable];
  if (!table) throw new DeployError(`the ledger table is not known; pass --ledger-table or set ${HANDLER_ENV.ledgerTable} (the Deploy action sets it)`);
  const executionId = opts.executionId ?? processEnv[ACTION_ENV.executionId];
  if (!executionId) {
    throw new DeployError(`the pipeline execution id is not known; pass --execution-id or set ${ACTION_ENV.executionId} to #{codepipeline.PipelineExecutionId} on the action (locally: --execution-id local-${randomUUID().slice(0, 8)})`);
  }
  const targetCredentials = opts.roleArn ? await assumeRole(opts.roleArn, region, env) : undefined;
  const kinds = [...new Set(release.manifest.assets.map((a) => a.kind)), ...(release.manifest.sparkImages.length > 0 ? (['spark'] as const) : [])];
  const deployers = await createDeployers(
    kinds,
    {
      config,
      env,
      repo: release.manifest.repo,
      region,
      targetCredentials,
      artifactBucket: opts.artifactBucket ?? processEnv[HANDLER_ENV.artifactBucket],
      terraformToken: processEnv[ACTION_ENV.terraformToken],
    },
    factories,
  );
  const actor = processEnv.CODEBUILD_BUILD_ARN ?? processEnv.USER ?? 'unknown';
  return {
    release,
    env,
    environment: config.environments[env],
    targetCredentials,
    region,
    deps: {
      ledger: Ledger.fromClient(new DynamoDBClient({ region }), table),
      deployers,
      executionId,
      actor,
      log,
      rollbackData: createRollbackDataDeps({ config, env, region, targetCredentials, registry: opts.registry, processEnv }),
      // staging and prod: the execution's Approve action must have succeeded (checked with this build's own credentials)
      approvalGate: () =>
        requireApproval({
          env,
          executionId,
          release: { repo: release.manifest.repo, version: release.manifest.version, gitSha: release.manifest.gitSha, commitAuthors: recordedCommitAuthors(release.manifest) },
          pipelineName: opts.pipelineName ?? processEnv[PIPELINE_NAME_ENV],
          codepipeline: () => {
            const endpoint = processEnv.AWS_ENDPOINT_URL_CODEPIPELINE;
            return new CodePipelineClient({ region, ...(endpoint ? { endpoint } : {}) });
          },
        }),
    },
  };
}
