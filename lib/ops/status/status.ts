import type { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { ENVIRONMENT_NAMES, type EnvironmentName } from '../../config/schema';
import { getStageStates } from '../../runtime/aws/codepipeline';
import type { Ledger } from '../../runtime/ledger/ledger';
import { STAGE_NAME_BY_ENV } from '../../runtime/ledger/model';

/** Where one repo stands in one environment. */
export interface EnvStatus {
  readonly repo: string;
  readonly env: EnvironmentName;
  /** What the environment runs now (the ledger's CURRENT). */
  readonly current: { readonly version: string; readonly executionId: string; readonly since: string; readonly viaRollback: boolean } | null;
  /** The last deployment that ended in the environment, and how. */
  readonly lastDeployment: { readonly executionId: string; readonly version: string | null; readonly result: string; readonly at: string } | null;
  /** A pipeline execution running the environment's stage now. */
  readonly inProgress: { readonly executionId: string; readonly status: string } | null;
  /** The repo/env deploy lock, when held. */
  readonly lock: { readonly holder: string; readonly acquiredAt: string; readonly expiresAt: string } | null;
  /** Approvals waiting for a person. */
  readonly pendingApprovals: ReadonlyArray<{ readonly action: string; readonly executionId: string | null; readonly since: string | null }>;
  /**
   * Why CodePipeline's side (in progress, approvals) is unknown: GetPipelineState failed (no
   * permission, no such pipeline, a service that does not answer it); null when it was read.
   */
  readonly pipelineStateError: string | null;
}

/** What collecting status needs. */
export interface StatusSources {
  readonly ledger: Ledger;
  readonly codepipeline: CodePipelineClient;
  /** Repo → pipeline name. */
  readonly pipelines: Readonly<Record<string, string>>;
  readonly now?: () => Date;
}

const ENDED = new Set(['SUCCEEDED', 'FAILED', 'CANCELED', 'STOPPED']);

/** Collects the status of `repos` × `envs` from the ledger and CodePipeline (GetPipelineState). */
export async function collectStatus(src: StatusSources, repos: readonly string[], envs: readonly EnvironmentName[] = ENVIRONMENT_NAMES): Promise<EnvStatus[]> {
  const now = (src.now ?? (() => new Date()))();
  // The newest ended stage: look back a week first, then further, so that busy envs read little.
  const lastEnded = async (repo: string, env: EnvironmentName) => {
    for (const days of [7, 90, 400, null]) {
      const from = days === null ? undefined : new Date(now.getTime() - days * 86_400_000).toISOString();
      const events = await src.ledger.eventsFor(repo, env, { from });
      const hit = [...events].reverse().find((e) => e.kind === 'stage-state' && ENDED.has(e.state));
      if (hit || days === null) return hit;
    }
    return undefined;
  };
  const out: EnvStatus[] = [];
  for (const repo of repos) {
    let stages: Awaited<ReturnType<typeof getStageStates>> = [];
    let pipelineStateError: string | null = null;
    try {
      stages = await getStageStates(src.codepipeline, src.pipelines[repo]);
    } catch (e) {
      // the ledger's side is still worth showing: say what is unknown and why
      pipelineStateError = `codepipeline:GetPipelineState on ${src.pipelines[repo]} failed (${(e as Error).name}: ${(e as Error).message.split('\n')[0]})`;
    }
    for (const env of envs) {
      const stage = stages.find((s) => s.stageName === STAGE_NAME_BY_ENV[env]);
      const [current, lock, last] = await Promise.all([src.ledger.getCurrent(repo, env), src.ledger.getLock(repo, env), lastEnded(repo, env)]);
      const latest = stage?.latestExecution;
      out.push({
        repo,
        env,
        current: current ? { version: current.version, executionId: current.executionId, since: current.at, viaRollback: current.viaRollback } : null,
        lastDeployment: last && last.executionId ? { executionId: last.executionId, version: last.version, result: last.kind === 'stage-state' ? last.state.toLowerCase() : last.result, at: last.at } : null,
        inProgress: latest?.status === 'InProgress' && latest.pipelineExecutionId ? { executionId: latest.pipelineExecutionId, status: latest.status } : null,
        lock: lock ? { holder: lock.holder, acquiredAt: lock.acquiredAt, expiresAt: new Date(lock.expiresAt * 1000).toISOString() } : null,
        pendingApprovals: (stage?.actionStates ?? [])
          .filter((a) => a.latestExecution?.status === 'InProgress' && /approv/i.test(a.actionName ?? ''))
          .map((a) => ({
            action: `${STAGE_NAME_BY_ENV[env]}/${a.actionName ?? ''}`,
            executionId: latest?.pipelineExecutionId ?? null,
            since: a.latestExecution?.lastStatusChange ? a.latestExecution.lastStatusChange.toISOString() : null,
          })),
        pipelineStateError,
      });
    }
  }
  return out;
}

/** Renders the status as the table `dataops status` prints. */
export function renderStatus(rows: readonly EnvStatus[]): string {
  const head = ['repo', 'env', 'current release', 'last deployment', 'in progress', 'lock', 'waiting for approval'];
  const cells = rows.map((r) => [
    r.repo,
    r.env,
    r.current ? `${r.current.version}${r.current.viaRollback ? ' (rolled back)' : ''}` : '–',
    r.lastDeployment ? `${r.lastDeployment.version ?? '?'} ${r.lastDeployment.result} ${r.lastDeployment.at.slice(0, 16).replace('T', ' ')}Z` : '–',
    r.pipelineStateError ? '?' : r.inProgress ? `${r.inProgress.executionId.slice(0, 8)} ${r.inProgress.status}` : '–',
    r.lock ? `held by ${r.lock.holder.slice(0, 8)} since ${r.lock.acquiredAt.slice(11, 16)}Z` : '–',
    r.pipelineStateError ? '?' : r.pendingApprovals.length ? r.pendingApprovals.map((a) => `${a.action}${a.since ? ` since ${a.since.slice(0, 16).replace('T', ' ')}Z` : ''}`).join(', ') : '–',
  ]);
  const widths = head.map((_, i) => Math.max(head[i].length, ...cells.map((c) => c[i].length)));
  const fmt = (c: string[]) => c.map((x, i) => x.padEnd(widths[i])).join('  ').trimEnd();
  return `${[fmt(head), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(fmt)].join('\n')}\n`;
}
