import type { Finding } from '../findings';
import type { ValidateReport } from './runner';

/** Output formats of `dataops validate`. */
export const REPORT_FORMATS = ['text', 'json', 'junit', 'markdown'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

const where = (f: Finding) => (f.file ? `${f.file}${f.line ? `:${f.line}` : ''}` : f.asset);

/** The report as JSON: `{findings, selected, skipped, durationMs, ...}` (see docs/validation.md). */
export function toJson(r: ValidateReport): string {
  return `${JSON.stringify(
    {
      findings: r.findings.map((f) => ({ code: f.code, severity: f.severity, asset: f.asset, file: f.file ?? null, line: f.line ?? null, message: f.message, ...(f.downstream ? { downstream: f.downstream } : {}) })),
      selected: r.selected,
      skipped: r.skipped,
      durationMs: r.durationMs,
      passed: r.passed,
      scope: r.scope,
      checks: r.checks.map((c) => ({ name: c.name, kind: c.kind, status: c.status, durationMs: c.durationMs, findings: c.findings.length })),
    },
    null,
    2,
  )}\n`;
}

/** Plain text for a terminal: one line per finding, then the selection and a verdict. */
export function toText(r: ValidateReport): string {
  const lines: string[] = [];
  for (const f of r.findings) lines.push(`${where(f)}: ${f.severity} ${f.code} [${f.asset}] ${f.message}`);
  if (r.findings.length) lines.push('');
  lines.push(`scope: ${r.scope.reason}`);
  for (const s of r.selected) lines.push(`ran ${s.check} (${s.kind}) on ${s.assets.length > 8 ? `${s.assets.length} assets` : s.assets.join(', ') || 'nothing'}: ${s.reason}`);
  for (const s of r.skipped) lines.push(`skipped ${s.check} (${s.kind}): ${s.reason}`);
  const errors = r.findings.filter((f) => f.severity === 'error').length;
  lines.push(`${r.passed ? 'PASSED' : 'FAILED'}: ${errors} blocking, ${r.findings.length - errors} other finding(s) in ${(r.durationMs / 1000).toFixed(1)}s`);
  return `${lines.join('\n')}\n`;
}

const xml = (s: string) =>
  s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] as string).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');

/**
 * JUnit XML for CodeBuild report groups: one test suite per check, one failing test case per
 * blocking finding (named by code and location), one passing case for a check without findings.
 */
export function toJunit(r: ValidateReport): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const total = r.checks.reduce((n, c) => n + Math.max(1, c.findings.length), 0);
  const failures = r.findings.filter((f) => f.severity === 'error').length;
  out.push(`<testsuites name="dataops validate" tests="${total}" failures="${failures}" time="${(r.durationMs / 1000).toFixed(3)}">`);
  for (const c of r.checks) {
    const errs = c.findings.filter((f) => f.severity === 'error').length;
    const skipped = c.status === 'skipped' ? 1 : 0;
    out.push(`  <testsuite name="${xml(c.name)}" tests="${Math.max(1, c.findings.length)}" failures="${errs}" skipped="${skipped}" time="${(c.durationMs / 1000).toFixed(3)}">`);
    if (c.findings.length === 0) {
      out.push(`    <testcase classname="${xml(`${c.kind}.${c.name}`)}" name="${xml(c.name)}" time="${(c.durationMs / 1000).toFixed(3)}">${skipped ? '<skipped/>' : ''}</testcase>`);
    }
    for (const f of c.findings) {
      out.push(`    <testcase classname="${xml(`${c.kind}.${c.name}`)}" name="${xml(`${f.code} ${where(f)}`)}"${f.file ? ` file="${xml(f.file)}"` : ''}${f.line ? ` line="${f.line}"` : ''}>`);
      if (f.severity === 'error') out.push(`      <failure type="${xml(f.code)}" message="${xml(f.message)}">${xml(`${f.asset}: ${f.message}`)}</failure>`);
      else out.push(`      <system-out>${xml(`${f.severity} ${f.code} ${f.asset}: ${f.message}`)}</system-out>`);
      out.push('    </testcase>');
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return `${out.join('\n')}\n`;
}

const md = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

const SEVERITY_ORDER: Readonly<Record<Finding['severity'], number>> = { error: 0, warning: 1, info: 2 };

/**
 * Markdown for the PR summary: verdict, findings table (blocking findings first, then warnings, then
 * the rest, each group in the order the checks reported them), what ran and why, what was skipped.
 */
export function toMarkdown(r: ValidateReport): string {
  const errors = r.findings.filter((f) => f.severity === 'error').length;
  const lines = [`### dataops validate: ${r.passed ? '✅ passed' : `❌ ${errors} blocking finding(s)`}`, '', `Scope: ${md(r.scope.reason)} · ${(r.durationMs / 1000).toFixed(0)} s`, ''];
  if (r.findings.length) {
    lines.push('| severity | code | where | asset | message |', '| --- | --- | --- | --- | --- |');
    const ordered = [...r.findings].sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
    for (const f of ordered) lines.push(`| ${f.severity} | \`${f.code}\` | ${md(where(f))} | ${md(f.asset)} | ${md(f.message)} |`);
    lines.push('');
  }
  lines.push('| check | kind | status | time | selection |', '| --- | --- | --- | --- | --- |');
  for (const c of r.checks) {
    const sel = r.selected.find((s) => s.check === c.name);
    const skip = r.skipped.find((s) => s.check === c.name);
    const what = sel ? `${sel.assets.slice(0, 6).join(', ')}${sel.assets.length > 6 ? ', …' : ''} (${sel.reason})` : (skip?.reason ?? '');
    lines.push(`| ${c.name} | ${c.kind} | ${c.status} | ${(c.durationMs / 1000).toFixed(1)} s | ${md(what)} |`);
  }
  for (const s of r.skipped.filter((s) => !r.checks.some((c) => c.name === s.check))) lines.push(`| ${s.check} | ${s.kind} | not run | | ${md(s.reason)} |`);
  return `${lines.join('\n')}\n`;
}

/** Renders a report in one of {@link REPORT_FORMATS}. */
export function renderReport(r: ValidateReport, format: ReportFormat): string {
  switch (format) {
    case 'json':
      return toJson(r);
    case 'junit':
      return toJunit(r);
    case 'markdown':
      return toMarkdown(r);
    default:
      return toText(r);
  }
}
