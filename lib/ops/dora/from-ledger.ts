import type { LedgerEvent } from '../../runtime/ledger/model';
import type { DoraInput, ProdDeploymentFact, RollbackFact } from './model';

const ENDED = new Set(['SUCCEEDED', 'FAILED']);

/**
 * Turns ledger events (as the runtime's Recorder, Promote, deploy and Rollback write them) into DORA
 * facts. A production deployment is a `stage-state` event of the prod stage that ended; it restores
 * (rather than changes) when its deployment was a rollback redeploy or when prod already ran that
 * version successfully before. The change time of a version is its commit time, which `dataops
 * deploy` writes on every deployment record (`commitAt`, the release manifest's createdAt); for
 * versions whose records predate that field it falls back to the version's first ledger record (its
 * promotion into dev, moments after the merge built it).
 */
export function doraInputFromEvents(events: readonly LedgerEvent[]): DoraInput {
  const sorted = [...events].sort((a, b) => a.at.localeCompare(b.at));
  const firstSeen = new Map<string, string>();
  const commitAt = new Map<string, string>();
  const rollbackExecutions = new Set<string>();
  const versionOfExecution = new Map<string, string>();
  for (const e of sorted) {
    if (e.version) {
      const key = `${e.repo}\u0000${e.version}`;
      if (!firstSeen.has(key)) firstSeen.set(key, e.at);
      if (e.executionId && e.env === 'prod') versionOfExecution.set(e.executionId, e.version);
    }
    if (e.kind === 'deployment' && e.isRollback && e.executionId) rollbackExecutions.add(e.executionId);
    if (e.kind === 'deployment' && e.version && e.commitAt) commitAt.set(`${e.repo}\u0000${e.version}`, e.commitAt);
  }

  const deployments: ProdDeploymentFact[] = [];
  const succeededVersions = new Map<string, Set<string>>();
  for (const e of sorted) {
    if (e.kind !== 'stage-state' || e.env !== 'prod' || !ENDED.has(e.state) || !e.executionId) continue;
    const version = e.version ?? versionOfExecution.get(e.executionId) ?? null;
    const seen = succeededVersions.get(e.repo) ?? new Set<string>();
    const isRestore = rollbackExecutions.has(e.executionId) || (version !== null && seen.has(version));
    const outcome = e.state === 'SUCCEEDED' ? 'succeeded' : 'failed';
    deployments.push({
      repo: e.repo,
      executionId: e.executionId,
      version,
      finishedAt: e.at,
      outcome,
      isRestore,
      changeAt: version ? (commitAt.get(`${e.repo}\u0000${version}`) ?? firstSeen.get(`${e.repo}\u0000${version}`) ?? null) : null,
    });
    if (outcome === 'succeeded' && version) {
      seen.add(version);
      succeededVersions.set(e.repo, seen);
    }
  }

  const rollbacks: RollbackFact[] = sorted
    .filter((e) => e.kind === 'rollback' && e.env === 'prod' && e.result === 'started')
    .map((e) => ({ repo: e.repo, at: e.at, fromVersion: e.kind === 'rollback' ? e.fromVersion : null }));
  return { deployments, rollbacks };
}
