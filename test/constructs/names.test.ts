import { ENVIRONMENT_NAMES } from '../../lib/config/schema';
import { fitName, PlatformNames } from '../../lib/constructs/names';
import { makeTestConfig } from '../helpers/config';

describe('fitName', () => {
  it.each([
    ['short', 10, 'short'],
    ['exactly-ten', 11, 'exactly-ten'],
  ])('keeps %s when it fits in %d characters', (value, max, expected) => {
    expect(fitName(value, max)).toBe(expected);
  });

  it('shortens a long name to the limit, keeping its start and a stable hash', () => {
    const long = `northstar-deployer-prod-${'a'.repeat(80)}`;
    const fitted = fitName(long, 64);
    expect(fitted).toHaveLength(64);
    expect(fitted.startsWith('northstar-deployer-prod-')).toBe(true);
    expect(fitName(long, 64)).toBe(fitted);
  });

  it('gives two long names that differ only at the end two different short names', () => {
    const a = `${'x'.repeat(70)}-one`;
    const b = `${'x'.repeat(70)}-two`;
    expect(fitName(a, 64)).not.toBe(fitName(b, 64));
  });
});

describe('PlatformNames', () => {
  const config = makeTestConfig({ repoCount: 64 });
  const names = new PlatformNames(config);

  it('gives every repo of a 64-repo platform distinct pipeline, role and project names within AWS limits', () => {
    const all = config.repos.flatMap((r) => [
      names.pipelineName(r),
      ...ENVIRONMENT_NAMES.map((e) => names.deployerRoleName(r, e)),
      names.projectName(r, 'pr-validate'),
    ]);
    expect(new Set(all).size).toBe(all.length);
    for (const r of config.repos) for (const e of ENVIRONMENT_NAMES) expect(names.deployerRoleName(r, e).length).toBeLessThanOrEqual(64);
  });

  it.each(ENVIRONMENT_NAMES.map((e) => [e]))('prefixes every %s deployer role with that environment only', (env) => {
    for (const r of config.repos) {
      expect(names.deployerRoleName(r, env).startsWith(names.deployerRolePrefix(env))).toBe(true);
      for (const other of ENVIRONMENT_NAMES.filter((o) => o !== env)) {
        expect(names.deployerRoleName(r, env).startsWith(names.deployerRolePrefix(other))).toBe(false);
      }
    }
  });

  it('keeps the artifact bucket name a valid S3 name for the longest platform name', () => {
    const long = new PlatformNames(makeTestConfig({ mutate: (raw) => (raw.name = `n${'a'.repeat(61)}`) }));
    expect(long.artifactBucketName()).toMatch(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/);
  });
});
