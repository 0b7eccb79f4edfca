/** How much a finding matters: errors block a PR or a release, warnings are reported. */
export type Severity = 'error' | 'warning' | 'info';

/**
 * One problem found by a check. Codes are stable and documented in docs/findings.md.
 * `file` is relative to the repo root; `line` is 1-based when known.
 */
export interface Finding {
  readonly code: string;
  readonly severity: Severity;
  /** The asset the finding is about, e.g. `dbt:model.core.stg_claims` or `airflow:claims_daily`. */
  readonly asset: string;
  readonly file?: string;
  readonly line?: number;
  readonly message: string;
  /** Affected downstream assets, in any repo (`<repo>/<asset>`). */
  readonly downstream?: readonly string[];
  /** Repo the finding belongs to, when checks span repos. */
  readonly repo?: string;
}

/** True when any finding blocks. */
export function hasBlocking(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.severity === 'error');
}
