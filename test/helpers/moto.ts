/** Client settings for the moto server started by global-setup. */
export function motoClientConfig(): { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string }; forcePathStyle: true } {
  const endpoint = process.env.DATAOPS_TEST_MOTO_ENDPOINT;
  if (!endpoint) throw new Error('DATAOPS_TEST_MOTO_ENDPOINT is not set; the jest globalSetup (test/helpers/global-setup.ts) starts moto and sets it');
  return { endpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }, forcePathStyle: true };
}

/** A name unique to this test run, for buckets and tables shared on one moto server. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`.toLowerCase();
}
