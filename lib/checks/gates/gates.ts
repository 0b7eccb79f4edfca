import { z } from 'zod';
import type { QualityGatesSchema } from '../../config/schema';
import type { Finding } from '../findings';
import type { RunResults } from '../validate/checks/dbt-results';

/** Thresholds of one environment (`environments.<env>.qualityGates` of the platform config). */
export type QualityGates = z.output<typeof QualityGatesSchema>;

/** The parts of dbt's `sources.json` (from `dbt source freshness`) that the freshness gate reads. */
export const SourcesJsonSchema = z.object({
  results: z.array(
    z.object({
      unique_id: z.string(),
      status: z.string(),
      max_loaded_at: z.string().nullable().optional(),
      snapshotted_at: z.string().nullable().optional(),
      max_loaded_at_time_ago_in_s: z.number().nullable().optional(),
      error: z.string().nullable().optional(),
    }),
  ),
});
export type SourcesJson = z.output<typeof SourcesJsonSchema>;

/**
 * Row counts of the models a deployment rebuilt, before and after, keyed by model (unique id or
 * name). Written by the Verify step from the warehouse's table statistics.
 */
export const RowCountsSchema = z.object({
  models: z.record(z.string(), z.object({ before: z.number().int().nonnegative(), after: z.number().int().nonnegative() })),
});
export type RowCounts = z.output<typeof RowCountsSchema>;

/** Inputs of {@link evaluateGates}; each gate runs when its input is present. */
export interface GateInputs {
  readonly runResults?: RunResults;
  readonly sources?: SourcesJson;
  readonly rowCounts?: RowCounts;
}

const short = (id: string) => id.split('.').slice(-1)[0];

/**
 * The data-quality gates of a Verify action: dbt test results, source freshness and row-count
 * change, each against the environment's thresholds. Every failing model or source is a finding that
 * names it and the threshold.
 */
export function evaluateGates(inputs: GateInputs, gates: QualityGates): Finding[] {
  const findings: Finding[] = [];
  for (const r of inputs.runResults?.results ?? []) {
    if (!r.unique_id.startsWith('test.') && !r.unique_id.startsWith('unit_test.')) continue;
    const asset = `dbt:${r.unique_id}`;
    if (r.status === 'fail') {
      findings.push({ code: 'GATE_TEST_FAILED', severity: 'error', asset, message: `dbt test ${short(r.unique_id)} failed with ${r.failures ?? '?'} failing row(s)` });
    } else if (r.status === 'error') {
      findings.push({ code: 'GATE_TEST_ERROR', severity: 'error', asset, message: `dbt test ${short(r.unique_id)} could not run: ${(r.message ?? '').split('\n')[0]}` });
    } else if (r.status === 'warn') {
      findings.push({
        code: 'GATE_TEST_WARNING',
        severity: gates.failOnTestWarnings ? 'error' : 'warning',
        asset,
        message: `dbt test ${short(r.unique_id)} warned with ${r.failures ?? '?'} row(s)${gates.failOnTestWarnings ? ' and failOnTestWarnings is set for this environment' : ''}`,
      });
    }
  }
  for (const s of inputs.sources?.results ?? []) {
    const asset = `dbt:${s.unique_id}`;
    if (s.status === 'runtime error' || s.max_loaded_at_time_ago_in_s == null) {
      findings.push({ code: 'GATE_SOURCE_ERROR', severity: 'error', asset, message: `freshness of source ${s.unique_id.split('.').slice(-2).join('.')} could not be checked: ${s.error ?? s.status}` });
      continue;
    }
    const ageHours = s.max_loaded_at_time_ago_in_s != null ? s.max_loaded_at_time_ago_in_s / 3600 : undefined;
    if (ageHours !== undefined && ageHours > gates.maxSourceStalenessHours) {
      findings.push({
        code: 'GATE_SOURCE_STALE',
        severity: 'error',
        asset,
        message: `source ${s.unique_id.split('.').slice(-2).join('.')} was last loaded ${ageHours.toFixed(1)} h ago (at ${s.max_loaded_at ?? '?'}), over maxSourceStalenessHours ${gates.maxSourceStalenessHours}`,
      });
    }
  }
  for (const [model, c] of Object.entries(inputs.rowCounts?.models ?? {})) {
    if (c.before === 0) continue;
    const pct = (Math.abs(c.after - c.before) / c.before) * 100;
    if (pct > gates.maxRowCountChangePct) {
      findings.push({
        code: 'GATE_ROW_COUNT_CHANGE',
        severity: 'error',
        asset: model.includes('.') ? `dbt:${model}` : `dbt:model.${model}`,
        message: `${short(model)} went from ${c.before} to ${c.after} rows (${c.after >= c.before ? '+' : '-'}${pct.toFixed(1)} %), over maxRowCountChangePct ${gates.maxRowCountChangePct}`,
      });
    }
  }
  return findings;
}
