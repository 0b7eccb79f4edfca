import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * One finding that a construct accepts on purpose: the exact rule id (with the finding in
 * brackets where the rule reports several, e.g. `AwsSolutions-IAM5[Resource::*]`) and why.
 */
export interface Acknowledgement {
  /** Exact finding id, as printed in cdk.out/validation-report.json. */
  readonly id: string;
  /** The specific reason this finding is accepted here. */
  readonly reason: string;
}

/**
 * Acknowledges findings on one construct (never on a stack or the app): cdk-nag and the Guard
 * rules then report them as acknowledged, with the reason, instead of as errors. docs/cdk-nag.md
 * lists every call site.
 */
export function acknowledge(construct: IConstruct, ...findings: Acknowledgement[]): void {
  Validations.of(construct).acknowledge(...findings);
}
