import { COST_SERVICES, type CostEstimate } from './model';
import { ALL_PRICES, type UnitPrice } from './prices';

const usd = (x: number) => `$${x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
const unitPrice = (x: number) => (x >= 0.01 ? String(x) : x.toFixed(12).replace(/0+$/, ''));
const qty = (x: number) => (x >= 100 ? Math.round(x).toLocaleString('en-US') : Number(x.toPrecision(3)).toString());

/** Renders the estimate as the text `dataops cost` prints: a per-service breakdown, then every line. */
export function renderCostEstimate(e: CostEstimate): string {
  const out: string[] = [];
  const verdict = e.withinBudget
    ? `within the ${usd(e.budgetUsd)} budget (${(e.budgetShare * 100).toFixed(1)}%; headroom ${usd(e.headroomUsd)})`
    : `OVER the ${usd(e.budgetUsd)} budget by ${usd(-e.headroomUsd)} (${(e.budgetShare * 100).toFixed(1)}%)`;
  out.push(`Monthly cost of platform '${e.platform}' (${e.repos} repos): ${usd(e.totalUsd)} — ${verdict}`);
  out.push(`us-east-1 list prices as of ${e.pricesAsOf}; free tiers not subtracted; storage at steady state (docs/cost.md)`);
  out.push('');
  out.push('By service');
  const w = Math.max(...COST_SERVICES.map((s) => s.length));
  for (const s of COST_SERVICES) {
    const v = e.byService[s];
    const share = e.totalUsd > 0 ? ((v / e.totalUsd) * 100).toFixed(1) : '0.0';
    out.push(`  ${s.padEnd(w)}  ${usd(v).padStart(11)}  ${share.padStart(5)}%`);
  }
  out.push(`  ${'TOTAL'.padEnd(w)}  ${usd(e.totalUsd).padStart(11)}`);
  out.push('');
  out.push('Breakdown');
  for (const l of e.lines) {
    out.push(`  ${usd(l.monthlyUsd).padStart(11)}  ${l.service}: ${l.item}`);
    out.push(`               ${qty(l.quantity)} ${l.price.unit} × $${unitPrice(l.price.usd)}; ${l.basis}`);
  }
  out.push('');
  const v = e.volumes;
  const minutes = Object.entries(v.codeBuildMinutesByComputeType)
    .map(([t, m]) => `${t} ${Math.round(m).toLocaleString('en-US')}`)
    .join(', ');
  out.push(
    `Volumes: ${qty(v.prBuilds)} PR builds, ${qty(v.pipelineExecutions)} executions, ${qty(v.prodDeployments)} prod deployments, ${qty(v.rollbacks)} rollbacks a month (${v.activeDays} active days); CodeBuild minutes: ${minutes}; ${qty(v.pipelineActionMinutes)} pipeline action minutes; ${qty(v.snowflakeCredits)} Snowflake credits`,
  );
  return `${out.join('\n')}\n`;
}

/** A quantity to six decimals: drops the binary floating-point tail (9320.960000000001 is 9320.96). */
const quantity = (x: number): number => Math.round(x * 1e6) / 1e6;

/**
 * The estimate as `dataops cost --format json` prints it, with every unit price and its source. Dollar
 * amounts are in cents already (each line is rounded, and the service totals and the total add the
 * lines up); unit prices are printed exactly, quantities and volumes to six decimals (the amounts are
 * computed from the unrounded ones), the budget share to four decimals.
 */
export function costEstimateJson(e: CostEstimate, prices: Readonly<Record<string, UnitPrice>> = ALL_PRICES): string {
  const v = e.volumes;
  const volumes = {
    ...Object.fromEntries(Object.entries(v).map(([k, x]) => [k, typeof x === 'number' ? quantity(x) : x])),
    codeBuildMinutesByComputeType: Object.fromEntries(Object.entries(v.codeBuildMinutesByComputeType).map(([t, m]) => [t, quantity(m)])),
  };
  const lines = e.lines.map((l) => ({ ...l, quantity: quantity(l.quantity) }));
  return `${JSON.stringify({ ...e, lines, budgetShare: Math.round(e.budgetShare * 10_000) / 10_000, volumes, prices }, null, 2)}\n`;
}
