import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { Logger } from '@aws-lambda-powertools/logger';
import type { CodePipelineEvent } from 'aws-lambda';
import { requireEnv } from '../aws/handler-env';
import { Ledger } from '../ledger/ledger';
import { HANDLER_ENV } from '../ledger/table';
import { promote, type PromoteDeps } from './promote';

const logger = new Logger({ serviceName: 'dataops-promote' });
let deps: PromoteDeps | undefined;

function defaultDeps(): PromoteDeps {
  deps ??= {
    codepipeline: new CodePipelineClient({}),
    s3: new S3Client({}),
    ledger: Ledger.fromClient(new DynamoDBClient({}), requireEnv(HANDLER_ENV.ledgerTable)),
    log: logger,
  } satisfies PromoteDeps;
  return deps;
}

/**
 * Promote(λ), invoked by the CodePipeline Lambda invoke action of each environment stage with
 * UserParameters `{"repo":"<repo>","env":"dev|staging|prod"}` and the Package output as input artifact.
 */
export const handler = async (event: CodePipelineEvent): Promise<void> => {
  const out = await promote(event, defaultDeps());
  logger.info('promote finished', { ...out });
};
