import fc from 'fast-check';
import { computeDora, DoraInputError, median, parseSince, quantile, type ProdDeploymentFact, type RollbackFact } from '../../../lib/ops/dora/model';

const W = { from: '2026-03-01T00:00:00.000Z', to: '2026-03-11T00:00:00.000Z' }; // 10 days
let n = 0;
const dep = (o: Partial<ProdDeploymentFact> & { finishedAt: string }): ProdDeploymentFact => ({
  repo: 'r',
  executionId: `e${(n += 1)}`,
  version: `v${n}`,
  outcome: 'succeeded',
  isRestore: false,
  changeAt: null,
  ...o,
});
const at = (day: number, hour = 12) => new Date(Date.UTC(2026, 2, day, hour)).toISOString();

describe('computeDora', () => {
  it.each<[string, ProdDeploymentFact[], RollbackFact[], { deployments: number; perDay: number; changes: number; failed: number; rate: number | null }]>([
    ['no deployments', [], [], { deployments: 0, perDay: 0, changes: 0, failed: 0, rate: null }],
    ['five good deployments', [1, 2, 3, 4, 5].map((d) => dep({ finishedAt: at(d) })), [], { deployments: 5, perDay: 0.5, changes: 5, failed: 0, rate: 0 }],
    ['a failed prod stage counts as a failed change, not a deployment', [dep({ finishedAt: at(2) }), dep({ finishedAt: at(3), outcome: 'failed' })], [], { deployments: 1, perDay: 0.1, changes: 2, failed: 1, rate: 0.5 }],
    ['a succeeded deployment that was rolled back failed', [dep({ finishedAt: at(2), version: 'v1' }), dep({ finishedAt: at(3), version: 'v2' }), dep({ finishedAt: at(3, 13), version: 'v1', isRestore: true })], [{ repo: 'r', at: at(3, 12.5), fromVersion: 'v2' }], { deployments: 2, perDay: 0.2, changes: 2, failed: 1, rate: 0.5 }],
    ['restores are not deployments of a change', [dep({ finishedAt: at(2) }), dep({ finishedAt: at(4), isRestore: true })], [], { deployments: 1, perDay: 0.1, changes: 1, failed: 0, rate: 0 }],
    ['deployments outside the window do not count', [dep({ finishedAt: '2026-02-27T00:00:00.000Z' }), dep({ finishedAt: at(5) }), dep({ finishedAt: '2026-03-12T00:00:00.000Z' })], [], { deployments: 1, perDay: 0.1, changes: 1, failed: 0, rate: 0 }],
    ['a rollback after the next change reached prod blames that change, not this one', [dep({ finishedAt: at(2), version: 'v1' }), dep({ finishedAt: at(3), version: 'v2' })], [{ repo: 'r', at: at(4), fromVersion: 'v2' }], { deployments: 2, perDay: 0.2, changes: 2, failed: 1, rate: 0.5 }],
  ])('counts %s', (_what, deployments, rollbacks, want) => {
    // GIVEN facts WHEN computed over a 10-day window THEN frequency and failure rate follow the DORA definitions
    const r = computeDora({ deployments, rollbacks }, W);
    expect(r.overall.deployments).toBe(want.deployments);
    expect(r.overall.deploymentsPerDay).toBeCloseTo(want.perDay, 9);
    expect(r.overall.changeFailure).toEqual({ changes: want.changes, failed: want.failed, rate: want.rate });
  });

  it('measures lead time from the change entering the pipeline to prod, as median and p90 in hours', () => {
    const deployments = [1, 2, 3, 10].map((h, i) => dep({ finishedAt: at(5 + i), changeAt: new Date(Date.parse(at(5 + i)) - h * 3_600_000).toISOString() }));
    const r = computeDora({ deployments, rollbacks: [] }, W);
    expect(r.overall.leadTime).toEqual({ samples: 4, medianHours: 2.5, p90Hours: 10 });
  });

  it('measures time to restore from the failure to the next successful prod deployment, and counts unrestored incidents', () => {
    // GIVEN a failed stage restored 30 minutes later, and a failure never restored
    const deployments = [
      dep({ finishedAt: at(2), outcome: 'failed' }),
      dep({ finishedAt: new Date(Date.parse(at(2)) + 30 * 60_000).toISOString(), isRestore: true }),
      dep({ finishedAt: at(6), outcome: 'failed' }),
    ];
    const r = computeDora({ deployments, rollbacks: [] }, W);
    expect(r.overall.timeToRestore).toEqual({ incidents: 2, restored: 1, medianMinutes: 30 });
  });

  it('reports each repo and the overall figures', () => {
    const deployments = [dep({ repo: 'a', finishedAt: at(2) }), dep({ repo: 'b', finishedAt: at(3) }), dep({ repo: 'b', finishedAt: at(4), outcome: 'failed' })];
    const r = computeDora({ deployments, rollbacks: [] }, W);
    expect(Object.keys(r.repos)).toEqual(['a', 'b']);
    expect(r.repos.b.changeFailure.rate).toBe(0.5);
    expect(r.overall.changeFailure).toEqual({ changes: 3, failed: 1, rate: 1 / 3 });
  });

  it.each([
    ['reversed', { from: W.to, to: W.from }],
    ['not a time', { from: 'yesterday', to: W.to }],
  ])('fails on a window that is %s', (_what, window) => {
    expect(() => computeDora({ deployments: [], rollbacks: [] }, window)).toThrow(DoraInputError);
  });
});

describe('DORA properties', () => {
  const repoArb = fc.constantFrom('a', 'b', 'c');
  const factArb = fc.record({
    repo: repoArb,
    day: fc.integer({ min: 0, max: 14 }),
    minute: fc.integer({ min: 0, max: 1439 }),
    outcome: fc.constantFrom<'succeeded' | 'failed'>('succeeded', 'failed'),
    isRestore: fc.boolean(),
    version: fc.constantFrom('v1', 'v2', 'v3', null),
    leadMinutes: fc.option(fc.integer({ min: 0, max: 5000 }), { nil: null }),
  });
  const toFacts = (raw: Array<{ repo: string; day: number; minute: number; outcome: 'succeeded' | 'failed'; isRestore: boolean; version: string | null; leadMinutes: number | null }>) =>
    raw.map((x, i): ProdDeploymentFact => {
      const finished = Date.UTC(2026, 1, 25) + x.day * 86_400_000 + x.minute * 60_000;
      return {
        repo: x.repo,
        executionId: `e${i}`,
        version: x.version,
        finishedAt: new Date(finished).toISOString(),
        outcome: x.outcome,
        isRestore: x.isRestore,
        changeAt: x.leadMinutes === null ? null : new Date(finished - x.leadMinutes * 60_000).toISOString(),
      };
    });
  const rollbackArb = fc.array(fc.record({ repo: repoArb, day: fc.integer({ min: 0, max: 14 }), version: fc.constantFrom('v1', 'v2', null) }), { maxLength: 5 });
  const toRollbacks = (raw: Array<{ repo: string; day: number; version: string | null }>): RollbackFact[] =>
    raw.map((r) => ({ repo: r.repo, at: new Date(Date.UTC(2026, 1, 25) + r.day * 86_400_000 + 3_600_000).toISOString(), fromVersion: r.version }));

  it('keeps 0 ≤ failed ≤ changes and the overall equal to the sum of the repos', () => {
    fc.assert(
      fc.property(fc.array(factArb, { maxLength: 40 }), rollbackArb, (raw, rbs) => {
        const r = computeDora({ deployments: toFacts(raw), rollbacks: toRollbacks(rbs) }, W);
        const repos = Object.values(r.repos);
        for (const f of [...repos, r.overall]) {
          expect(f.changeFailure.failed).toBeGreaterThanOrEqual(0);
          expect(f.changeFailure.failed).toBeLessThanOrEqual(f.changeFailure.changes);
          expect(f.deployments).toBeLessThanOrEqual(f.changeFailure.changes);
          expect(f.timeToRestore.restored).toBeLessThanOrEqual(f.timeToRestore.incidents);
          if (f.changeFailure.rate !== null) expect(f.changeFailure.rate).toBeLessThanOrEqual(1);
        }
        expect(r.overall.deployments).toBe(repos.reduce((s, f) => s + f.deployments, 0));
        expect(r.overall.changeFailure.changes).toBe(repos.reduce((s, f) => s + f.changeFailure.changes, 0));
        expect(r.overall.leadTime.samples).toBe(repos.reduce((s, f) => s + f.leadTime.samples, 0));
      }),
      { numRuns: 300 },
    );
  });

  it('does not depend on the order of the facts', () => {
    fc.assert(
      fc.property(fc.array(factArb, { maxLength: 30 }), rollbackArb, fc.integer(), (raw, rbs, seed) => {
        const facts = toFacts(raw);
        const shuffled = [...facts].sort((a, b) => ((a.executionId.length * 31 + seed) % 7) - ((b.executionId.length * 17 + seed) % 5));
        expect(computeDora({ deployments: shuffled, rollbacks: toRollbacks(rbs) }, W)).toEqual(computeDora({ deployments: facts, rollbacks: toRollbacks(rbs) }, W));
      }),
      { numRuns: 200 },
    );
  });

  it('never counts a restore as a deployment, and never gives a negative lead or restore time', () => {
    fc.assert(
      fc.property(fc.array(factArb, { maxLength: 40 }), (raw) => {
        const facts = toFacts(raw);
        const r = computeDora({ deployments: facts, rollbacks: [] }, W);
        const inWindow = (f: ProdDeploymentFact) => f.finishedAt >= W.from && f.finishedAt <= W.to;
        expect(r.overall.deployments).toBe(facts.filter((f) => inWindow(f) && !f.isRestore && f.outcome === 'succeeded').length);
        for (const f of Object.values(r.repos)) {
          if (f.leadTime.medianHours !== null) expect(f.leadTime.medianHours).toBeGreaterThanOrEqual(0);
          if (f.timeToRestore.medianMinutes !== null) expect(f.timeToRestore.medianMinutes).toBeGreaterThan(0);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('helpers', () => {
  it.each([
    [[], null, null],
    [[4], 4, 4],
    [[1, 2, 3, 4], 2.5, 4],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 5.5, 9],
  ])('median and p90 of %j are %p and %p', (xs, med, p90) => {
    expect(median(xs)).toBe(med);
    expect(quantile(xs, 0.9)).toBe(p90);
  });

  it.each([
    ['90d', '2026-01-01T00:00:00.000Z'],
    ['12h', '2026-03-31T12:00:00.000Z'],
    ['2w', '2026-03-18T00:00:00.000Z'],
    ['2026-02-01', '2026-02-01T00:00:00.000Z'],
  ])('reads --since %s', (since, want) => {
    expect(parseSince(since, new Date('2026-04-01T00:00:00.000Z'))).toBe(want);
  });

  it('fails on a --since it cannot read, naming the accepted forms', () => {
    expect(() => parseSince('last week', new Date())).toThrow(/'last week' is neither a duration \(90d, 12h, 2w\) nor an ISO date/);
  });
});
