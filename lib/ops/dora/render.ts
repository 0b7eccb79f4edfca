import type { DoraFigures, DoraReport } from './model';

const num = (x: number | null, digits = 1) => (x === null ? '–' : x.toFixed(digits));
const pct = (x: number | null) => (x === null ? '–' : `${(x * 100).toFixed(1)}%`);

function row(name: string, f: DoraFigures): string[] {
  return [
    name,
    String(f.deployments),
    num(f.deploymentsPerDay, 2),
    num(f.leadTime.medianHours),
    num(f.leadTime.p90Hours),
    `${pct(f.changeFailure.rate)} (${f.changeFailure.failed}/${f.changeFailure.changes})`,
    num(f.timeToRestore.medianMinutes),
    String(f.timeToRestore.incidents - f.timeToRestore.restored),
  ];
}

/** Renders the report as the text table `dataops dora` prints. */
export function renderDora(r: DoraReport): string {
  const head = ['repo', 'prod deploys', 'per day', 'lead time p50 (h)', 'p90 (h)', 'change failure rate', 'time to restore p50 (min)', 'unrestored'];
  const rows = [head, ...Object.entries(r.repos).map(([name, f]) => row(name, f)), row('ALL', r.overall)];
  const widths = head.map((_, i) => Math.max(...rows.map((x) => x[i].length)));
  const fmt = (x: string[]) => x.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const lines = [
    `DORA figures for ${r.window.from.slice(0, 10)} .. ${r.window.to.slice(0, 10)} (${r.window.days.toFixed(0)} days), production deployments`,
    '',
    fmt(rows[0]),
    ...rows.slice(1, -1).map(fmt),
    widths.map((w) => '-'.repeat(w)).join('  '),
    fmt(rows[rows.length - 1]),
    '',
    'lead time: from the release entering the pipeline to its prod deployment; restores (rollbacks) are not deployments of a change',
  ];
  if (Object.keys(r.repos).length === 0) lines.splice(2, 0, 'no production deployment in the ledger for this window');
  return `${lines.join('\n')}\n`;
}
