/**
 * Physical layout of the deployment ledger (one DynamoDB table). The tooling stack creates the
 * table from these names, and the runtime reads and writes with them; change both together.
 *
 * - `pk` / `sk`: partition and sort key (strings). Record kinds and their keys are in ./model.ts.
 * - GSI `byTime` (`gsi1pk` / `gsi1sk`): every event by day, for audit export and DORA figures.
 * - `expiresAt`: epoch seconds, TTL for lock and idempotency items only (events never expire).
 */
export const LEDGER_TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  timeIndex: { name: 'byTime', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
  ttlAttribute: 'expiresAt',
} as const;

/** Environment variables the tooling stack gives the Lambda handlers. */
export const HANDLER_ENV = {
  ledgerTable: 'LEDGER_TABLE',
  artifactBucket: 'ARTIFACT_BUCKET',
  auditBucket: 'AUDIT_BUCKET',
  eventBus: 'EVENT_BUS_NAME',
  platformName: 'PLATFORM_NAME',
  /** JSON map of repo name to pipeline name. */
  pipelines: 'PIPELINES',
  /** Days the Recorder locks evidence objects (COMPLIANCE); unset = the audit bucket's default retention. */
  auditRetentionDays: 'AUDIT_RETENTION_DAYS',
} as const;
