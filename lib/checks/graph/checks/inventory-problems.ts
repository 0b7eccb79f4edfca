import type { Finding } from '../../findings';
import type { CheckContext } from '../context';
import { finding } from './util';

/**
 * INVENTORY_UNREADABLE (error): a manifest, DAG file, Spark descriptor or Terraform file that
 * cannot be read. INVENTORY_SKIPPED (info): something left out on purpose (e.g. no manifest built).
 * DAG_ID_UNRESOLVED (info): a DAG whose id is computed at run time, so it is not checked.
 */
export function checkInventoryProblems(ctx: CheckContext): Finding[] {
  const out: Finding[] = [];
  for (const inv of ctx.graph.inventories.values()) {
    if (!ctx.local.has(inv.repo)) continue;
    for (const p of inv.problems) {
      out.push(
        finding({
          code: p.severity === 'error' ? 'INVENTORY_UNREADABLE' : 'INVENTORY_SKIPPED',
          severity: p.severity,
          asset: `${p.kind}:${p.file}`,
          repo: inv.repo,
          file: p.file,
          line: p.line,
          message: p.message,
        }),
      );
    }
    for (const d of inv.airflow) {
      if (d.id.value !== null) continue;
      out.push(
        finding({
          code: 'DAG_ID_UNRESOLVED',
          severity: 'info',
          asset: `airflow:${d.file}:${d.line}`,
          repo: inv.repo,
          file: d.file,
          line: d.line,
          message: `DAG id is computed at run time (${d.id.expr ?? '?'}); it is not checked for duplicates or references`,
        }),
      );
    }
  }
  return out;
}
