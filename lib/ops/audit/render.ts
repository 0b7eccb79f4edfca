import type { AuditDeployment, AuditReport } from './model';

/** Output formats of `dataops audit export`. */
export const AUDIT_FORMATS = ['json', 'csv', 'html'] as const;
export type AuditFormat = (typeof AUDIT_FORMATS)[number];

/** The report as JSON. */
export function renderAuditJson(r: AuditReport): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}

const CSV_COLUMNS = [
  'finished_at',
  'repo',
  'env',
  'version',
  'result',
  'rollback',
  'execution_id',
  'manifest_sha256',
  'previous_version',
  'assets_added',
  'assets_changed',
  'assets_removed',
  'approvers',
  'approved_at',
  'approval_summaries',
  'checks',
  'check_problems',
  'evidence',
  'evidence_locked_until',
] as const;

function csvCell(v: string): string {
  // Quote always; neutralise spreadsheet formulas (a cell starting with = + - @).
  const safe = /^[=+\-@]/.test(v) ? `'${v}` : v;
  return `"${safe.replace(/"/g, '""')}"`;
}

/** The report as CSV: one row per deployment, RFC 4180 quoting. */
export function renderAuditCsv(r: AuditReport): string {
  const rows = r.deployments.map((d) => [
    d.finishedAt,
    d.repo,
    d.env,
    d.version ?? '',
    d.result,
    d.isRollback ? 'yes' : 'no',
    d.executionId,
    d.manifestSha256 ?? '',
    d.changes?.previousVersion ?? '',
    (d.changes?.added ?? []).join(' '),
    (d.changes?.changed ?? []).join(' '),
    (d.changes?.removed ?? []).join(' '),
    d.approvals.map((a) => a.approver ?? 'not recorded').join(' '),
    d.approvals.map((a) => a.at).join(' '),
    d.approvals.map((a) => a.summary ?? '').join(' | '),
    d.checks.map((c) => `${c.name}=${c.result}`).join('; '),
    d.checks.flatMap((c) => c.problems).join('; '),
    d.evidence.found ? d.evidence.uri : `${d.evidence.uri} (not found)`,
    d.evidence.retainUntil ?? '',
  ]);
  return `${[CSV_COLUMNS as readonly string[], ...rows].map((row) => row.map(csvCell).join(',')).join('\r\n')}\r\n`;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

function changesCell(d: AuditDeployment): string {
  if (!d.changes) return '<span class="muted">release assets not in the ledger</span>';
  const c = d.changes;
  const list = (label: string, xs: readonly string[]) =>
    xs.length ? `<div><b>${label} ${xs.length}</b>: ${xs.slice(0, 8).map((x) => `<code>${esc(x)}</code>`).join(', ')}${xs.length > 8 ? ` and ${xs.length - 8} more` : ''}</div>` : '';
  const body = list('added', c.added) + list('changed', c.changed) + list('removed', c.removed);
  return `<div class="muted">from ${c.previousVersion ? `<code>${esc(c.previousVersion)}</code>` : 'nothing (first release)'}</div>${body || '<div>no asset changed</div>'}`;
}

function approvalsCell(d: AuditDeployment): string {
  if (d.env === 'dev' && d.approvals.length === 0) return '<span class="muted">none needed (dev)</span>';
  if (d.approvals.length === 0) return d.isRollback ? '<span class="muted">rollback (no approval gate)</span>' : '<span class="warn">no approval recorded</span>';
  return d.approvals
    .map(
      (a) =>
        `<div class="approval"><span class="approver">${a.approver ? esc(a.approver) : '<span class="warn">approver not recorded</span>'}</span><br><span class="muted">${esc(a.action)} ${esc(a.result)} at ${esc(a.at)}</span>${a.summary ? `<br>“${esc(a.summary)}”` : ''}</div>`,
    )
    .join('');
}

function checksCell(d: AuditDeployment): string {
  if (d.checks.length === 0) return '<span class="muted">none recorded</span>';
  return `<ul>${d.checks
    .map((c) => `<li class="${c.result === 'succeeded' ? 'ok' : 'bad'}">${esc(c.name)}: ${esc(c.result)}${c.problems.length ? `<ul>${c.problems.map((p) => `<li>${esc(p)}</li>`).join('')}</ul>` : ''}</li>`)
    .join('')}</ul>`;
}

function evidenceCell(d: AuditDeployment): string {
  const e = d.evidence;
  const lock = e.found ? `<br><span class="muted">${esc(e.mode ?? 'no lock')} until ${esc(e.retainUntil ?? '–')}</span>` : '<br><span class="warn">not found in the audit bucket</span>';
  const sums = Object.entries(d.checksums)
    .map(([f, s]) => `<div class="muted"><code>${esc(f)}</code> sha256 <code>${esc(s.slice(0, 12))}…</code></div>`)
    .join('');
  return `<code class="uri">${esc(e.uri)}</code>${lock}${d.manifestSha256 ? `<div class="muted">manifest sha256 <code>${esc(d.manifestSha256.slice(0, 12))}…</code></div>` : ''}${sums}`;
}

/** The report as one self-contained HTML page (inline style, no script, no external resource). */
export function renderAuditHtml(r: AuditReport): string {
  const failed = r.deployments.filter((d) => d.result === 'failed').length;
  const gated = r.deployments.filter((d) => d.env !== 'dev' && !d.isRollback);
  const unnamed = gated.filter((d) => d.approvals.length === 0 || d.approvals.some((a) => !a.approver)).length;
  const missingEvidence = r.deployments.filter((d) => !d.evidence.found).length;
  const rows = r.deployments
    .map(
      (d) => `<tr class="deployment ${d.result}" data-repo="${esc(d.repo)}" data-env="${esc(d.env)}" data-execution="${esc(d.executionId)}">
<td>${esc(d.finishedAt.replace('T', ' ').slice(0, 19))}Z</td>
<td><b>${esc(d.repo)}</b><br>${esc(d.env)}</td>
<td><code>${esc(d.version ?? 'unknown')}</code><br><span class="result">${esc(d.result)}</span>${d.isRollback ? ' <span class="tag">rollback</span>' : ''}<br><span class="muted">execution ${esc(d.executionId)}</span></td>
<td class="changes">${changesCell(d)}</td>
<td class="approvals">${approvalsCell(d)}</td>
<td class="checks">${checksCell(d)}</td>
<td class="evidence">${evidenceCell(d)}</td>
</tr>`,
    )
    .join('\n');
  const rbRows = r.rollbacks
    .map(
      (x) =>
        `<tr class="rollback"><td>${esc(x.at)}</td><td>${esc(x.repo)} / ${esc(x.env)}</td><td>${esc(x.result)}</td><td>${esc(x.fromVersion ?? '–')} → ${esc(x.toVersion ?? '–')}</td><td>${esc(x.requestedBy)}</td><td>${esc(x.reason)}</td><td class="muted">${esc(x.message)}</td></tr>`,
    )
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Deployment audit: ${esc(r.platform)} ${esc(r.from.slice(0, 10))} to ${esc(r.to.slice(0, 10))}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1b1f23}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #d0d7de;padding:6px 8px;vertical-align:top;text-align:left}
th{background:#f6f8fa}tr.failed td{background:#fff5f5}code{font:12px ui-monospace,Menlo,monospace}
.muted{color:#57606a;font-size:12px}.warn{color:#9a6700;font-weight:600}.ok{color:#1a7f37}.bad{color:#cf222e}
.tag{background:#ddf4ff;border-radius:8px;padding:0 6px;font-size:12px}ul{margin:0;padding-left:18px}
.summary td{border:none;padding:2px 16px 2px 0}.uri{word-break:break-all}
@media print{body{margin:0}tr{page-break-inside:avoid}}
</style>
</head>
<body>
<h1>Deployment audit: ${esc(r.platform)}</h1>
<div class="muted">Window ${esc(r.from)} to ${esc(r.to)} · generated ${esc(r.generatedAt)} · ledger table <code>${esc(r.ledgerTable)}</code> · audit bucket <code>${esc(r.auditBucket ?? 'unknown')}</code></div>
<table class="summary" id="summary"><tr><td>Deployments</td><td><b id="count-deployments">${r.deployments.length}</b></td><td>Failed</td><td><b id="count-failed">${failed}</b></td><td>Rollback requests</td><td><b id="count-rollbacks">${r.rollbacks.length}</b></td><td>Gated deployments without a named approver</td><td><b id="count-unnamed">${unnamed}</b></td><td>Without evidence object</td><td><b id="count-missing-evidence">${missingEvidence}</b></td></tr></table>
<h2>Deployments</h2>
<table id="deployments">
<thead><tr><th>Finished (UTC)</th><th>Repo / env</th><th>Release</th><th>What changed</th><th>Approved by</th><th>Checks</th><th>Evidence</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="7">No deployment in this window.</td></tr>'}
</tbody>
</table>
<h2>Rollback requests</h2>
<table id="rollbacks">
<thead><tr><th>At</th><th>Repo / env</th><th>Result</th><th>Versions</th><th>Requested by</th><th>Reason</th><th>Detail</th></tr></thead>
<tbody>
${rbRows || '<tr><td colspan="7">No rollback in this window.</td></tr>'}
</tbody>
</table>
<p class="muted">Evidence objects are written by the Recorder to the S3 Object Lock audit bucket (COMPLIANCE mode) when each environment stage ends; the ledger is the DynamoDB deployment ledger. Generated by <code>dataops audit export</code>.</p>
</body>
</html>
`;
}
