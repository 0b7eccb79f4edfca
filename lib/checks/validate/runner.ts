import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { AssetKind } from '../../config/schema';
import { type Finding, hasBlocking } from '../findings';
import type { Check, CheckContext, CheckResult, Selection, Skip } from './check';
import { defaultChecks } from './registry';
import { loadRepoLayout, type RepoLayout } from './repo-config';
import { computeScope, type Scope } from './scope';
import { ToolMissingError, Toolchain } from './toolchain';

/** Options of {@link runValidate}. */
export interface ValidateOptions {
  readonly repoDir: string;
  /** The repo's name (gives the package of its DAG folder on MWAA). @default - dataops.yaml `name`, else the directory name */
  readonly repoName?: string;
  /** Where `repoName` came from, for messages. @default '--repo-name' */
  readonly repoNameFrom?: string;
  /** Base revision for change scoping. @default - full run */
  readonly base?: string;
  /** Only checks of these kinds (the Validate stage runs one action per kind). @default - every kind of the repo */
  readonly kinds?: readonly AssetKind[];
  readonly terraformPlan?: string;
  readonly dbtState?: string;
  /** @default defaultChecks() */
  readonly checks?: readonly Check[];
  readonly tools?: Toolchain;
  /** Checks run at the same time. @default 2 */
  readonly concurrency?: number;
  readonly log?: (message: string) => void;
  /** Keep the scratch folder (dbt target, reports) for debugging. @default false */
  readonly keepWorkDir?: boolean;
}

/** Timing and outcome of one check, for the JUnit and Markdown reports. */
export interface CheckRun {
  readonly name: string;
  readonly kind: AssetKind;
  readonly durationMs: number;
  readonly status: 'passed' | 'failed' | 'skipped';
  readonly findings: readonly Finding[];
}

/** What `dataops validate` reports (the JSON format is exactly this, see docs/validation.md). */
export interface ValidateReport {
  readonly repo: string;
  readonly scope: { readonly base?: string; readonly full: boolean; readonly reason: string; readonly changed: readonly string[] };
  readonly findings: readonly Finding[];
  readonly selected: readonly Selection[];
  readonly skipped: readonly Skip[];
  readonly checks: readonly CheckRun[];
  readonly durationMs: number;
  readonly passed: boolean;
}

function kindOf(check: Check, repo: RepoLayout): AssetKind {
  return check.kinds.find((k) => repo.kinds.includes(k)) ?? check.kinds[0];
}

function dedupe(findings: readonly Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = `${f.code}|${f.file ?? ''}|${f.line ?? ''}|${f.asset}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Runs the checks that apply to a repo and its change, in order (fast static checks first), at most
 * `concurrency` at a time; checks of one group run one after another. Every finding of every check
 * that ran is reported; a check that crashes becomes a VAL_CHECK_ERROR finding, a missing tool
 * VAL_TOOL_MISSING.
 */
export async function runValidate(opts: ValidateOptions): Promise<ValidateReport> {
  const started = Date.now();
  const repo = loadRepoLayout(opts.repoDir, { name: opts.repoName, nameFrom: opts.repoNameFrom });
  const scope: Scope = computeScope(repo, opts.base);
  const log = opts.log ?? (() => undefined);
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-validate-'));
  const memo = new Map<string, Promise<unknown>>();
  const ctx: CheckContext = {
    repo,
    scope,
    tools: opts.tools ?? new Toolchain(),
    workDir,
    terraformPlan: opts.terraformPlan ? path.resolve(opts.terraformPlan) : undefined,
    dbtState: opts.dbtState ? path.resolve(opts.dbtState) : undefined,
    once<T>(key: string, fn: () => Promise<T>): Promise<T> {
      if (!memo.has(key)) memo.set(key, fn());
      return memo.get(key) as Promise<T>;
    },
    log,
  };
  log(`scope: ${scope.reason}`);

  const all = (opts.checks ?? defaultChecks()).slice().sort((a, b) => (a.order ?? 50) - (b.order ?? 50));
  const skipped: Skip[] = [];
  const runnable: Check[] = [];
  for (const c of all) {
    const kinds = c.kinds.filter((k) => repo.kinds.includes(k) && (!opts.kinds || opts.kinds.includes(k)));
    if (kinds.length === 0) continue;
    if (c.applies && !c.applies(ctx)) {
      skipped.push({ check: c.name, kind: kinds[0], reason: 'does not apply to this repo' });
      continue;
    }
    runnable.push(c);
  }

  const runs: CheckRun[] = [];
  const selected: Selection[] = [];
  const groups = new Map<string, Promise<unknown>>();
  const runOne = async (c: Check): Promise<void> => {
    const kind = kindOf(c, repo);
    const t0 = Date.now();
    log(`${c.name}: running`);
    let result: CheckResult;
    try {
      result = await c.run(ctx);
    } catch (err) {
      const code = err instanceof ToolMissingError ? 'VAL_TOOL_MISSING' : 'VAL_CHECK_ERROR';
      result = { findings: [{ code, severity: 'error', asset: `${kind}:${c.name}`, message: `check ${c.name} could not run: ${(err as Error).message}` }] };
    }
    const durationMs = Date.now() - t0;
    if (result.selection) selected.push(result.selection);
    if (result.skip) skipped.push(result.skip);
    const status = result.skip && !result.selection ? 'skipped' : hasBlocking(result.findings) ? 'failed' : 'passed';
    runs.push({ name: c.name, kind, durationMs, status, findings: result.findings });
    log(`${c.name}: ${status} in ${(durationMs / 1000).toFixed(1)}s (${result.findings.length} finding(s))`);
  };

  const limit = Math.max(1, opts.concurrency ?? 2);
  const queue = [...runnable];
  const workers = Array.from({ length: Math.min(limit, queue.length) }, async () => {
    for (let c = queue.shift(); c; c = queue.shift()) {
      const check = c;
      if (check.group) {
        const prev = groups.get(check.group) ?? Promise.resolve();
        const next = prev.then(() => runOne(check));
        groups.set(check.group, next.catch(() => undefined));
        await next;
      } else {
        await runOne(check);
      }
    }
  });
  try {
    await Promise.all(workers);
  } finally {
    if (!opts.keepWorkDir) fs.rmSync(workDir, { recursive: true, force: true });
  }

  const order = new Map(all.map((c, i) => [c.name, i]));
  runs.sort((a, b) => (order.get(a.name) ?? 0) - (order.get(b.name) ?? 0));
  const findings = dedupe(runs.flatMap((r) => r.findings));
  return {
    repo: repo.root,
    scope: { base: scope.base, full: scope.full, reason: scope.reason, changed: scope.changed },
    findings,
    selected: selected.sort((a, b) => a.check.localeCompare(b.check)),
    skipped: skipped.sort((a, b) => a.check.localeCompare(b.check)),
    checks: runs,
    durationMs: Date.now() - started,
    passed: !hasBlocking(findings),
  };
}
