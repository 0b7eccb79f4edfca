import { spawn, type ChildProcess } from 'child_process';
import { randomUUID } from 'crypto';
import { RehearsalError } from './errors';

/** An EventBridge event as a rule's Lambda target receives it. */
export interface BusEvent {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: string;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: Readonly<Record<string, unknown>>;
}

type Matcher = unknown;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** One value of an event against one element of a pattern's array: a literal or a content filter. */
function matchesOne(m: Matcher, value: unknown, present: boolean, where: string): boolean {
  if (!isObject(m)) return present && value === m;
  const [op, arg] = Object.entries(m)[0] ?? [];
  switch (op) {
    case 'exists':
      return arg === present;
    case 'prefix':
      if (isObject(arg) && typeof arg['equals-ignore-case'] === 'string') return present && typeof value === 'string' && value.toLowerCase().startsWith(arg['equals-ignore-case'].toLowerCase());
      return present && typeof value === 'string' && value.startsWith(String(arg));
    case 'suffix':
      if (isObject(arg) && typeof arg['equals-ignore-case'] === 'string') return present && typeof value === 'string' && value.toLowerCase().endsWith(arg['equals-ignore-case'].toLowerCase());
      return present && typeof value === 'string' && value.endsWith(String(arg));
    case 'equals-ignore-case':
      return present && typeof value === 'string' && value.toLowerCase() === String(arg).toLowerCase();
    case 'anything-but': {
      if (!present) return false;
      if (Array.isArray(arg)) return !arg.includes(value);
      if (isObject(arg)) return !matchesOne(arg, value, present, where);
      return value !== arg;
    }
    case 'wildcard': {
      if (!present || typeof value !== 'string') return false;
      const re = new RegExp(`^${String(arg).split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's');
      return re.test(value);
    }
    case 'numeric': {
      if (!present || typeof value !== 'number' || !Array.isArray(arg)) return false;
      for (let i = 0; i + 1 < arg.length; i += 2) {
        const [cmp, n] = [arg[i] as string, Number(arg[i + 1])];
        const ok = cmp === '<' ? value < n : cmp === '<=' ? value <= n : cmp === '>' ? value > n : cmp === '>=' ? value >= n : cmp === '=' ? value === n : undefined;
        if (ok === undefined) throw new RehearsalError(`event pattern ${where} has numeric operator '${cmp}', which the rehearsal does not evaluate`);
        if (!ok) return false;
      }
      return true;
    }
    default:
      throw new RehearsalError(`event pattern ${where} uses the content filter ${JSON.stringify(m)}, which the rehearsal does not evaluate (it knows exists, prefix, suffix, equals-ignore-case, anything-but, wildcard, numeric)`);
  }
}

/**
 * Whether an EventBridge event pattern matches an event, with EventBridge's rules: every field of
 * the pattern must match; an array lists the values (literals or content filters) any of which
 * matches, and an array in the event matches when any of its elements does; an object descends.
 */
export function matchesPattern(pattern: unknown, event: unknown, where = 'pattern'): boolean {
  if (!isObject(pattern)) throw new RehearsalError(`event ${where} is not an object`);
  const e = isObject(event) ? event : {};
  for (const [key, want] of Object.entries(pattern)) {
    const present = Object.prototype.hasOwnProperty.call(e, key);
    const value = e[key];
    if (Array.isArray(want)) {
      const values = Array.isArray(value) ? value : [value];
      if (!want.some((m) => values.some((v) => matchesOne(m, v, present, `${where}.${key}`)))) return false;
    } else if (isObject(want)) {
      if (!matchesPattern(want, value, `${where}.${key}`)) return false;
    } else {
      throw new RehearsalError(`event ${where}.${key} is ${JSON.stringify(want)}; EventBridge patterns hold arrays or objects`);
    }
  }
  return true;
}

/** A CodePipeline state-change event, as CodePipeline puts it on the account's default bus. */
export function codepipelineEvent(
  detailType: 'CodePipeline Pipeline Execution State Change' | 'CodePipeline Stage Execution State Change' | 'CodePipeline Action Execution State Change',
  where: { readonly account: string; readonly region: string; readonly name: string },
  detail: Readonly<Record<string, unknown>>,
): BusEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': detailType,
    source: 'aws.codepipeline',
    account: where.account,
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: where.region,
    resources: [`arn:aws:codepipeline:${where.region}:${where.account}:${where.name}`],
    detail: { pipeline: where.name, version: 1, ...detail },
  };
}

const WORKER_RUNNER = `
const path = require('path');
const [codeDir, handler] = process.argv.slice(1);
const dot = handler.lastIndexOf('.');
const fn = require(path.join(codeDir, handler.slice(0, dot)))[handler.slice(dot + 1)];
// what an invocation writes goes back with its reply (the pipes may deliver it after the IPC message)
let written = [];
for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream);
  stream.write = (chunk, ...rest) => { written.push(String(chunk)); return write(chunk, ...rest); };
}
process.on('message', (m) => {
  written = [];
  const deadline = Date.now() + m.timeoutMs;
  const context = { functionName: process.env.AWS_LAMBDA_FUNCTION_NAME, functionVersion: '$LATEST', invokedFunctionArn: process.env.__REHEARSAL_FUNCTION_ARN || '', memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE, awsRequestId: m.id, logGroupName: '/aws/lambda/' + process.env.AWS_LAMBDA_FUNCTION_NAME, logStreamName: 'rehearsal', getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()), callbackWaitsForEmptyEventLoop: true };
  Promise.resolve().then(() => fn(m.event, context)).then(
    (r) => process.send({ id: m.id, result: r === undefined ? null : r, log: written.join('') }),
    (e) => process.send({ id: m.id, error: (e && e.stack) || String(e), log: written.join('') }),
  );
});
process.send({ ready: true });
`;

/**
 * A warm Lambda execution environment: one node process that loads the bundled handler once and
 * runs each invocation in turn, with exactly the function's environment, as Lambda reuses a
 * container for the invocations that reach it one after another.
 */
export class FunctionWorker {
  private child: ChildProcess | undefined;
  private ready: Promise<void> | undefined;
  private output: string[] = [];
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly codeDir: string,
    private readonly handler: string,
    private readonly env: () => Promise<Record<string, string>>,
    private readonly timeoutMs: number,
  ) {}

  private start(): Promise<void> {
    if (this.ready) return this.ready;
    this.ready = this.env().then(
      (env) =>
        new Promise<void>((resolve, reject) => {
          const child = spawn(process.execPath, ['-e', WORKER_RUNNER, this.codeDir, this.handler], { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
          this.child = child;
          child.stdout?.on('data', (b: Buffer) => this.output.push(b.toString()));
          child.stderr?.on('data', (b: Buffer) => this.output.push(b.toString()));
          child.once('message', () => resolve());
          child.once('error', reject);
          child.once('exit', (code) => {
            this.child = undefined;
            this.ready = undefined;
            reject(new RehearsalError(`the function process exited with ${code} while loading ${this.handler}: ${this.output.join('').slice(-2000)}`));
          });
          child.unref();
          (child as unknown as { channel?: { unref(): void } }).channel?.unref();
        }),
    );
    return this.ready;
  }

  /** Invokes the handler with `event`; resolves with its result, or its error as text, and what it logged. */
  invoke(event: unknown): Promise<{ result?: unknown; error?: string; log: string }> {
    const run = async () => {
      await this.start();
      const child = this.child;
      if (!child) throw new RehearsalError(`the function process of ${this.handler} is not running`);
      this.output = [];
      const id = randomUUID();
      return new Promise<{ result?: unknown; error?: string; log: string }>((resolve) => {
        const timer = setTimeout(() => {
          child.removeListener('message', onMessage);
          child.kill('SIGKILL');
          resolve({ error: `timed out after ${this.timeoutMs} ms`, log: this.output.join('') });
        }, this.timeoutMs);
        const onMessage = (m: { id?: string; result?: unknown; error?: string; log?: string }) => {
          if (m.id !== id) return;
          clearTimeout(timer);
          child.removeListener('message', onMessage);
          resolve({ ...(m.error !== undefined ? { error: m.error } : { result: m.result }), log: m.log ?? this.output.join('') });
        };
        child.on('message', onMessage);
        child.send({ id, event, timeoutMs: this.timeoutMs });
      });
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Ends the process. */
  stop(): void {
    this.child?.kill();
    this.child = undefined;
    this.ready = undefined;
  }
}
