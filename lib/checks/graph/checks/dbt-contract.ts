import type { Finding } from '../../findings';
import type { CheckContext } from '../context';
import { columnChanges } from './dbt-columns';
import { dbtKey, finding, rootDbtNodes, yamlNameLine } from './util';

/**
 * DBT_CONTRACT_BROKEN: a model with an enforced contract (a) loses the contract, a column, or a
 * column's declared type between --base and the work tree (dbt's own definition of a breaking
 * contract change), or (b) declares a column without data_type, which an enforced contract requires.
 */
export function checkDbtContracts(ctx: CheckContext): Finding[] {
  const out: Finding[] = [];
  for (const inv of ctx.graph.inventories.values()) {
    if (!ctx.local.has(inv.repo)) continue;
    const headNodes = rootDbtNodes(inv);
    const baseNodes = ctx.base.has(inv.repo) ? rootDbtNodes(ctx.base.get(inv.repo)!) : null;
    for (const [id, n] of headNodes) {
      if (n.kind !== 'model') continue;
      const key = dbtKey(inv.repo, id);
      const problems: string[] = [];
      const before = baseNodes?.get(id);
      if (before?.contractEnforced) {
        if (!n.contractEnforced) problems.push('its enforced contract was removed');
        for (const ch of columnChanges(before, n)) {
          problems.push(ch.kind === 'removed' ? `column ${ch.column} was removed` : `column ${ch.column} changed type from ${ch.before} to ${ch.after}`);
        }
      }
      if (n.contractEnforced) {
        const untyped = n.columns.filter((c) => !c.dataType).map((c) => c.name);
        if (untyped.length) problems.push(`column(s) ${untyped.join(', ')} have no data_type, which an enforced contract requires`);
      }
      if (problems.length === 0) continue;
      out.push(
        finding({
          code: 'DBT_CONTRACT_BROKEN',
          severity: 'error',
          asset: `dbt:${id}`,
          repo: inv.repo,
          file: n.patchFile ?? n.file,
          line: yamlNameLine(ctx, inv.repo, n.patchFile, n.name),
          message: `contracted model ${n.name}: ${problems.join('; ')}; restore the contract, or publish a new model version (versions:) and keep the old one until consumers move`,
          downstream: ctx.graph.downstream([key]),
        }),
      );
    }
  }
  return out;
}
