import type { EnvironmentName } from '../../config/schema';
import type { CommitAuthor } from '../release/manifest';

/**
 * Environments whose approval may not come from an author of the release's commit (issue 11,
 * item 8). Staging is approved by other people than prod (a config rule), but an author may
 * approve their own change into staging.
 */
export const SEPARATED_ENVIRONMENTS: readonly EnvironmentName[] = ['prod'];

/**
 * The name an approver carries in the ARN CodePipeline reports for a manual approval
 * (ActionExecutionDetail.updatedBy): an IAM user's name (`arn:aws:iam::<acct>:user/[path/]NAME`),
 * an assumed role's session name (`arn:aws:sts::<acct>:assumed-role/ROLE/SESSION`; for IAM Identity
 * Center, whose roles the approver permission sets are, the session name is the user name, which the
 * user cannot choose) or a federated user's name. null for any other principal (the account root).
 */
export function approverPrincipalName(arn: string): string | null {
  const m =
    /^arn:aws[a-z-]*:iam::\d{12}:user\/(?:[^/]+\/)*([^/]+)$/.exec(arn) ??
    /^arn:aws[a-z-]*:sts::\d{12}:assumed-role\/[^/]+\/([^/]+)$/.exec(arn) ??
    /^arn:aws[a-z-]*:sts::\d{12}:federated-user\/([^/]+)$/.exec(arn);
  return m ? m[1] : null;
}

/**
 * The principal names under which the owner of a commit email appears in AWS, lowercase: the whole
 * address (Identity Center user names are usually the email), its local part (`alice` of
 * `alice@northstar.health`, the usual IAM user name), the local part without a `+tag`, and for
 * GitHub's private addresses (`<id>+<login>@users.noreply.github.com`) the login.
 */
export function principalNamesOfEmail(email: string): string[] {
  const e = email.trim().toLowerCase();
  const at = e.lastIndexOf('@');
  if (at <= 0) return e === '' ? [] : [e];
  const local = e.slice(0, at);
  const domain = e.slice(at + 1);
  const names = new Set([e, local]);
  const plus = local.indexOf('+');
  if (plus >= 0 && domain === 'users.noreply.github.com') names.add(local.slice(plus + 1));
  else if (plus > 0) names.add(local.slice(0, plus));
  return [...names];
}

/** The author of the commit whose identity the approver's principal name matches, or null. */
export function approvingAuthor(approverArn: string, authors: readonly CommitAuthor[]): CommitAuthor | null {
  const name = approverPrincipalName(approverArn)?.toLowerCase();
  if (!name) return null;
  return authors.find((a) => principalNamesOfEmail(a.email).includes(name)) ?? null;
}

/** The release an approval is checked for. */
export interface ApprovedRelease {
  readonly repo: string;
  readonly version: string;
  readonly gitSha: string;
  /** The commit's authors the manifest records; null for a schema-1 manifest, which records none. */
  readonly commitAuthors: readonly CommitAuthor[] | null;
}

/** Why an approval cannot let a release into a separated environment. */
export interface SeparationProblem {
  readonly cause: 'self-approval' | 'approval-unverifiable';
  readonly message: string;
}

const person = (a: CommitAuthor) => `${a.name} <${a.email}>`;

/**
 * Separation of duties for one approval: null when `approver` did not author the release's commit.
 * A problem, naming the approver and the author, when the approver's principal name matches an
 * author's email (principalNamesOfEmail); and when it cannot be checked (no approver named, an
 * approver that is not a user or role session, a release that records no authors), since prod is
 * not let in on an approval nobody could check.
 */
export function separationOfDuties(env: EnvironmentName, approver: string | null, release: ApprovedRelease, approval: string): SeparationProblem | null {
  if (!SEPARATED_ENVIRONMENTS.includes(env)) return null;
  const what = `release ${release.version} of ${release.repo}`;
  const retry = `retry the stage with all actions (retry-mode ALL_ACTIONS) so that another ${env} approver (approvers.${env}) approves it`;
  if (approver === null || approverPrincipalName(approver) === null) {
    return {
      cause: 'approval-unverifiable',
      message:
        `the approval ${approval} of ${what} names ${approver === null ? 'no approver' : `approver ${approver}, which is not an IAM user or role session`}, so it cannot be checked against the commit's authors; ` +
        `${env} is let in only on an approval by an IAM user or role session (approvers.${env}): ${retry}`,
    };
  }
  if (release.commitAuthors === null || release.commitAuthors.length === 0) {
    return {
      cause: 'approval-unverifiable',
      message:
        `${what} records no author of its commit ${release.gitSha.slice(0, 12)} (${release.commitAuthors === null ? 'its manifest is schema 1, packaged before releases recorded their authors' : 'dataops package found no git history'}), ` +
        `so its ${env} approval by ${approver} cannot be checked against them; release the commit again from the Source stage, so that Package records its authors`,
    };
  }
  const author = approvingAuthor(approver, release.commitAuthors);
  if (author === null) return null;
  return {
    cause: 'self-approval',
    message:
      `${what} was approved for ${env} (${approval}) by ${approver}, who is ${author === release.commitAuthors[0] ? 'the author' : 'a co-author'} of its commit ${release.gitSha.slice(0, 12)}, ${person(author)}; ` +
      `a change may not be approved for ${env} by its author (separation of duties): ${retry}`,
  };
}
