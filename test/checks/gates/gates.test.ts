import { evaluateGates, testedModels, type QualityGates } from '../../../lib/checks/gates/gates';

const gates: QualityGates = { maxRowCountChangePct: 25, maxSourceStalenessHours: 24, failOnTestWarnings: false };

describe('data-quality gates', () => {
  it('passes when tests pass, sources are fresh and row counts move within the threshold', () => {
    const findings = evaluateGates(
      {
        runResults: { results: [{ unique_id: 'test.p.unique_x', status: 'pass', failures: 0 }, { unique_id: 'model.p.x', status: 'success' }] },
        sources: { results: [{ unique_id: 'source.p.raw.visits', status: 'pass', max_loaded_at_time_ago_in_s: 3600 }] },
        rowCounts: { models: { fct_daily_visits: { before: 100, after: 120 } } },
      },
      gates,
    );
    expect(findings).toEqual([]);
  });

  it.each([
    [{ runResults: { results: [{ unique_id: 'test.p.not_null_x_id', status: 'fail', failures: 3 }] } }, 'GATE_TEST_FAILED', /not_null_x_id failed with 3 failing row\(s\); the test gate allows no failing test/],
    [{ runResults: { results: [{ unique_id: 'test.p.t', status: 'error', message: 'boom' }] } }, 'GATE_TEST_ERROR', /could not run: boom/],
    [{ sources: { results: [{ unique_id: 'source.p.raw.visits', status: 'warn', max_loaded_at: '2026-11-26T00:00:00Z', max_loaded_at_time_ago_in_s: 30 * 3600 }] } }, 'GATE_SOURCE_STALE', /raw\.visits was last loaded 30\.0 h ago .* over maxSourceStalenessHours 24/],
    [{ sources: { results: [{ unique_id: 'source.p.raw.visits', status: 'runtime error', error: 'no such table' }] } }, 'GATE_SOURCE_ERROR', /no such table/],
    [{ rowCounts: { models: { 'model.p.fct_daily_visits': { before: 100, after: 60 } } } }, 'GATE_ROW_COUNT_CHANGE', /fct_daily_visits went from 100 to 60 rows \(-40\.0 %\), over maxRowCountChangePct 25/],
  ])('fails %j with %s naming the model and threshold', (inputs, code, message) => {
    const findings = evaluateGates(inputs, gates);
    expect(findings).toEqual([expect.objectContaining({ code, severity: 'error', message: expect.stringMatching(message) })]);
  });

  it('holds a table to maxRowCountChangePct only from rowCountChangeMinRows rows (default 100), but always flags a table emptied', () => {
    const change = (before: number, after: number, minRows?: number) =>
      evaluateGates({ rowCounts: { models: { 'model.p.fct_daily_visits': { before, after } } } }, { ...gates, ...(minRows === undefined ? {} : { rowCountChangeMinRows: minRows }) }).map((f) => f.message);
    // a few rows more in a small table is no signal
    expect(change(1, 2)).toEqual([]);
    expect(change(40, 99)).toEqual([]);
    // from the minimum on (before or after), the percentage holds
    expect(change(40, 100)).toEqual(['fct_daily_visits went from 40 to 100 rows (+150.0 %), over maxRowCountChangePct 25']);
    expect(change(1, 2, 0)).toEqual(['fct_daily_visits went from 1 to 2 rows (+100.0 %), over maxRowCountChangePct 25']);
    // a table emptied is a finding at any size
    expect(change(3, 0)).toEqual(['fct_daily_visits went from 3 rows to none']);
  });

  it('fails test warnings only where failOnTestWarnings is set', () => {
    const inputs = { runResults: { results: [{ unique_id: 'test.p.t', status: 'warn', failures: 1 }] } };
    expect(evaluateGates(inputs, gates)[0].severity).toBe('warning');
    expect(evaluateGates(inputs, { ...gates, failOnTestWarnings: true })[0].severity).toBe('error');
  });

  it("names the model a failing test is about, from the dbt manifest's test nodes", () => {
    // GIVEN a manifest with a column test attached to fct_daily_visits and a singular test depending on a source and a model
    const testModels = testedModels({
      nodes: {
        'test.p.not_negative_fct_daily_visits_billed_amount.1a': { resource_type: 'test', attached_node: 'model.p.fct_daily_visits', depends_on: { nodes: ['model.p.fct_daily_visits'] } },
        'test.p.assert_visits_match': { resource_type: 'test', attached_node: null, depends_on: { nodes: ['source.p.raw.visits', 'model.p.stg_visits'] } },
        'model.p.fct_daily_visits': { resource_type: 'model' },
      },
    });
    expect(testModels).toEqual({ 'test.p.not_negative_fct_daily_visits_billed_amount.1a': 'model.p.fct_daily_visits', 'test.p.assert_visits_match': 'model.p.stg_visits' });
    // WHEN the attached test fails
    const findings = evaluateGates({ runResults: { results: [{ unique_id: 'test.p.not_negative_fct_daily_visits_billed_amount.1a', status: 'fail', failures: 2 }] }, testModels }, gates);
    // THEN the finding names the test, its model and the gate
    expect(findings.map((f) => f.message)).toEqual(['dbt test not_negative_fct_daily_visits_billed_amount of model fct_daily_visits failed with 2 failing row(s); the test gate allows no failing test']);
  });

  it('does not compute a change for a model that had no rows before', () => {
    expect(evaluateGates({ rowCounts: { models: { new_model: { before: 0, after: 500 } } } }, gates)).toEqual([]);
  });
});
