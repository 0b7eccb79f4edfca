import { CreateCliTokenCommand, type MWAAClient } from '@aws-sdk/client-mwaa';
import { z } from 'zod';

/** The MWAA CLI endpoint refused a command or answered something that is not its protocol. */
export class MwaaCliError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MwaaCliError';
  }
}

/** What an Airflow CLI command printed. */
export interface CliOutput {
  readonly stdout: string;
  readonly stderr: string;
}

/** Something that runs an Airflow CLI command (without the leading `airflow`). */
export interface AirflowCli {
  run(command: string): Promise<CliOutput>;
}

const CliReplySchema = z.object({ stdout: z.string(), stderr: z.string() });

/** Props of {@link MwaaCliClient}. */
export interface MwaaCliClientProps {
  /** MWAA API client (give it `disableHostPrefix: true` when it has a custom endpoint). */
  readonly mwaa: MWAAClient;
  /** MWAA environment name. */
  readonly environmentName: string;
  /** URL scheme of the web server. @default https */
  readonly scheme?: 'https' | 'http';
  /** How long a CLI token is reused; MWAA tokens live 60 seconds. @default 45000 */
  readonly tokenReuseMs?: number;
  /** HTTP implementation. @default global fetch */
  readonly fetch?: typeof fetch;
}

/**
 * Runs Airflow CLI commands through the MWAA CLI endpoint: `CreateCliToken`, then
 * `POST https://{WebServerHostname}/aws_mwaa/cli` with a Bearer token and the command as a
 * text/plain body; the reply is JSON with base64 `stdout` and `stderr`.
 */
export class MwaaCliClient implements AirflowCli {
  private token: { value: string; host: string; at: number } | undefined;

  constructor(private readonly props: MwaaCliClientProps) {}

  private async cliToken(): Promise<{ value: string; host: string }> {
    const reuse = this.props.tokenReuseMs ?? 45_000;
    if (this.token && Date.now() - this.token.at < reuse) return this.token;
    let out;
    try {
      out = await this.props.mwaa.send(new CreateCliTokenCommand({ Name: this.props.environmentName }));
    } catch (cause) {
      throw new MwaaCliError(`CreateCliToken for MWAA environment ${this.props.environmentName} failed: ${(cause as Error).message}; check the environment name and that the deploy role may airflow:CreateCliToken on it`, { cause });
    }
    if (!out.CliToken || !out.WebServerHostname) {
      throw new MwaaCliError(`CreateCliToken for MWAA environment ${this.props.environmentName} returned no token or web server hostname; the environment may still be creating or updating`);
    }
    this.token = { value: out.CliToken, host: out.WebServerHostname, at: Date.now() };
    return this.token;
  }

  /** Runs `command` (e.g. `dags pause my_dag`) and returns its decoded output. */
  async run(command: string): Promise<CliOutput> {
    const token = await this.cliToken();
    const url = `${this.props.scheme ?? 'https'}://${token.host}/aws_mwaa/cli`;
    const doFetch = this.props.fetch ?? fetch;
    let res: Response;
    try {
      res = await doFetch(url, { method: 'POST', headers: { Authorization: `Bearer ${token.value}`, 'Content-Type': 'text/plain' }, body: command });
    } catch (cause) {
      throw new MwaaCliError(`airflow ${command}: cannot reach ${url}: ${(cause as Error).message}; the web server must be reachable from the deploy build (VPC access mode)`, { cause });
    }
    const text = await res.text();
    if (res.status === 401 || res.status === 403) this.token = undefined;
    if (!res.ok) throw new MwaaCliError(`airflow ${command}: the MWAA CLI endpoint answered HTTP ${res.status}: ${text.slice(0, 300)}`);
    let reply;
    try {
      reply = CliReplySchema.parse(JSON.parse(text));
    } catch (cause) {
      throw new MwaaCliError(`airflow ${command}: the MWAA CLI endpoint answered ${text.slice(0, 200)}, expected JSON {stdout, stderr} in base64`, { cause });
    }
    return { stdout: Buffer.from(reply.stdout, 'base64').toString('utf8'), stderr: Buffer.from(reply.stderr, 'base64').toString('utf8') };
  }
}
