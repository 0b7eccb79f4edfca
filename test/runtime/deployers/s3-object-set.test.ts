/** The pure planners of the S3 object-set sync and restore (fast-check properties + examples). */
import fc from 'fast-check';
import { planObjectSet, planRestore, type ObjectSet } from '../../../lib/runtime/deployers/s3-object-set';

/** Applies a plan to an in-memory bucket the way S3 does (new versions on put/copy). */
function simulate(current: ObjectSet, plan: ReturnType<typeof planObjectSet>, versions: Map<string, string>): ObjectSet {
  const next: Record<string, { sha256: string | null; versionId: string | null }> = { ...current };
  for (const u of plan.uploads) {
    const v = `v${versions.size + 1}`;
    versions.set(v, u.sha256);
    next[u.key] = { sha256: u.sha256, versionId: v };
  }
  for (const d of plan.deletes) delete next[d];
  return next;
}

const shaArb = fc.constantFrom('a', 'b', 'c').map((c) => c.repeat(64));
const setArb = fc.dictionary(fc.constantFrom('k1', 'k2', 'k3', 'k4', 'k5'), shaArb);

describe('object-set planners', () => {
  it('plans nothing when the bucket already holds the release', () => {
    const current: ObjectSet = { k: { sha256: 'a'.repeat(64), versionId: 'v1' } };
    expect(planObjectSet(current, [{ key: 'k', sha256: 'a'.repeat(64) }])).toEqual({ uploads: [], deletes: [] });
  });

  it('re-uploads an object written without sha256 metadata', () => {
    const current: ObjectSet = { k: { sha256: null, versionId: 'v1' } };
    expect(planObjectSet(current, [{ key: 'k', sha256: 'a'.repeat(64) }]).uploads).toHaveLength(1);
  });

  it('fails to plan a restore of an object that has no recorded version, naming it', () => {
    expect(() => planRestore({}, { 'dags/r/x.py': { sha256: 'a'.repeat(64), versionId: null } })).toThrow(/s3 object dags\/r\/x\.py has no recorded VersionId/);
  });

  it('syncing to any release gives exactly that release, a second sync plans nothing, and restoring gives back exactly the previous set', () => {
    fc.assert(
      fc.property(setArb, setArb, (before, release) => {
        // GIVEN a bucket holding `before` (each object a known version) and a release
        const versions = new Map<string, string>();
        const current: ObjectSet = Object.fromEntries(
          Object.entries(before).map(([k, sha]) => {
            const v = `v${versions.size + 1}`;
            versions.set(v, sha);
            return [k, { sha256: sha, versionId: v }];
          }),
        );
        const desired = Object.entries(release).map(([key, sha256]) => ({ key, sha256 }));
        // WHEN it is synced
        const after = simulate(current, planObjectSet(current, desired), versions);
        // THEN the bucket holds exactly the release and a second sync plans nothing
        expect(Object.fromEntries(Object.entries(after).map(([k, o]) => [k, o.sha256]))).toEqual(release);
        expect(planObjectSet(after, desired)).toEqual({ uploads: [], deletes: [] });
        // AND a restore copies back the recorded versions, which hold the previous bytes
        const restore = planRestore(after, current);
        const restored: Record<string, string | null> = Object.fromEntries(Object.entries(after).map(([k, o]) => [k, o.sha256]));
        for (const c of restore.copies) restored[c.key] = versions.get(c.versionId)!;
        for (const d of restore.deletes) delete restored[d];
        expect(restored).toEqual(before);
      }),
      { numRuns: 1000 },
    );
  });
});
