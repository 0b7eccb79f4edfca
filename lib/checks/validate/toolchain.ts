import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { AIRFLOW_VERSIONS } from '../../config/schema';

/** Root of this project (where `.venv/` and `buildspecs/` live). */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..', '..');

/** Raised when a pinned tool is not installed where the toolchain puts it. */
export class ToolMissingError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ToolMissingError';
  }
}

/** The outcome of one tool run. */
export interface ProcessResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
  readonly timedOut: boolean;
}

/** Options of {@link Toolchain.run}. */
export interface RunOptions {
  readonly cwd: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** @default 900000 (15 minutes, above the PR budget: a hung tool must not hold the build) */
  readonly timeoutMs?: number;
}

/** Options of {@link Toolchain}. */
export interface ToolchainOptions {
  /** Refuse tools from PATH: every tool must come from the toolchain dir. @default - env DATAOPS_TOOLCHAIN_STRICT=1 */
  readonly strict?: boolean;
}

/** The Airflow version whose venv is `.venv/airflow` (the platform default); the others are `.venv/airflow-<version>`. */
export const DEFAULT_AIRFLOW_VENV_VERSION = '2.10.3';

/** The toolchain venv that holds Airflow `version` under MWAA's constraints (`requirements/<venv>.txt`). */
export function airflowVenv(version: string): string {
  return version === DEFAULT_AIRFLOW_VENV_VERSION ? 'airflow' : `airflow-${version}`;
}

function which(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, bin);
    if (dir && fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Finds the pinned tools and runs them. Tools come from `<toolchain dir>/<venv>/bin` (the venvs that
 * `buildspecs/toolchain/ensure.sh` builds; `DATAOPS_TOOLCHAIN_DIR`, default `<project>/.venv`), else
 * from PATH (e.g. `terraform` in the toolchain image); `DATAOPS_TOOLCHAIN_STRICT=1` refuses PATH.
 */
export class Toolchain {
  readonly dir: string;
  private readonly strict: boolean;

  constructor(dir = process.env.DATAOPS_TOOLCHAIN_DIR ?? path.join(PROJECT_ROOT, '.venv'), opts: ToolchainOptions = {}) {
    this.dir = dir;
    this.strict = opts.strict ?? process.env.DATAOPS_TOOLCHAIN_STRICT === '1';
  }

  /** Absolute path of `bin` from the venv `venv`, or from PATH. @throws ToolMissingError */
  resolve(venv: string, bin: string): string {
    const inVenv = path.join(this.dir, venv, 'bin', bin);
    if (fs.existsSync(inVenv)) return inVenv;
    const onPath = which(bin);
    if (onPath && !this.strict) return onPath;
    throw new ToolMissingError(
      `tool '${bin}' is not installed: expected ${inVenv}; run 'bash buildspecs/toolchain/ensure.sh ${venv}' (or use the toolchain image)`,
    );
  }

  /**
   * The Python of the venv with Airflow `version` (the repo's `airflow.version`). Never a Python from
   * PATH: it would have no Airflow, or another version than MWAA runs.
   * @throws ToolMissingError naming the version and the command that builds its venv
   */
  airflowPython(version: string): string {
    if (!(AIRFLOW_VERSIONS as readonly string[]).includes(version)) {
      throw new ToolMissingError(
        `airflow.version '${version}' in dataops.yaml has no toolchain: expected one of ${AIRFLOW_VERSIONS.join(', ')} (the MWAA versions with vendored constraints in buildspecs/toolchain/constraints); set it to the MWAA environment's Airflow version`,
      );
    }
    const venv = airflowVenv(version);
    const python = path.join(this.dir, venv, 'bin', 'python');
    if (fs.existsSync(path.join(this.dir, venv, 'bin', 'airflow'))) return python;
    throw new ToolMissingError(
      `Airflow ${version} (airflow.version in dataops.yaml) is not installed: expected ${path.join(this.dir, venv)}; run 'bash buildspecs/toolchain/ensure.sh ${venv}' (or use the toolchain image)`,
    );
  }

  /** True when the tool can be resolved. */
  has(venv: string, bin: string): boolean {
    try {
      this.resolve(venv, bin);
      return true;
    } catch {
      return false;
    }
  }

  /** Runs a resolved tool and collects its output; never throws for a non-zero exit. */
  run(command: string, args: readonly string[], opts: RunOptions): Promise<ProcessResult> {
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries({ ...process.env, DO_NOT_TRACK: '1', ...opts.env })) if (v !== undefined) env[k] = v;
      const child = spawn(command, [...args], { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      }, opts.timeoutMs ?? 900_000);
      child.on('error', (cause) => {
        clearTimeout(timer);
        reject(new ToolMissingError(`could not start '${command}': ${cause.message}; check the toolchain install`, { cause }));
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({
          code: code ?? 1,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
          durationMs: Date.now() - started,
          timedOut,
        });
      });
    });
  }
}
