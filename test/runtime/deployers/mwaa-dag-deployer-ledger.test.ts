/**
 * The previous state of an Airflow deploy is one ledger item (a DynamoDB item: 400 KB at most).
 * Deploys a 250-DAG repo (the bench's generator: dags/d<i>.py) and a 250-DAG repo with long,
 * nested paths through the deploy step into the moto ledger, and measures the largest item.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { MwaaDagDeployer } from '../../../lib/runtime/deployers/mwaa-dag-deployer';
import { runDeployStep } from '../../../lib/runtime/deployers/step';
import { MwaaCliClient } from '../../../lib/runtime/mwaa/cli-client';
import { keys } from '../../../lib/runtime/ledger/model';
import { LEDGER_TABLE } from '../../../lib/runtime/ledger/table';
import { createTestLedger, type TestLedger } from '../../helpers/ledger';
import { uniqueName } from '../../helpers/moto';
import { ModelAirflow, startMwaaCliFake, type MwaaCliFake } from '../../helpers/mwaa-cli-fake';
import { createVersionedBucket, dagFile, deployContext, motoS3, writeRelease, type ReleaseFile } from '../../helpers/s3-fixtures';

const s3 = motoS3();
let bucket: string;
let fake: MwaaCliFake;
let test: TestLedger;

beforeAll(async () => {
  bucket = await createVersionedBucket(s3);
  fake = await startMwaaCliFake({ environmentName: 'northstar-dev', backend: new ModelAirflow(), s3, dagBucket: bucket });
  test = await createTestLedger();
});
afterAll(async () => fake?.stop());

/** Size of an item as DynamoDB counts it: attribute names + values (numbers: 1 byte per 2 digits + 1; maps/lists: 3 bytes + 1 per element). */
function dynamoBytes(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number') return Math.ceil(String(Math.abs(value)).replace(/[.-]/g, '').replace(/^0+/, '').length / 2) + 1;
  if (Array.isArray(value)) return 3 + value.reduce((n: number, v) => n + 1 + dynamoBytes(v), 0);
  return 3 + Object.entries(value as Record<string, unknown>).reduce((n, [k, v]) => n + 1 + Buffer.byteLength(k, 'utf8') + dynamoBytes(v), 0);
}

/** Bytes of a top-level item (no map overhead for the item itself). */
const itemBytes = (item: Record<string, unknown>): number => Object.entries(item).reduce((n, [k, v]) => n + Buffer.byteLength(k, 'utf8') + dynamoBytes(v), 0);

/** Deploys a 250-file release twice (the second deploy records all 250 objects as previous) and returns the largest ledger item of the repo in bytes. */
async function largestItemAfterTwoDeploys(repo: string, paths: (i: number) => string): Promise<number> {
  const files: ReleaseFile[] = Array.from({ length: 250 }, (_, i) => ({ kind: 'airflow', path: paths(i), body: dagFile(`${repo.replace(/-/g, '_')}_${i}`) }));
  const deployer = new MwaaDagDeployer({ s3, airflow: new MwaaCliClient({ mwaa: fake.mwaaClient(), environmentName: 'northstar-dev', scheme: 'http' }) });
  for (const build of [1, 2]) {
    const { release, dir } = await writeRelease({ repo, build, files });
    await runDeployStep(deployer, deployContext(release, dir, { dagBucket: bucket }), { ledger: test.ledger, executionId: `${repo}-e${build}`, actor: 'test' });
  }
  const out = await test.doc.send(new QueryCommand({ TableName: test.tableName, KeyConditionExpression: '#pk = :pk', ExpressionAttributeNames: { '#pk': LEDGER_TABLE.partitionKey }, ExpressionAttributeValues: { ':pk': keys.repoEnv(repo, 'dev') } }));
  const items = out.Items ?? [];
  expect(items.some((i) => i.kind === 'deploy-step' && i.result === 'succeeded')).toBe(true);
  return Math.max(...items.map((i) => itemBytes(i)));
}

describe('the Airflow previous state in the ledger', () => {
  it.each([
    ['the bench layout (dags/d<i>.py)', (i: number) => `dags/d${i}.py`],
    ['long nested paths (about 120 characters each)', (i: number) => `dags/${'claims_and_eligibility_processing/'.repeat(2)}member_enrollment_reconciliation/daily_incremental_load_${String(i).padStart(4, '0')}.py`],
  ])('of a 250-DAG repo with %s stays under 300 KB in one ledger item', async (_layout, paths) => {
    // GIVEN a repo with 250 DAG files, deployed twice (the second deploy records all 250 objects and DAGs as previous)
    const repo = uniqueName('big-dags');
    // WHEN the largest ledger item of the repo is measured
    const bytes = await largestItemAfterTwoDeploys(repo, paths);
    // THEN it is well under DynamoDB's 400 KB item limit
    process.stdout.write(`largest ledger item of a 250-DAG repo (${_layout}): ${bytes} bytes\n`);
    expect(bytes).toBeLessThan(300 * 1024);
  });
});
