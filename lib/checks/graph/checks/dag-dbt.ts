import type { Finding } from '../../findings';
import type { CheckContext } from '../context';
import { finding } from './util';

/**
 * DAG_DBT_SELECT_MISSING: a DAG task runs dbt with a `--select` name (model, folder or project, with
 * or without `+` operators) that no dbt project of the known repos defines. A warning: the DAG
 * still runs, but dbt selects nothing, and the graph cannot link the DAG to the tables it rebuilds
 * (so a data-safe rollback would not pause it). Not reported when no known repo has a dbt project:
 * then there is nothing to look the name up in.
 */
export function checkDagDbtSelects(ctx: CheckContext): Finding[] {
  if (ctx.graph.dbtNodes.size === 0) return [];
  const out: Finding[] = [];
  for (const s of ctx.graph.dbtSelections) {
    if (s.nodes.length > 0 || !ctx.local.has(s.repo)) continue;
    const dagId = s.dagKey.slice(s.repo.length + 1 + 'airflow:'.length);
    out.push(
      finding({
        code: 'DAG_DBT_SELECT_MISSING',
        severity: 'warning',
        asset: `airflow:${dagId}`,
        repo: s.repo,
        file: s.dagFile,
        line: s.run.line,
        message: `task '${s.taskId ?? '<computed id>'}' runs 'dbt ${s.run.verb ?? s.run.verbExpr ?? ''} --select ${s.selector}' but no dbt model, seed, snapshot, folder or project of the known repos is named '${s.selector.replace(/^\d*\+|\+\d*$/g, '')}'; fix the selector or publish the dbt repo's fragment to the registry`,
      }),
    );
  }
  return out;
}
