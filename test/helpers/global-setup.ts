import { startMoto, startPostgres, type LocalServer } from './servers';

declare global {
  // eslint-disable-next-line no-var
  var __DATAOPS_SERVERS__: LocalServer[] | undefined;
}

/**
 * Starts the local servers the integration tier talks to, unless `.ci/run` (or the developer)
 * already started them and exported their endpoints. Endpoints reach the test workers through
 * the environment.
 */
export default async function globalSetup(): Promise<void> {
  const started: LocalServer[] = [];
  process.env.AWS_ACCESS_KEY_ID ??= 'testing';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'testing';
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.DO_NOT_TRACK = '1';
  if (!process.env.DATAOPS_TEST_MOTO_ENDPOINT) {
    const moto = await startMoto();
    started.push(moto);
    process.env.DATAOPS_TEST_MOTO_ENDPOINT = moto.endpoint;
  }
  if (!process.env.DATAOPS_TEST_PG_URL) {
    // A missing PostgreSQL must not stop the tests that do not need it: the reason reaches the
    // tests that do (they fail with it) through DATAOPS_TEST_PG_ERROR.
    try {
      const pg = await startPostgres();
      started.push(pg);
      process.env.DATAOPS_TEST_PG_URL = pg.endpoint;
    } catch (err) {
      process.env.DATAOPS_TEST_PG_ERROR = (err as Error).message;
    }
  }
  globalThis.__DATAOPS_SERVERS__ = started;
}
