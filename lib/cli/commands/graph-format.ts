import type { Finding } from '../../checks/findings';
import type { AssetGraph } from '../../checks/graph';

/** Findings as text: one block per finding, then a count line. */
export function findingsText(findings: readonly Finding[]): string {
  const lines: string[] = [];
  for (const f of findings) {
    const where = [f.repo, f.file].filter(Boolean).join('/') + (f.line ? `:${f.line}` : '');
    lines.push(`${f.severity.toUpperCase()} ${f.code} ${where}${where ? ' ' : ''}(${f.asset})`);
    lines.push(`  ${f.message}`);
    if (f.downstream && f.downstream.length > 0) {
      const shown = f.downstream.slice(0, 50);
      lines.push(`  downstream (${f.downstream.length}): ${shown.join(', ')}${f.downstream.length > shown.length ? ', …' : ''}`);
    }
  }
  const count = (s: Finding['severity']): number => findings.filter((f) => f.severity === s).length;
  lines.push(`${count('error')} error(s), ${count('warning')} warning(s), ${count('info')} info`);
  return `${lines.join('\n')}\n`;
}

/** The graph as JSON: nodes and edges. */
export function graphJson(g: AssetGraph): string {
  return `${JSON.stringify({ nodes: [...g.nodes.values()], edges: g.edges }, null, 2)}\n`;
}

function dotId(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

const SHAPES: Record<string, string> = { dbt: 'box', dag: 'ellipse', dataset: 'note', spark: 'component', terraform: 'cylinder', table: 'box3d' };

/** The graph in Graphviz DOT, one cluster per repo. */
export function graphDot(g: AssetGraph): string {
  const byRepo = new Map<string, string[]>();
  for (const n of g.nodes.values()) {
    const r = n.repo ?? '';
    const list = byRepo.get(r) ?? [];
    list.push(`    ${dotId(n.key)} [label=${dotId(n.asset)}, shape=${SHAPES[n.kind] ?? 'box'}];`);
    byRepo.set(r, list);
  }
  const out = ['digraph assets {', '  rankdir=LR;'];
  let i = 0;
  for (const [repo, lines] of [...byRepo.entries()].sort()) {
    if (repo) out.push(`  subgraph cluster_${i++} {`, `    label=${dotId(repo)};`, ...lines, '  }');
    else out.push(...lines.map((l) => l.slice(2)));
  }
  for (const e of g.edges) out.push(`  ${dotId(e.from)} -> ${dotId(e.to)} [label=${dotId(e.kind)}];`);
  out.push('}');
  return `${out.join('\n')}\n`;
}
