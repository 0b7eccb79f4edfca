import type { DagEntry } from '../release/manifest';

/**
 * Data-safe rollback decisions (DESIGN.md "Rollback without harming data", docs/rollback.md).
 * Everything here is pure: the Rollback λ and `dataops deploy` (when it redeploys an earlier release)
 * gather the facts, these functions decide, and the callers carry the decision out.
 */

/** A release as deployed in an environment: its assets by path and its DAG inventory. */
export interface ReleaseState {
  readonly version: string;
  readonly executionId: string;
  /** Asset path → sha256. */
  readonly assets: Readonly<Record<string, string>>;
  readonly dags: readonly DagEntry[];
}

/** A successful stage execution that a rollback may target. */
export interface RollbackCandidate {
  readonly version: string;
  readonly executionId: string;
  /** True when that success was itself a rollback; never a target. */
  readonly wasRollback: boolean;
}

/** A CodePipeline execution as ListPipelineExecutions reports it. */
export interface PipelineExecutionFact {
  readonly executionId: string;
  /** InProgress | Stopped | Stopping | Succeeded | Superseded | Failed | Cancelled */
  readonly status: string;
  /** STANDARD | ROLLBACK */
  readonly type: string;
}

/** A data object (table/view) a failed release may have changed, with the times that decide its fate. */
export interface DataObjectFact {
  /** Fully qualified name, e.g. ANALYTICS.CORE.STG_CLAIMS. */
  readonly name: string;
  /** Whether the release being rolled back changed it (rebuilt, swapped). */
  readonly changedByFailedRelease: boolean;
  /** Load watermark recorded before the failed release's deploy (ISO), or null when none was recorded. */
  readonly watermarkAt: string | null;
  /** The newest load that landed in it (ISO), or null when none did. */
  readonly lastLoadAt: string | null;
  /** How it can be put back: swap with the kept pre-deploy clone, or a Time Travel clone at the watermark. */
  readonly restoreMethod: 'swap-back' | 'time-travel-clone';
}

/** Facts for choosing the target of a rollback. */
export interface TargetFacts {
  readonly repo: string;
  readonly env: string;
  /** What the env runs now; null before its first success. */
  readonly current: { readonly version: string; readonly executionId: string; readonly viaRollback: boolean } | null;
  /** Successful executions of the stage, newest first. */
  readonly candidates: readonly RollbackCandidate[];
  /** Executions CodePipeline knows of, newest first (may be empty if not consulted). */
  readonly executions: readonly PipelineExecutionFact[];
  /** A requested target version, or undefined for "the previous release". */
  readonly toVersion?: string;
}

/** Why a rollback is refused. */
export type RollbackRefusal =
  | 'nothing-deployed'
  | 'rollback-of-rollback'
  | 'rollback-in-progress'
  | 'no-previous-release'
  | 'unknown-version'
  | 'already-at-version'
  | 'target-not-in-pipeline'
  | 'catch-up-hazard';

export type TargetChoice =
  | { readonly ok: true; readonly target: RollbackCandidate }
  | { readonly ok: false; readonly refusal: RollbackRefusal; readonly message: string };

/**
 * Chooses the execution to roll back to: the newest successful execution of a different version that
 * was not itself a rollback (or the one of `toVersion`). Refuses a rollback of a rollback.
 */
export function chooseRollbackTarget(f: TargetFacts): TargetChoice {
  const where = `${f.repo}/${f.env}`;
  if (!f.current) {
    return { ok: false, refusal: 'nothing-deployed', message: `${where} has no successful deployment in the ledger, so there is nothing to roll back to; deploy a release first` };
  }
  if (f.current.viaRollback) {
    return {
      ok: false,
      refusal: 'rollback-of-rollback',
      message: `${where} runs ${f.current.version} because of a rollback (execution ${f.current.executionId}); a rollback of a rollback is refused, ship a fixed release forward through the pipeline instead`,
    };
  }
  const running = f.executions.find((e) => e.type === 'ROLLBACK' && (e.status === 'InProgress' || e.status === 'Stopping'));
  if (running) {
    return {
      ok: false,
      refusal: 'rollback-in-progress',
      message: `${where} already has a rollback in progress (pipeline execution ${running.executionId}); a rollback of a rollback is refused, wait for it to finish`,
    };
  }
  const rollbackIds = new Set(f.executions.filter((e) => e.type === 'ROLLBACK').map((e) => e.executionId));
  const eligible = f.candidates.filter((c) => !c.wasRollback && !rollbackIds.has(c.executionId) && c.version !== f.current?.version);
  let target: RollbackCandidate | undefined;
  if (f.toVersion !== undefined) {
    if (f.toVersion === f.current.version) {
      return { ok: false, refusal: 'already-at-version', message: `${where} already runs ${f.toVersion}; nothing to roll back` };
    }
    target = eligible.find((c) => c.version === f.toVersion);
    if (!target) {
      const known = [...new Set(eligible.map((c) => c.version))].join(', ') || 'none';
      return {
        ok: false,
        refusal: 'unknown-version',
        message: `version ${f.toVersion} has no successful non-rollback deployment in ${where}; versions you can roll back to: ${known}`,
      };
    }
  } else {
    target = eligible[0];
    if (!target) {
      return { ok: false, refusal: 'no-previous-release', message: `${where} has no earlier successful release than ${f.current.version} to roll back to; fix forward instead` };
    }
  }
  if (f.executions.length > 0 && !f.executions.some((e) => e.executionId === target.executionId)) {
    return {
      ok: false,
      refusal: 'target-not-in-pipeline',
      message: `the ledger's target execution ${target.executionId} (${target.version}) is not in the pipeline's execution history any more; CodePipeline can only roll back to executions it still lists, deploy ${target.version} by re-running that release instead`,
    };
  }
  return { ok: true, target };
}

/** A DAG whose rollback would start catch-up runs. */
export interface CatchUpHazard {
  readonly dagId: string;
  readonly change: string;
}

/** Airflow catches up unless `catchup=False` (catchup_by_default is True on MWAA). */
function catchesUp(d: DagEntry): boolean {
  return d.catchup !== false;
}

/**
 * DAGs whose rollback from `current` to `target` would make the scheduler create catch-up runs:
 * a changed start_date or schedule, catchup switched on, or a removed DAG coming back, each while the
 * target's DAG catches up.
 */
export function catchUpHazards(current: readonly DagEntry[], target: readonly DagEntry[]): CatchUpHazard[] {
  const now = new Map(current.map((d) => [d.dagId, d]));
  const hazards: CatchUpHazard[] = [];
  for (const t of [...target].sort((a, b) => a.dagId.localeCompare(b.dagId))) {
    if (!catchesUp(t)) continue;
    const c = now.get(t.dagId);
    if (!c) {
      hazards.push({ dagId: t.dagId, change: `dag comes back (removed by the current release) with catchup on and start_date ${t.startDate ?? 'unset'}` });
      continue;
    }
    if (c.startDate !== t.startDate) hazards.push({ dagId: t.dagId, change: `start_date ${c.startDate ?? 'unset'} → ${t.startDate ?? 'unset'} with catchup on` });
    if (c.schedule !== t.schedule) hazards.push({ dagId: t.dagId, change: `schedule ${c.schedule ?? 'None'} → ${t.schedule ?? 'None'} with catchup on` });
    if (!catchesUp(c)) hazards.push({ dagId: t.dagId, change: 'catchup False → True' });
  }
  return hazards;
}

/** One data object the plan restores. */
export interface DataRestore {
  readonly name: string;
  readonly method: 'swap-back' | 'time-travel-clone';
  /** The point in time restored to (the recorded watermark). */
  readonly toTimestamp: string;
}

/** One data object left as it is, for a person to decide, with the exact timestamps. */
export interface DataForPerson {
  readonly name: string;
  readonly reason: string;
  readonly watermarkAt: string | null;
  readonly lastLoadAt: string | null;
}

/**
 * A DAG, in any repo, that reads or writes (or runs dbt on) a data object, as the cross-repo asset
 * graph links them (lib/runtime/rollback/dag-guard.ts `dagsTouching`).
 */
export interface DagTouch {
  readonly dagId: string;
  /** The repo whose DAG folder declares it. */
  readonly repo: string;
  /** Fully qualified name of the data object, upper case (e.g. ANALYTICS.CORE.STG_CLAIMS). */
  readonly object: string;
  readonly how: 'reads' | 'writes';
  /** The graph edge that links them, for people (e.g. `dataset snowflake://analytics/core/stg_claims`). */
  readonly via: string;
}

/**
 * Which DAGs touch the data a rollback may restore. `touches: null` when the cross-repo asset graph
 * could not be read (`unavailable` says why): then no data is restored (it goes to a person instead),
 * because DAGs of other repos could run during the restore.
 */
export type DataDagFacts =
  | { readonly repo: string; readonly touches: readonly DagTouch[]; readonly candidates?: readonly string[] }
  | { readonly repo: string; readonly touches: null; readonly unavailable: string; readonly candidates?: readonly string[] };

/** One DAG a rollback pauses before it restores anything, with its repo and why. */
export interface DagPause {
  readonly dagId: string;
  readonly repo: string;
  readonly reasons: readonly string[];
}

/** Why a DAG of the rolled-back repo is paused. */
export const OWN_DAG_REASON = 'its file or definition changes in the rollback';

/** What a rollback does, in order. There is no step that clears or triggers DAG runs. */
export interface RollbackPlan {
  readonly fromVersion: string;
  readonly toVersion: string;
  readonly targetExecutionId: string;
  /**
   * 1. DAGs paused before anything moves, each put back to its own prior paused state after the data
   * restore: the repo's DAGs whose files change, appear or disappear, and every DAG in any repo that
   * reads or writes an object the rollback restores (or may restore).
   */
  readonly pauseDags: readonly DagPause[];
  /** Why DAGs of other repos are not known (the asset graph could not be read); null when they are. */
  readonly pauseNote: string | null;
  /** 2. Code: the exact object set of the target release. */
  readonly putAssets: Readonly<Record<string, string>>;
  readonly deleteAssets: readonly string[];
  /** 3. Data restored (only objects the failed release changed, with no load since the watermark). */
  readonly dataRestores: readonly DataRestore[];
  /** 4. Data decisions for a person. */
  readonly dataForPerson: readonly DataForPerson[];
}

export type RollbackDecision =
  | { readonly ok: true; readonly plan: RollbackPlan }
  | { readonly ok: false; readonly refusal: RollbackRefusal; readonly message: string; readonly hazards?: readonly CatchUpHazard[] };

function dagsOfFiles(dags: readonly DagEntry[], files: ReadonlySet<string>): string[] {
  return dags.filter((d) => files.has(d.file)).map((d) => d.dagId);
}

function sameDag(a: DagEntry, b: DagEntry): boolean {
  return a.file === b.file && a.schedule === b.schedule && a.startDate === b.startDate && a.catchup === b.catchup;
}

/** Decides, per data object the failed release changed, whether to restore it or hand it to a person. */
export function decideData(objects: readonly DataObjectFact[]): { restores: DataRestore[]; forPerson: DataForPerson[] } {
  const restores: DataRestore[] = [];
  const forPerson: DataForPerson[] = [];
  for (const o of [...objects].sort((a, b) => a.name.localeCompare(b.name))) {
    if (!o.changedByFailedRelease) continue;
    if (o.watermarkAt === null) {
      forPerson.push({ name: o.name, reason: 'no load watermark was recorded before the release, so it cannot be shown that no load landed since; code rolled back, data left as it is', watermarkAt: null, lastLoadAt: o.lastLoadAt });
    } else if (o.lastLoadAt !== null && Date.parse(o.lastLoadAt) > Date.parse(o.watermarkAt)) {
      forPerson.push({
        name: o.name,
        reason: `a load landed at ${o.lastLoadAt}, after the watermark ${o.watermarkAt}; restoring would lose it, so code rolled back and data left as it is`,
        watermarkAt: o.watermarkAt,
        lastLoadAt: o.lastLoadAt,
      });
    } else {
      restores.push({ name: o.name, method: o.restoreMethod, toTimestamp: o.watermarkAt });
    }
  }
  return { restores, forPerson };
}

/**
 * The DAGs to pause around a data restore: `own` (DAG ids of the rolled-back repo whose files or
 * definitions change) and every DAG that touches one of `restored` (names, any case). Sorted by
 * repo then DAG id; a DAG listed twice gets every reason.
 */
export function dagsToPause(repo: string, own: readonly string[], restored: readonly string[], touches: readonly DagTouch[]): DagPause[] {
  const byId = new Map<string, { dagId: string; repo: string; reasons: string[] }>();
  const add = (dagId: string, r: string, reason: string): void => {
    const e = byId.get(dagId) ?? { dagId, repo: r, reasons: [] };
    if (!e.reasons.includes(reason)) e.reasons.push(reason);
    byId.set(dagId, e);
  };
  for (const id of own) add(id, repo, OWN_DAG_REASON);
  const names = new Set(restored.map((n) => n.toUpperCase()));
  for (const t of touches) if (names.has(t.object.toUpperCase())) add(t.dagId, t.repo, `${t.how} ${t.object.toUpperCase()}, which the rollback restores (${t.via})`);
  return [...byId.values()].sort((a, b) => a.repo.localeCompare(b.repo) || a.dagId.localeCompare(b.dagId));
}

/** The reason a restore is handed to a person when the DAGs that use the object cannot be known. */
export function graphUnavailableReason(why: string): string {
  return `the cross-repo asset graph is unavailable (${why}), so the DAGs in other repos that read or write it cannot be paused first; code rolled back, data left as it is`;
}

/**
 * Plans a rollback from `current` to `target`: refuses catch-up hazards, pauses the DAGs whose files
 * or definitions change and every DAG (in any repo) that touches restored data, puts back the
 * target's exact object set, and restores data only where safe: never without the asset graph.
 */
export function planRollback(current: ReleaseState, target: ReleaseState, data: readonly DataObjectFact[], dags: DataDagFacts): RollbackDecision {
  const hazards = catchUpHazards(current.dags, target.dags);
  if (hazards.length > 0) {
    return {
      ok: false,
      refusal: 'catch-up-hazard',
      hazards,
      message: `rolling back from ${current.version} to ${target.version} would start Airflow catch-up runs: ${hazards.map((h) => `${h.dagId}: ${h.change}`).join('; ')}; ship a forward fix that keeps start_date and schedule, or set catchup=False on these DAGs first`,
    };
  }
  const putAssets: Record<string, string> = {};
  for (const [path, sha] of Object.entries(target.assets)) if (current.assets[path] !== sha) putAssets[path] = sha;
  const deleteAssets = Object.keys(current.assets).filter((p) => !(p in target.assets)).sort();
  const touched = new Set([...Object.keys(putAssets), ...deleteAssets]);
  const targetDags = new Map(target.dags.map((d) => [d.dagId, d]));
  const changedDefs = current.dags.filter((d) => !targetDags.has(d.dagId) || !sameDag(d, targetDags.get(d.dagId) as DagEntry)).map((d) => d.dagId);
  // Only DAGs the scheduler knows now can be paused; DAGs the target brings back are caught by catchUpHazards.
  const currentIds = new Set(current.dags.map((d) => d.dagId));
  const own = [...new Set([...dagsOfFiles(current.dags, touched), ...dagsOfFiles(target.dags, touched).filter((id) => currentIds.has(id)), ...changedDefs])].sort();
  const decided = decideData(data);
  let restores = decided.restores;
  const forPerson = decided.forPerson;
  if (dags.touches === null && restores.length > 0) {
    const byName = new Map(data.map((o) => [o.name, o]));
    for (const r of restores) forPerson.push({ name: r.name, reason: graphUnavailableReason(dags.unavailable), watermarkAt: r.toTimestamp, lastLoadAt: byName.get(r.name)?.lastLoadAt ?? null });
    forPerson.sort((a, b) => a.name.localeCompare(b.name));
    restores = [];
  }
  const restored = [...restores.map((r) => r.name), ...(dags.candidates ?? [])];
  const pauseDags = dagsToPause(dags.repo, own, restored, dags.touches ?? []);
  return {
    ok: true,
    plan: {
      fromVersion: current.version,
      toVersion: target.version,
      targetExecutionId: target.executionId,
      pauseDags,
      pauseNote: dags.touches === null ? `DAGs of other repos that use the restored data are not known: ${graphUnavailableReason(dags.unavailable).replace(/^the /, '')}` : null,
      putAssets,
      deleteAssets,
      dataRestores: restores,
      dataForPerson: forPerson,
    },
  };
}

/** The asset set after carrying out a plan's code steps on `assets` (what the property tests check). */
export function applyCodeSteps(assets: Readonly<Record<string, string>>, plan: RollbackPlan): Record<string, string> {
  const out: Record<string, string> = { ...assets };
  for (const p of plan.deleteAssets) delete out[p];
  Object.assign(out, plan.putAssets);
  return out;
}

/** Everything for one rollback decision: the target choice and, given the target's state, the plan. */
export interface RollbackFacts extends TargetFacts {
  /** State of the env now (null when unknown). */
  readonly currentState: ReleaseState | null;
  /** Looks up the state of a candidate execution; null when the ledger has none. */
  readonly stateOf: (executionId: string) => ReleaseState | null;
  readonly data: readonly DataObjectFact[];
  /** DAGs (in any repo) that touch data objects, from the asset graph; null when it is unavailable. */
  readonly dagTouches: readonly DagTouch[] | null;
  /** Why the asset graph is unavailable, when `dagTouches` is null. @default - "not given" */
  readonly graphProblem?: string;
}

/** The whole decision: choose a target, then plan to it. */
export function decideRollback(f: RollbackFacts): RollbackDecision {
  const choice = chooseRollbackTarget(f);
  if (!choice.ok) return choice;
  const targetState = f.stateOf(choice.target.executionId);
  if (!f.currentState || !targetState) {
    const missing = !f.currentState ? `the current release (${f.current?.version})` : `the target release ${choice.target.version}`;
    return {
      ok: false,
      refusal: 'unknown-version',
      message: `the ledger holds no asset inventory for ${missing} of ${f.repo}/${f.env}, so the rollback cannot be planned safely; roll back by re-running that release's pipeline execution`,
    };
  }
  const dags: DataDagFacts = f.dagTouches === null ? { repo: f.repo, touches: null, unavailable: f.graphProblem ?? 'not given' } : { repo: f.repo, touches: f.dagTouches };
  return planRollback(f.currentState, targetState, f.data, dags);
}

/** A DAG's paused state as the environment reports it (`airflow dags list`). */
export interface DagState {
  readonly dagId: string;
  readonly paused: boolean;
}

/** What to do before the data restore: the prior states to record (first), then the DAGs to pause. */
export interface PauseDecision {
  /**
   * DAG id → paused state before any rollback touched it. Written (crash-safely) before the first
   * pause; a marker left by an earlier attempt wins, so a retry never takes its own pause for a
   * person's.
   */
  readonly priors: Readonly<Record<string, boolean>>;
  /** DAGs to pause now (in `priors` and not paused). */
  readonly pause: readonly string[];
  /** Wanted DAGs the environment does not list (not deployed there); nothing to pause. */
  readonly missing: readonly string[];
}

/**
 * Pause step of the DAG guard: records the prior state of every wanted DAG the environment lists
 * (keeping the marker's states from an attempt that crashed) and pauses those not paused.
 */
export function decidePause(listed: readonly DagState[], marker: Readonly<Record<string, boolean>> | null, wanted: readonly string[]): PauseDecision {
  const now = new Map(listed.map((d) => [d.dagId, d.paused]));
  const priors: Record<string, boolean> = { ...(marker ?? {}) };
  const missing: string[] = [];
  for (const id of [...new Set(wanted)].sort()) {
    if (id in priors) continue;
    const p = now.get(id);
    if (p === undefined) missing.push(id);
    else priors[id] = p;
  }
  const pause = Object.keys(priors)
    .filter((id) => now.get(id) === false)
    .sort();
  return { priors, pause, missing };
}

/**
 * Resume step of the DAG guard: each DAG back to its recorded prior state. A DAG that was paused
 * before (by a person) stays paused; only DAGs the rollback paused are unpaused. Never a run.
 */
export function decideResume(listed: readonly DagState[], priors: Readonly<Record<string, boolean>>): Array<{ readonly dagId: string; readonly paused: boolean }> {
  const now = new Map(listed.map((d) => [d.dagId, d.paused]));
  return Object.entries(priors)
    .filter(([id, prior]) => now.has(id) && now.get(id) !== prior)
    .map(([dagId, paused]) => ({ dagId, paused }))
    .sort((a, b) => a.dagId.localeCompare(b.dagId));
}
