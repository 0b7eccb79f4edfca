import * as snowflake from 'snowflake-sdk';
import { z } from 'zod';
import { SnowflakeSqlError } from './endpoint';

export { SNOWFLAKE_ENDPOINT_ENV, snowflakeEndpointUrl, SnowflakeSqlError } from './endpoint';


/** One result row, columns by upper-case name. */
export type Row = Readonly<Record<string, unknown>>;

/** The only thing the deployer needs from Snowflake: run a statement, get rows. */
export interface SqlClient {
  query(sql: string, binds?: ReadonlyArray<string | number>): Promise<Row[]>;
  close(): Promise<void>;
}

/** The deploy user's credentials as kept in Secrets Manager (the environment's deploySecretArn). */
export const SnowflakeSecretSchema = z.object({
  user: z.string().min(1),
  /** PEM private key of the key pair (preferred). */
  privateKey: z.string().optional(),
  privateKeyPassphrase: z.string().optional(),
  /** Password, for accounts that do not use key pairs. */
  password: z.string().optional(),
});
export type SnowflakeSecret = z.output<typeof SnowflakeSecretSchema>;

/** Where and as whom to connect. */
export interface SnowflakeConnectionProps {
  readonly account: string;
  readonly database: string;
  readonly role: string;
  readonly warehouse: string;
  readonly secret: SnowflakeSecret;
  /**
   * Where the account answers, when not at `<account>.snowflakecomputing.com` (a PrivateLink host, or
   * a stand-in in tests): {@link snowflakeEndpointUrl}. @default - Snowflake's public host of the account
   */
  readonly endpointUrl?: string;
}


/** {@link SqlClient} over snowflake-sdk (one connection, statements run one at a time). */
export class SnowflakeSqlClient implements SqlClient {
  private constructor(private readonly connection: snowflake.Connection) {}

  /** Connects with key-pair (JWT) or password authentication. */
  static async connect(props: SnowflakeConnectionProps): Promise<SnowflakeSqlClient> {
    const { secret } = props;
    if (!secret.privateKey && !secret.password) throw new SnowflakeSqlError(`the Snowflake deploy secret for ${props.account} has neither privateKey nor password; store the deploy user's key pair in it`);
    snowflake.configure({ logLevel: 'ERROR' });
    const connection = snowflake.createConnection({
      account: props.account,
      username: secret.user,
      database: props.database,
      role: props.role,
      warehouse: props.warehouse,
      ...(props.endpointUrl ? { accessUrl: props.endpointUrl.replace(/\/+$/, '') } : {}),
      ...(secret.privateKey
        ? { authenticator: 'SNOWFLAKE_JWT', privateKey: secret.privateKey, privateKeyPass: secret.privateKeyPassphrase }
        : { password: secret.password }),
    });
    try {
      await connection.connectAsync();
    } catch (cause) {
      throw new SnowflakeSqlError(`cannot connect to Snowflake account ${props.account} as ${secret.user} with role ${props.role}: ${(cause as Error).message}`, { cause });
    }
    return new SnowflakeSqlClient(connection);
  }

  query(sql: string, binds: ReadonlyArray<string | number> = []): Promise<Row[]> {
    return new Promise((resolve, reject) => {
      this.connection.execute({
        sqlText: sql,
        binds: [...binds],
        complete: (err, _stmt, rows) => {
          if (err) reject(new SnowflakeSqlError(`Snowflake refused: ${sql.slice(0, 400)}: ${err.message}`, { cause: err }));
          else resolve((rows ?? []) as Row[]);
        },
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.connection.destroy(() => resolve()));
  }
}
