import type { AuditDeployment, AuditReport } from '../../../lib/ops/audit/model';
import { renderAuditCsv, renderAuditHtml } from '../../../lib/ops/audit/render';

const deployment = (over: Partial<AuditDeployment> = {}): AuditDeployment => ({
  repo: 'orchestration',
  env: 'prod',
  executionId: 'e1',
  version: '20260302.1+aaa1111',
  result: 'succeeded',
  startedAt: null,
  finishedAt: '2026-03-02T10:00:00.000Z',
  isRollback: false,
  manifestSha256: null,
  checksums: {},
  changes: null,
  approvals: [{ action: 'Prod/Approve', at: '2026-03-02T09:50:00.000Z', approver: 'arn:aws:sts::111111111111:assumed-role/owners/alice', summary: 'ok', result: 'succeeded' }],
  checks: [],
  evidence: { uri: 's3://b/k', found: true, retainUntil: '2032-03-01T00:00:00.000Z', mode: 'COMPLIANCE' },
  ...over,
});
const report = (deployments: AuditDeployment[]): AuditReport => ({
  platform: 'northstar',
  from: '2026-03-01T00:00:00.000Z',
  to: '2026-03-31T23:59:59.999Z',
  generatedAt: '2026-04-01T00:00:00.000Z',
  ledgerTable: 't',
  auditBucket: 'b',
  deployments,
  rollbacks: [],
});

describe('audit renderers', () => {
  it.each([
    ['=HYPERLINK("http://evil")', `"'=HYPERLINK(""http://evil"")"`],
    ['+1', `"'+1"`],
    ['-cmd', `"'-cmd"`],
    ['@sum', `"'@sum"`],
    ['plain "quoted"', '"plain ""quoted"""'],
  ])('writes the approval summary %j to CSV as %s (quoted, formulas neutralised)', (summary, cell) => {
    const csv = renderAuditCsv(report([deployment({ approvals: [{ ...deployment().approvals[0], summary }] })]));
    // approval_summaries is the 15th column; none of these cells holds a comma
    expect(csv.split('\r\n')[1].split(',')[14]).toBe(cell);
  });

  it.each([
    [{ env: 'prod', approvals: [] }, 'no approval recorded'],
    [{ env: 'prod', approvals: [{ action: 'Prod/Approve', at: 'x', approver: null, summary: null, result: 'succeeded' }] }, 'approver not recorded'],
    [{ env: 'dev', approvals: [] }, 'none needed (dev)'],
    [{ env: 'prod', approvals: [], isRollback: true }, 'rollback (no approval gate)'],
    [{ evidence: { uri: 's3://b/k', found: false, retainUntil: null, mode: null } }, 'not found in the audit bucket'],
  ] as Array<[Partial<AuditDeployment>, string]>)('flags %j in the HTML as "%s"', (over, text) => {
    expect(renderAuditHtml(report([deployment(over)]))).toContain(text);
  });

  it('counts gated deployments without a named approver in the summary', () => {
    const html = renderAuditHtml(report([deployment(), deployment({ executionId: 'e2', approvals: [] }), deployment({ executionId: 'e3', env: 'dev', approvals: [] })]));
    expect(html).toMatch(/<b id="count-unnamed">1<\/b>/);
  });
});
