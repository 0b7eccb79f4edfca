import type { Finding } from '../../findings';
import type { DbtNode } from '../../inventory/types';
import { canonicalType } from '../catalog';
import type { CheckContext } from '../context';
import { dbtKey, finding, rootDbtNodes, yamlNameLine } from './util';

/** A change to one declared column between the base and the head. */
export interface ColumnChange {
  readonly column: string;
  readonly kind: 'removed' | 'type-changed';
  readonly before: string | null;
  readonly after: string | null;
}

/** Column changes of one dbt node (removed columns; declared types that changed). */
export function columnChanges(before: DbtNode, after: DbtNode): ColumnChange[] {
  const now = new Map(after.columns.map((c) => [c.name, c]));
  const out: ColumnChange[] = [];
  for (const c of before.columns) {
    const h = now.get(c.name);
    if (!h) out.push({ column: c.name, kind: 'removed', before: c.dataType, after: null });
    else if (c.dataType && h.dataType && canonicalType(c.dataType) !== canonicalType(h.dataType)) {
      out.push({ column: c.name, kind: 'type-changed', before: c.dataType, after: h.dataType });
    }
  }
  return out;
}

/**
 * The direct consumers of `key` that use `column`: dbt models whose SQL names it or selects `*`,
 * every exposure, Spark jobs whose input lists it (or lists no columns).
 */
export function columnUsers(ctx: CheckContext, key: string, column: string): string[] {
  const g = ctx.graph;
  const users: string[] = [];
  for (const child of g.children(key)) {
    const n = g.dbtNodes.get(child);
    if (n) {
      if (n.kind === 'exposure' || n.selectStar || n.identifiers.includes(column) || n.columns.some((c) => c.name === column)) users.push(child);
      continue;
    }
    const node = g.nodes.get(child);
    if (node?.kind === 'spark' && node.repo) {
      const job = g.inventories.get(node.repo)?.spark.find((j) => `spark:${j.name}` === node.asset);
      const io = job?.inputs.filter((i) => g.sparkIoNode(i) === key) ?? [];
      if (io.some((i) => i.columns.length === 0 || i.columns.includes(column))) users.push(child);
    }
  }
  return users.sort();
}

/**
 * DBT_COLUMN_REMOVED and DBT_COLUMN_TYPE_CHANGED: a column of a model, seed, snapshot or source is
 * removed, or its declared data_type changes, between --base and the work tree, and something
 * downstream (in any repo) uses it. Needs --base.
 */
export function checkDbtColumns(ctx: CheckContext): Finding[] {
  const out: Finding[] = [];
  for (const [repo, baseInv] of ctx.base) {
    const head = ctx.graph.inventories.get(repo);
    if (!head) continue;
    const headNodes = rootDbtNodes(head);
    for (const [id, before] of rootDbtNodes(baseInv)) {
      if (before.kind === 'exposure') continue;
      const after = headNodes.get(id);
      if (!after) continue;
      const key = dbtKey(repo, id);
      for (const ch of columnChanges(before, after)) {
        const users = columnUsers(ctx, key, ch.column);
        if (users.length === 0) continue;
        const downstream = [...new Set([...users, ...ctx.graph.downstream(users)])].sort();
        const file = after.patchFile ?? after.file;
        const yamlFile = after.patchFile ?? (after.kind === 'source' ? after.file : null);
        const nodeLine = yamlNameLine(ctx, repo, yamlFile, after.name);
        const removed = ch.kind === 'removed';
        const line = removed ? nodeLine : yamlNameLine(ctx, repo, yamlFile, ch.column, nodeLine ?? 0) ?? nodeLine;
        out.push(
          finding({
            code: removed ? 'DBT_COLUMN_REMOVED' : 'DBT_COLUMN_TYPE_CHANGED',
            severity: 'error',
            asset: `dbt:${id}`,
            repo,
            file,
            line,
            message: removed
              ? `column ${ch.column} was removed from ${after.kind} ${after.name}, and ${users.length} downstream asset(s) use it: ${users.join(', ')}; keep the column, or update those consumers in the same release`
              : `column ${ch.column} of ${after.kind} ${after.name} changed type from ${ch.before} to ${ch.after}, and ${users.length} downstream asset(s) use it: ${users.join(', ')}; keep the type, or update those consumers in the same release`,
            downstream,
          }),
        );
      }
    }
  }
  return out;
}
