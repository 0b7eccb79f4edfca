import type { Finding } from '../../findings';
import { typeFamily, type CatalogRow } from '../catalog';
import type { CheckContext } from '../context';
import { dbtKey, finding, rootDbtNodes, yamlNameLine } from './util';

/**
 * SOURCE_SCHEMA_DRIFT: a dbt source's declared columns against the live catalog
 * (information_schema.columns): a declared table or column that is not there, or a declared type
 * of another family than the live one. Tables in schemas the catalog does not cover are skipped.
 */
export function checkSourceDrift(ctx: CheckContext): Finding[] {
  if (!ctx.catalog) return [];
  const tables = new Map<string, CatalogRow[]>();
  const schemas = new Set<string>();
  for (const r of ctx.catalog) {
    for (const k of [`${r.schema}.${r.table}`, r.database ? `${r.database}.${r.schema}.${r.table}` : null]) {
      if (!k) continue;
      const list = tables.get(k);
      if (list) list.push(r);
      else tables.set(k, [r]);
    }
    schemas.add(r.schema);
  }
  const out: Finding[] = [];
  for (const inv of ctx.graph.inventories.values()) {
    if (!ctx.local.has(inv.repo)) continue;
    for (const [id, n] of rootDbtNodes(inv)) {
      if (n.kind !== 'source' || !n.relation || n.columns.length === 0) continue;
      const parts = n.relation.split('.');
      const schemaTable = parts.slice(-2).join('.');
      const rows = tables.get(n.relation) ?? tables.get(schemaTable);
      const schema = parts[parts.length - 2];
      const key = dbtKey(inv.repo, id);
      const base = { code: 'SOURCE_SCHEMA_DRIFT', severity: 'error' as const, asset: `dbt:${id}`, repo: inv.repo, file: n.patchFile ?? n.file };
      const yamlFile = n.patchFile ?? n.file;
      const sourceLine = yamlNameLine(ctx, inv.repo, yamlFile, n.name);
      if (!rows) {
        if (schema && schemas.has(schema)) {
          out.push(finding({ ...base, line: sourceLine, message: `source ${id} declares table ${n.relation}, which is not in the live catalog (schema ${schema} has no such table); fix the source's identifier or create the table upstream`, downstream: ctx.graph.downstream([key]) }));
        }
        continue;
      }
      const live = new Map(rows.map((r) => [r.column, r]));
      const problems: string[] = [];
      let firstColumn: string | null = null;
      for (const c of n.columns) {
        const l = live.get(c.name);
        if (!l) {
          problems.push(`column ${c.name} is declared but not in the live table`);
          firstColumn ??= c.name;
        } else if (c.dataType && typeFamily(c.dataType) !== typeFamily(l.dataType)) {
          problems.push(`column ${c.name} is declared ${c.dataType} but is ${l.dataType} in the live table`);
          firstColumn ??= c.name;
        }
      }
      if (problems.length === 0) continue;
      const line = (firstColumn && yamlNameLine(ctx, inv.repo, yamlFile, firstColumn, sourceLine ?? 0)) || sourceLine;
      out.push(
        finding({
          ...base,
          line,
          message: `source ${id} (${n.relation}) drifted from the live catalog: ${problems.join('; ')}; update the source's columns (and the models that read them) or fix the upstream table`,
          downstream: ctx.graph.downstream([key]),
        }),
      );
    }
  }
  return out;
}
