import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Ledger, type LedgerOptions } from '../../lib/runtime/ledger/ledger';
import { LEDGER_TABLE } from '../../lib/runtime/ledger/table';
import { motoClientConfig, uniqueName } from './moto';

/** A ledger on a fresh table in the moto server, with the key schema the tooling stack creates. */
export interface TestLedger {
  readonly ledger: Ledger;
  readonly tableName: string;
  readonly doc: DynamoDBDocumentClient;
  readonly client: DynamoDBClient;
}

/** Creates a ledger table (pk/sk, GSI byTime) in moto and returns a Ledger on it. */
export async function createTestLedger(opts: LedgerOptions = {}): Promise<TestLedger> {
  const client = new DynamoDBClient(motoClientConfig());
  const tableName = uniqueName('ledger');
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: LEDGER_TABLE.partitionKey, AttributeType: 'S' },
        { AttributeName: LEDGER_TABLE.sortKey, AttributeType: 'S' },
        { AttributeName: LEDGER_TABLE.timeIndex.partitionKey, AttributeType: 'S' },
        { AttributeName: LEDGER_TABLE.timeIndex.sortKey, AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: LEDGER_TABLE.partitionKey, KeyType: 'HASH' },
        { AttributeName: LEDGER_TABLE.sortKey, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: LEDGER_TABLE.timeIndex.name,
          KeySchema: [
            { AttributeName: LEDGER_TABLE.timeIndex.partitionKey, KeyType: 'HASH' },
            { AttributeName: LEDGER_TABLE.timeIndex.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  return { ledger: Ledger.fromClient(client, tableName, opts), tableName, doc, client };
}

/** A settable clock for ledger tests. */
export function testClock(start = '2026-03-02T10:00:00.000Z'): { now: () => Date; advance(seconds: number): void; set(iso: string): void } {
  let t = Date.parse(start);
  return {
    now: () => new Date(t),
    advance(seconds: number) {
      t += seconds * 1000;
    },
    set(iso: string) {
      t = Date.parse(iso);
    },
  };
}

/** A log that keeps lines for assertions. */
export function memoryLog(): { info(m: string, ...e: Record<string, unknown>[]): void; error(m: string, ...e: Record<string, unknown>[]): void; lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m, ...e) => lines.push(`info ${m} ${JSON.stringify(e)}`),
    error: (m, ...e) => lines.push(`error ${m} ${JSON.stringify(e)}`),
  };
}
