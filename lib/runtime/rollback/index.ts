import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { pipelinesFromEnv, requireEnv } from '../aws/handler-env';
import { Ledger } from '../ledger/ledger';
import { HANDLER_ENV } from '../ledger/table';
import { openRegistry } from '../../checks/graph/registry';
import { GRAPH_REGISTRY_ENV } from './data-restore';
import { rollback, type RollbackDeps, type RollbackResponse } from './rollback';

export { RollbackRequestSchema, RollbackResponseSchema, type RollbackRequest, type RollbackResponse } from './rollback';

const logger = new Logger({ serviceName: 'dataops-rollback' });
let deps: RollbackDeps | undefined;

function defaultDeps(): RollbackDeps {
  const registry = process.env[GRAPH_REGISTRY_ENV];
  deps ??= {
    // The asset graph registry, when the function is given one, to list other repos' DAGs in the plan.
    ...(registry ? { registry: openRegistry(registry) } : {}),
    codepipeline: new CodePipelineClient({}),
    ledger: Ledger.fromClient(new DynamoDBClient({}), requireEnv(HANDLER_ENV.ledgerTable)),
    pipelines: pipelinesFromEnv(),
    cloudwatch: new CloudWatchClient({}),
    log: logger,
  } satisfies RollbackDeps;
  return deps;
}

/**
 * Rollback(λ): invoked synchronously by `dataops rollback` (or by an alarm through EventBridge) with a
 * RollbackRequest; answers a RollbackResponse the CLI prints.
 */
export const handler = async (event: unknown): Promise<RollbackResponse> => {
  const out = await rollback(event, defaultDeps());
  logger.info('rollback answered', { status: out.status, message: out.message });
  return out;
};
