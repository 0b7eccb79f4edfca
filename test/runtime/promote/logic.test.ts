import { decidePromotion, previousEnvironment, type ApprovalFacts, type PromotionFacts } from '../../../lib/runtime/promote/logic';
import { checkRelease } from '../../../lib/runtime/release/checksums';
import { releaseFiles } from '../helpers/release-fixture';

const valid = checkRelease(releaseFiles({ repo: 'orchestration' }).files);
const tampered = (() => {
  const { files } = releaseFiles({ repo: 'orchestration' });
  files.set('airflow.tar.gz', Buffer.from('changed after packaging'));
  return checkRelease(files);
})();
const missingManifest = checkRelease(new Map());
/** The valid release packaged as schema 2, written by alice@northstar.health. */
const byAlice = checkRelease(
  releaseFiles({ repo: 'orchestration', tamper: (m) => ({ ...m, schemaVersion: 2, commitAuthors: [{ name: 'Alice Author', email: 'alice@northstar.health' }] }) }).files,
);
const approvedBy = (approver: string | null): ApprovalFacts => ({ state: 'approved', approval: 'Prod/Approve', approver });
const DANA = 'arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_DataOpsProdApprover_0a1b2c3d4e5f6a7b/dana@northstar.health';
const ALICE = 'arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_DataOpsProdApprover_0a1b2c3d4e5f6a7b/alice@northstar.health';
const prod = (over: Partial<PromotionFacts> = {}): Partial<PromotionFacts> => ({ env: 'prod', release: byAlice, previousEnvStatus: 'succeeded', approval: approvedBy(DANA), ...over });

function facts(over: Partial<PromotionFacts>): PromotionFacts {
  return { repo: 'orchestration', env: 'staging', release: valid, previousEnvStatus: 'verified', lock: { state: 'acquired', reentrant: false }, ...over };
}

describe('decidePromotion', () => {
  it.each<[string, Partial<PromotionFacts>, string]>([
    ['promotes a valid release verified in dev into staging under the lock', {}, 'promote'],
    ['promotes into dev with only a valid release (no previous environment)', { env: 'dev', previousEnvStatus: null }, 'promote'],
    ['promotes a release whose previous stage succeeded (after the bake), approved for prod by someone who did not write it', prod(), 'promote'],
    ['promotes a stage rollback into prod, which skips the approval (its release passed it)', prod({ approval: { state: 'rollback', approval: 'Prod/Approve', targetExecutionId: 'exec-before' } }), 'promote'],
    ['promotes into staging a release its author approved (separation of duties is for prod)', { release: byAlice }, 'promote'],
    ['asks for the lock once the release checks pass', { lock: { state: 'not-attempted' } }, 'take-lock'],
  ])('%s', (_name, over, action) => {
    // GIVEN the facts WHEN decided THEN the action is as expected
    expect(decidePromotion(facts(over)).action).toBe(action);
  });

  it.each<[string, Partial<PromotionFacts>, string, RegExp]>([
    ['fails a release whose artifact checksum does not match', { release: tampered }, 'checksum-mismatch', /airflow\.tar\.gz has sha256 .* re-run the Package stage/],
    ['fails a release without a manifest', { release: missingManifest, env: 'dev' }, 'invalid-release', /release-manifest\.json is missing/],
    ['fails a release of another repo', { repo: 'spark-claims' }, 'wrong-repo', /belongs to repo 'orchestration'/],
    ['fails a release never deployed to dev when promoting to staging', { previousEnvStatus: null }, 'not-succeeded-in-previous-env', /has not succeeded in dev \(it was never deployed there\)/],
    ['fails a release that failed in staging when promoting to prod', { env: 'prod', previousEnvStatus: 'failed' }, 'not-succeeded-in-previous-env', /has not succeeded in staging \(it is 'failed' there\)/],
    ['fails a release only promoted (not verified) in dev', { previousEnvStatus: 'promoted' }, 'not-succeeded-in-previous-env', /cannot be skipped/],
    ['fails when another execution holds the lock', { lock: { state: 'held', holder: 'exec-other', expiresAt: 1_800_000_000 } }, 'locked', /locked by pipeline execution exec-other until 2027-01-15/],
    [
      'fails a prod approval given by the commit\'s author, naming both',
      prod({ approval: approvedBy(ALICE) }),
      'self-approval',
      /^release 20260302\.41\+abc1234 of orchestration was approved for prod \(Prod\/Approve\) by arn:aws:sts::111111111111:assumed-role\/AWSReservedSSO_DataOpsProdApprover_0a1b2c3d4e5f6a7b\/alice@northstar\.health, who is the author of its commit abc1234, Alice Author <alice@northstar\.health>; a change may not be approved for prod by its author/,
    ],
    ['fails a prod approval of a schema-1 release, whose authors are not recorded', prod({ release: valid }), 'approval-unverifiable', /records no author of its commit abc1234 \(its manifest is schema 1/],
    ['fails a prod approval that names no approver', prod({ approval: approvedBy(null) }), 'approval-unverifiable', /names no approver/],
    ['fails prod when its approval has not succeeded', prod({ approval: { state: 'not-approved', approval: 'Prod/Approve', detail: 'failed' } }), 'not-approved', /has not passed the approval Prod\/Approve \(it is failed\)/],
    ['fails prod when the approval was not read', prod({ approval: undefined }), 'not-approved', /has not passed the approval of the prod stage \(it was not read\)/],
  ])('%s', (_name, over, cause, message) => {
    // GIVEN the facts with one thing wrong WHEN decided THEN it is refused, naming cause and fix
    const d = decidePromotion(facts(over));
    expect(d).toMatchObject({ action: 'refuse', cause });
    expect(d.action === 'refuse' && d.message).toMatch(message);
  });

  it('names the checked approver when it promotes into prod', () => {
    expect(decidePromotion(facts(prod()))).toMatchObject({ action: 'promote', message: expect.stringContaining(`approved by ${DANA}, not an author of the commit`) });
  });

  it('checks the previous environment before the approver (a release never in staging is reported as such)', () => {
    expect(decidePromotion(facts(prod({ approval: approvedBy(ALICE), previousEnvStatus: null })))).toMatchObject({ cause: 'not-succeeded-in-previous-env' });
  });

  it('checks the release before the previous environment (a broken release is never reported as "not in dev")', () => {
    // GIVEN a tampered release that also never reached dev WHEN decided THEN the checksum is the cause
    expect(decidePromotion(facts({ release: tampered, previousEnvStatus: null }))).toMatchObject({ cause: 'checksum-mismatch' });
  });

  it.each([
    ['dev', null],
    ['staging', 'dev'],
    ['prod', 'staging'],
  ] as const)('names %s\'s previous environment as %s', (env, prev) => {
    expect(previousEnvironment(env)).toBe(prev);
  });
});
