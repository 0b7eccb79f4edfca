import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { Logger } from '@aws-lambda-powertools/logger';
import type { CodePipelineCloudWatchEvent } from 'aws-lambda';
import { HandlerEnvError, pipelinesFromEnv, requireEnv } from '../aws/handler-env';
import { Ledger } from '../ledger/ledger';
import { HANDLER_ENV } from '../ledger/table';
import { record, type RecorderDeps } from './recorder';

const logger = new Logger({ serviceName: 'dataops-recorder' });
let deps: RecorderDeps | undefined;

function retentionDays(): number | undefined {
  const raw = process.env[HANDLER_ENV.auditRetentionDays];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new HandlerEnvError(`${HANDLER_ENV.auditRetentionDays} '${raw}' is not a whole number of days`);
  return n;
}

function defaultDeps(): RecorderDeps {
  deps ??= {
    codepipeline: new CodePipelineClient({}),
    s3: new S3Client({}),
    eventbridge: new EventBridgeClient({}),
    ledger: Ledger.fromClient(new DynamoDBClient({}), requireEnv(HANDLER_ENV.ledgerTable)),
    pipelines: pipelinesFromEnv(),
    auditBucket: requireEnv(HANDLER_ENV.auditBucket),
    eventBusName: process.env[HANDLER_ENV.eventBus] || 'default',
    retentionDays: retentionDays(),
    cloudwatch: new CloudWatchClient({}),
    log: logger,
  } satisfies RecorderDeps;
  return deps;
}

/**
 * Recorder: target of the EventBridge rules on CodePipeline pipeline, stage and action execution
 * state changes. Writes ledger records, evidence objects and the platform's completion events.
 */
export const handler = async (event: CodePipelineCloudWatchEvent): Promise<void> => {
  const out = await record(event, defaultDeps());
  logger.info('recorded', { kind: out.plan?.kind ?? 'ignored', eventId: out.eventId, evidence: out.evidenceKey });
};
