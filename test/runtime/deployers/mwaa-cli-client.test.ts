/** The MWAA CLI client's protocol handling, against the MWAA CLI fake (Airflow model behind it). */
import { MwaaCliClient, MwaaCliError } from '../../../lib/runtime/mwaa/cli-client';
import { listDags, listImportErrors, setPaused } from '../../../lib/runtime/mwaa/airflow-commands';
import { ModelAirflow, startMwaaCliFake, type MwaaCliFake } from '../../helpers/mwaa-cli-fake';
import { createVersionedBucket, dagFile, motoS3 } from '../../helpers/s3-fixtures';
import { PutObjectCommand } from '@aws-sdk/client-s3';

let fake: MwaaCliFake;
let bucket: string;
const s3 = motoS3();

beforeAll(async () => {
  bucket = await createVersionedBucket(s3);
  fake = await startMwaaCliFake({ environmentName: 'northstar-dev', backend: new ModelAirflow(), s3, dagBucket: bucket });
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'dags/repo/a.py', Body: dagFile('cli_a') }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'dags/repo/broken.py', Body: `${dagFile('cli_broken')}raise ValueError("boom")\n` }));
});
afterAll(async () => fake?.stop());

const client = (environmentName = 'northstar-dev') => new MwaaCliClient({ mwaa: fake.mwaaClient(), environmentName, scheme: 'http' });

describe('MwaaCliClient', () => {
  it('lists DAGs with their file and paused state, and import errors, decoding the base64 reply', async () => {
    // GIVEN one good and one broken DAG file in the bucket WHEN listed THEN both are reported
    const cli = client();
    expect(await listDags(cli)).toEqual([{ dagId: 'cli_a', fileloc: '/usr/local/airflow/dags/repo/a.py', paused: true }]);
    expect(await listImportErrors(cli)).toEqual([{ filepath: '/usr/local/airflow/dags/repo/broken.py', error: expect.stringContaining('ValueError("boom")') }]);
  });

  it('pauses and unpauses, and reports no change for a DAG already in that state', async () => {
    const cli = client();
    // GIVEN a paused DAG WHEN unpaused twice THEN the first changes it and the second does not
    expect(await setPaused(cli, 'cli_a', false)).toBe(true);
    expect(await setPaused(cli, 'cli_a', false)).toBe(false);
    expect((await listDags(cli))[0].paused).toBe(false);
  });

  it('reuses one CLI token for commands within its lifetime', async () => {
    // GIVEN a client WHEN it runs three commands THEN the fake saw them all, authorised by one token
    const cli = client();
    const before = { commands: fake.commands.length, tokens: fake.tokensIssued() };
    await cli.run('dags list -o json');
    await cli.run('dags list -o json');
    await cli.run('dags list-import-errors -o json');
    expect(fake.commands.length - before.commands).toBe(3);
    expect(fake.tokensIssued() - before.tokens).toBe(1);
  });

  it.each([
    ['an unknown environment', () => client('northstar-nope').run('dags list -o json'), /CreateCliToken for MWAA environment northstar-nope failed: Environment northstar-nope not found/],
    ['a DAG id with a space', () => setPaused(client(), 'a b', true), /dag id 'a b' has characters a DAG id may not have/],
    [
      'an HTTP error from the web server',
      () => {
        fake.failNext(/^dags list /, 502);
        return client().run('dags list -o json');
      },
      /airflow dags list -o json: the MWAA CLI endpoint answered HTTP 502/,
    ],
  ])('fails with MwaaCliError on %s, naming it', async (_what, call, message) => {
    // GIVEN the fault WHEN the command runs THEN it fails naming what went wrong
    const err = await call().catch((e: Error) => e);
    expect(err).toBeInstanceOf(MwaaCliError);
    expect((err as Error).message).toMatch(message);
  });
});
