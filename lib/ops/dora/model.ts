/**
 * DORA figures (deployment frequency, lead time for changes, change failure rate, time to restore)
 * from facts about production deployments. Pure: ./from-ledger.ts turns ledger events into facts.
 *
 * Definitions (DORA, "Accelerate: State of DevOps"):
 * - Deployment frequency: successful production deployments of a change, per day of the window.
 *   Re-deployments of an earlier release (rollbacks) restore service and do not count.
 * - Lead time for changes: from the change's commit to its successful production deployment
 *   (the pipeline picking it up, for ledger records older than the commit time); reported as the
 *   median (and p90) over the window's deployments.
 * - Change failure rate: the share of production deployments of a change that failed (the prod stage
 *   failed) or had to be rolled back.
 * - Time to restore: from such a failure (the failed stage, or the rollback request) to the next
 *   successful production deployment (the rollback or a fix); median over the window.
 */

/** One production deployment attempt (a Prod stage that ended). */
export interface ProdDeploymentFact {
  readonly repo: string;
  readonly executionId: string;
  /** Release version, when known. */
  readonly version: string | null;
  /** ISO time the Prod stage ended. */
  readonly finishedAt: string;
  readonly outcome: 'succeeded' | 'failed';
  /** The execution re-deployed an earlier release (a rollback): it restores, it does not change. */
  readonly isRestore: boolean;
  /** ISO time of the change: the release's commit time, else its first ledger record (older records); null when unknown. */
  readonly changeAt: string | null;
}

/** A rollback of production that was started. */
export interface RollbackFact {
  readonly repo: string;
  /** ISO time the rollback was requested. */
  readonly at: string;
  /** The version being rolled back, when known. */
  readonly fromVersion: string | null;
}

/** Everything the figures are computed from. */
export interface DoraInput {
  readonly deployments: readonly ProdDeploymentFact[];
  readonly rollbacks: readonly RollbackFact[];
}

/** The window the figures describe, as ISO times. */
export interface DoraWindow {
  readonly from: string;
  readonly to: string;
}

/** The four figures for one repo or for all. */
export interface DoraFigures {
  /** Successful production deployments of a change in the window. */
  readonly deployments: number;
  readonly deploymentsPerDay: number;
  readonly leadTime: { readonly samples: number; readonly medianHours: number | null; readonly p90Hours: number | null };
  readonly changeFailure: { readonly changes: number; readonly failed: number; readonly rate: number | null };
  readonly timeToRestore: { readonly incidents: number; readonly restored: number; readonly medianMinutes: number | null };
}

/** The report `dataops dora` prints. */
export interface DoraReport {
  readonly window: DoraWindow & { readonly days: number };
  readonly overall: DoraFigures;
  readonly repos: Readonly<Record<string, DoraFigures>>;
}

/** The window cannot be used. */
export class DoraInputError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DoraInputError';
  }
}

const t = (iso: string) => Date.parse(iso);

/** The q-quantile (0..1) of sorted values, by the nearest-rank method; null when empty. */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1];
}

/** The median of sorted values (mean of the middle two for an even count); null when empty. */
export function median(sorted: readonly number[]): number | null {
  const n = sorted.length;
  if (n === 0) return null;
  return n % 2 === 1 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

interface RepoSamples {
  deployments: number;
  leadHours: number[];
  changes: number;
  failed: number;
  incidents: number;
  restoreMinutes: number[];
}

function samplesFor(deployments: readonly ProdDeploymentFact[], rollbacks: readonly RollbackFact[], from: number, to: number): RepoSamples {
  const byTime = [...deployments].sort((a, b) => t(a.finishedAt) - t(b.finishedAt) || a.executionId.localeCompare(b.executionId));
  const rbs = [...rollbacks].sort((a, b) => t(a.at) - t(b.at));
  const s: RepoSamples = { deployments: 0, leadHours: [], changes: 0, failed: 0, incidents: 0, restoreMinutes: [] };
  const inWindow = (x: number) => x >= from && x <= to;
  const nextSuccessAfter = (at: number) => byTime.find((d) => d.outcome === 'succeeded' && t(d.finishedAt) > at);

  byTime.forEach((d, i) => {
    if (d.isRestore || !inWindow(t(d.finishedAt))) return;
    s.changes += 1;
    let failureAt: number | null = null;
    if (d.outcome === 'failed') failureAt = t(d.finishedAt);
    else {
      // Rolled back before the next change reached prod: the change failed in production.
      const nextChange = byTime.slice(i + 1).find((x) => !x.isRestore);
      const until = nextChange ? t(nextChange.finishedAt) : Number.POSITIVE_INFINITY;
      const rb = rbs.find((r) => t(r.at) >= t(d.finishedAt) && t(r.at) <= until && (r.fromVersion === null || d.version === null || r.fromVersion === d.version));
      if (rb) failureAt = t(rb.at);
    }
    if (d.outcome === 'succeeded') {
      s.deployments += 1;
      if (d.changeAt !== null && t(d.changeAt) <= t(d.finishedAt)) s.leadHours.push((t(d.finishedAt) - t(d.changeAt)) / 3_600_000);
    }
    if (failureAt !== null) {
      s.failed += 1;
      s.incidents += 1;
      const restored = nextSuccessAfter(failureAt);
      if (restored) s.restoreMinutes.push((t(restored.finishedAt) - failureAt) / 60_000);
    }
  });
  return s;
}

function figures(s: RepoSamples, days: number): DoraFigures {
  const lead = [...s.leadHours].sort((a, b) => a - b);
  const restore = [...s.restoreMinutes].sort((a, b) => a - b);
  return {
    deployments: s.deployments,
    deploymentsPerDay: days > 0 ? s.deployments / days : 0,
    leadTime: { samples: lead.length, medianHours: median(lead), p90Hours: quantile(lead, 0.9) },
    changeFailure: { changes: s.changes, failed: s.failed, rate: s.changes > 0 ? s.failed / s.changes : null },
    timeToRestore: { incidents: s.incidents, restored: restore.length, medianMinutes: median(restore) },
  };
}

/**
 * Computes the DORA figures per repo and overall for the deployments that ended inside `window`.
 * Facts outside the window still serve as restore points and rollback context.
 * @throws DoraInputError when the window is not two ISO times in order
 */
export function computeDora(input: DoraInput, window: DoraWindow): DoraReport {
  const from = t(window.from);
  const to = t(window.to);
  if (Number.isNaN(from) || Number.isNaN(to) || from >= to) {
    throw new DoraInputError(`window ${window.from} .. ${window.to} is not two ISO times in order; pass --since like 90d or 2026-01-01`);
  }
  const days = (to - from) / 86_400_000;
  const repos = [...new Set(input.deployments.map((d) => d.repo))].sort();
  const perRepo: Record<string, RepoSamples> = {};
  for (const repo of repos) {
    perRepo[repo] = samplesFor(
      input.deployments.filter((d) => d.repo === repo),
      input.rollbacks.filter((r) => r.repo === repo),
      from,
      to,
    );
  }
  const all: RepoSamples = { deployments: 0, leadHours: [], changes: 0, failed: 0, incidents: 0, restoreMinutes: [] };
  for (const s of Object.values(perRepo)) {
    all.deployments += s.deployments;
    all.leadHours.push(...s.leadHours);
    all.changes += s.changes;
    all.failed += s.failed;
    all.incidents += s.incidents;
    all.restoreMinutes.push(...s.restoreMinutes);
  }
  return {
    window: { from: new Date(from).toISOString(), to: new Date(to).toISOString(), days },
    overall: figures(all, days),
    repos: Object.fromEntries(repos.map((r) => [r, figures(perRepo[r], days)])),
  };
}

/**
 * Parses `--since`: a duration back from `now` (`90d`, `12h`, `2w`) or an ISO date/time.
 * @throws DoraInputError naming the value and the accepted forms
 */
export function parseSince(since: string, now: Date): string {
  const m = /^(\d+)([hdw])$/.exec(since.trim());
  if (m) {
    const hours = Number(m[1]) * (m[2] === 'h' ? 1 : m[2] === 'd' ? 24 : 168);
    return new Date(now.getTime() - hours * 3_600_000).toISOString();
  }
  const at = Date.parse(since);
  if (!Number.isNaN(at) && /^\d{4}-\d{2}-\d{2}/.test(since)) return new Date(at).toISOString();
  throw new DoraInputError(`--since '${since}' is neither a duration (90d, 12h, 2w) nor an ISO date (2026-01-31); use one of those forms`);
}
