import { execFileSync, spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PROJECT_ROOT } from '../validate/toolchain';
import { matchFiles } from './glob';
import { BuildspecError, loadBuildspec, type Buildspec } from './schema';

/** The phases CodeBuild runs from a buildspec, in order. */
export const PHASES = ['install', 'pre_build', 'build', 'post_build'] as const;
export type PhaseName = (typeof PHASES)[number];

/** Options of {@link runBuildspec}. */
export interface BuildspecRunOptions {
  /** The buildspec file. */
  readonly file: string;
  /** Source folder (CODEBUILD_SRC_DIR); commands start there. */
  readonly srcDir: string;
  /** Environment overrides, as a start-build call would pass them (they win over the buildspec's). */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * The environment the build starts from, as the build image sets it, before CodeBuild's variables,
   * the buildspec's and the overrides. @default - this process's environment
   */
  readonly baseEnv?: Readonly<Record<string, string>>;
  /** Copy the artifacts here (keeping base-directory-relative paths). @default - only listed */
  readonly artifactsDir?: string;
  /** Receives the build log as it is written. @default - collected only */
  readonly onOutput?: (chunk: string) => void;
  /** @default 1800000 (30 minutes) */
  readonly timeoutMs?: number;
}

/** Outcome of one phase. */
export interface PhaseResult {
  readonly name: PhaseName;
  readonly status: 'SUCCEEDED' | 'FAILED' | 'SKIPPED' | 'ABSENT';
  readonly attempts: number;
  /** Exit code of the command that failed the phase, if any. */
  readonly failedCommand?: { readonly command: string; readonly exitCode: number; readonly inFinally: boolean };
}

/** Outcome of a local build. */
export interface BuildspecRunResult {
  readonly succeeded: boolean;
  readonly phases: readonly PhaseResult[];
  readonly exportedVariables: Readonly<Record<string, string>>;
  readonly reports: ReadonlyArray<{ readonly group: string; readonly fileFormat: string; readonly files: readonly string[] }>;
  readonly artifacts: readonly string[];
  readonly log: string;
  readonly durationMs: number;
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const asList = (v: string | readonly string[] | undefined): string[] => (v === undefined ? [] : typeof v === 'string' ? [v] : [...v]);

interface FailurePolicy {
  readonly mode: 'DEFAULT' | 'ABORT' | 'CONTINUE' | 'RETRY';
  readonly retries: number;
  readonly regex?: string;
}

/** Reads a phase's `on-failure` value (ABORT, CONTINUE, RETRY, RETRY-count, RETRY-count-regex). */
export function failurePolicy(value: string | undefined): FailurePolicy {
  if (!value) return { mode: 'DEFAULT', retries: 0 };
  if (value === 'ABORT' || value === 'CONTINUE') return { mode: value, retries: 0 };
  const m = /^RETRY(?:-(\d+)(?:-(.+))?)?$/.exec(value);
  if (m) return { mode: 'RETRY', retries: m[1] ? Number(m[1]) : 3, regex: m[2] };
  throw new BuildspecError(`on-failure '${value}' is not ABORT, CONTINUE, RETRY, RETRY-count or RETRY-count-regex`);
}

/**
 * The bash program for a buildspec: every command of every phase runs in one shell (version 0.2
 * semantics: variables and the working folder carry over), each phase's `finally` runs whatever its
 * commands did, and the phase transitions follow CodeBuild: a failed install or pre_build ends the
 * build; a failed build still runs post_build; `on-failure: ABORT` stops at once, `CONTINUE` goes on,
 * `RETRY[-n[-regex]]` runs the phase again. Status lines go to the file in $__DATAOPS_STATUS.
 */
export function buildScript(spec: Buildspec): string {
  const lines: string[] = [
    'set +e',
    '__rec() { printf "%s\\n" "$*" >> "$__DATAOPS_STATUS"; }',
    '__stop=0; __build_failed=0; export CODEBUILD_BUILD_SUCCEEDING=1',
  ];
  for (const name of PHASES) {
    const phase = spec.phases[name];
    if (!phase) {
      lines.push(`__rec "phase ${name} absent"`);
      continue;
    }
    const policy = failurePolicy(phase['on-failure']);
    // post_build runs after a failed build phase (CODEBUILD_BUILD_SUCCEEDING=0), not after a failed install or pre_build.
    const guard = name === 'post_build' ? '[ "$__stop" = 0 ] || [ "$__stop" = build ]' : '[ "$__stop" = 0 ]';
    lines.push(`if ${guard}; then`);
    lines.push(`  __attempt=0; __max=${policy.mode === 'RETRY' ? policy.retries + 1 : 1}`);
    lines.push('  while :; do');
    lines.push('    __attempt=$((__attempt+1)); __failed=0; __log_mark=$(wc -c < "$__DATAOPS_LOG" 2>/dev/null || echo 0)');
    lines.push(`    __rec "phase ${name} start $__attempt"`);
    phase.commands.forEach((cmd, i) => {
      lines.push(`    if [ "$__failed" = 0 ]; then __rec "run ${name} command ${i}"; eval ${q(cmd)}; __rc=$?; if [ "$__rc" != 0 ]; then __failed=1; __rec "failed ${name} command ${i} $__rc"; fi; fi`);
    });
    (phase.finally ?? []).forEach((cmd, i) => {
      lines.push(`    __rec "run ${name} finally ${i}"; eval ${q(cmd)}; __rc=$?; if [ "$__rc" != 0 ]; then if [ "$__failed" = 0 ]; then __rec "failed ${name} finally ${i} $__rc"; fi; __failed=1; fi`);
    });
    if (policy.mode === 'RETRY' && policy.regex) {
      lines.push(`    if [ "$__failed" = 1 ] && ! tail -c +$((__log_mark+1)) "$__DATAOPS_LOG" | grep -Eq ${q(policy.regex)}; then __max=$__attempt; fi`);
    }
    lines.push('    if [ "$__failed" = 0 ] || [ "$__attempt" -ge "$__max" ]; then break; fi');
    lines.push('  done');
    lines.push(`  if [ "$__failed" = 0 ]; then __rec "phase ${name} end SUCCEEDED $__attempt"; else __rec "phase ${name} end FAILED $__attempt"; export CODEBUILD_BUILD_SUCCEEDING=0;`);
    if (policy.mode === 'CONTINUE') lines.push('    :');
    else if (policy.mode === 'ABORT') lines.push('    __stop=abort');
    else if (name === 'build') lines.push('    __stop=build');
    else lines.push('    __stop=abort');
    lines.push('  fi');
    lines.push(`else __rec "phase ${name} skipped"; fi`);
    if (name === 'build') lines.push('[ "$__stop" = build ] && __build_failed=1');
  }
  for (const v of spec.env?.['exported-variables'] ?? []) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(v)) continue;
    lines.push(`__rec "export ${v} $(printf %s "\${${v}-}" | base64 -w0)"`);
  }
  return `${lines.join('\n')}\n`;
}

function gitHead(dir: string): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** Environment of the build: the machine's, CodeBuild's built-in variables, the buildspec's, then the overrides. */
function buildEnv(spec: Buildspec, opts: BuildspecRunOptions, shimDir: string): Record<string, string> {
  const src = path.resolve(opts.srcDir);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.baseEnv ?? process.env)) if (v !== undefined) env[k] = v;
  const buildNumber = '1';
  Object.assign(env, {
    PATH: `${shimDir}${path.delimiter}${env.PATH ?? ''}`,
    CODEBUILD_SRC_DIR: src,
    CODEBUILD_BUILD_ID: `dataops-local:${crypto.randomUUID()}`,
    CODEBUILD_BUILD_NUMBER: buildNumber,
    CODEBUILD_INITIATOR: 'dataops-buildspec-run',
    CODEBUILD_LOCAL: 'true',
    CODEBUILD_RESOLVED_SOURCE_VERSION: gitHead(src) ?? '',
  });
  for (const [k, v] of Object.entries(spec.env?.variables ?? {})) env[k] = String(v);
  const unresolved: string[] = [];
  for (const [k, ref] of [...Object.entries(spec.env?.['parameter-store'] ?? {}), ...Object.entries(spec.env?.['secrets-manager'] ?? {})]) {
    if (opts.env?.[k] === undefined) unresolved.push(`${k} (${String(ref)})`);
  }
  if (unresolved.length) {
    throw new BuildspecError(`${opts.file}: ${unresolved.join(', ')} come from Parameter Store or Secrets Manager, which a local run cannot read; pass them with --env NAME=value`, unresolved);
  }
  Object.assign(env, opts.env ?? {});
  return env;
}

/**
 * Runs a buildspec's phases locally the way CodeBuild does (see {@link buildScript}), then lists its
 * reports and artifacts. The `dataops` command on PATH is this checkout's.
 * @throws BuildspecError when the buildspec is invalid or needs values a local run cannot resolve
 */
export async function runBuildspec(opts: BuildspecRunOptions): Promise<BuildspecRunResult> {
  const started = Date.now();
  const spec = loadBuildspec(opts.file);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-buildspec-'));
  try {
    const shimDir = path.join(tmp, 'bin');
    fs.mkdirSync(shimDir);
    fs.writeFileSync(path.join(shimDir, 'dataops'), `#!/bin/sh\nexec ${q(process.execPath)} ${q(path.join(PROJECT_ROOT, 'bin', 'dataops.js'))} "$@"\n`, { mode: 0o755 });
    const status = path.join(tmp, 'status');
    const logFile = path.join(tmp, 'log');
    fs.writeFileSync(status, '');
    fs.writeFileSync(logFile, '');
    const script = path.join(tmp, 'build.sh');
    fs.writeFileSync(script, buildScript(spec));
    const env = { ...buildEnv(spec, opts, shimDir), __DATAOPS_STATUS: status, __DATAOPS_LOG: logFile };
    const shell = spec.env?.shell === '/bin/sh' || spec.env?.shell === 'sh' ? 'bash' : 'bash';
    const log: string[] = [];
    let shellExit = 0;
    await new Promise<void>((resolve, reject) => {
      const child = spawn(shell, [script], { cwd: path.resolve(opts.srcDir), env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      const onData = (b: Buffer) => {
        const s = b.toString('utf8');
        log.push(s);
        fs.appendFileSync(logFile, s);
        opts.onOutput?.(s);
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      const timer = setTimeout(() => {
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      }, opts.timeoutMs ?? 1_800_000);
      child.on('error', (cause) => {
        clearTimeout(timer);
        reject(new BuildspecError(`could not start ${shell} for ${opts.file}: ${cause.message}`, [], { cause }));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        shellExit = code ?? (signal ? 128 : 1);
        resolve();
      });
    });
    return collect(spec, opts, fs.readFileSync(status, 'utf8'), log.join(''), started, shellExit);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Reads the status lines back. A command that ends the shell itself (`exit 2`, a failed `${X:?}`)
 * leaves its phase started but not ended: like CodeBuild, that phase failed on that command with the
 * shell's exit status, and no later phase ran.
 */
function collect(spec: Buildspec, opts: BuildspecRunOptions, statusText: string, log: string, started: number, shellExit = 0): BuildspecRunResult {
  const phases: PhaseResult[] = [];
  const exported: Record<string, string> = {};
  const lines = statusText.split('\n').filter(Boolean);
  for (const name of PHASES) {
    const mine = lines.filter((l) => l.split(' ')[1] === name);
    const end = mine.filter((l) => l.startsWith(`phase ${name} end`)).pop();
    const failed = mine.filter((l) => l.startsWith(`failed ${name} `)).pop();
    let failedCommand: PhaseResult['failedCommand'];
    if (failed) {
      const [, , where, idx, rc] = failed.split(' ');
      const inFinally = where === 'finally';
      const list = inFinally ? spec.phases[name]?.finally : spec.phases[name]?.commands;
      failedCommand = { command: list?.[Number(idx)] ?? '', exitCode: Number(rc), inFinally };
    }
    const starts = mine.filter((l) => l.startsWith(`phase ${name} start `));
    if (!end && starts.length > 0) {
      const ran = mine.filter((l) => l.startsWith(`run ${name} `)).pop();
      const [, , where, idx] = (ran ?? '').split(' ');
      const list = where === 'finally' ? spec.phases[name]?.finally : spec.phases[name]?.commands;
      const attempts = Number(starts[starts.length - 1].split(' ')[3]);
      phases.push({ name, status: 'FAILED', attempts, failedCommand: { command: list?.[Number(idx)] ?? '', exitCode: shellExit || 1, inFinally: where === 'finally' } });
      continue;
    }
    if (mine.some((l) => l === `phase ${name} absent`)) phases.push({ name, status: 'ABSENT', attempts: 0 });
    else if (mine.some((l) => l === `phase ${name} skipped`) || !end) phases.push({ name, status: 'SKIPPED', attempts: 0 });
    else {
      const [, , , st, attempts] = end.split(' ');
      phases.push({ name, status: st === 'SUCCEEDED' ? 'SUCCEEDED' : 'FAILED', attempts: Number(attempts), ...(st === 'SUCCEEDED' ? {} : { failedCommand }) });
    }
  }
  for (const l of lines.filter((x) => x.startsWith('export '))) {
    const [, name, b64] = l.split(' ');
    exported[name] = Buffer.from(b64 ?? '', 'base64').toString('utf8');
  }
  const src = path.resolve(opts.srcDir);
  const reports = Object.entries(spec.reports ?? {}).map(([group, r]) => {
    const base = path.join(src, r['base-directory'] ?? '');
    return { group, fileFormat: r['file-format'] ?? 'JUNITXML', files: matchFiles(base, asList(r.files)).map((f) => path.relative(src, path.join(base, f))) };
  });
  let artifacts: string[] = [];
  if (spec.artifacts) {
    const base = path.join(src, spec.artifacts['base-directory'] ?? '');
    artifacts = matchFiles(base, asList(spec.artifacts.files), asList(spec.artifacts['exclude-paths']));
    if (opts.artifactsDir) {
      const discard = spec.artifacts['discard-paths'] === 'yes' || spec.artifacts['discard-paths'] === true;
      for (const f of artifacts) {
        const to = path.join(opts.artifactsDir, discard ? path.basename(f) : f);
        fs.mkdirSync(path.dirname(to), { recursive: true });
        fs.copyFileSync(path.join(base, f), to);
      }
    }
  }
  const succeeded = phases.every((p) => p.status !== 'FAILED') && phases.some((p) => p.status === 'SUCCEEDED');
  return { succeeded, phases, exportedVariables: exported, reports, artifacts, log, durationMs: Date.now() - started };
}
