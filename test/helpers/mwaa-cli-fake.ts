/**
 * A protocol-faithful stand-in for an MWAA environment's CLI, written from the MWAA API reference
 * (CreateCliToken: `POST /clitoken/{Name}` → `{CliToken, WebServerHostname}`) and the MWAA user
 * guide (`POST https://{WebServerHostname}/aws_mwaa/cli`, `Authorization: Bearer <token>`,
 * `Content-Type: text/plain`, body = Airflow command without `airflow`, reply JSON with base64
 * `stdout` and `stderr`).
 *
 * Like MWAA, the environment takes its DAG files from `<dagS3Path>/` of its DAG bucket (moto S3
 * here): before each command the fake copies the bucket's DAG folder into its own DAGs folder and
 * runs what MWAA's scheduler does with new files, stamping each DAG's last_parsed_time with the
 * fake's clock. As on MWAA, that can lag: with `parseDelayMs` a change in the bucket reaches the
 * DAGs folder (and so the CLI and the scheduler) only that long after the fake first sees it, and
 * until then every command answers from the previous files and the previous parse. The scheduler
 * also re-parses every file each `reparseIntervalMs` (min_file_process_interval) though nothing
 * changed. Two Airflows can sit behind it:
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
  /**
   * Replaces the DAGs folder with these files (relative path → bytes) and parses them as the
   * scheduler would, recording `parsedAt` as the last parse time of every DAG it finds.
   */
  syncDags(files: ReadonlyMap<string, Buffer>, parsedAt: Date): Promise<void>;
  exec(argv: readonly string[]): Promise<CliResult>;
  close(): Promise<void>;
}

/** Airflow CLI commands MWAA lets through its CLI endpoint that this fake answers. */
const SUPPORTED = [/^dags list( -o json| --columns [a-z_]+(,[a-z_]+)*)*$/, /^dags list-runs -d [A-Za-z0-9_.-]+( -o json)?$/, /^dags list-import-errors( -o json)?$/, /^dags (pause|unpause) [A-Za-z0-9_.-]+( -o json)?$/, /^dags (trigger|backfill|delete) /, /^tasks (clear|run|test) /, /^version$/];

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
  /** Changes {@link MwaaCliFakeProps.parseDelayMs} from the next command on (pending changes included). */
  setParseDelay(ms: number): void;
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
  /**
   * How long after the fake first sees a change in the bucket (on the next CLI command) the
   * environment still answers from the previous files and parse (MWAA's S3 sync to its containers). @default 0
   */
  readonly parseDelayMs?: number;
  /** How often the scheduler re-parses every file though nothing changed (min_file_process_interval). @default 30000 */
  readonly reparseIntervalMs?: number;
  /** The environment's clock, ms since the epoch. @default Date.now */
  readonly now?: () => number;
}

/** A clock whose sleep returns at once and moves time on, for waits that tests must not spend. */
export interface ManualClock {
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Total time slept. */
  slept(): number;
}

/** A {@link ManualClock} that starts at the system time and advances with it and with each sleep. */
export function manualClock(): ManualClock {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    sleep: async (ms) => {
      offset += ms;
    },
    slept: () => offset,
  };
}

const sameFile = (a: Buffer | undefined, b: Buffer | undefined): boolean => (a === undefined ? b === undefined : b !== undefined && a.equals(b));

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
  const now = props.now ?? Date.now;
  let parseDelayMs = props.parseDelayMs ?? 0;
  let queue: Promise<unknown> = Promise.resolve();
  /** The bucket's files as last seen, the files the environment holds, and when each pending change was first seen. */
  let seen = new Map<string, Buffer>();
  const served = new Map<string, Buffer>();
  const changedAt = new Map<string, number>();
  let lastPass = Number.NEGATIVE_INFINITY;

  /** What MWAA does between commands: sync the bucket into the DAGs folder once the delay passed, and parse. */
  const catchUp = async (): Promise<void> => {
    const bucketFiles = await readDagFolder(props.s3, props.dagBucket, prefix, cache);
    const t = now();
    for (const rel of new Set([...seen.keys(), ...bucketFiles.keys()])) {
      if (!sameFile(seen.get(rel), bucketFiles.get(rel))) changedAt.set(rel, t);
    }
    seen = bucketFiles;
    let changed = false;
    for (const [rel, at] of [...changedAt]) {
      if (t - at < parseDelayMs) continue;
      changedAt.delete(rel);
      const body = bucketFiles.get(rel);
      if (sameFile(served.get(rel), body)) continue;
      if (body === undefined) served.delete(rel);
      else served.set(rel, body);
      changed = true;
    }
    if (changed || t - lastPass >= (props.reparseIntervalMs ?? 30_000)) {
      lastPass = t;
      await props.backend.syncDags(new Map(served), new Date(t));
    }
  };

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
          await catchUp();
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
    setParseDelay: (ms) => {
      parseDelayMs = ms;
    },
    stop: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await props.backend.close();
    },
  };
}

/** Where the workers see the DAGs folder on MWAA. */
const MWAA_DAGS_FOLDER = '/usr/local/airflow/dags';

/** `dags list --columns` the model answers (a subset of Airflow's DAG schema fields). */
const MODEL_DAG_COLUMNS = ['dag_id', 'fileloc', 'owners', 'is_paused', 'last_parsed_time'];

/** A time as Python's datetime.isoformat() prints an aware UTC time: 2026-11-28T15:14:41.133000+00:00. */
function pythonIso(t: Date): string {
  return `${t.toISOString().slice(0, 23)}000+00:00`;
}

/**
 * An in-process model of the Airflow CLI commands the deployer uses, with the rules that matter
 * to it: DAG ids come from `dag_id="…"` in a file, a file containing `raise ` at the start of a
 * line fails to import, new DAGs start paused (`dags_are_paused_at_creation`), and `dags list`
 * shows only DAGs whose file imports.
 */
export class ModelAirflow implements AirflowBackend {
  private files = new Map<string, Buffer>();
  private readonly paused = new Map<string, boolean>();
  /** Last parse time (DagModel.last_parsed_time) and file (DagModel.fileloc) the scheduler recorded per DAG. */
  private readonly recorded = new Map<string, { at: Date; file: string }>();
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

  async syncDags(files: ReadonlyMap<string, Buffer>, parsedAt: Date): Promise<void> {
    this.files = new Map(files);
    for (const d of this.parse().dags) {
      if (!this.paused.has(d.dagId)) this.paused.set(d.dagId, true);
      this.recorded.set(d.dagId, { at: parsedAt, file: d.file });
    }
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
      // As Airflow 2.10: the DAGs are those the CLI parses; fileloc, is_paused and last_parsed_time come from the scheduler's record.
      const at = argv.indexOf('--columns');
      const columns = at >= 0 ? (argv[at + 1] ?? '').split(',') : ['dag_id', 'fileloc', 'owners', 'is_paused'];
      const unknown = columns.filter((c) => !MODEL_DAG_COLUMNS.includes(c));
      if (unknown.length > 0) return { stdout: '', stderr: `model does not implement dags list column(s) ${unknown.join(', ')}\n` };
      if (dags.length === 0) return { stdout: 'No data found\n', stderr: '' };
      const rows = [...dags]
        .sort((a, b) => a.dagId.localeCompare(b.dagId))
        .map((d) => {
          const rec = this.recorded.get(d.dagId);
          const paused = this.paused.get(d.dagId);
          const row: Record<string, string | null> = {
            dag_id: d.dagId,
            fileloc: `${MWAA_DAGS_FOLDER}/${rec?.file ?? d.file}`,
            owners: 'airflow',
            is_paused: paused === undefined ? null : paused ? 'True' : 'False',
            last_parsed_time: rec ? pythonIso(rec.at) : null,
          };
          return Object.fromEntries(columns.map((c) => [c, row[c]]));
        });
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
from datetime import datetime
from airflow.cli import cli_parser
from airflow.models.dagbag import DagBag
from airflow.models.dag import DAG, DagModel
from airflow.utils.session import create_session
parser = cli_parser.get_parser()
out = sys.stdout
def scheduler_pass(at):
    # What MWAA's scheduler does with the files it synced from S3: parse them and record the DAGs,
    # with the environment's clock as their last parse time.
    bag = DagBag(include_examples=False)
    bag.sync_to_db()
    DAG.deactivate_unknown_dags(set(bag.dags.keys()))
    if bag.dags:
        with create_session() as session:
            session.query(DagModel).filter(DagModel.dag_id.in_(list(bag.dags))).update({DagModel.last_parsed_time: datetime.fromisoformat(at)}, synchronize_session=False)
out.write(json.dumps({"ready": True}) + "\n"); out.flush()
for line in sys.stdin:
    req = json.loads(line)
    o, e = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
        try:
            if req.get("sync"):
                scheduler_pass(req["at"])
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

  async syncDags(files: ReadonlyMap<string, Buffer>, parsedAt: Date): Promise<void> {
    const dags = path.join(this.home, 'dags');
    for (const rel of this.current.keys()) {
      if (!files.has(rel)) fs.rmSync(path.join(dags, rel), { force: true });
    }
    for (const [rel, body] of files) {
      if (this.current.get(rel)?.equals(body)) continue;
      fs.mkdirSync(path.dirname(path.join(dags, rel)), { recursive: true });
      fs.writeFileSync(path.join(dags, rel), body);
    }
    this.current = new Map(files);
    const r = await this.call({ sync: true, at: parsedAt.toISOString().replace('Z', '+00:00') });
    if (r.code !== 0) throw new Error(`the scheduler pass over the DAGs folder failed: ${r.stderr}`);
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
