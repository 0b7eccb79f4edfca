import { randomUUID } from 'crypto';
import { ConditionalCheckFailedException, TransactionCanceledException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient as DocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { LEDGER_TABLE } from './table';
import {
  ClaimRecordSchema,
  CurrentRecordSchema,
  ExecutionRecordSchema,
  LedgerEventSchema,
  LockRecordSchema,
  ReleaseRecordSchema,
  SK_PREFIX,
  SuccessRecordSchema,
  keys,
  type ClaimRecord,
  type CurrentRecord,
  type ExecutionRecord,
  type ExecutionRecordInput,
  type LedgerEvent,
  type LockRecord,
  type NewLedgerEvent,
  type ReleaseRecord,
  type SuccessRecord,
} from './model';

/** Raised when a ledger item does not match its schema, or a write the ledger relies on fails. */
export class LedgerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LedgerError';
  }
}

/** Result of acquireLock. */
export type LockAttempt =
  | { readonly acquired: true; readonly reentrant: boolean; readonly lock: LockRecord }
  | { readonly acquired: false; readonly holder: string; readonly expiresAt: number };

/** Result of claim. `claimed`: go ahead. `completed`: a previous attempt finished, here is its outcome. */
export type ClaimAttempt =
  | { readonly status: 'claimed'; readonly takeover: boolean }
  | { readonly status: 'completed'; readonly outcome: string | null }
  | { readonly status: 'in-progress'; readonly owner: string; readonly expiresAt: number };

/** Options of a ledger. */
export interface LedgerOptions {
  /** Clock. @default - the system clock */
  readonly now?: () => Date;
  /** Seconds a lock lasts unless released. @default 7200 (two hours, longer than any deploy) */
  readonly lockSeconds?: number;
  /** Seconds an in-progress claim lasts before a retry may take it over. @default 3600 */
  readonly claimLeaseSeconds?: number;
  /** Seconds a completed claim is kept so retries find it. @default 2592000 (30 days) */
  readonly claimRetentionSeconds?: number;
}

const KEY_ATTRS = [LEDGER_TABLE.partitionKey, LEDGER_TABLE.sortKey, LEDGER_TABLE.timeIndex.partitionKey, LEDGER_TABLE.timeIndex.sortKey, 'recordType'];

function strip(item: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item)) if (!KEY_ATTRS.includes(k)) out[k] = v;
  return out;
}

function parseItem<T>(schema: z.ZodType<T>, item: Record<string, unknown>, what: string): T {
  const r = schema.safeParse(strip(item));
  if (!r.success) {
    throw new LedgerError(
      `ledger item ${String(item[LEDGER_TABLE.partitionKey])}/${String(item[LEDGER_TABLE.sortKey])} is not a valid ${what}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}; the item was written by another version of the runtime or by hand`,
      { cause: r.error },
    );
  }
  return r.data;
}

function isConditionFailure(e: unknown): e is ConditionalCheckFailedException {
  return e instanceof ConditionalCheckFailedException || (e instanceof Error && e.name === 'ConditionalCheckFailedException');
}

/**
 * The deployment ledger on DynamoDB (layout in ./table.ts, records in ./model.ts, docs/ledger.md).
 * Events are append-only; locks and idempotency claims are conditional writes, so two deploys of one
 * repo to one env cannot both hold the lock and a retried pipeline action finds its earlier outcome.
 */
export class Ledger {
  private readonly now: () => Date;
  private readonly lockSeconds: number;
  private readonly claimLeaseSeconds: number;
  private readonly claimRetentionSeconds: number;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
    opts: LedgerOptions = {},
  ) {
    this.now = opts.now ?? (() => new Date());
    this.lockSeconds = opts.lockSeconds ?? 7200;
    this.claimLeaseSeconds = opts.claimLeaseSeconds ?? 3600;
    this.claimRetentionSeconds = opts.claimRetentionSeconds ?? 30 * 86_400;
  }

  /** A ledger on `client`, marshalling the way the ledger's records need (undefined values dropped). */
  static fromClient(client: DynamoDBClient, tableName: string, opts: LedgerOptions = {}): Ledger {
    return new Ledger(DocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }), tableName, opts);
  }

  private epoch(): number {
    return Math.floor(this.now().getTime() / 1000);
  }

  // ---------------------------------------------------------------- events

  /**
   * Appends one event, never overwriting; fills `eventId` and `at` when absent. Writing the same
   * eventId and `at` twice keeps the first and returns it (at-least-once deliveries stay single).
   */
  async appendEvent(input: NewLedgerEvent): Promise<LedgerEvent> {
    const at = input.at ?? this.now().toISOString();
    const event = LedgerEventSchema.parse({ ...input, at, eventId: input.eventId ?? randomUUID() });
    try {
      await this.put(event);
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
    }
    return event;
  }

  private async put(event: LedgerEvent): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...event,
          [LEDGER_TABLE.partitionKey]: keys.repoEnv(event.repo, event.env),
          [LEDGER_TABLE.sortKey]: keys.eventSk(event.at, event.eventId),
          [LEDGER_TABLE.timeIndex.partitionKey]: keys.dayPk(event.at),
          [LEDGER_TABLE.timeIndex.sortKey]: keys.daySk(event.at, event.repo, event.env, event.eventId),
          recordType: 'event',
        },
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': LEDGER_TABLE.partitionKey },
      }),
    );
  }

  /** Events of one repo in one env, oldest first, optionally within [from, to] (ISO times). */
  async eventsFor(repo: string, env: string, range: { from?: string; to?: string; executionId?: string } = {}): Promise<LedgerEvent[]> {
    const lo = keys.eventSk(range.from ?? '0000', '');
    const hi = keys.eventSk(range.to ?? '9999', '\uffff');
    const items = await this.queryAll({
      KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :lo AND :hi',
      ExpressionAttributeNames: { '#pk': LEDGER_TABLE.partitionKey, '#sk': LEDGER_TABLE.sortKey, ...(range.executionId ? { '#x': 'executionId' } : {}) },
      ExpressionAttributeValues: { ':pk': keys.repoEnv(repo, env), ':lo': lo, ':hi': hi, ...(range.executionId ? { ':x': range.executionId } : {}) },
      FilterExpression: range.executionId ? '#x = :x' : undefined,
    });
    return items.map((i) => parseItem(LedgerEventSchema, i, 'ledger event'));
  }

  /** Every event between two ISO times across all repos, oldest first, through GSI byTime (audit, DORA). */
  async eventsBetween(from: string, to: string): Promise<LedgerEvent[]> {
    const out: LedgerEvent[] = [];
    const start = new Date(`${from.slice(0, 10)}T00:00:00.000Z`);
    const end = new Date(to);
    if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime())) {
      throw new LedgerError(`eventsBetween: '${from}' or '${to}' is not an ISO date; pass times like 2026-01-31T00:00:00Z`);
    }
    for (let day = start; day <= end; day = new Date(day.getTime() + 86_400_000)) {
      const items = await this.queryAll({
        IndexName: LEDGER_TABLE.timeIndex.name,
        KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :lo AND :hi',
        ExpressionAttributeNames: { '#pk': LEDGER_TABLE.timeIndex.partitionKey, '#sk': LEDGER_TABLE.timeIndex.sortKey },
        ExpressionAttributeValues: { ':pk': keys.dayPk(day.toISOString()), ':lo': from, ':hi': `${to}\uffff` },
      });
      out.push(...items.map((i) => parseItem(LedgerEventSchema, i, 'ledger event')));
    }
    return out;
  }

  // ---------------------------------------------------------------- lock

  /**
   * Takes the per-repo, per-env lock for `holder` (a pipeline execution id). Succeeds when the lock is
   * free, expired, or already held by the same holder (re-entrant, so a retried action proceeds).
   */
  async acquireLock(repo: string, env: string, holder: string, seconds = this.lockSeconds): Promise<LockAttempt> {
    const now = this.epoch();
    const lock: LockRecord = { repo, env: env as LockRecord['env'], holder, acquiredAt: this.now().toISOString(), expiresAt: now + seconds };
    LockRecordSchema.parse(lock);
    try {
      const out = await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...lock, [LEDGER_TABLE.partitionKey]: keys.lock(repo, env), [LEDGER_TABLE.sortKey]: keys.lockSk, recordType: 'lock' },
          ConditionExpression: 'attribute_not_exists(#pk) OR #exp < :now OR #holder = :holder',
          ExpressionAttributeNames: { '#pk': LEDGER_TABLE.partitionKey, '#exp': LEDGER_TABLE.ttlAttribute, '#holder': 'holder' },
          ExpressionAttributeValues: { ':now': now, ':holder': holder },
          ReturnValues: 'ALL_OLD',
        }),
      );
      const old = out.Attributes;
      const reentrant = old !== undefined && old.holder === holder && typeof old.expiresAt === 'number' && old.expiresAt >= now;
      return { acquired: true, reentrant, lock };
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
      const current = await this.getLock(repo, env);
      if (!current) return this.acquireLock(repo, env, holder, seconds); // released between the two calls
      return { acquired: false, holder: current.holder, expiresAt: current.expiresAt };
    }
  }

  /** Releases the lock if `holder` holds it; returns whether it did. */
  async releaseLock(repo: string, env: string, holder: string): Promise<boolean> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { [LEDGER_TABLE.partitionKey]: keys.lock(repo, env), [LEDGER_TABLE.sortKey]: keys.lockSk },
          ConditionExpression: '#holder = :holder',
          ExpressionAttributeNames: { '#holder': 'holder' },
          ExpressionAttributeValues: { ':holder': holder },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  /** The lock item, or null when there is none or it has expired. */
  async getLock(repo: string, env: string): Promise<LockRecord | null> {
    const item = await this.get(keys.lock(repo, env), keys.lockSk);
    if (!item) return null;
    const lock = parseItem(LockRecordSchema, item, 'lock');
    return lock.expiresAt < this.epoch() ? null : lock;
  }

  // ---------------------------------------------------------------- idempotency

  /**
   * Claims `action` of pipeline execution `executionId` for `owner`. A claim that completed returns
   * its outcome (the caller must not do the work again); a failed or abandoned claim is taken over.
   */
  async claim(executionId: string, action: string, owner: string): Promise<ClaimAttempt> {
    const now = this.epoch();
    const record: ClaimRecord = {
      executionId,
      action,
      state: 'in-progress',
      owner,
      claimedAt: this.now().toISOString(),
      expiresAt: now + this.claimLeaseSeconds,
      outcome: null,
    };
    try {
      const out = await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...record, [LEDGER_TABLE.partitionKey]: keys.claim(executionId, action), [LEDGER_TABLE.sortKey]: keys.claimSk, recordType: 'claim' },
          ConditionExpression: 'attribute_not_exists(#pk) OR #state = :failed OR (#state = :busy AND #exp < :now)',
          ExpressionAttributeNames: { '#pk': LEDGER_TABLE.partitionKey, '#state': 'state', '#exp': LEDGER_TABLE.ttlAttribute },
          ExpressionAttributeValues: { ':failed': 'failed', ':busy': 'in-progress', ':now': now },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return { status: 'claimed', takeover: out.Attributes !== undefined };
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
      const item = await this.get(keys.claim(executionId, action), keys.claimSk);
      if (!item) return this.claim(executionId, action, owner);
      const existing = parseItem(ClaimRecordSchema, item, 'idempotency claim');
      if (existing.state === 'completed') return { status: 'completed', outcome: existing.outcome };
      return { status: 'in-progress', owner: existing.owner, expiresAt: existing.expiresAt };
    }
  }

  /** Marks a claim completed (or failed) with its outcome; only the owner may. Returns whether it did. */
  async settleClaim(executionId: string, action: string, owner: string, state: 'completed' | 'failed', outcome: unknown): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [LEDGER_TABLE.partitionKey]: keys.claim(executionId, action), [LEDGER_TABLE.sortKey]: keys.claimSk },
          UpdateExpression: 'SET #state = :state, #outcome = :outcome, #exp = :exp',
          ConditionExpression: '#owner = :owner AND #state = :busy',
          ExpressionAttributeNames: { '#state': 'state', '#outcome': 'outcome', '#exp': LEDGER_TABLE.ttlAttribute, '#owner': 'owner' },
          ExpressionAttributeValues: {
            ':state': state,
            ':outcome': JSON.stringify(outcome ?? null),
            ':exp': this.epoch() + this.claimRetentionSeconds,
            ':owner': owner,
            ':busy': 'in-progress',
          },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  // ---------------------------------------------------------------- releases and executions

  /** Sets the status of a release in an env. */
  async putReleaseStatus(record: Omit<ReleaseRecord, 'updatedAt'>): Promise<ReleaseRecord> {
    const full = ReleaseRecordSchema.parse({ ...record, updatedAt: this.now().toISOString() });
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...full, [LEDGER_TABLE.partitionKey]: keys.repoEnv(full.repo, full.env), [LEDGER_TABLE.sortKey]: keys.releaseSk(full.version), recordType: 'release' },
      }),
    );
    return full;
  }

  /** Status of a release in an env, or null when it never reached it. */
  async getReleaseStatus(repo: string, env: string, version: string): Promise<ReleaseRecord | null> {
    const item = await this.get(keys.repoEnv(repo, env), keys.releaseSk(version));
    return item ? parseItem(ReleaseRecordSchema, item, 'release record') : null;
  }

  /** Records what an execution promoted into an env. */
  async putExecution(record: Omit<ExecutionRecordInput, 'at'>): Promise<ExecutionRecord> {
    const full = ExecutionRecordSchema.parse({ ...record, at: this.now().toISOString() });
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...full, [LEDGER_TABLE.partitionKey]: keys.execution(full.executionId), [LEDGER_TABLE.sortKey]: keys.executionSk(full.env), recordType: 'execution' },
      }),
    );
    return full;
  }

  /** What an execution promoted into an env, or null. */
  async getExecution(executionId: string, env: string): Promise<ExecutionRecord | null> {
    const item = await this.get(keys.execution(executionId), keys.executionSk(env));
    return item ? parseItem(ExecutionRecordSchema, item, 'execution record') : null;
  }

  /**
   * Records that a stage succeeded: a SUCCESS item (a rollback target unless it was a rollback) and
   * the env's CURRENT pointer, in one transaction. Idempotent per execution: a repeated call for the
   * execution the pointer already names changes nothing and returns false.
   */
  async recordSuccess(input: Omit<SuccessRecord, 'at'> & { at?: string }): Promise<boolean> {
    const success = SuccessRecordSchema.parse({ ...input, at: input.at ?? this.now().toISOString() });
    const previous = await this.getCurrent(success.repo, success.env);
    if (previous?.executionId === success.executionId) return false;
    const current: CurrentRecord = CurrentRecordSchema.parse({
      repo: success.repo,
      env: success.env,
      version: success.version,
      executionId: success.executionId,
      manifestSha256: success.manifestSha256,
      at: success.at,
      viaRollback: success.wasRollback,
      previousVersion: previous?.version ?? null,
    });
    const pk = keys.repoEnv(success.repo, success.env);
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
                Item: { ...success, [LEDGER_TABLE.partitionKey]: pk, [LEDGER_TABLE.sortKey]: keys.successSk(success.at, success.executionId), recordType: 'success' },
              },
            },
            {
              Put: {
                TableName: this.tableName,
                Item: { ...current, [LEDGER_TABLE.partitionKey]: pk, [LEDGER_TABLE.sortKey]: keys.currentSk, recordType: 'current' },
                // The pointer moves only from what we read, so two recorders cannot interleave.
                ConditionExpression: previous ? '#x = :prev' : 'attribute_not_exists(#pk)',
                ExpressionAttributeNames: previous ? { '#x': 'executionId' } : { '#pk': LEDGER_TABLE.partitionKey },
                ExpressionAttributeValues: previous ? { ':prev': previous.executionId } : undefined,
              },
            },
          ],
        }),
      );
      return true;
    } catch (e) {
      if (e instanceof TransactionCanceledException || (e instanceof Error && e.name === 'TransactionCanceledException')) {
        return this.recordSuccess(input);
      }
      throw e;
    }
  }

  /** What an env runs now, or null before its first success. */
  async getCurrent(repo: string, env: string): Promise<CurrentRecord | null> {
    const item = await this.get(keys.repoEnv(repo, env), keys.currentSk);
    return item ? parseItem(CurrentRecordSchema, item, 'current record') : null;
  }

  /** Successful stage executions of a repo in an env, newest first. */
  async successes(repo: string, env: string, limit = 20): Promise<SuccessRecord[]> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :p)',
        ExpressionAttributeNames: { '#pk': LEDGER_TABLE.partitionKey, '#sk': LEDGER_TABLE.sortKey },
        ExpressionAttributeValues: { ':pk': keys.repoEnv(repo, env), ':p': SK_PREFIX.success },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (out.Items ?? []).map((i) => parseItem(SuccessRecordSchema, i, 'success record'));
  }

  /** The newest successful execution that is a valid rollback target (not itself a rollback), other than `excludeExecutionId`. */
  async lastSuccessfulExecution(repo: string, env: string, excludeExecutionId?: string): Promise<SuccessRecord | null> {
    const list = await this.successes(repo, env, 50);
    return list.find((s) => !s.wasRollback && s.executionId !== excludeExecutionId) ?? null;
  }

  // ---------------------------------------------------------------- helpers

  private async get(pk: string, sk: string): Promise<Record<string, unknown> | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { [LEDGER_TABLE.partitionKey]: pk, [LEDGER_TABLE.sortKey]: sk }, ConsistentRead: true }),
    );
    return out.Item;
  }

  private async queryAll(q: Omit<ConstructorParameters<typeof QueryCommand>[0], 'TableName'>): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const out = await this.doc.send(new QueryCommand({ ...q, TableName: this.tableName, ExclusiveStartKey }));
      items.push(...(out.Items ?? []));
      ExclusiveStartKey = out.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return items;
  }
}
