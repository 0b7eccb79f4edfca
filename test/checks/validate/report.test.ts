import { renderReport, toJson } from '../../../lib/checks/validate/report';
import type { ValidateReport } from '../../../lib/checks/validate/runner';

const finding = { code: 'SQL_LINT', severity: 'error' as const, asset: 'sql:models/a.sql', file: 'models/a.sql', line: 3, message: 'CP01 Keywords must be <lower> & "consistent"' };
const report: ValidateReport = {
  repo: '/r',
  scope: { base: 'main', full: false, reason: '1 changed file(s) since main', changed: ['models/a.sql'] },
  findings: [finding, { code: 'TF_DESTROY', severity: 'warning', asset: 'terraform:aws_sns_topic.t', message: 'the plan destroys aws_sns_topic.t' }],
  selected: [{ check: 'sqlfluff', kind: 'sql', assets: ['models/a.sql'], reason: '1 changed file(s) since main' }],
  skipped: [{ check: 'dbt', kind: 'dbt', reason: 'no model changed' }],
  checks: [
    { name: 'sqlfluff', kind: 'sql', durationMs: 1500, status: 'failed', findings: [finding] },
    { name: 'dbt', kind: 'dbt', durationMs: 1, status: 'skipped', findings: [] },
  ],
  durationMs: 2000,
  passed: false,
};

describe('validate reports', () => {
  it('writes the JSON shape of the issue: findings with code, severity, asset, file, line, message, then selected, skipped, durationMs', () => {
    const json = JSON.parse(toJson(report)) as Record<string, unknown>;
    expect(Object.keys(json).slice(0, 4)).toEqual(['findings', 'selected', 'skipped', 'durationMs']);
    expect(json.findings).toEqual([
      { code: 'SQL_LINT', severity: 'error', asset: 'sql:models/a.sql', file: 'models/a.sql', line: 3, message: finding.message },
      { code: 'TF_DESTROY', severity: 'warning', asset: 'terraform:aws_sns_topic.t', file: null, line: null, message: 'the plan destroys aws_sns_topic.t' },
    ]);
    expect(json.selected).toEqual(report.selected);
    expect(json.skipped).toEqual(report.skipped);
    expect(json.durationMs).toBe(2000);
  });

  it('writes JUnit with one suite per check, a failing case per blocking finding and escaped text', () => {
    const xml = renderReport(report, 'junit');
    expect(xml).toContain('<testsuite name="sqlfluff" tests="1" failures="1" skipped="0" time="1.500">');
    expect(xml).toContain('<testcase classname="sql.sqlfluff" name="SQL_LINT models/a.sql:3" file="models/a.sql" line="3">');
    expect(xml).toContain('message="CP01 Keywords must be &lt;lower&gt; &amp; &quot;consistent&quot;"');
    expect(xml).toContain('<testsuite name="dbt" tests="1" failures="0" skipped="1"');
  });

  it('writes a Markdown PR summary with the verdict, the findings and why each check ran or not', () => {
    const mdText = renderReport(report, 'markdown');
    expect(mdText).toMatch(/^### dataops validate: ❌ 1 blocking finding\(s\)/);
    expect(mdText).toContain('| error | `SQL_LINT` | models/a.sql:3 | sql:models/a.sql |');
    expect(mdText).toContain('| dbt | dbt | skipped | 0.0 s | no model changed |');
  });

  it('lists the blocking findings first in the Markdown summary, then warnings, then the rest, each in reported order', () => {
    // GIVEN findings reported as info, warning, error, warning, error
    const f = (code: string, severity: 'error' | 'warning' | 'info') => ({ code, severity, asset: `a:${code}`, message: code });
    const mixed = { ...report, findings: [f('I1', 'info'), f('W1', 'warning'), f('E1', 'error'), f('W2', 'warning'), f('E2', 'error')] };
    // WHEN rendered as Markdown THEN the table's rows are E1, E2, W1, W2, I1
    const rows = renderReport(mixed, 'markdown')
      .split('\n')
      .filter((l) => /^\| (error|warning|info) \|/.test(l))
      .map((l) => /`(\w+)`/.exec(l)?.[1]);
    expect(rows).toEqual(['E1', 'E2', 'W1', 'W2', 'I1']);
  });

  it('writes text with one line per finding at file:line and a verdict', () => {
    const text = renderReport(report, 'text');
    expect(text).toContain('models/a.sql:3: error SQL_LINT [sql:models/a.sql] CP01');
    expect(text).toContain('skipped dbt (dbt): no model changed');
    expect(text.trim().split('\n').pop()).toMatch(/^FAILED: 1 blocking, 1 other finding\(s\)/);
  });
});
