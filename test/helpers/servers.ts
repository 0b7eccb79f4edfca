import { execFileSync, spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

/** Project root, from test/helpers. */
export const ROOT = path.resolve(__dirname, '..', '..');

/** The moto launcher (tools/rehearsal/moto-server.py). */
export const MOTO_LAUNCHER = path.join(ROOT, 'tools', 'rehearsal', 'moto-server.py');

/** A local server started for the test run. */
export interface LocalServer {
  readonly name: string;
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** Finds a free TCP port on the loopback interface. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Waits until an HTTP endpoint answers, or fails naming the server and its log. */
export async function waitForHttp(url: string, name: string, timeoutMs = 60_000, logFile?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      return;
    } catch {
      if (Date.now() > deadline) {
        const tail = logFile && fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-2000) : '';
        throw new Error(`${name} did not answer at ${url} within ${timeoutMs} ms${tail ? `; its log ends:\n${tail}` : ''}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/**
 * Where each running server's process id is written (`<name>-<port>.pid`), so that `.ci/run` can stop,
 * by its process id, any server a killed test run left behind.
 */
export const SERVER_PID_DIR = path.join(ROOT, '.cache', 'servers');

function stopper(child: ChildProcess, name: string): () => Promise<void> {
  const pidFile = path.join(SERVER_PID_DIR, `${name}.pid`);
  if (child.pid) {
    fs.mkdirSync(SERVER_PID_DIR, { recursive: true });
    fs.writeFileSync(pidFile, `${child.pid}\n`);
  }
  return () =>
    new Promise((resolve) => {
      const done = () => {
        fs.rmSync(pidFile, { force: true });
        resolve();
      };
      if (child.exitCode !== null || child.signalCode !== null) return done();
      child.once('exit', done);
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    });
}

/**
 * Starts moto in server mode (S3, DynamoDB, SSM, ECR, Secrets Manager, EventBridge, KMS, ...)
 * from the project's venv (`buildspecs/toolchain/ensure.sh emulators`), through tools/rehearsal/moto-server.py,
 * which makes each request atomic as AWS does (moto alone lets two conditional writes race) and gives
 * IAM enforcement the resource of each request.
 */
export async function startMoto(): Promise<LocalServer> {
  const bin = path.join(ROOT, '.venv', 'emulators', 'bin', 'python');
  if (!fs.existsSync(path.join(ROOT, '.venv', 'emulators', 'bin', 'moto_server'))) {
    throw new Error(`moto is not installed at ${bin}; run 'bash buildspecs/toolchain/ensure.sh emulators' (npm test does it in pretest)`);
  }
  return startHttpServer('moto', 'moto server', bin, MOTO_LAUNCHER, '/moto-api/');
}

/**
 * Starts `python launcher 127.0.0.1 <free port>` with its output in .cache/<name>-<port>.log, waits
 * until `probePath` answers, and returns it with a pid-file stopper.
 */
async function startHttpServer(name: string, title: string, python: string, launcher: string, probePath: string): Promise<LocalServer> {
  const port = await freePort();
  const logFile = path.join(ROOT, '.cache', `${name}-${port}.log`);
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const out = fs.openSync(logFile, 'w');
  const child = spawn(python, [launcher, '127.0.0.1', String(port)], { stdio: ['ignore', out, out], detached: false });
  const endpoint = `http://127.0.0.1:${port}`;
  await waitForHttp(`${endpoint}${probePath}`, title, 60_000, logFile);
  return { name, endpoint, stop: stopper(child, `${name}-${port}`) };
}

/** The newest PostgreSQL server binaries folder (Debian's /usr/lib/postgresql/N/bin), or $DATAOPS_PG_BIN. */
export function postgresBinDir(): string {
  if (process.env.DATAOPS_PG_BIN) return process.env.DATAOPS_PG_BIN;
  const base = '/usr/lib/postgresql';
  const versions = fs.existsSync(base)
    ? fs
        .readdirSync(base)
        .filter((v) => fs.existsSync(path.join(base, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error(`PostgreSQL is not installed (no ${base}/*/bin/initdb); run 'bash buildspecs/toolchain/ensure.sh' as root (npm test does it in pretest) or apt-get install postgresql`);
  }
  return path.join(base, versions[0], 'bin');
}

/**
 * Starts a throwaway PostgreSQL server: initdb into .cache/pg-PORT, trust auth on 127.0.0.1 only,
 * fsync off. PostgreSQL refuses to run as root, so as root it runs as the `postgres` user (Debian
 * creates it). The endpoint is a connection URL to the `postgres` database.
 */
export async function startPostgres(): Promise<LocalServer> {
  const bin = postgresBinDir();
  const port = await freePort();
  let dir = path.join(ROOT, '.cache', `pg-${port}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  let ids: { uid: number; gid: number } | Record<string, never> = {};
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    fs.chownSync(dir, uid, gid);
    ids = { uid, gid };
    // A checkout under a folder the postgres user cannot enter (e.g. /root) cannot hold the data
    // directory: use a private temp folder instead (still stopped and removed by globalTeardown).
    if (spawnSync('test', ['-w', dir], { uid, gid }).status !== 0) {
      fs.rmSync(dir, { recursive: true, force: true });
      dir = fs.mkdtempSync(path.join(os.tmpdir(), `dataops-pg-${port}-`));
      fs.chownSync(dir, uid, gid);
    }
  }
  const data = path.join(dir, 'data');
  const logFile = path.join(dir, 'server.log');
  const init = spawnSync(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale'], { ...ids, encoding: 'utf8', cwd: dir });
  if (init.status !== 0) throw new Error(`initdb failed in ${data} (exit ${init.status ?? init.error?.message}): ${(init.stderr || '').slice(-1500)}`);
  const out = fs.openSync(logFile, 'a');
  if ('uid' in ids) fs.fchownSync(out, ids.uid, ids.gid);
  const child = spawn(
    path.join(bin, 'postgres'),
    ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'synchronous_commit=off'],
    { ...ids, cwd: dir, stdio: ['ignore', out, out] },
  );
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ready = spawnSync(path.join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres'], { encoding: 'utf8' });
    if (ready.status === 0) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-2000) : '';
      child.kill('SIGKILL');
      throw new Error(`PostgreSQL did not become ready on port ${port}; its log ends:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const stop = stopper(child, `postgres-${port}`);
  return {
    name: 'postgres',
    endpoint: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The Snowflake stand-in (test/helpers/snowflake-standin.py). */
export const SNOWFLAKE_STANDIN = path.join(ROOT, 'test', 'helpers', 'snowflake-standin.py');

/**
 * Starts the Snowflake stand-in: fakesnow's server from the emulators venv, with what fakesnow lacks
 * (SWAP, LAST_ALTERED, UNDROP, JSON results for the Node.js driver) covered by the launcher. Every
 * account and user name is accepted; each server holds its databases in memory. Point clients at it
 * with DATAOPS_SNOWFLAKE_ENDPOINT_URL=<endpoint>.
 */
export async function startSnowflake(): Promise<LocalServer> {
  const bin = path.join(ROOT, '.venv', 'emulators', 'bin', 'python');
  if (!fs.existsSync(path.join(ROOT, '.venv', 'emulators', 'bin', 'fakesnow'))) {
    throw new Error(`fakesnow is not installed in ${path.dirname(bin)}; run 'bash buildspecs/toolchain/ensure.sh emulators' (npm test does it in pretest)`);
  }
  return startHttpServer('snowflake', 'Snowflake stand-in', bin, SNOWFLAKE_STANDIN, '/monitoring/queries/none');
}
