import { MWAAClient } from '@aws-sdk/client-mwaa';
import { S3Client } from '@aws-sdk/client-s3';
import type { EnvironmentName, PlatformConfig } from '../../config/schema';
import { buildAssetGraph } from '../../checks/graph/graph';
import { openRegistry, type FragmentRegistry } from '../../checks/graph/registry';
import type { DeployContext, Deployer } from '../deployers/contract';
import type { AwsCredentialIdentity } from '../deployers/registry';
import { runRestoreStep, type StepDeps } from '../deployers/step';
import type { Ledger } from '../ledger/ledger';
import { MwaaCliClient } from '../mwaa/cli-client';
import { dagsToPause, graphUnavailableReason, type DagPause, type DataDagFacts } from '../rollback-plan/logic';
import { DagGuard, dagsTouching, type RestoreTarget } from './dag-guard';

/** Environment variable that names the cross-repo asset graph registry (folder or s3://bucket/prefix). */
export const GRAPH_REGISTRY_ENV = 'DATAOPS_GRAPH_REGISTRY';

/** What the data side of a rollback needs to pause the DAGs that use the restored data. */
export interface RollbackDataDeps {
  /** The cross-repo asset graph registry; null when none is configured. */
  readonly registry: FragmentRegistry | null;
  /** Pauses and resumes DAGs in the environment's MWAA; null when the environment cannot be reached. */
  readonly guard: DagGuard | null;
}

/**
 * Builds the registry (from `--registry`, else $DATAOPS_GRAPH_REGISTRY; read with the build's own
 * credentials, it lives in the tooling account) and the DAG guard (MWAA CLI and DAG bucket of the
 * environment, with the deploy role's credentials).
 */
export function createRollbackDataDeps(rt: {
  readonly config: PlatformConfig;
  readonly env: EnvironmentName;
  readonly region: string;
  readonly targetCredentials?: AwsCredentialIdentity;
  readonly registry?: string;
  readonly processEnv?: NodeJS.ProcessEnv;
}): RollbackDataDeps {
  const spec = rt.registry ?? (rt.processEnv ?? process.env)[GRAPH_REGISTRY_ENV];
  const environment = rt.config.environments[rt.env];
  const target = { region: rt.region, ...(rt.targetCredentials ? { credentials: rt.targetCredentials } : {}) };
  return {
    registry: spec ? openRegistry(spec, { s3Client: new S3Client({ region: rt.region }) }) : null,
    guard: new DagGuard({
      airflow: new MwaaCliClient({ mwaa: new MWAAClient(target), environmentName: environment.mwaa.environmentName }),
      s3: new S3Client(target),
      bucket: environment.mwaa.dagBucket,
    }),
  };
}

/**
 * Which DAGs, in any repo, touch `targets`, from every fragment in the registry; `touches: null`
 * with the reason when there is no registry (`noRegistry` says why) or it cannot be read.
 */
export async function dagFactsFor(repo: string, targets: readonly RestoreTarget[], registry: FragmentRegistry | null | undefined, noRegistry?: string): Promise<DataDagFacts> {
  const candidates = targets.map((t) => t.name);
  // Nothing to restore: no DAG of another repo needs finding.
  if (targets.length === 0) return { repo, touches: [], candidates };
  if (!registry) {
    return { repo, touches: null, candidates, unavailable: noRegistry ?? `no asset graph registry is configured; pass dataops deploy --registry or set ${GRAPH_REGISTRY_ENV} to the registry the Package steps publish to` };
  }
  try {
    const graph = buildAssetGraph(await registry.list());
    return { repo, touches: dagsTouching(graph, targets), candidates };
  } catch (e) {
    return { repo, touches: null, candidates, unavailable: `the registry ${registry.location} cannot be read: ${(e as Error).message}` };
  }
}

/** One line for a person about a table whose data the rollback did not restore, with every timestamp. */
export function restoreSkippedLine(t: RestoreTarget, repo: string, version: string, at: string, why: string): string {
  return (
    `${t.name}: the rollback of ${repo} to ${version} at ${at} did not restore its data: ${graphUnavailableReason(why)}. ` +
    `Release ${t.failedVersion} swapped it in at ${t.swappedAt ?? 'an unrecorded time'} (watermark before it ${t.watermarkAt}, pre-deploy time ${t.preDeployAt ?? 'not recorded'}); ` +
    `the data from before is in ${t.keptAs}. If no load landed after the swap, pause every DAG that reads or writes ${t.name}, then restore by hand with: ${t.swapStatement}`
  );
}

/** What the guarded restore did. */
export interface GuardedRestoreOutcome {
  readonly writes: number;
  readonly summary: string;
  readonly replayed: boolean;
  readonly forPerson: readonly string[];
}

/** Inputs of {@link restoreWithDagsPaused}. */
export interface GuardedRestoreInput {
  readonly deployer: Deployer<unknown, unknown, unknown>;
  readonly previous: unknown;
  readonly ctx: DeployContext;
  readonly stepDeps: StepDeps;
  readonly ledger: Ledger;
  /** Event fields shared by the rollback's ledger records (repo, env, actor, version, executionId). */
  readonly base: { readonly repo: string; readonly env: EnvironmentName; readonly actor: string; readonly version: string; readonly executionId: string };
  readonly targets: readonly RestoreTarget[];
  readonly facts: DataDagFacts;
  /** The DAGs the rollback plan pauses (this repo's changed DAGs and every DAG touching a target). */
  readonly pauseDags: readonly DagPause[];
  readonly data: RollbackDataDeps | undefined;
}

/**
 * The data restore of a rollback with the DAGs that use the data paused:
 * 1. no swapped tables: the deployer's restore as before (published artifacts only);
 * 2. the DAGs that touch them cannot be known (no registry, unreadable registry, no MWAA CLI): no
 *    data is restored; each table goes to a person with its times and the exact SWAP statement;
 * 3. otherwise: take this rollback's hold on each DAG (the first holder records its prior paused
 *    state, crash-safely), pause, restore, let go of the holds: a DAG goes back to its prior state
 *    when no other run holds it. If the restore fails the DAGs stay held; the retry finishes it.
 * Every pause, resume and skipped restore is a `rollback-step` in the ledger.
 */
export async function restoreWithDagsPaused(i: GuardedRestoreInput): Promise<GuardedRestoreOutcome> {
  const { ctx, ledger, base } = i;
  const record = (step: string, result: 'started' | 'succeeded' | 'skipped' | 'failed', target: string, message: string) =>
    ledger.appendEvent({ ...base, kind: 'rollback-step', step, result, target, message });
  if (i.targets.length === 0) return runRestoreStep(i.deployer, i.previous, ctx, i.stepDeps);
  const guard = i.data?.guard ?? null;
  const pauses = i.facts.touches === null ? [] : i.pauseDags.length > 0 ? i.pauseDags : dagsToPause(base.repo, [], i.targets.map((t) => t.name), i.facts.touches);
  if (i.facts.touches === null || (guard === null && pauses.length > 0)) {
    const why = i.facts.touches === null ? i.facts.unavailable : `no Airflow CLI of the environment to pause ${pauses.map((p) => `${p.repo}/${p.dagId}`).join(', ')} with`;
    const at = new Date().toISOString();
    const lines = i.targets.map((t) => restoreSkippedLine(t, base.repo, base.version, at, why));
    for (const [n, t] of i.targets.entries()) {
      ctx.log(lines[n]);
      await record('data-restore-skipped', 'skipped', t.name, lines[n]);
    }
    return { writes: 0, summary: `dbt: data restore skipped for ${i.targets.map((t) => t.name).join(', ')}: ${graphUnavailableReason(why)}`, replayed: false, forPerson: lines };
  }
  if (guard === null || pauses.length === 0) {
    await record('dag-paused', 'skipped', i.targets.map((t) => t.name).join(', '), `no DAG in any repo of the asset graph reads or writes ${i.targets.map((t) => t.name).join(', ')}, and none of ${base.repo} changes; nothing to pause for the data restore`);
    return runRestoreStep(i.deployer, i.previous, ctx, i.stepDeps);
  }
  const why = new Map(pauses.map((p) => [p.dagId, p]));
  // A retry after the restore completed only has the resume left: pausing again would stop DAGs for nothing.
  const own = await ledger.eventsFor(base.repo, base.env, { executionId: base.executionId });
  const restored = own.some((e) => e.kind === 'deploy-step' && e.assetKind === i.deployer.kind && e.step === 'restore' && e.result === 'succeeded');
  const { guarded, missing } = restored ? { guarded: [], missing: [] } : await guard.pause(base.repo, base.executionId, pauses, ctx.log);
  let writes = 0;
  for (const g of guarded) {
    const p = why.get(g.dagId);
    writes += g.changed ? 1 : 0;
    const held = g.others.length > 0 ? `; also held by ${g.others.join(', ')}` : '';
    await record('dag-paused', 'succeeded', g.dagId, `${g.changed ? 'paused' : 'kept paused'} DAG ${g.dagId} of ${p?.repo ?? 'an earlier attempt'} before the data restore (prior state: ${g.prior ? 'paused' : 'unpaused'}${held})${p ? `: ${p.reasons.join('; ')}` : ''}`);
  }
  for (const id of missing) await record('dag-paused', 'skipped', id, `DAG ${id} of ${why.get(id)?.repo ?? '?'} is not listed by the environment, so there is nothing to pause`);
  const r = await runRestoreStep(i.deployer, i.previous, ctx, i.stepDeps);
  const resumed = await guard.resume(base.repo, base.executionId, ctx.log);
  for (const g of resumed) {
    writes += g.changed ? 1 : 0;
    const message =
      g.others.length > 0
        ? `DAG ${g.dagId} left paused after the data restore: ${g.others.join(', ')} still hold it; the last of them puts it back to ${g.prior ? 'paused' : 'unpaused'}, its state before the first pause`
        : `DAG ${g.dagId} ${g.changed ? 'put back to' : 'left'} ${g.prior ? 'paused' : 'unpaused'}, its state before the first pause, after the data restore`;
    await record('dag-resumed', 'succeeded', g.dagId, message);
  }
  return { writes: r.writes + writes, summary: `${r.summary}; ${guarded.length} DAG(s) paused for it and put back to their prior state`, replayed: r.replayed, forPerson: r.forPerson };
}
