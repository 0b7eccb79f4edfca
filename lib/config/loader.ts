import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { LineCounter, isNode, isScalar, parseDocument } from 'yaml';
import type { z } from 'zod';
import { ASSET_KINDS, ConfigSchema, ENVIRONMENT_NAMES, type PlatformConfig } from './schema';

/** The embedded default configuration (Northstar Health). */
export const DEFAULT_CONFIG_PATH = path.join(__dirname, '..', '..', 'config', 'northstar.yaml');

/**
 * Environment variables that choose the platform configuration of a `dataops` run. The pipeline's
 * CodeBuild projects set both (lib/constructs/toolchain-project.ts), so that Package, Deploy, Verify
 * and Validate read the configuration the pipeline was synthesized with.
 */
export const CONFIG_ENV = {
  /** Path of the configuration file, used when no `--config` is given. */
  path: 'DATAOPS_CONFIG',
  /** sha256 (hex) the loaded file must have; unset means any file is accepted. */
  sha256: 'DATAOPS_CONFIG_SHA256',
} as const;

/** The file a configuration was loaded from. */
export interface ConfigSource {
  /** Absolute path of the file. */
  readonly file: string;
  /** sha256 of the file's bytes, lowercase hex. */
  readonly sha256: string;
}

/** The runtime was given a different configuration file than the one the pipeline was synthesized with. */
export class ConfigMismatchError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigMismatchError';
  }
}

const sources = new WeakMap<PlatformConfig, ConfigSource>();

/** The file a configuration was loaded from by {@link loadConfig}; undefined for one parsed from text. */
export function configSourceOf(config: PlatformConfig): ConfigSource | undefined {
  return sources.get(config);
}

/** sha256 of bytes as lowercase hex. */
export function sha256Of(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Help text of every command's `-c, --config` option. */
export const CONFIG_OPTION_HELP = `platform configuration file (default: $${CONFIG_ENV.path}, else the embedded config/northstar.yaml; also accepts config=PATH, as cdk does)`;

/** One problem in a configuration file. */
export interface ConfigProblem {
  /** YAML path of the offending value, e.g. `repos[2].kinds[0]`; empty for the document itself. */
  readonly path: string;
  /** What is wrong and how to fix it. */
  readonly message: string;
  /** 1-based line in the file, where known. */
  readonly line?: number;
}

/** A configuration file that cannot be used; lists every problem found. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly ConfigProblem[],
    options?: { cause?: unknown },
  ) {
    const lines = problems.map((p) => `  - ${p.path || '(document)'}${p.line ? ` (line ${p.line})` : ''}: ${p.message}`);
    super(`${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'} in the platform configuration; fix each and run again:\n${lines.join('\n')}`, options);
    this.name = 'ConfigError';
  }
}

/** Formats a value path the way a YAML reader sees it: `repos[2].kinds[0]`. */
export function formatPath(segments: readonly PropertyKey[]): string {
  return segments
    .map((s, i) => (typeof s === 'number' ? `[${s}]` : `${i === 0 ? '' : '.'}${String(s)}`))
    .join('');
}

/**
 * Checks that are about meaning rather than shape: a valid file can still describe a platform
 * that must not be built. Works on the raw document so that these problems are listed together
 * with the shape problems.
 */
export function semanticProblems(raw: unknown): Array<{ path: (string | number)[]; message: string }> {
  const problems: Array<{ path: (string | number)[]; message: string }> = [];
  if (typeof raw !== 'object' || raw === null) return problems;
  const doc = raw as Record<string, unknown>;

  const envs = (doc.environments ?? {}) as Record<string, { account?: unknown } | undefined>;
  const seen = new Map<string, string>();
  if (typeof doc.toolingAccount === 'string') seen.set(doc.toolingAccount, 'toolingAccount');
  for (const env of ENVIRONMENT_NAMES) {
    const account = envs[env]?.account;
    if (typeof account !== 'string') continue;
    const other = seen.get(account);
    if (other) {
      problems.push({
        path: ['environments', env, 'account'],
        message: `account ${account} is already used by ${other}; every environment needs its own AWS account, separate from the tooling account, so that nothing in a lower environment can reach ${env === 'prod' ? 'prod' : 'a higher one'}`,
      });
    } else {
      seen.set(account, `environments.${env}.account`);
    }
  }

  problems.push(...sharedApproverProblems(doc.approvers));

  const repos = Array.isArray(doc.repos) ? (doc.repos as unknown[]) : [];
  const names = new Map<string, number>();
  repos.forEach((repo, i) => {
    if (typeof repo !== 'object' || repo === null) return;
    const r = repo as Record<string, unknown>;
    if (typeof r.name === 'string') {
      const first = names.get(r.name);
      if (first !== undefined) {
        problems.push({ path: ['repos', i, 'name'], message: `duplicate repo name '${r.name}' (also repos[${first}]); give each repo a unique name` });
      } else {
        names.set(r.name, i);
      }
    }
    const kinds = Array.isArray(r.kinds) ? (r.kinds as unknown[]) : undefined;
    if (kinds && kinds.length === 0) {
      problems.push({ path: ['repos', i, 'kinds'], message: 'a repo needs at least one asset kind; list what it holds, e.g. [dbt] or [airflow, spark]' });
    }
    if (kinds) {
      const dup = kinds.find((k, j) => kinds.indexOf(k) !== j);
      if (dup !== undefined) problems.push({ path: ['repos', i, 'kinds'], message: `asset kind '${String(dup)}' is listed twice; list each kind once` });
    }
    const kindsValid = kinds?.every((k) => (ASSET_KINDS as readonly unknown[]).includes(k)) ?? false;
    if (kinds && kindsValid && typeof r.paths === 'object' && r.paths !== null) {
      for (const key of Object.keys(r.paths)) {
        if (!kinds.includes(key)) {
          problems.push({ path: ['repos', i, 'paths', key], message: `path given for '${key}', which is not among this repo's kinds (${kinds.join(', ')}); add it to kinds or remove the path` });
        }
      }
    }
  });
  return problems;
}

/**
 * The identity of an approver entry, for comparing lists: its shape and its name, compared
 * case-insensitively (IAM does not distinguish group names by case), or undefined for an entry of
 * no known shape (the schema reports it).
 */
function approverIdentity(entry: unknown): { key: string; label: string } | undefined {
  if (typeof entry === 'string' && entry.trim() !== '') return { key: `name:${entry.trim().replace(/\s+/g, ' ').toLowerCase()}`, label: `'${entry}'` };
  if (typeof entry !== 'object' || entry === null) return undefined;
  const e = entry as Record<string, unknown>;
  if (typeof e.iamGroup === 'string') return { key: `iamGroup:${e.iamGroup.toLowerCase()}`, label: `{ iamGroup: ${e.iamGroup} }` };
  if (typeof e.identityCenterPermissionSet === 'string') {
    return { key: `permissionSet:${e.identityCenterPermissionSet.toLowerCase()}`, label: `{ identityCenterPermissionSet: ${e.identityCenterPermissionSet} }` };
  }
  return undefined;
}

/**
 * Separation of duties: no approver entry (the same IAM group, permission set or name) may approve
 * both staging and prod, or one group could walk a release into prod alone.
 */
function sharedApproverProblems(raw: unknown): Array<{ path: (string | number)[]; message: string }> {
  if (typeof raw !== 'object' || raw === null) return [];
  const lists = raw as Record<string, unknown>;
  const staging = Array.isArray(lists.staging) ? (lists.staging as unknown[]) : [];
  const prod = Array.isArray(lists.prod) ? (lists.prod as unknown[]) : [];
  const stagingIndex = new Map<string, number>();
  staging.forEach((entry, i) => {
    const id = approverIdentity(entry);
    if (id && !stagingIndex.has(id.key)) stagingIndex.set(id.key, i);
  });
  const problems: Array<{ path: (string | number)[]; message: string }> = [];
  prod.forEach((entry, i) => {
    const id = approverIdentity(entry);
    const j = id ? stagingIndex.get(id.key) : undefined;
    if (!id || j === undefined) return;
    problems.push({
      path: ['approvers', 'prod', i],
      message:
        `approver ${id.label} is in both approvers.staging[${j}] and approvers.prod[${i}]; staging and prod need different approvers (separation of duties: ` +
        'whoever approves a release into staging must not also approve it into prod), so give prod its own IAM group, permission set or name, or remove it from approvers.staging',
    });
  });
  return problems;
}

/** Parses and validates configuration text; throws one ConfigError listing every problem. */
export function parseConfig(text: string, file: string): PlatformConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({ path: '', line: e.linePos?.[0]?.line, message: `YAML syntax: ${e.message.split('\n')[0]}` })),
    );
  }
  const raw: unknown = doc.toJS();
  if (raw === null || raw === undefined) {
    // no content at all (nothing, comments, a bare `---`), or an explicit null (`null`, `~`), which is not empty but says nothing either
    const literal = isScalar(doc.contents) && doc.contents.source ? doc.contents.source : undefined;
    const what = literal === undefined ? 'the file is empty (no YAML document, or only comments)' : `the document is only '${literal}', a YAML null, not a configuration`;
    const line = literal !== undefined && doc.contents?.range ? lineCounter.linePos(doc.contents.range[0]).line : undefined;
    throw new ConfigError(file, [{ path: '', line, message: `${what}; write the platform configuration into it, e.g. a copy of config/northstar.yaml` }]);
  }
  const lineOf = (segments: readonly PropertyKey[]): number | undefined => {
    for (let n = segments.length; n >= 0; n--) {
      const node = doc.getIn(segments.slice(0, n) as unknown[], true);
      if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
    }
    return undefined;
  };

  const result = ConfigSchema.safeParse(raw, { reportInput: true });
  const collected: Array<{ path: readonly PropertyKey[]; message: string }> = [];
  if (!result.success) collected.push(
      ...result.error.issues.map((i) => ({
        // point an unknown key at the key itself, not at its parent object
        path: i.code === 'unrecognized_keys' && i.keys.length === 1 ? [...i.path, i.keys[0]] : i.path,
        message: describeIssue(i),
      })),
    );
  collected.push(...semanticProblems(raw));
  if (collected.length > 0) {
    const problems = collected
      .map((p) => ({ path: formatPath(p.path), message: p.message, line: lineOf(p.path) }))
      .sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    throw new ConfigError(file, problems);
  }
  return result.data as PlatformConfig;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}; remove ${issue.keys.length > 1 ? 'them' : 'it'} or fix the spelling`;
    case 'invalid_type':
      if (issue.input === undefined) return `required, but missing; add it (${issue.expected})`;
      return issue.message.startsWith('Invalid input') ? `expected ${issue.expected}, got ${Array.isArray(issue.input) ? 'array' : issue.input === null ? 'null' : typeof issue.input}` : issue.message;
    case 'invalid_value':
      return issue.message.startsWith('Invalid option')
        ? `'${String(issue.input)}' is not allowed, expected one of ${issue.values.map(String).join(', ')}`
        : issue.message;
    default:
      return issue.message;
  }
}

/** Loads and validates a configuration file; throws ConfigError naming the file and every problem. */
export function loadConfig(file: string = DEFAULT_CONFIG_PATH): PlatformConfig {
  return readConfigFile(file, 'pass an existing file with -c config=PATH');
}

/**
 * The platform configuration of a `dataops` command, chosen by the one rule every command follows:
 * `--config PATH` (also CDK-style `config=PATH`), else the file named by $DATAOPS_CONFIG, else the
 * embedded default. When $DATAOPS_CONFIG_SHA256 is set (the pipeline's CodeBuild projects set it
 * to the sha256 of the file the pipeline was synthesized with), a file with other bytes is refused
 * with a {@link ConfigMismatchError} before it is parsed.
 */
export function loadPlatformConfig(flag?: string, env: NodeJS.ProcessEnv = process.env): PlatformConfig {
  const fromFlag = flag ? (flag.startsWith('config=') ? flag.slice('config='.length) : flag) : undefined;
  const fromEnv = env[CONFIG_ENV.path] || undefined;
  const file = path.resolve(fromFlag ?? fromEnv ?? DEFAULT_CONFIG_PATH);
  const expected = env[CONFIG_ENV.sha256] || undefined;
  if (expected !== undefined && !/^[0-9a-f]{64}$/i.test(expected)) {
    throw new ConfigMismatchError(
      `${CONFIG_ENV.sha256} '${expected}' is not a sha256, expected 64 hex digits; the pipeline sets it at synthesis, so unset it or set it to the sha256 of the configuration file`,
    );
  }
  const hint =
    fromFlag !== undefined
      ? 'pass an existing file with --config PATH'
      : fromEnv !== undefined
        ? `the file is named by ${CONFIG_ENV.path}; in a pipeline build the toolchain image does not hold it: keep the configuration under config/ (the image copies only that folder), rebuild the toolchain image (README, "Deploy", step 5) and deploy again; elsewhere set ${CONFIG_ENV.path} to an existing file or pass --config PATH`
        : 'the embedded default is missing from this installation; reinstall it or pass --config PATH';
  return readConfigFile(file, hint, (actual) => {
    if (expected === undefined || actual === expected.toLowerCase()) return;
    throw new ConfigMismatchError(
      `${file}: sha256 ${actual}, but ${CONFIG_ENV.sha256} is ${expected.toLowerCase()}: the toolchain image holds a different configuration than the pipeline was synthesized with ` +
        "(this build would target that configuration's accounts, buckets and environments); rebuild the toolchain image from the synthesized configuration " +
        '(raise ci.toolchainImageTag, `npx cdk deploy DataOpsTooling`, `aws codebuild start-build --project-name <name>-toolchain-image`: README, "Deploy", step 5) ' +
        'and deploy the pipelines, or re-synthesize and deploy the pipelines from the configuration the image holds',
    );
  });
}

function readConfigFile(file: string, hint: string, checkSha256?: (actual: string) => void): PlatformConfig {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (cause) {
    throw new ConfigError(file, [{ path: '', message: `cannot read the file (${(cause as NodeJS.ErrnoException).code ?? String(cause)}); ${hint}` }], { cause });
  }
  const sha256 = sha256Of(bytes);
  checkSha256?.(sha256);
  const relative = path.relative(process.cwd(), file);
  const config = parseConfig(bytes.toString('utf8'), relative && !relative.startsWith('..') ? relative : file);
  sources.set(config, { file: path.resolve(file), sha256 });
  return config;
}
