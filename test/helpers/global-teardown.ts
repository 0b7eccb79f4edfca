/** Stops the servers that global-setup started (not those `.ci/run` started). */
export default async function globalTeardown(): Promise<void> {
  await Promise.all((globalThis.__DATAOPS_SERVERS__ ?? []).map((s) => s.stop()));
}
