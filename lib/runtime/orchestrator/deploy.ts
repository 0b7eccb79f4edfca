import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { AssetKind, EnvironmentConfig, EnvironmentName } from '../../config/schema';
import type { ApprovalEvidence, DeployContext, Deployer } from '../deployers/contract';
import { DeployError, DeployRefusedError } from '../deployers/errors';
import { recordedPrevious, runDeployStep } from '../deployers/step';
import type { Ledger } from '../ledger/ledger';
import type { DeploymentEvent } from '../ledger/model';
import { checkRelease, RELEASE_MANIFEST_FILE } from '../release/checksums';
import type { ReleaseManifest } from '../release/manifest';
import { verifyQualityGates, rowCounterOf, type QualityGateOptions, type QualityGateOutcome } from './quality-gates';
import { planRollback, type DataDagFacts, type ReleaseState, type RollbackPlan } from '../rollback-plan/logic';
import { restoreTargetsOf, type RestoreTarget } from '../rollback/dag-guard';
import { dagFactsFor, restoreWithDagsPaused, type RollbackDataDeps } from '../rollback/data-restore';

/** Any deployer, whatever its state types. */
export type AnyDeployer = Deployer<unknown, unknown, unknown>;
/** The deployers available for a run, by asset kind. */
export type DeployerSet = ReadonlyMap<AssetKind, AnyDeployer>;

/**
 * Order in which kinds deploy: infrastructure first, then what runs on it, DAGs last so they never
 * reference an image or model that is not there yet.
 */
export const DEPLOY_ORDER: readonly AssetKind[] = ['terraform', 'spark', 'dbt', 'airflow', 'python', 'sql'];
/**
 * Order in a rollback: DAGs first (their deployer pauses the DAGs whose files change while it puts the
 * earlier files back), then the data side (restored with every DAG that uses the data paused, in any
 * repo: lib/runtime/rollback/data-restore.ts), then the rest.
 */
export const ROLLBACK_ORDER: readonly AssetKind[] = ['airflow', 'dbt', 'spark', 'terraform', 'python', 'sql'];

/** A release read from disk and checked against its manifest. */
export interface ReleaseOnDisk {
  readonly manifest: ReleaseManifest;
  readonly manifestSha256: string;
  readonly releaseDir: string;
}

/** Reads the release next to `manifestPath` and checks every artifact's sha256; fails naming each problem. */
export function loadRelease(manifestPath: string): ReleaseOnDisk {
  const releaseDir = path.dirname(path.resolve(manifestPath));
  if (!fs.existsSync(manifestPath)) {
    throw new DeployError(`release manifest ${manifestPath} does not exist; pass --release with the release-manifest.json the Package action wrote`);
  }
  const files = new Map<string, Uint8Array>([[RELEASE_MANIFEST_FILE, fs.readFileSync(manifestPath)]]);
  const peek = checkRelease(files);
  for (const a of peek.manifest?.artifacts ?? []) {
    const p = path.join(releaseDir, a.file);
    if (fs.existsSync(p)) files.set(a.file, fs.readFileSync(p));
  }
  const check = checkRelease(files);
  if (!check.ok) throw new DeployError(`release at ${releaseDir} cannot be deployed: ${check.problems.join('; ')}`);
  return { manifest: check.manifest, manifestSha256: check.manifestSha256, releaseDir };
}

/** Who runs the orchestration, with what. */
export interface OrchestratorDeps {
  readonly ledger: Ledger;
  readonly deployers: DeployerSet;
  /** CodePipeline execution id; locks and idempotency are keyed by it. */
  readonly executionId: string;
  /** IAM principal or person, as recorded in the ledger. */
  readonly actor: string;
  readonly log: (line: string) => void;
  /**
   * The cross-repo asset graph registry and the MWAA DAG guard a rollback's data restore needs.
   * @default - none: a rollback that would restore data skips the restore and reports it for a person
   */
  readonly rollbackData?: RollbackDataDeps;
  /**
   * The manual approval the execution passed for this environment (`dataops deploy` checks it in
   * staging and prod: approval-gate.ts); deployers read it, e.g. for a Terraform policy override.
   * @default - none
   */
  readonly approval?: ApprovalEvidence | null;
  /**
   * The approval gate (approval-gate.ts requireApproval), run under the lock before anything is
   * deployed; its refusal is recorded as a refused deployment and nothing is deployed. `dataops
   * deploy` always sets it. @default - no check (callers that checked the approval themselves)
   */
  readonly approvalGate?: () => Promise<ApprovalEvidence | null>;
}

/** One kind's part of a deployment. */
export interface StepOutcome {
  readonly kind: AssetKind;
  readonly step: 'apply' | 'restore' | 'skipped';
  readonly writes: number;
  readonly summary: string;
  readonly replayed: boolean;
}

/** What `deployRelease` did. */
export interface DeployOutcome {
  readonly status: 'deployed' | 'replayed';
  readonly version: string;
  readonly writes: number;
  readonly isRollback: boolean;
  readonly rollbackPlan: RollbackPlan | null;
  readonly steps: readonly StepOutcome[];
  /** Data decisions left to a person (exact objects and timestamps). */
  readonly forPerson: readonly string[];
}

/** The repo/env lock is held by another execution. */
export class DeployLockedError extends DeployError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DeployLockedError';
  }
}

function context(release: ReleaseOnDisk, env: EnvironmentName, environment: EnvironmentConfig, log: (l: string) => void): DeployContext {
  return { repo: release.manifest.repo, env, environment, release: release.manifest, releaseDir: release.releaseDir, log };
}

/** The deploy context with the approval and a recorder of the deployers' notes (ledger `deploy-note` events of this execution). */
function deployContext(release: ReleaseOnDisk, env: EnvironmentName, environment: EnvironmentConfig, deps: OrchestratorDeps, approval: ApprovalEvidence | null): DeployContext {
  const m = release.manifest;
  return {
    ...context(release, env, environment, deps.log),
    approval,
    record: async (note) => {
      await deps.ledger.appendEvent({ repo: m.repo, env, actor: deps.actor, version: m.version, executionId: deps.executionId, kind: 'deploy-note', ...note });
    },
  };
}

function stateOfManifest(m: ReleaseManifest, executionId: string): ReleaseState {
  return { version: m.version, executionId, assets: Object.fromEntries(m.assets.map((a) => [a.path, a.sha256])), dags: m.dags };
}

/**
 * The decision, for a person, that a rollback redeploy did not rebuild the models the release marks
 * for rebuild: names the models, the release replaced, when, and what the restore said about each table.
 */
function modelRebuildsSkipped(version: string, env: string, models: readonly string[], replacedVersion: string | null, at: string, restoreDecisions: readonly string[]): string {
  const restore = restoreDecisions.length > 0 ? `; the data restore left ${restoreDecisions.length} table(s) for a person (see the decisions above)` : '';
  return (
    `dbt: the rollback redeploy of ${version} to ${env} at ${at} did not rebuild ${models.join(', ')} (marked for rebuild by ${version}) on the live tables` +
    `${replacedVersion ? `, which keep their data as ${replacedVersion} and any later loads left it` : ''}${restore}; ` +
    `a rebuild on data loaded since could duplicate an incremental model's rows, so if the older logic must apply, rebuild these models by hand (e.g. dbt run --full-refresh --select ...) after checking the loads`
  );
}

/**
 * The deployment this release replaces when it is a redeploy of an earlier release (a rollback):
 * the newest deployment to the env by another execution of another version.
 */
async function releaseBeingReplaced(deps: OrchestratorDeps, repo: string, env: string, version: string): Promise<DeploymentEvent | null> {
  const since = new Date(Date.now() - 30 * 86_400_000).toISOString();
  const events = await deps.ledger.eventsFor(repo, env, { from: since });
  const deployments = events.filter((e): e is DeploymentEvent => e.kind === 'deployment' && e.executionId !== deps.executionId && e.version !== version && e.result !== 'refused');
  return deployments.at(-1) ?? null;
}

/**
 * `dataops deploy`: takes the repo/env lock for the pipeline execution, runs every kind's deployer
 * (read current → plan → apply only the difference → record what was there before) through the
 * ledger's idempotent steps, and records the deployment. A retried job of an execution that already
 * deployed does nothing. A redeploy of an earlier release is a rollback: it is refused if it would
 * start Airflow catch-up runs, and it restores the data side the replaced release recorded.
 */
export async function deployRelease(release: ReleaseOnDisk, env: EnvironmentName, environment: EnvironmentConfig, deps: OrchestratorDeps): Promise<DeployOutcome> {
  const m = release.manifest;
  const action = `deploy:${env}`;
  const owner = `${deps.executionId}/${randomUUID()}`;
  const claim = await deps.ledger.claim(deps.executionId, action, owner);
  if (claim.status === 'completed') {
    deps.log(`${m.repo} ${m.version} was already deployed to ${env} by execution ${deps.executionId}; nothing to do`);
    return { status: 'replayed', version: m.version, writes: 0, isRollback: false, rollbackPlan: null, steps: [], forPerson: [] };
  }
  if (claim.status === 'in-progress') {
    throw new DeployLockedError(`deploy of ${m.repo} to ${env} for execution ${deps.executionId} is running in another job (${claim.owner}) until ${new Date(claim.expiresAt * 1000).toISOString()}; wait for it`);
  }
  const lock = await deps.ledger.acquireLock(m.repo, env, deps.executionId);
  if (!lock.acquired) {
    await deps.ledger.settleClaim(deps.executionId, action, owner, 'failed', { error: 'locked' });
    throw new DeployLockedError(
      `${m.repo}/${env} is locked by pipeline execution ${lock.holder} until ${new Date(lock.expiresAt * 1000).toISOString()}; two deployments of one repo to one environment cannot run at once, retry when it has finished`,
    );
  }
  const base = { repo: m.repo, env, actor: deps.actor, version: m.version, executionId: deps.executionId };
  try {
    const approval = deps.approvalGate ? await deps.approvalGate() : (deps.approval ?? null);
    if (approval) {
      deps.log(`approval: ${approval.stageName}/${approval.actionName} of execution ${approval.approvedExecutionId} approved by ${approval.approver ?? 'an approver CodePipeline does not name'} at ${approval.at ?? 'an unknown time'}`);
    }
    const ctx = deployContext(release, env, environment, deps, approval);
    const execution = await deps.ledger.getExecution(deps.executionId, env);
    const successes = await deps.ledger.successes(m.repo, env, 50);
    const current = await deps.ledger.getCurrent(m.repo, env);
    const deployedBefore = successes.some((s) => s.version === m.version);
    const isRollback = execution?.isRollback === true || (current !== null && current.version !== m.version && deployedBefore);

    let rollbackPlan: RollbackPlan | null = null;
    let replaced: DeploymentEvent | null = null;
    // The tables the replaced release swapped in (what the data restore may swap back) and the DAGs, in any repo, that touch them.
    let restoreTargets: RestoreTarget[] = [];
    let dagFacts: DataDagFacts = { repo: m.repo, touches: [] };
    if (isRollback) {
      replaced = await releaseBeingReplaced(deps, m.repo, env, m.version);
      const replacedExec = replaced?.executionId ? await deps.ledger.getExecution(replaced.executionId, env) : null;
      if (replaced?.executionId) {
        restoreTargets = restoreTargetsOf(await recordedPrevious(deps.ledger, ctx, replaced.executionId, 'dbt'));
        dagFacts = await dagFactsFor(m.repo, restoreTargets, deps.rollbackData?.registry);
      }
      if (replaced && replacedExec) {
        const from: ReleaseState = { version: replacedExec.version, executionId: replacedExec.executionId, assets: replacedExec.assets, dags: replacedExec.dags };
        const decision = planRollback(from, stateOfManifest(m, deps.executionId), [], dagFacts);
        if (!decision.ok) {
          await deps.ledger.appendEvent({ ...base, kind: 'rollback-step', result: 'refused', step: 'plan', target: m.version, message: decision.message });
          throw new DeployRefusedError(decision.message);
        }
        rollbackPlan = decision.plan;
        await deps.ledger.appendEvent({
          ...base,
          kind: 'rollback-step',
          result: 'succeeded',
          step: 'plan',
          target: m.version,
          message: `redeploy of ${m.version} replaces ${replacedExec.version}: pause ${rollbackPlan.pauseDags.map((d) => `${d.repo}/${d.dagId}`).join(', ') || 'no DAGs'}, restore ${Object.keys(rollbackPlan.putAssets).length} and remove ${rollbackPlan.deleteAssets.length} assets${rollbackPlan.pauseNote ? `; ${rollbackPlan.pauseNote}` : ''}`,
        });
      }
    }

    const steps: StepOutcome[] = [];
    const forPerson: string[] = [];
    const order = isRollback ? ROLLBACK_ORDER : DEPLOY_ORDER;
    const kinds = order.filter((k) => m.assets.some((a) => a.kind === k) || (k === 'spark' && m.sparkImages.length > 0) || (k === 'terraform' && m.terraform !== null));
    for (const kind of kinds) {
      const deployer = deps.deployers.get(kind);
      if (!deployer) {
        if (kind === 'python' || kind === 'sql') {
          steps.push({ kind, step: 'skipped', writes: 0, summary: `${kind} files ship inside the release for audit; no deployer targets them`, replayed: false });
          continue;
        }
        throw new DeployError(`release ${m.version} has ${kind} assets but no ${kind} deployer is available; add it to lib/runtime/deployers/registry.ts or remove the kind from the repo`);
      }
      const stepDeps = { ledger: deps.ledger, executionId: deps.executionId, actor: deps.actor };
      // The data side of a rollback: put back what the replaced release recorded before it applied.
      if (isRollback && replaced?.executionId) {
        const previous = await recordedPrevious(deps.ledger, ctx, replaced.executionId, kind);
        if (previous !== null && kind === 'dbt') {
          // Every DAG that touches the restored tables, in any repo, is paused around the restore (or, when they cannot be known, the data is not restored).
          const r = await restoreWithDagsPaused({ deployer, previous, ctx, stepDeps, ledger: deps.ledger, base, targets: restoreTargets, facts: dagFacts, pauseDags: rollbackPlan?.pauseDags ?? [], data: deps.rollbackData });
          steps.push({ kind, step: 'restore', writes: r.writes, summary: r.summary, replayed: r.replayed });
          for (const line of r.forPerson) {
            forPerson.push(line);
            await deps.ledger.appendEvent({ ...base, kind: 'rollback-step', result: 'skipped', step: 'data-for-person', target: kind, message: line });
          }
        }
      }
      // Data safety: a rollback redeploy never rebuilds dbt models on the live tables. The data side of a
      // rollback is the restore above (swap back / Time Travel) or a person's decision; rebuilding the
      // older release's marked models on a table a later load wrote to could duplicate an incremental
      // model's rows.
      const skipped = isRollback && kind === 'dbt' ? (m.dbt?.modelsToRebuild ?? []) : [];
      const stepCtx = { ...(skipped.length > 0 && m.dbt ? { ...ctx, release: { ...m, dbt: { ...m.dbt, modelsToRebuild: [] } } } : ctx), isRollback };
      if (skipped.length > 0) {
        const line = modelRebuildsSkipped(m.version, env, skipped, replaced?.version ?? null, new Date().toISOString(), forPerson);
        forPerson.push(line);
        deps.log(line);
        await deps.ledger.appendEvent({ ...base, kind: 'rollback-step', result: 'skipped', step: 'dbt-rebuild-skipped', target: skipped.join(', '), message: line });
      }
      deps.log(`${kind}: deploying ${m.version} to ${env}`);
      const r = await runDeployStep(deployer, stepCtx, stepDeps);
      steps.push({ kind, step: 'apply', writes: r.writes, summary: r.summary, replayed: r.replayed });
      forPerson.push(...r.forPerson);
      deps.log(`${r.summary.startsWith(`${kind}:`) ? '' : `${kind}: `}${r.summary} (${r.writes} writes${r.replayed ? ', done by an earlier attempt' : ''})`);
    }
    const writes = steps.reduce((n, s) => n + s.writes, 0);
    await deps.ledger.appendEvent({
      ...base,
      kind: 'deployment',
      result: 'succeeded',
      message: `${m.version} deployed to ${env}${isRollback ? ' (rollback)' : ''}: ${writes} writes`,
      manifestSha256: release.manifestSha256,
      writes,
      isRollback,
      commitAt: m.createdAt,
    });
    await deps.ledger.putReleaseStatus({ repo: m.repo, env, version: m.version, status: 'deployed', manifestSha256: release.manifestSha256, executionId: deps.executionId });
    const outcome: DeployOutcome = { status: 'deployed', version: m.version, writes, isRollback, rollbackPlan, steps, forPerson };
    await deps.ledger.settleClaim(deps.executionId, action, owner, 'completed', { writes, isRollback });
    return outcome;
  } catch (e) {
    const refused = e instanceof DeployRefusedError;
    await deps.ledger
      .appendEvent({ ...base, kind: 'deployment', result: refused ? 'refused' : 'failed', message: (e as Error).message, manifestSha256: release.manifestSha256, writes: 0, isRollback: false, commitAt: m.createdAt })
      .catch(() => undefined);
    await deps.ledger.settleClaim(deps.executionId, action, owner, 'failed', { error: (e as Error).message }).catch(() => undefined);
    await deps.ledger.releaseLock(m.repo, env, deps.executionId).catch(() => undefined);
    throw e;
  }
}

/** One kind's verification. */
export interface VerifyResult {
  readonly kind: AssetKind;
  readonly ok: boolean;
  readonly problems: readonly string[];
}

/** What `verifyRelease` found. */
export interface VerifyOutcome {
  readonly ok: boolean;
  readonly version: string;
  readonly results: readonly VerifyResult[];
  /** The data-quality gates (staging and prod; `not-run` in dev and without dbt assets). */
  readonly gates: QualityGateOutcome;
}

/**
 * `dataops verify`: runs every kind's verify (import errors, image presence, run state) and, in
 * staging and prod, the data-quality gates (quality-gates.ts), records a verification per kind, one
 * for the gates and one for the release, marks the release verified (or failed) in the env, and
 * releases the repo/env lock the execution holds.
 */
export async function verifyRelease(
  release: ReleaseOnDisk,
  env: EnvironmentName,
  environment: EnvironmentConfig,
  deps: OrchestratorDeps,
  gateOptions: QualityGateOptions = {},
): Promise<VerifyOutcome> {
  const m = release.manifest;
  const base = { repo: m.repo, env, actor: deps.actor, version: m.version, executionId: deps.executionId };
  const results: VerifyResult[] = [];
  try {
    // A rollback redeploy did not rebuild dbt models (deployRelease), so verify does not expect them rebuilt.
    const own = await deps.ledger.eventsFor(m.repo, env, { executionId: deps.executionId });
    const wasRollback = own.some((e) => e.kind === 'deployment' && e.result === 'succeeded' && e.isRollback);
    const full = context(release, env, environment, deps.log);
    const ctx = wasRollback && m.dbt ? { ...full, release: { ...m, dbt: { ...m.dbt, modelsToRebuild: [] } } } : full;
    for (const kind of DEPLOY_ORDER) {
      const deployer = deps.deployers.get(kind);
      const has = m.assets.some((a) => a.kind === kind) || (kind === 'spark' && m.sparkImages.length > 0) || (kind === 'terraform' && m.terraform !== null);
      if (!has || !deployer) continue;
      let r: { ok: boolean; problems: string[] };
      try {
        r = await deployer.verify(ctx);
      } catch (e) {
        r = { ok: false, problems: [`${kind} verification could not run: ${(e as Error).message}`] };
      }
      results.push({ kind, ok: r.ok, problems: r.problems });
      await deps.ledger.appendEvent({ ...base, kind: 'verification', assetKind: kind, result: r.ok ? 'succeeded' : 'failed', problems: r.problems, message: r.ok ? `${kind} verified` : `${kind}: ${r.problems.join('; ')}` });
      deps.log(`${kind}: ${r.ok ? 'ok' : r.problems.join('; ')}`);
    }
    const gates = await verifyQualityGates(full, deps, { ...gateOptions, isRollback: wasRollback, rowCounter: rowCounterOf(deps.deployers.get('dbt')) });
    const ok = results.every((r) => r.ok) && gates.status !== 'failed';
    const problems = [...results.flatMap((r) => r.problems.map((p) => `${r.kind}: ${p}`)), ...gates.findings.filter((f) => f.severity === 'error').map((f) => `gates: ${f.message}`)];
    await deps.ledger.appendEvent({ ...base, kind: 'verification', assetKind: null, result: ok ? 'succeeded' : 'failed', problems, message: ok ? `${m.version} verified in ${env}` : `${m.version} failed verification in ${env}` });
    await deps.ledger.putReleaseStatus({ repo: m.repo, env, version: m.version, status: ok ? 'verified' : 'failed', manifestSha256: release.manifestSha256, executionId: deps.executionId });
    return { ok, version: m.version, results, gates };
  } finally {
    await deps.ledger.releaseLock(m.repo, env, deps.executionId);
  }
}
