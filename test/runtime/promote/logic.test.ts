import { decidePromotion, previousEnvironment, type PromotionFacts } from '../../../lib/runtime/promote/logic';
import { checkRelease } from '../../../lib/runtime/release/checksums';
import { releaseFiles } from '../helpers/release-fixture';

const valid = checkRelease(releaseFiles({ repo: 'orchestration' }).files);
const tampered = (() => {
  const { files } = releaseFiles({ repo: 'orchestration' });
  files.set('airflow.tar.gz', Buffer.from('changed after packaging'));
  return checkRelease(files);
})();
const missingManifest = checkRelease(new Map());

function facts(over: Partial<PromotionFacts>): PromotionFacts {
  return { repo: 'orchestration', env: 'staging', release: valid, previousEnvStatus: 'verified', lock: { state: 'acquired', reentrant: false }, ...over };
}

describe('decidePromotion', () => {
  it.each<[string, Partial<PromotionFacts>, string]>([
    ['promotes a valid release verified in dev into staging under the lock', {}, 'promote'],
    ['promotes into dev with only a valid release (no previous environment)', { env: 'dev', previousEnvStatus: null }, 'promote'],
    ['promotes a release whose previous stage succeeded (after the bake)', { env: 'prod', previousEnvStatus: 'succeeded' }, 'promote'],
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
  ])('%s', (_name, over, cause, message) => {
    // GIVEN the facts with one thing wrong WHEN decided THEN it is refused, naming cause and fix
    const d = decidePromotion(facts(over));
    expect(d).toMatchObject({ action: 'refuse', cause });
    expect(d.action === 'refuse' && d.message).toMatch(message);
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
