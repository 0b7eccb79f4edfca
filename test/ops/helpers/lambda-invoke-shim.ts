import * as http from 'http';
import type { AddressInfo } from 'net';

/**
 * A local stand-in for the Lambda Invoke API (REST: POST /2015-03-31/functions/{name}/invocations),
 * running the named handlers in this process: moto cannot run Lambda code without Docker. A handler
 * that throws is reported as Lambda does, with X-Amz-Function-Error: Unhandled and
 * {errorType, errorMessage}; an unknown function is a 404 ResourceNotFoundException.
 */
export class LambdaInvokeShim {
  readonly invocations: Array<{ functionName: string; payload: unknown; at: Date }> = [];
  private server: http.Server | undefined;
  private url: string | undefined;

  constructor(private readonly handlers: Record<string, (event: unknown) => Promise<unknown>>) {}

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  get endpoint(): string {
    if (!this.url) throw new Error('LambdaInvokeShim is not started; call start() first');
    return this.url;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const m = /^\/2015-03-31\/functions\/([^/]+)\/invocations/.exec(req.url ?? '');
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-requestid': 'shim', ...headers });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'POST' || !m) return send(404, { message: 'not an Invoke call' }, { 'x-amzn-errortype': 'UnknownOperationException' });
    const name = decodeURIComponent(m[1]);
    const handler = this.handlers[name];
    if (!handler) return send(404, { Type: 'User', message: `Function not found: arn:aws:lambda:us-east-1:111111111111:function:${name}` }, { 'x-amzn-errortype': 'ResourceNotFoundException' });
    const payload: unknown = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
    this.invocations.push({ functionName: name, payload, at: new Date() });
    try {
      send(200, await handler(payload), { 'x-amz-executed-version': '$LATEST' });
    } catch (e) {
      send(200, { errorType: (e as Error).name, errorMessage: (e as Error).message }, { 'x-amz-function-error': 'Unhandled', 'x-amz-executed-version': '$LATEST' });
    }
  }
}
