import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { STSClient } from '@aws-sdk/client-sts';
import type { PlatformConfig } from '../config/schema';
import { PlatformNames } from '../constructs/names';
import { Ledger } from '../runtime/ledger/ledger';
import { HANDLER_ENV } from '../runtime/ledger/table';

/** The AWS clients the operations commands use, with the caller's credentials. */
export interface OpsClients {
  readonly dynamodb: DynamoDBClient;
  readonly codepipeline: CodePipelineClient;
  readonly s3: S3Client;
  readonly lambda: LambdaClient;
  readonly sts: STSClient;
}

/** Environment variables that point a service at another endpoint (a local emulator or a VPC endpoint). */
export const ENDPOINT_ENV = {
  dynamodb: 'DATAOPS_ENDPOINT_URL_DYNAMODB',
  codepipeline: 'DATAOPS_ENDPOINT_URL_CODEPIPELINE',
  s3: 'DATAOPS_ENDPOINT_URL_S3',
  lambda: 'DATAOPS_ENDPOINT_URL_LAMBDA',
  sts: 'DATAOPS_ENDPOINT_URL_STS',
} as const;

/**
 * Where the deployed platform keeps its ledger and evidence: the same variables the pipeline's
 * CodeBuild projects and the Lambda handlers get, so one name works everywhere.
 */
export const LOCATION_ENV = {
  ledgerTable: HANDLER_ENV.ledgerTable,
  auditBucket: HANDLER_ENV.auditBucket,
} as const;

/** The platform's resources could not be located. */
export class OpsContextError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OpsContextError';
  }
}

/** Clients in the config's region with the default credential chain; endpoints from {@link ENDPOINT_ENV}. */
export function opsClients(config: PlatformConfig, env: NodeJS.ProcessEnv = process.env): OpsClients {
  const opts = (service: keyof typeof ENDPOINT_ENV) => {
    const endpoint = env[ENDPOINT_ENV[service]];
    return { region: config.region, ...(endpoint ? { endpoint } : {}) };
  };
  return {
    dynamodb: new DynamoDBClient(opts('dynamodb')),
    codepipeline: new CodePipelineClient(opts('codepipeline')),
    s3: new S3Client({ ...opts('s3'), forcePathStyle: Boolean(env[ENDPOINT_ENV.s3]) }),
    lambda: new LambdaClient(opts('lambda')),
    sts: new STSClient(opts('sts')),
  };
}

/** The deployed platform as the operations commands see it. */
export interface OpsContext {
  readonly config: PlatformConfig;
  readonly clients: OpsClients;
  readonly ledger: Ledger;
  readonly ledgerTable: string;
  /** The Object Lock audit bucket, when known. */
  readonly auditBucket: string | null;
  /** Repo name → pipeline name. */
  readonly pipelines: Readonly<Record<string, string>>;
  /** Name of the Rollback function. */
  readonly rollbackFunction: string;
}

/** Options that name the platform's resources explicitly. */
export interface LocateOptions {
  readonly ledgerTable?: string;
  readonly auditBucket?: string;
  /** Look the audit bucket up when it is not given. @default false */
  readonly needAuditBucket?: boolean;
}

/**
 * Locates the ledger table and the audit bucket: from the options, then the environment
 * ({@link LOCATION_ENV}), then the Recorder function's configuration (the tooling stack gives it both
 * names), which needs lambda:GetFunctionConfiguration on that function.
 */
export async function opsContext(config: PlatformConfig, options: LocateOptions = {}, clients = opsClients(config), env: NodeJS.ProcessEnv = process.env): Promise<OpsContext> {
  const names = new PlatformNames(config);
  let ledgerTable = options.ledgerTable ?? env[LOCATION_ENV.ledgerTable];
  let auditBucket = options.auditBucket ?? env[LOCATION_ENV.auditBucket];
  if (!ledgerTable || (options.needAuditBucket && !auditBucket)) {
    const recorder = names.functionName('recorder');
    try {
      const out = await clients.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: recorder }));
      const vars = out.Environment?.Variables ?? {};
      ledgerTable ??= vars[HANDLER_ENV.ledgerTable];
      auditBucket ??= vars[HANDLER_ENV.auditBucket];
    } catch (e) {
      if (!ledgerTable) {
        throw new OpsContextError(
          `cannot find the ledger table: pass --ledger-table or set ${LOCATION_ENV.ledgerTable} to the DataOpsTooling stack's ledger table, or allow lambda:GetFunctionConfiguration on ${recorder} so it can be read from there (${(e as Error).message})`,
          { cause: e },
        );
      }
    }
  }
  if (!ledgerTable) {
    throw new OpsContextError(`cannot find the ledger table: pass --ledger-table or set ${LOCATION_ENV.ledgerTable} to the DataOpsTooling stack's ledger table`);
  }
  return {
    config,
    clients,
    ledger: Ledger.fromClient(clients.dynamodb, ledgerTable),
    ledgerTable,
    auditBucket: auditBucket ?? null,
    pipelines: Object.fromEntries(config.repos.map((r) => [r.name, names.pipelineName(r)])),
    rollbackFunction: names.functionName('rollback'),
  };
}
