// Kept apart from sql-client.ts so that reading the endpoint does not load snowflake-sdk.

/** A Snowflake statement failed; the message holds the statement and Snowflake's answer. */
export class SnowflakeSqlError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SnowflakeSqlError';
  }
}

/**
 * The environment variable that sends every Snowflake connection of a process (the deployer's and
 * dbt's) to another URL than the account's public host, as AWS_ENDPOINT_URL does for AWS: a
 * PrivateLink host (`https://<account>.privatelink.snowflakecomputing.com`), or a local stand-in.
 */
export const SNOWFLAKE_ENDPOINT_ENV = 'DATAOPS_SNOWFLAKE_ENDPOINT_URL';

/** The Snowflake endpoint URL set in `env` ({@link SNOWFLAKE_ENDPOINT_ENV}), checked; undefined when unset. */
export function snowflakeEndpointUrl(env: Readonly<Record<string, string | undefined>> = process.env): URL | undefined {
  const raw = env[SNOWFLAKE_ENDPOINT_ENV];
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SnowflakeSqlError(`${SNOWFLAKE_ENDPOINT_ENV}=${raw} is not a URL; set it to the endpoint's scheme, host and port, e.g. https://myaccount.privatelink.snowflakecomputing.com, or unset it`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new SnowflakeSqlError(`${SNOWFLAKE_ENDPOINT_ENV}=${raw} is not an http(s) URL; set it to e.g. https://myaccount.privatelink.snowflakecomputing.com, or unset it`);
  return url;
}
