import type { Finding } from '../../findings';
import type { AirflowDag, RepoInventory } from '../../inventory/types';
import type { CheckContext } from '../context';
import { datasetUris, nodeKey, normaliseUri, type AssetGraph } from '../graph';
import { finding } from './util';

interface DagDecl {
  readonly repo: string;
  readonly dag: AirflowDag;
}

function declarations(inventories: Iterable<RepoInventory>): Map<string, DagDecl[]> {
  const out = new Map<string, DagDecl[]>();
  for (const inv of inventories) {
    for (const dag of inv.airflow) {
      if (dag.id.value === null) continue;
      const list = out.get(dag.id.value);
      if (list) list.push({ repo: inv.repo, dag });
      else out.set(dag.id.value, [{ repo: inv.repo, dag }]);
    }
  }
  return out;
}

/** DAG_DUPLICATE_ID: one DAG id declared in two files or two repos (Airflow keeps only one). */
export function checkDagDuplicates(ctx: CheckContext): Finding[] {
  const out: Finding[] = [];
  for (const [id, decls] of declarations(ctx.graph.inventories.values())) {
    const places = new Map(decls.map((d) => [`${d.repo}/${d.dag.file}`, d]));
    if (places.size < 2) continue;
    // With a base, a declaration that was already there is not reported when another one is new:
    // the new file is what the change must fix.
    const existedAtBase = (d: DagDecl): boolean =>
      ctx.base.has(d.repo) && (ctx.base.get(d.repo)?.airflow.some((b) => b.id.value === id && b.file === d.dag.file) ?? false);
    const anyNew = [...places.values()].some((d) => ctx.local.has(d.repo) && !existedAtBase(d));
    for (const d of places.values()) {
      if (!ctx.local.has(d.repo)) continue;
      if (anyNew && existedAtBase(d)) continue;
      const others = [...places.keys()].filter((p) => p !== `${d.repo}/${d.dag.file}`);
      out.push(
        finding({
          code: 'DAG_DUPLICATE_ID',
          severity: 'error',
          asset: `airflow:${id}`,
          repo: d.repo,
          file: d.dag.file,
          line: d.dag.line,
          message: `DAG id '${id}' is also declared in ${others.join(', ')}; Airflow keeps only one of them, so rename one`,
          downstream: ctx.graph.downstream([nodeKey(d.repo, `airflow:${id}`)]),
        }),
      );
    }
  }
  return out;
}

function dagExisted(base: AssetGraph | null, id: string): boolean {
  return Boolean(base?.dagsById.has(id));
}

function hasTask(dags: readonly DagDecl[], taskId: string): boolean {
  return dags.some((d) => d.dag.tasks.some((t) => t.id.value === taskId || (t.id.value?.startsWith(`${taskId}.`) ?? false)));
}

/**
 * DAG_REF_MISSING_DAG / DAG_REF_MISSING_TASK: ExternalTaskSensor, ExternalTaskMarker and
 * TriggerDagRunOperator references to a DAG or task that no known repo declares. A DAG that is in
 * none of the known repos is "outside the known repos" (a warning; an error with --strict), unless
 * it existed at the base ref, in which case this change removed it.
 */
export function checkDagRefs(ctx: CheckContext): Finding[] {
  const out: Finding[] = [];
  const decls = declarations(ctx.graph.inventories.values());
  const baseDecls = ctx.baseGraph ? declarations(ctx.baseGraph.inventories.values()) : new Map<string, DagDecl[]>();
  const localBaseDagIds = new Set<string>();
  for (const repo of ctx.local) for (const d of ctx.base.get(repo)?.airflow ?? []) if (d.id.value) localBaseDagIds.add(d.id.value);
  for (const inv of ctx.graph.inventories.values()) {
    for (const dag of inv.airflow) {
      const dagKey = dag.id.value ? nodeKey(inv.repo, `airflow:${dag.id.value}`) : null;
      const downstream = dagKey ? ctx.graph.downstream([dagKey]) : [];
      for (const r of dag.refs) {
        const target = r.dagId.value;
        const what = r.kind === 'trigger' ? `${r.operator} ${r.taskId ?? ''} triggers` : `${r.operator} ${r.taskId ?? ''} waits on`;
        if (target === null) {
          if (!ctx.local.has(inv.repo)) continue;
          out.push(
            finding({
              code: 'DAG_REF_UNRESOLVED',
              severity: 'info',
              asset: `airflow:${dag.id.value ?? dag.id.expr ?? '?'}`,
              repo: inv.repo,
              file: dag.file,
              line: r.line,
              message: `${what.replace(' waits on', '').replace(' triggers', '')} names its DAG with an expression computed at run time (${r.dagId.expr ?? '?'}); it is not checked`,
            }),
          );
          continue;
        }
        const targets = decls.get(target) ?? [];
        const removedHere = localBaseDagIds.has(target) && targets.length === 0;
        if (!ctx.local.has(inv.repo) && !removedHere) continue;
        if (targets.length === 0) {
          const existed = dagExisted(ctx.baseGraph, target) || removedHere;
          const severity = existed || ctx.strict ? 'error' : 'warning';
          out.push(
            finding({
              code: 'DAG_REF_MISSING_DAG',
              severity,
              asset: `airflow:${dag.id.value ?? dag.id.expr ?? '?'}`,
              repo: inv.repo,
              file: dag.file,
              line: r.line,
              message: existed
                ? `${what} DAG '${target}', which existed at the base ref but is in no known repo now; restore or rename it back, or update this reference`
                : `${what} DAG '${target}', which is outside the known repos (no repo given or in the registry declares it); check the id, or pass the repo that declares it`,
              downstream,
            }),
          );
          continue;
        }
        for (const t of r.taskIds) {
          if (t.value === null || hasTask(targets, t.value)) continue;
          const dynamic = targets.some((d) => d.dag.hasUnresolvedTasks);
          const existedBefore = hasTask(baseDecls.get(target) ?? [], t.value);
          out.push(
            finding({
              code: 'DAG_REF_MISSING_TASK',
              severity: dynamic && !existedBefore ? 'warning' : 'error',
              asset: `airflow:${dag.id.value ?? dag.id.expr ?? '?'}`,
              repo: inv.repo,
              file: dag.file,
              line: r.line,
              message: `${what} task '${t.value}' of DAG '${target}' (${targets.map((d) => `${d.repo}/${d.dag.file}`).join(', ')}), which has no such task${existedBefore ? ' any more (it existed at the base ref)' : ''}${dynamic ? '; that DAG also creates tasks with ids computed at run time' : ''}; fix the task id`,
              downstream,
            }),
          );
        }
      }
    }
  }
  return out;
}

/** DATASET_NO_PRODUCER (warning): a Dataset/Asset a DAG is scheduled on that no DAG or Spark job produces. */
export function checkDatasets(ctx: CheckContext): Finding[] {
  const produced = new Set<string>();
  let unresolvedOutlets = false;
  for (const inv of ctx.graph.inventories.values()) {
    for (const d of inv.airflow) {
      for (const o of d.outlets) {
        if (o.uri) produced.add(normaliseUri(o.uri));
        else unresolvedOutlets = true;
      }
    }
    for (const j of inv.spark) for (const io of j.outputs) if (io.path) produced.add(normaliseUri(io.path));
  }
  const out: Finding[] = [];
  for (const inv of ctx.graph.inventories.values()) {
    if (!ctx.local.has(inv.repo)) continue;
    for (const d of inv.airflow) {
      for (const uri of datasetUris(d.schedule.datasets)) {
        if (produced.has(normaliseUri(uri))) continue;
        out.push(
          finding({
            code: 'DATASET_NO_PRODUCER',
            severity: 'warning',
            asset: `dataset:${normaliseUri(uri)}`,
            repo: inv.repo,
            file: d.file,
            line: d.line,
            message: `DAG '${d.id.value ?? d.id.expr ?? '?'}' is scheduled on ${uri}, which no task outlet or Spark job output in the known repos produces${unresolvedOutlets ? ' (some outlets are computed at run time and were not checked)' : ''}; the DAG never runs unless something outside Airflow updates it`,
            downstream: d.id.value ? [nodeKey(inv.repo, `airflow:${d.id.value}`), ...ctx.graph.downstream([nodeKey(inv.repo, `airflow:${d.id.value}`)])] : [],
          }),
        );
      }
    }
  }
  return out;
}

const NO_CATCHUP_SCHEDULES = new Set(['@once', '@continuous']);

function scheduled(dag: AirflowDag, catchupByDefault: boolean): boolean {
  const s = dag.schedule;
  if (s.kind === 'none' || s.kind === 'datasets') return false;
  if (s.kind === 'preset' && NO_CATCHUP_SCHEDULES.has(s.text ?? '')) return false;
  // Airflow 2 defaults an unset schedule to daily; Airflow 3 (catchup off by default) to none.
  if (s.kind === 'unset') return catchupByDefault;
  return true;
}

function scheduleText(d: AirflowDag): string {
  return `${d.schedule.kind}:${d.schedule.text ?? ''}`;
}

/**
 * DAG_CATCHUP_HAZARD: catchup on (explicitly, by default, or set only in default_args, which Airflow
 * ignores for catchup) with a start_date far enough back that enabling the DAG starts catch-up runs;
 * and a change to the start_date or schedule of an existing DAG. New or changed DAGs are errors;
 * unchanged ones (or without --base) warnings, so long-standing DAGs do not block every PR.
 */
export function checkCatchup(ctx: CheckContext): Finding[] {
  const out: Finding[] = [];
  const horizon = ctx.now.getTime() - ctx.catchupHorizonDays * 86_400_000;
  for (const inv of ctx.graph.inventories.values()) {
    if (!ctx.local.has(inv.repo)) continue;
    const baseInv = ctx.base.get(inv.repo);
    const baseDags = new Map((baseInv?.airflow ?? []).filter((d) => d.id.value).map((d) => [d.id.value as string, d]));
    for (const d of inv.airflow) {
      if (d.id.value === null) continue;
      const id = d.id.value;
      const key = nodeKey(inv.repo, `airflow:${id}`);
      const before = baseDags.get(id);
      const catchupOn = d.catchup.setIn === 'dag' ? d.catchup.value !== false : ctx.catchupByDefault;
      const how =
        d.catchup.setIn === 'dag'
          ? d.catchup.value === true
            ? 'catchup=True'
            : `catchup=${d.catchup.expr ?? '?'} (computed at run time)`
          : d.catchup.setIn === 'default_args'
            ? `catchup is set only in default_args (${d.catchup.expr ?? ''}), which Airflow ignores for catchup, so catchup_by_default (${ctx.catchupByDefault ? 'True' : 'False'}) applies`
            : `catchup is not set, so catchup_by_default (${ctx.catchupByDefault ? 'True' : 'False'}) applies`;
      const changes: string[] = [];
      if (before) {
        if ((before.startDate.expr ?? '') !== (d.startDate.expr ?? '')) changes.push(`start_date changed from ${before.startDate.expr ?? 'unset'} to ${d.startDate.expr ?? 'unset'}`);
        if (scheduleText(before) !== scheduleText(d)) changes.push(`schedule changed from ${before.schedule.text ?? before.schedule.kind} to ${d.schedule.text ?? d.schedule.kind}`);
      }
      const isNew = baseInv !== undefined && !before;
      const catchupTurnedOn = before !== undefined && before.catchup.setIn === 'dag' && before.catchup.value === false && catchupOn;
      const startMs = d.startDate.iso ? Date.parse(d.startDate.iso) : NaN;
      const old = Number.isFinite(startMs) && startMs < horizon;
      const line = d.catchup.line ?? d.line;
      if (catchupOn && scheduled(d, ctx.catchupByDefault) && old) {
        const days = Math.floor((ctx.now.getTime() - startMs) / 86_400_000);
        const changed = isNew || catchupTurnedOn || changes.length > 0;
        // catchup=<expression computed at run time> may well be off: never an error on a guess.
        const certain = !(d.catchup.setIn === 'dag' && d.catchup.value === null);
        out.push(
          finding({
            code: 'DAG_CATCHUP_HAZARD',
            severity: changed && certain ? 'error' : 'warning',
            asset: `airflow:${id}`,
            repo: inv.repo,
            file: d.file,
            line,
            message: `DAG '${id}': ${how}, and start_date ${d.startDate.expr ?? ''} is ${days} days back, so enabling or changing it schedules catch-up runs for every missed interval${isNew ? ' (new DAG)' : ''}${changes.length ? `; ${changes.join('; ')}` : ''}; set catchup=False on the DAG (not in default_args) or move start_date forward`,
            downstream: ctx.graph.downstream([key]),
          }),
        );
      } else if (changes.length > 0) {
        out.push(
          finding({
            code: 'DAG_CATCHUP_HAZARD',
            severity: catchupOn ? 'error' : 'warning',
            asset: `airflow:${id}`,
            repo: inv.repo,
            file: d.file,
            line: d.line,
            message: `DAG '${id}' is an existing DAG whose ${changes.join(' and ')}; ${catchupOn ? `with ${how} this can start catch-up or duplicate runs` : 'with catchup off this changes which runs exist (a rollback must not restore the old value)'}; confirm the change is intended`,
            downstream: ctx.graph.downstream([key]),
          }),
        );
      }
    }
  }
  return out;
}
