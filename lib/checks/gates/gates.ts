import { z } from 'zod';
import { QualityGatesSchema } from '../../config/schema';
import type { Finding } from '../findings';
import type { RunResults } from '../validate/checks/dbt-results';

/** Thresholds of one environment (`environments.<env>.qualityGates` of the platform config). */
export type QualityGates = Omit<z.output<typeof QualityGatesSchema>, 'rowCountChangeMinRows'> & Partial<Pick<z.output<typeof QualityGatesSchema>, 'rowCountChangeMinRows'>>;

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

/** The parts of dbt's `manifest.json` that tell which model a test is about. */
const TestNodesSchema = z.object({
  nodes: z.record(
    z.string(),
    z.object({ resource_type: z.string(), attached_node: z.string().nullable().optional(), depends_on: z.object({ nodes: z.array(z.string()).optional() }).loose().optional() }).loose(),
  ),
});

/**
 * Test unique id → the model (or snapshot, seed) it tests, from a dbt manifest: the test's
 * `attached_node`, else the first model it depends on. Tests of sources only are left out.
 */
export function testedModels(manifest: unknown): Record<string, string> {
  const parsed = TestNodesSchema.safeParse(manifest);
  if (!parsed.success) return {};
  const out: Record<string, string> = {};
  for (const [id, n] of Object.entries(parsed.data.nodes)) {
    if (n.resource_type !== 'test' && n.resource_type !== 'unit_test') continue;
    const model = n.attached_node ?? n.depends_on?.nodes?.find((d) => /^(model|snapshot|seed)\./.test(d));
    if (model) out[id] = model;
  }
  return out;
}

/** Inputs of {@link evaluateGates}; each gate runs when its input is present. */
export interface GateInputs {
  readonly runResults?: RunResults;
  readonly sources?: SourcesJson;
  readonly rowCounts?: RowCounts;
  /** Test unique id → tested model ({@link testedModels}), so a failing test names its model. @default - tests name only themselves */
  readonly testModels?: Readonly<Record<string, string>>;
}

const short = (id: string) => id.split('.').slice(-1)[0];
/** A test's name: dbt ids of generic tests end in a hash (`test.<project>.<name>.<hash>`). */
const testName = (id: string) => (id.startsWith('test.') && id.split('.').length > 3 ? id.split('.')[2] : short(id));

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
    const model = inputs.testModels?.[r.unique_id];
    const test = `dbt test ${testName(r.unique_id)}${model ? ` of model ${short(model)}` : ''}`;
    if (r.status === 'fail') {
      findings.push({ code: 'GATE_TEST_FAILED', severity: 'error', asset, message: `${test} failed with ${r.failures ?? '?'} failing row(s); the test gate allows no failing test` });
    } else if (r.status === 'error') {
      findings.push({ code: 'GATE_TEST_ERROR', severity: 'error', asset, message: `${test} could not run: ${(r.message ?? '').split('\n')[0]}` });
    } else if (r.status === 'warn') {
      findings.push({
        code: 'GATE_TEST_WARNING',
        severity: gates.failOnTestWarnings ? 'error' : 'warning',
        asset,
        message: `${test} warned with ${r.failures ?? '?'} row(s)${gates.failOnTestWarnings ? ', over the test gate: failOnTestWarnings is set for this environment' : ''}`,
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
  const minRows = gates.rowCountChangeMinRows ?? QualityGatesSchema.shape.rowCountChangeMinRows.parse(undefined);
  for (const [model, c] of Object.entries(inputs.rowCounts?.models ?? {})) {
    if (c.before === 0) continue;
    const pct = (Math.abs(c.after - c.before) / c.before) * 100;
    const emptied = c.after === 0;
    if (!emptied && Math.max(c.before, c.after) < minRows) continue;
    if (emptied || pct > gates.maxRowCountChangePct) {
      findings.push({
        code: 'GATE_ROW_COUNT_CHANGE',
        severity: 'error',
        asset: model.includes('.') ? `dbt:${model}` : `dbt:model.${model}`,
        message: emptied
          ? `${short(model)} went from ${c.before} rows to none`
          : `${short(model)} went from ${c.before} to ${c.after} rows (${c.after >= c.before ? '+' : '-'}${pct.toFixed(1)} %), over maxRowCountChangePct ${gates.maxRowCountChangePct}`,
      });
    }
  }
  return findings;
}
