/** One approval of a deployment, as the ledger (or CodePipeline's action history) has it. */
export interface AuditApproval {
  /** Stage/action, e.g. Prod/Approve. */
  readonly action: string;
  /** ISO time of the decision. */
  readonly at: string;
  /** ARN of the approver, or null when neither the ledger nor CodePipeline names one. */
  readonly approver: string | null;
  /** The approver's comment. */
  readonly summary: string | null;
  readonly result: string;
}

/** One check of a deployment (a verification, a deploy step). */
export interface AuditCheck {
  readonly name: string;
  readonly result: string;
  readonly at: string;
  readonly problems: readonly string[];
}

/** One deployment of a release into one environment (one stage of one pipeline execution). */
export interface AuditDeployment {
  readonly repo: string;
  readonly env: string;
  readonly executionId: string;
  readonly version: string | null;
  readonly result: 'succeeded' | 'failed';
  readonly startedAt: string | null;
  readonly finishedAt: string;
  /** The deployment re-deployed an earlier release (a rollback). */
  readonly isRollback: boolean;
  readonly manifestSha256: string | null;
  /** File → sha256 the promotion checked. */
  readonly checksums: Readonly<Record<string, string>>;
  /** Assets against the previous successful release in the env; null when unknown. */
  readonly changes: { readonly previousVersion: string | null; readonly added: readonly string[]; readonly changed: readonly string[]; readonly removed: readonly string[] } | null;
  readonly approvals: readonly AuditApproval[];
  readonly checks: readonly AuditCheck[];
  /** Where the Recorder's evidence object is, and whether it was found locked. */
  readonly evidence: { readonly uri: string; readonly found: boolean; readonly retainUntil: string | null; readonly mode: string | null };
}

/** A rollback request (started, refused or dry run). */
export interface AuditRollback {
  readonly repo: string;
  readonly env: string;
  readonly at: string;
  readonly requestedBy: string;
  readonly reason: string;
  readonly result: string;
  readonly fromVersion: string | null;
  readonly toVersion: string | null;
  readonly message: string;
}

/** The reviewers' report `dataops audit export` produces. */
export interface AuditReport {
  readonly platform: string;
  readonly from: string;
  readonly to: string;
  readonly generatedAt: string;
  readonly ledgerTable: string;
  readonly auditBucket: string | null;
  readonly deployments: readonly AuditDeployment[];
  readonly rollbacks: readonly AuditRollback[];
}
