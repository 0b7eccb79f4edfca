/**
 * A protocol-faithful stand-in for an MWAA environment's CLI, written from the MWAA API reference
 * (CreateCliToken: `POST /clitoken/{Name}` → `{CliToken, WebServerHostname}`) and the MWAA user
 * guide (`POST https://{WebServerHostname}/aws_mwaa/cli`, `Authorization: Bearer <token>`,
 * `Content-Type: text/plain`, body = Airflow command without `airflow`, reply JSON with base64
 * `stdout` and `stderr`).
 *
 * Like MWAA, the environment takes its DAG files from `<dagS3Path>/` of its DAG bucket (moto S3
 * here): before each command the fake copies the bucket's DAG folder into its own DAGs folder and
 * runs what MWAA's scheduler does with new files. Two Airflows can sit behind it:
 * - {@link RealAirflow}: the real `airflow` CLI of .venv/airflow (Airflow 2.10.3 under MWAA
 *   constraints) against a SQLite metadata database, kept running in one Python process;
 * - {@link ModelAirflow}: a small in-process model of the same commands, for tests that run many
 *   deploys (fault injection, bench) where starting Airflow would cost more than the test.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { createInterface } from 'readline';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { MWAAClient } from '@aws-sdk/client-mwaa';
import { ROOT } from './servers';

/** The result of one Airflow CLI command. */
export interface CliResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** An Airflow that runs CLI commands against a DAGs folder. */
export interface AirflowBackend {
  /** Replaces the DAGs folder with these files (relative path → bytes) and parses them as the scheduler would. */
  syncDags(files: ReadonlyMap<string, Buffer>): Promise<void>;
  exec(argv: readonly string[]): Promise<CliResult>;
  close(): Promise<void>;
}

/** Airflow CLI commands MWAA lets through its CLI endpoint that this fake answers. */
const SUPPORTED = [/^dags (list|list-import-errors)( -o json)?$/, /^dags (pause|unpause) [A-Za-z0-9_.-]+( -o json)?$/, /^dags (trigger|backfill|delete) /, /^tasks (clear|run|test) /, /^version$/];

/** A running fake. */
export interface MwaaCliFake {
  /** Base URL of the fake's AWS API side (CreateCliToken). */
  readonly apiEndpoint: string;
  /** `host:port` returned as WebServerHostname. */
  readonly webServerHostname: string;
  /** Every CLI command received, in order. */
  readonly commands: string[];
  /** How many CLI tokens CreateCliToken has issued. */
  tokensIssued(): number;
  /** An MWAA client pointed at the fake (host prefix disabled, as a custom endpoint requires). */
  mwaaClient(): MWAAClient;
  /** Makes the next matching command answer HTTP `status` once (fault injection). */
  failNext(pattern: RegExp, status: number): void;
  stop(): Promise<void>;
}

/** Props of {@link startMwaaCliFake}. */
export interface MwaaCliFakeProps {
  readonly environmentName: string;
  readonly backend: AirflowBackend;
  readonly s3: S3Client;
  readonly dagBucket: string;
  /** @default dags */
  readonly dagS3Path?: string;
}

async function readDagFolder(s3: S3Client, bucket: string, prefix: string, cache: Map<string, { etag: string; body: Buffer }>): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      if (!o.Key || o.Key.endsWith('/')) continue;
      const etag = o.ETag ?? '';
      let hit = cache.get(o.Key);
      if (!hit || hit.etag !== etag) {
        const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key }));
        hit = { etag, body: Buffer.from(await got.Body!.transformToByteArray()) };
        cache.set(o.Key, hit);
      }
      files.set(o.Key.slice(prefix.length), hit.body);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return files;
}

/** Starts the fake on a free loopback port. */
export async function startMwaaCliFake(props: MwaaCliFakeProps): Promise<MwaaCliFake> {
  const tokens = new Map<string, number>();
  const commands: string[] = [];
  const faults: Array<{ pattern: RegExp; status: number }> = [];
  const cache = new Map<string, { etag: string; body: Buffer }>();
  const prefix = `${(props.dagS3Path ?? 'dags').replace(/\/+$/, '')}/`;
  let queue: Promise<unknown> = Promise.resolve();

  const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', 'http://fake');
      const tokenMatch = /^\/clitoken\/([^/]+)$/.exec(url.pathname);
      if (req.method === 'POST' && tokenMatch) {
        if (!String(req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256')) return json(res, 403, { message: 'Missing Authentication Token' }, { 'x-amzn-ErrorType': 'AccessDeniedException' });
        if (decodeURIComponent(tokenMatch[1]) !== props.environmentName) {
          return json(res, 404, { message: `Environment ${tokenMatch[1]} not found` }, { 'x-amzn-ErrorType': 'ResourceNotFoundException' });
        }
        const token = `tok-${Math.random().toString(36).slice(2)}`;
        tokens.set(token, Date.now());
        return json(res, 200, { CliToken: token, WebServerHostname: hostname });
      }
      if (req.method === 'POST' && url.pathname === '/aws_mwaa/cli') {
        const bearer = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
        const issued = bearer ? tokens.get(bearer) : undefined;
        if (issued === undefined || Date.now() - issued > 60_000) return json(res, 403, { message: 'Forbidden' });
        if (!String(req.headers['content-type'] ?? '').startsWith('text/plain')) return json(res, 415, { message: 'Content-Type must be text/plain' });
        const command = body.trim();
        commands.push(command);
        const fault = faults.findIndex((f) => f.pattern.test(command));
        if (fault >= 0) {
          const [f] = faults.splice(fault, 1);
          return json(res, f.status, { message: 'injected fault' });
        }
        if (!SUPPORTED.some((r) => r.test(command))) return json(res, 400, { message: `command not supported by the MWAA CLI endpoint: ${command}` });
        const run = queue.then(async () => {
          await props.backend.syncDags(await readDagFolder(props.s3, props.dagBucket, prefix, cache));
          return props.backend.exec(command.split(/\s+/));
        });
        queue = run.catch(() => undefined);
        run.then(
          (r) => json(res, 200, { stdout: Buffer.from(r.stdout).toString('base64'), stderr: Buffer.from(r.stderr).toString('base64') }),
          (e: Error) => json(res, 500, { message: e.message }),
        );
        return;
      }
      json(res, 404, { message: `no route ${req.method} ${url.pathname}` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const hostname = `127.0.0.1:${port}`;
  const apiEndpoint = `http://${hostname}`;
  return {
    apiEndpoint,
    webServerHostname: hostname,
    commands,
    tokensIssued: () => tokens.size,
    mwaaClient: () =>
      new MWAAClient({ endpoint: apiEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }, disableHostPrefix: true }),
    failNext: (pattern, status) => faults.push({ pattern, status }),
    stop: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await props.backend.close();
    },
  };
}

/** Where the workers see the DAGs folder on MWAA. */
const MWAA_DAGS_FOLDER = '/usr/local/airflow/dags';

/**
 * An in-process model of the Airflow CLI commands the deployer uses, with the rules that matter
 * to it: DAG ids come from `dag_id="…"` in a file, a file containing `raise ` at the start of a
 * line fails to import, new DAGs start paused (`dags_are_paused_at_creation`), and `dags list`
 * shows only DAGs whose file imports.
 */
export class ModelAirflow implements AirflowBackend {
  private files = new Map<string, Buffer>();
  private readonly paused = new Map<string, boolean>();
  /** Commands that would touch runs (trigger, clear, backfill); a deployer must never send them. */
  readonly runCommands: string[] = [];

  private parse(): { dags: Array<{ dagId: string; file: string }>; errors: Array<{ file: string; error: string }> } {
    const dags: Array<{ dagId: string; file: string }> = [];
    const errors: Array<{ file: string; error: string }> = [];
    for (const [file, body] of [...this.files].sort(([a], [b]) => a.localeCompare(b))) {
      if (!file.endsWith('.py')) continue;
      const text = body.toString('utf8');
      if (!(text.includes('airflow') && /dag/i.test(text))) continue;
      const raise = /^raise (.+)$/m.exec(text);
      if (raise) {
        errors.push({ file, error: `Traceback (most recent call last):\n  File "${MWAA_DAGS_FOLDER}/${file}", line 1\n${raise[1]}` });
        continue;
      }
      for (const m of text.matchAll(/dag_id\s*=\s*["']([A-Za-z0-9_.-]+)["']/g)) dags.push({ dagId: m[1], file });
    }
    return { dags, errors };
  }

  async syncDags(files: ReadonlyMap<string, Buffer>): Promise<void> {
    this.files = new Map(files);
    for (const d of this.parse().dags) if (!this.paused.has(d.dagId)) this.paused.set(d.dagId, true);
  }

  /** Sets a DAG's paused state directly, as a person in the Airflow UI would. */
  setPausedDirectly(dagId: string, paused: boolean): void {
    this.paused.set(dagId, paused);
  }

  /** The paused state the metadata database holds for a DAG. */
  isPaused(dagId: string): boolean | undefined {
    return this.paused.get(dagId);
  }

  async exec(argv: readonly string[]): Promise<CliResult> {
    const [group, cmd, arg] = argv;
    const { dags, errors } = this.parse();
    if (group === 'dags' && cmd === 'list') {
      if (dags.length === 0) return { stdout: 'No data found\n', stderr: '' };
      const rows = [...dags].sort((a, b) => a.dagId.localeCompare(b.dagId)).map((d) => ({ dag_id: d.dagId, fileloc: `${MWAA_DAGS_FOLDER}/${d.file}`, owners: 'airflow', is_paused: (this.paused.get(d.dagId) ?? true) ? 'True' : 'False' }));
      return { stdout: `${JSON.stringify(rows)}\n`, stderr: errors.length ? 'Error: Failed to load all files. For details, run `airflow dags list-import-errors`\n' : '' };
    }
    if (group === 'dags' && cmd === 'list-import-errors') {
      return { stdout: `${JSON.stringify(errors.map((e) => ({ filepath: `${MWAA_DAGS_FOLDER}/${e.file}`, error: e.error })))}\n`, stderr: '' };
    }
    if (group === 'dags' && (cmd === 'pause' || cmd === 'unpause')) {
      const want = cmd === 'pause';
      if (!this.paused.has(arg) || this.paused.get(arg) === want) return { stdout: `No ${want ? 'un' : ''}paused DAGs were found\n`, stderr: '' };
      this.paused.set(arg, want);
      return { stdout: `${JSON.stringify([{ dag_id: arg, is_paused: want ? 'True' : 'False' }])}\n`, stderr: '' };
    }
    this.runCommands.push(argv.join(' '));
    return { stdout: '', stderr: `model does not implement ${argv.join(' ')}\n` };
  }

  async close(): Promise<void> {}
}

/** Python side of {@link RealAirflow}: one process keeps Airflow imported and runs CLI commands in it. */
const RUNNER = String.raw`
import contextlib, io, json, os, sys, traceback
from airflow.cli import cli_parser
from airflow.models.dagbag import DagBag
from airflow.models.dag import DAG
parser = cli_parser.get_parser()
out = sys.stdout
def scheduler_pass():
    # What MWAA's scheduler does with the files it synced from S3: parse them and record the DAGs.
    bag = DagBag(include_examples=False)
    bag.sync_to_db()
    DAG.deactivate_unknown_dags(set(bag.dags.keys()))
out.write(json.dumps({"ready": True}) + "\n"); out.flush()
for line in sys.stdin:
    req = json.loads(line)
    o, e = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
        try:
            if req.get("sync"):
                scheduler_pass()
            else:
                args = parser.parse_args(req["argv"])
                args.func(args)
        except SystemExit as x:
            code = x.code if isinstance(x.code, int) else (0 if x.code is None else 1)
            if not isinstance(x.code, int) and x.code is not None:
                print(x.code, file=sys.stderr)
        except BaseException:
            traceback.print_exc()
            code = 1
    out.write(json.dumps({"stdout": o.getvalue(), "stderr": e.getvalue(), "code": code}) + "\n"); out.flush()
`;

/** The project's Airflow venv (built by `bash buildspecs/toolchain/ensure.sh airflow`). */
export const AIRFLOW_BIN = path.join(ROOT, '.venv', 'airflow', 'bin');

/**
 * The real Airflow CLI (2.10.3, MWAA constraints) against a SQLite metadata database in a temp
 * AIRFLOW_HOME. `airflow db migrate` runs once per Airflow venv into .cache and is copied per instance.
 */
export class RealAirflow implements AirflowBackend {
  private constructor(
    private readonly home: string,
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly replies: AsyncIterator<string>,
  ) {}

  private current = new Map<string, Buffer>();
  private chain: Promise<unknown> = Promise.resolve();

  /** Starts Airflow; fails with the command to run when the venv is missing. */
  static async start(): Promise<RealAirflow> {
    const python = path.join(AIRFLOW_BIN, 'python');
    if (!fs.existsSync(path.join(AIRFLOW_BIN, 'airflow'))) {
      throw new Error(`airflow is not installed at ${AIRFLOW_BIN}; run 'bash buildspecs/toolchain/ensure.sh airflow' (npm test does it in pretest)`);
    }
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mwaa-fake-'));
    fs.mkdirSync(path.join(home, 'dags'));
    const env = {
      ...process.env,
      AIRFLOW_HOME: home,
      AIRFLOW__CORE__DAGS_FOLDER: path.join(home, 'dags'),
      AIRFLOW__CORE__LOAD_EXAMPLES: 'False',
      AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION: 'True',
      AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: `sqlite:///${path.join(home, 'airflow.db')}`,
      AIRFLOW__LOGGING__LOGGING_LEVEL: 'ERROR',
      PYTHONWARNINGS: 'ignore',
    };
    // Keyed by the venv's stamp, so a rebuilt Airflow gets a freshly migrated database.
    const stamp = fs.readFileSync(path.join(ROOT, '.venv', 'airflow', '.stamp'), 'utf8').trim();
    const template = path.join(ROOT, '.cache', `airflow-metadata-${stamp}.db`);
    if (!fs.existsSync(template)) {
      const migrateHome = fs.mkdtempSync(path.join(os.tmpdir(), 'mwaa-migrate-'));
      const code = await new Promise<number>((resolve) => {
        const p = spawn(path.join(AIRFLOW_BIN, 'airflow'), ['db', 'migrate'], {
          env: { ...env, AIRFLOW_HOME: migrateHome, AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: `sqlite:///${path.join(migrateHome, 'airflow.db')}` },
          stdio: 'ignore',
        });
        p.on('exit', (c) => resolve(c ?? 1));
      });
      if (code !== 0) throw new Error(`airflow db migrate failed with exit code ${code}`);
      fs.mkdirSync(path.dirname(template), { recursive: true });
      fs.copyFileSync(path.join(migrateHome, 'airflow.db'), `${template}.tmp-${process.pid}`);
      fs.renameSync(`${template}.tmp-${process.pid}`, template);
      fs.rmSync(migrateHome, { recursive: true, force: true });
    }
    fs.copyFileSync(template, path.join(home, 'airflow.db'));
    const child = spawn(python, ['-c', RUNNER], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
    const replies = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const first = await replies.next();
    if (first.done) throw new Error(`the Airflow runner exited before it was ready; its stderr ends:\n${stderr}`);
    return new RealAirflow(home, child, replies);
  }

  private call(req: unknown): Promise<CliResult & { code: number }> {
    const next = this.chain.then(async () => {
      this.child.stdin.write(`${JSON.stringify(req)}\n`);
      const line = await this.replies.next();
      if (line.done) throw new Error('the Airflow runner exited');
      return JSON.parse(line.value) as CliResult & { code: number };
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  async syncDags(files: ReadonlyMap<string, Buffer>): Promise<void> {
    const dags = path.join(this.home, 'dags');
    let changed = false;
    for (const rel of this.current.keys()) {
      if (!files.has(rel)) {
        fs.rmSync(path.join(dags, rel), { force: true });
        changed = true;
      }
    }
    for (const [rel, body] of files) {
      if (this.current.get(rel)?.equals(body)) continue;
      fs.mkdirSync(path.dirname(path.join(dags, rel)), { recursive: true });
      fs.writeFileSync(path.join(dags, rel), body);
      changed = true;
    }
    this.current = new Map(files);
    if (changed) {
      const r = await this.call({ sync: true });
      if (r.code !== 0) throw new Error(`the scheduler pass over the DAGs folder failed: ${r.stderr}`);
    }
  }

  /** Runs an Airflow CLI command as MWAA would, also answering the paths MWAA shows. */
  async exec(argv: readonly string[]): Promise<CliResult> {
    const r = await this.call({ argv });
    const dagsDir = path.join(this.home, 'dags');
    const toMwaa = (s: string): string => s.split(dagsDir).join(MWAA_DAGS_FOLDER);
    return { stdout: toMwaa(r.stdout), stderr: toMwaa(r.stderr) };
  }

  async close(): Promise<void> {
    this.child.stdin.end();
    await new Promise<void>((resolve) => {
      if (this.child.exitCode !== null) return resolve();
      this.child.once('exit', () => resolve());
      setTimeout(() => this.child.kill('SIGKILL'), 5000).unref();
    });
    fs.rmSync(this.home, { recursive: true, force: true });
  }
}
