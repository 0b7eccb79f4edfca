import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';

/** Project root, from test/helpers. */
export const ROOT = path.resolve(__dirname, '..', '..');

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

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    });
}

/**
 * Starts moto in server mode (S3, DynamoDB, SSM, ECR, Secrets Manager, EventBridge, KMS, ...)
 * from the project's venv (`buildspecs/toolchain/ensure.sh emulators`).
 */
export async function startMoto(): Promise<LocalServer> {
  const bin = path.join(ROOT, '.venv', 'emulators', 'bin', 'moto_server');
  if (!fs.existsSync(bin)) {
    throw new Error(`moto is not installed at ${bin}; run 'bash buildspecs/toolchain/ensure.sh emulators' (npm test does it in pretest)`);
  }
  const port = await freePort();
  const logFile = path.join(ROOT, '.cache', `moto-${port}.log`);
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const out = fs.openSync(logFile, 'w');
  const child = spawn(bin, ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', out, out], detached: false });
  const endpoint = `http://127.0.0.1:${port}`;
  await waitForHttp(`${endpoint}/moto-api/`, 'moto server', 60_000, logFile);
  return { name: 'moto', endpoint, stop: stopper(child) };
}
