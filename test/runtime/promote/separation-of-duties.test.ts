import { approverPrincipalName, approvingAuthor, principalNamesOfEmail, separationOfDuties, type ApprovedRelease } from '../../../lib/runtime/promote/separation-of-duties';

const alice = { name: 'Alice Author', email: 'alice@northstar.health' };
const bob = { name: 'Bob Builder', email: '12345+bob@users.noreply.github.com' };
const release = (commitAuthors: ApprovedRelease['commitAuthors']): ApprovedRelease => ({ repo: 'orchestration', version: '20260302.41+abc1234', gitSha: 'abc1234def567890', commitAuthors });
const APPROVAL = 'Prod/Approve of execution exec-1';

describe('who approved, as CodePipeline names them', () => {
  it.each([
    ['an IAM user', 'arn:aws:iam::111111111111:user/alice', 'alice'],
    ['an IAM user under a path', 'arn:aws:iam::111111111111:user/people/data/alice', 'alice'],
    ['an Identity Center session (the user name)', 'arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_DataOpsProdApprover_0a1b2c3d4e5f6a7b/alice@northstar.health', 'alice@northstar.health'],
    ['an assumed role session', 'arn:aws:sts::111111111111:assumed-role/data-platform-owners/dana', 'dana'],
    ['a federated user', 'arn:aws:sts::111111111111:federated-user/carol', 'carol'],
    ['a GovCloud user', 'arn:aws-us-gov:iam::111111111111:user/alice', 'alice'],
    ['the account root', 'arn:aws:iam::111111111111:root', null],
    ['a role ARN (no session)', 'arn:aws:iam::111111111111:role/approver', null],
    ['free text', 'alice', null],
  ])('reads %s', (_what, arn, name) => {
    expect(approverPrincipalName(arn)).toBe(name);
  });

  it.each([
    ['alice@northstar.health', ['alice@northstar.health', 'alice']],
    ['Alice.Smith@Northstar.Health', ['alice.smith@northstar.health', 'alice.smith']],
    ['alice+ci@northstar.health', ['alice+ci@northstar.health', 'alice+ci', 'alice']],
    ['12345+bob@users.noreply.github.com', ['12345+bob@users.noreply.github.com', '12345+bob', 'bob']],
  ])('maps the commit email %s to the principal names its owner has', (email, names) => {
    expect(principalNamesOfEmail(email)).toEqual(names);
  });

  it.each<[string, string, typeof alice | null]>([
    ['IAM user alice approving alice@…', 'arn:aws:iam::111111111111:user/alice', alice],
    ['IAM user ALICE (IAM names are case-insensitive)', 'arn:aws:iam::111111111111:user/ALICE', alice],
    ['Identity Center alice@northstar.health', 'arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_DataOpsProdApprover_0a1b2c3d4e5f6a7b/alice@northstar.health', alice],
    ['the GitHub login of a co-author', 'arn:aws:iam::111111111111:user/bob', bob],
    ['another person', 'arn:aws:iam::111111111111:user/dana', null],
    ['a name that only contains the author\'s', 'arn:aws:iam::111111111111:user/alice2', null],
  ])('matches %s', (_what, approver, author) => {
    expect(approvingAuthor(approver, [alice, bob])).toEqual(author);
  });
});

describe('separationOfDuties', () => {
  it('accepts a prod approval by someone who did not write the commit', () => {
    expect(separationOfDuties('prod', 'arn:aws:iam::111111111111:user/dana', release([alice, bob]), APPROVAL)).toBeNull();
  });

  it('leaves staging to the config rule: an author may approve their change into staging', () => {
    expect(separationOfDuties('staging', 'arn:aws:iam::111111111111:user/alice', release([alice]), APPROVAL)).toBeNull();
  });

  it.each<[string, string | null, ApprovedRelease['commitAuthors'], string, RegExp]>([
    [
      'an approval by the author',
      'arn:aws:iam::111111111111:user/alice',
      [alice, bob],
      'self-approval',
      /^release 20260302\.41\+abc1234 of orchestration was approved for prod \(Prod\/Approve of execution exec-1\) by arn:aws:iam::111111111111:user\/alice, who is the author of its commit abc1234def56, Alice Author <alice@northstar\.health>; a change may not be approved for prod by its author \(separation of duties\): retry the stage with all actions \(retry-mode ALL_ACTIONS\) so that another prod approver \(approvers\.prod\) approves it$/,
    ],
    ['an approval by a co-author', 'arn:aws:iam::111111111111:user/bob', [alice, bob], 'self-approval', /by arn:aws:iam::111111111111:user\/bob, who is a co-author of its commit abc1234def56, Bob Builder <12345\+bob@users\.noreply\.github\.com>/],
    ['an approval CodePipeline names no approver for', null, [alice], 'approval-unverifiable', /names no approver, so it cannot be checked against the commit's authors/],
    ['an approval by the account root', 'arn:aws:iam::111111111111:root', [alice], 'approval-unverifiable', /names approver arn:aws:iam::111111111111:root, which is not an IAM user or role session/],
    ['a schema-1 release, which records no authors', 'arn:aws:iam::111111111111:user/dana', null, 'approval-unverifiable', /records no author of its commit abc1234def56 \(its manifest is schema 1, packaged before releases recorded their authors\).*release the commit again from the Source stage/],
    ['a release packaged without git history', 'arn:aws:iam::111111111111:user/dana', [], 'approval-unverifiable', /\(dataops package found no git history\)/],
  ])('fails prod on %s, naming the approver and the author or what is missing', (_what, approver, authors, cause, message) => {
    const problem = separationOfDuties('prod', approver, release(authors), APPROVAL);
    expect(problem).toMatchObject({ cause });
    expect(problem?.message).toMatch(message);
  });
});
