import fc from 'fast-check';
import { DagHolds, type HoldRecord, type HoldStore, type StoredHold } from '../../../lib/runtime/rollback/dag-holds';
import { DAG_GUARD_RUNS, holdsProperty, perRunMarkerProtocol, realProtocol } from './dag-holds-model';

describe('DAG holds across interleaved deploys and rollbacks of repos that share DAGs (fast-check model)', () => {
  it(`never unpauses a DAG while a holder remains, and leaves each DAG in its state from before the first pause (${DAG_GUARD_RUNS} interleavings with crashes and retries)`, async () => {
    // GIVEN random runs (deploys of a repo's own DAGs, rollbacks of any repo's), random interleavings, crashes before or after a call lands, DAGs a person paused
    // WHEN each run holds its DAGs with the real hold protocol, does its work and lets go, retrying after each crash
    // THEN no DAG is unpaused while held, every run works on paused DAGs, only a run's own hold changes, and every DAG ends as it started
    await fc.assert(holdsProperty(realProtocol), { numRuns: DAG_GUARD_RUNS });
  }, 120_000);

  it('fails the same property with the per-run pause marker that the guard had before the holds', async () => {
    // GIVEN the old behaviour: each run records the prior states of the DAGs it pauses and puts them back when it finishes
    // WHEN the same model runs it
    const out = await fc.check(holdsProperty(perRunMarkerProtocol), { numRuns: DAG_GUARD_RUNS, seed: 11 });
    // THEN a counterexample is found: a DAG unpaused while another run holds it, or left paused after all runs
    expect(out.failed).toBe(true);
    expect(String(out.errorInstance)).toMatch(/unpaused \w+ while|ended paused/);
  }, 120_000);
});

/** A store in memory with S3's conditional-write semantics. */
function memoryStore(): HoldStore & { records: Map<string, { record: HoldRecord; etag: string }> } {
  const records = new Map<string, { record: HoldRecord; etag: string }>();
  let n = 0;
  return {
    records,
    locationOf: (d) => `memory://${d}`,
    read: async (d): Promise<StoredHold | null> => records.get(d) ?? null,
    write: async (record, etag) => {
      const cur = records.get(record.dagId);
      if (etag === null ? cur !== undefined : cur?.etag !== etag) return null;
      const next = { record, etag: `"${++n}"` };
      records.set(record.dagId, next);
      return next.etag;
    },
  };
}

describe('DagHolds', () => {
  const setup = (paused: Record<string, boolean>, props: { waitMs?: number; staleAfterMs?: number; now?: () => number } = {}) => {
    const state = new Map(Object.entries(paused));
    const calls: string[] = [];
    const store = memoryStore();
    let t = Date.parse('2026-03-02T10:00:00Z');
    const holds = new DagHolds({
      store,
      dags: {
        pausedState: async (d) => state.get(d),
        setPaused: async (d, p) => {
          if (state.get(d) === p) return false;
          calls.push(`${p ? 'pause' : 'unpause'} ${d}`);
          state.set(d, p);
          return true;
        },
      },
      clock: { now: props.now ?? (() => t), sleep: async (ms) => void (t += ms) },
      ...(props.waitMs !== undefined ? { waitMs: props.waitMs } : {}),
      ...(props.staleAfterMs !== undefined ? { staleAfterMs: props.staleAfterMs } : {}),
    });
    return { state, calls, store, holds, advance: (ms: number) => void (t += ms) };
  };

  it('keeps a DAG paused while another holder remains and puts it back when the last one lets go', async () => {
    // GIVEN an unpaused DAG held by two runs
    const w = setup({ x: false });
    expect(await w.holds.acquire('x', 'rollback:a:1')).toEqual({ dagId: 'x', listed: true, prior: false, changed: true, others: [] });
    expect(await w.holds.acquire('x', 'rollback:b:1')).toEqual({ dagId: 'x', listed: true, prior: false, changed: false, others: ['rollback:a:1'] });
    // WHEN the first lets go THEN it stays paused for the second
    expect(await w.holds.release('x', 'rollback:a:1')).toEqual({ dagId: 'x', held: true, prior: false, changed: false, remaining: ['rollback:b:1'] });
    expect(w.state.get('x')).toBe(true);
    // WHEN the second lets go THEN it runs again
    expect(await w.holds.release('x', 'rollback:b:1')).toEqual({ dagId: 'x', held: true, prior: false, changed: true, remaining: [] });
    expect(w.calls).toEqual(['pause x', 'unpause x']);
  });

  it('leaves a DAG a person paused paused, and records one hold per holder however often it retries', async () => {
    // GIVEN a DAG a person paused, held by one run that retries its acquire twice
    const w = setup({ x: true });
    for (let i = 0; i < 3; i++) await w.holds.acquire('x', 'deploy:c:7');
    expect(Object.keys(w.store.records.get('x')!.record.holders)).toEqual(['deploy:c:7']);
    // WHEN it lets go (and a retry lets go again)
    await w.holds.release('x', 'deploy:c:7');
    expect(await w.holds.release('x', 'deploy:c:7')).toMatchObject({ held: false, changed: false });
    // THEN nothing was ever unpaused, and the record is free
    expect(w.calls).toEqual([]);
    expect(w.store.records.get('x')!.record).toMatchObject({ holders: {}, prior: null, releasing: null });
  });

  it('does not release another holder\'s hold when a holder that never held the DAG lets go', async () => {
    const w = setup({ x: false });
    await w.holds.acquire('x', 'rollback:a:1');
    expect(await w.holds.release('x', 'rollback:b:1')).toEqual({ dagId: 'x', held: false, prior: null, changed: false, remaining: ['rollback:a:1'] });
    expect(w.state.get('x')).toBe(true);
  });

  it('holds nothing on a DAG the environment does not list', async () => {
    const w = setup({});
    expect(await w.holds.acquire('gone', 'rollback:a:1')).toMatchObject({ listed: false, changed: false });
    expect(w.store.records.size).toBe(0);
  });

  it('sends no pause for a held DAG the environment no longer lists when the holder retries (its file was deleted)', async () => {
    // GIVEN a run holds x, and x's file was deleted so the environment no longer lists it
    const w = setup({ x: false });
    await w.holds.acquire('x', 'deploy:c:dev');
    w.state.delete('x');
    // WHEN the run retries its acquire THEN it reports x as not listed and sends nothing to Airflow
    expect(await w.holds.acquire('x', 'deploy:c:dev')).toMatchObject({ listed: false, changed: false });
    expect(w.calls).toEqual(['pause x']);
    // AND letting go frees the record without touching Airflow
    expect(await w.holds.release('x', 'deploy:c:dev')).toMatchObject({ held: true, changed: false });
    expect(w.store.records.get('x')!.record).toMatchObject({ holders: {}, releasing: null });
  });

  it('finishes a release abandoned mid-way (its run died after marking it) before taking a new hold', async () => {
    // GIVEN the last holder marked the release and died before putting the DAG back (it is still paused)
    const w = setup({ x: false });
    await w.holds.acquire('x', 'rollback:a:1');
    const cur = w.store.records.get('x')!;
    await w.store.write({ ...cur.record, generation: cur.record.generation + 1, holders: {}, releasing: { holder: 'rollback:a:1', since: '2026-03-02T10:00:00.000Z' } }, cur.etag);
    // WHEN another run wants it more than staleAfterMs later
    w.advance(11 * 60_000);
    const a = await w.holds.acquire('x', 'rollback:b:1');
    // THEN the abandoned release is finished first (back to unpaused), and the new hold records that as the prior state
    expect(a).toMatchObject({ prior: false, changed: true });
    expect(w.calls).toEqual(['pause x', 'unpause x', 'pause x']);
    expect(Object.keys(w.store.records.get('x')!.record.holders)).toEqual(['rollback:b:1']);
  });

  it("does not unpause a DAG another run took over and holds again when a retried release resumes from a record it read before the takeover", async () => {
    // GIVEN run R marked its release of x and died before putting x back
    const w = setup({ x: false });
    await w.holds.acquire('x', 'rollback:r:1');
    const cur = w.store.records.get('x')!;
    await w.store.write({ ...cur.record, generation: cur.record.generation + 1, holders: {}, releasing: { holder: 'rollback:r:1', since: '2026-03-02T10:00:00.000Z' } }, cur.etag);
    const dags = { pausedState: async (d: string) => w.state.get(d), setPaused: async (d: string, p: boolean) => w.state.get(d) !== p && (w.calls.push(`${p ? 'pause' : 'unpause'} ${d}`), w.state.set(d, p), true) };
    const taker = new DagHolds({ store: w.store, dags, isStale: () => true });
    // AND R's retry reads the record, and before its next call lands run T takes the abandoned release over and holds x
    let first = true;
    const slowStore: HoldStore = {
      locationOf: w.store.locationOf,
      write: w.store.write,
      read: async (d) => {
        const seen = await w.store.read(d);
        if (first) {
          first = false;
          await taker.acquire('x', 'deploy:c:9');
        }
        return seen;
      },
    };
    const retry = new DagHolds({ store: slowStore, dags });
    // WHEN R's retry goes on from what it read
    const out = await retry.release('x', 'rollback:r:1');
    // THEN R finds its release taken over and leaves x alone: T holds it, paused
    expect(out).toMatchObject({ held: false, changed: false, remaining: ['deploy:c:9'] });
    expect(w.state.get('x')).toBe(true);
    expect(w.calls).toEqual(['pause x', 'unpause x', 'pause x']);
  });

  it('fails naming the DAG, the releasing run and the fix when another run\'s release does not finish in time', async () => {
    // GIVEN a release marked a minute ago by a run that is still alive (not stale)
    const w = setup({ x: false }, { waitMs: 10_000, staleAfterMs: 600_000 });
    await w.holds.acquire('x', 'rollback:a:1');
    const cur = w.store.records.get('x')!;
    await w.store.write({ ...cur.record, generation: cur.record.generation + 1, holders: {}, releasing: { holder: 'rollback:a:1', since: new Date(Date.parse('2026-03-02T10:00:00Z')).toISOString() } }, cur.etag);
    // WHEN another run wants it THEN it waits, then fails with what to do
    await expect(w.holds.acquire('x', 'rollback:b:1')).rejects.toThrow(/^cannot hold DAG x for rollback:b:1: rollback:a:1 has been putting it back since 2026-03-02T10:00:00.000Z \(memory:\/\/x\); retry once that run finished, or after 10 minutes/);
  });
});
