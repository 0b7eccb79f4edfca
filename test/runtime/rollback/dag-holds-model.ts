/**
 * A model of one MWAA environment in which deploys and rollbacks of several repos hold DAGs at the
 * same time, with random interleavings (fast-check's scheduler decides the order in which every
 * store read/write and every Airflow call lands and is answered), crashes (a run dies before or
 * after one of its calls lands, then is retried with the same holder id) and DAGs a person had
 * paused. It runs the real hold protocol ({@link DagHolds}) over an in-memory store with the same
 * conditional-write semantics as S3's If-Match / If-None-Match, and checks:
 * 1. a DAG is never unpaused while a holder remains (no run holds it between its acquire returning
 *    and its release starting, and its hold record lists no holder);
 * 2. every run does its work with each DAG it holds paused;
 * 3. when every run has finished, each DAG is in its state from before the first run paused it, and
 *    no hold record is left held;
 * 4. a write to a hold record adds or removes only the writer's own hold.
 * Used by test/runtime/rollback/dag-holds.test.ts and bench/dag-guard.bench.ts.
 */
import fc from 'fast-check';
import { DagHolds, holderId, type HoldRecord, type HoldStore, type PauseSwitch, type StoredHold } from '../../../lib/runtime/rollback/dag-holds';

/** Interleavings the model checks by default (each fast-check run is one scenario and one interleaving). */
export const DAG_GUARD_RUNS = 1000;

/** DAG ids of the model and the repo each belongs to; `ghost_dag` is never listed by the environment. */
export const MODEL_DAGS: Readonly<Record<string, string>> = { claims_report: 'c', members_sync: 'c', finance_rollup: 'b', ingest_claims: 'a', ghost_dag: 'c' };
const LISTED = Object.keys(MODEL_DAGS).filter((d) => d !== 'ghost_dag');

/** One run that holds DAGs: a deploy holds some of its own repo's DAGs, a rollback any repo's. */
export interface ModelRun {
  readonly kind: 'deploy' | 'rollback';
  readonly repo: string;
  readonly executionId: string;
  readonly dags: readonly string[];
  /**
   * Calls (counted over all attempts) at which the run dies, whether the call landed first, and how
   * long (in scheduler steps) it stays dead before it is retried.
   */
  readonly crashes: ReadonlyArray<{ readonly atCall: number; readonly landed: boolean; readonly deadFor: number }>;
}

/** One scenario: the DAGs' paused states before any run (true: a person paused it) and the runs. */
export interface ModelScenario {
  readonly initial: Readonly<Record<string, boolean>>;
  readonly runs: readonly ModelRun[];
}

const repos = ['a', 'b', 'c'];
const runArb = (i: number, pool: readonly string[]): fc.Arbitrary<ModelRun> =>
  fc
    .record({
      kind: fc.constantFrom('deploy' as const, 'rollback' as const),
      repo: fc.constantFrom(...repos),
      pick: fc.uniqueArray(fc.constantFrom(...pool), { minLength: 1, maxLength: 4 }),
      crashes: fc.array(fc.record({ atCall: fc.nat({ max: 20 }), landed: fc.boolean(), deadFor: fc.integer({ min: 1, max: 8 }) }), { maxLength: 3 }),
    })
    .map(({ kind, repo, pick, crashes }) => {
      // A deploy pauses only its repo's DAGs whose files change; a rollback also other repos' DAGs on the restored data.
      const mine = pick.filter((d) => MODEL_DAGS[d] === repo);
      const dags = kind === 'rollback' ? pick : mine.length > 0 ? mine : pick.slice(0, 1);
      return { kind, repo: kind === 'deploy' ? MODEL_DAGS[dags[0]] : repo, executionId: `exec-${i}`, dags: [...dags].sort(), crashes };
    });

/**
 * Scenarios of 2 to 5 runs: over every DAG, or (one in two) over one or two DAGs that every run
 * shares, where holders meet most.
 */
export const scenarioArb: fc.Arbitrary<ModelScenario> = fc.record({
  initial: fc.record(Object.fromEntries(LISTED.map((d) => [d, fc.boolean()])) as Record<string, fc.Arbitrary<boolean>>),
  runs: fc
    .tuple(fc.integer({ min: 2, max: 5 }), fc.oneof(fc.constant(Object.keys(MODEL_DAGS)), fc.constant(['claims_report']), fc.constant(['claims_report', 'members_sync'])))
    .chain(([n, pool]) => fc.tuple(...Array.from({ length: n }, (_, i) => runArb(i, pool)))),
});

/** The per-DAG hold operations a run uses; {@link DagHolds} is the real one. */
export interface HoldProtocol {
  acquire(dagId: string, holder: string): Promise<unknown>;
  release(dagId: string, holder: string): Promise<unknown>;
}

/** What a protocol is built from: the run's store and Airflow (each call an interleaving point), and whether a holder is dead now. */
export interface ProtocolParts {
  readonly store: HoldStore;
  readonly dags: PauseSwitch;
  readonly isDead: (holder: string) => boolean;
  readonly yieldNow: () => Promise<void>;
}

/** The real protocol, as DagGuard builds it, with a release abandoned by a dead run counting as stale. */
export const realProtocol = (p: ProtocolParts): HoldProtocol =>
  new DagHolds({ store: p.store, dags: p.dags, isStale: (r) => p.isDead(r.holder), pollMs: 1, waitMs: 1e12, clock: { now: () => 0, sleep: () => p.yieldNow() } });

/** The run died; it is retried after `deadFor` scheduler steps. */
class Crash extends Error {
  constructor(readonly deadFor: number) {
    super('the run died');
  }
}

/** The model's result for one scenario and one interleaving: the properties that failed (empty: all held). */
export async function runScenario(s: fc.Scheduler, sc: ModelScenario, protocolOf: (p: ProtocolParts) => HoldProtocol): Promise<string[]> {
  const problems: string[] = [];
  const paused = new Map(Object.entries(sc.initial));
  const records = new Map<string, { body: string; etag: string }>();
  let tags = 0;
  /** dag id → runs that rely on it being paused (acquire returned, release not begun). */
  const relying = new Map<string, Set<string>>();
  const dead = new Set<string>();
  const recordOf = (dagId: string): HoldRecord | null => {
    const r = records.get(dagId);
    return r ? (JSON.parse(r.body) as HoldRecord) : null;
  };

  /** One call of a run: it lands (its effect happens) and is answered at points the scheduler picks; the run may die at it. */
  const callsOf = (holder: string, crashes: ModelRun['crashes']) => {
    let calls = 0;
    return async <T>(label: string, effect: () => T): Promise<T> => {
      const n = calls++;
      const crash = crashes.find((c) => c.atCall === n);
      await s.schedule(Promise.resolve(), `${holder} ${label}`);
      if (crash && !crash.landed) throw new Crash(crash.deadFor);
      const out = effect();
      await s.schedule(Promise.resolve(), `${holder} ${label} answered`);
      if (crash) throw new Crash(crash.deadFor);
      return out;
    };
  };

  const partsOf = (holder: string, call: ReturnType<typeof callsOf>): ProtocolParts => ({
    isDead: (h) => dead.has(h),
    yieldNow: () => s.schedule(Promise.resolve(), `${holder} waits`),
    store: {
      locationOf: (dagId) => `memory://${dagId}`,
      read: (dagId) =>
        call(`read ${dagId}`, (): StoredHold | null => {
          const r = records.get(dagId);
          return r ? { record: JSON.parse(r.body) as HoldRecord, etag: r.etag } : null;
        }),
      write: (record, etag) =>
        call(`write ${record.dagId}`, (): string | null => {
          const cur = records.get(record.dagId);
          if (etag === null ? cur !== undefined : cur?.etag !== etag) return null;
          const before = Object.keys(cur ? (JSON.parse(cur.body) as HoldRecord).holders : {});
          const after = Object.keys(record.holders);
          const foreign = [...before.filter((h) => !after.includes(h)), ...after.filter((h) => !before.includes(h))].filter((h) => h !== holder);
          if (foreign.length > 0) problems.push(`${holder} changed the hold of ${foreign.join(', ')} on ${record.dagId}`);
          const next = { body: JSON.stringify(record), etag: `"${++tags}"` };
          records.set(record.dagId, next);
          return next.etag;
        }),
    },
    dags: {
      pausedState: (dagId) => call(`state ${dagId}`, () => paused.get(dagId)),
      setPaused: (dagId, p) =>
        call(`${p ? 'pause' : 'unpause'} ${dagId}`, () => {
          if (!paused.has(dagId)) throw new Error(`unknown DAG ${dagId}`);
          const changed = paused.get(dagId) !== p;
          if (!p) {
            const still = [...(relying.get(dagId) ?? [])];
            if (still.length > 0) problems.push(`${holder} unpaused ${dagId} while ${still.join(', ')} held it`);
            const held = Object.keys(recordOf(dagId)?.holders ?? {});
            if (held.length > 0) problems.push(`${holder} unpaused ${dagId} while its hold record lists ${held.join(', ')}`);
          }
          paused.set(dagId, p);
          return changed;
        }),
    },
  });

  const runOne = async (run: ModelRun): Promise<void> => {
    const holder = holderId(run.kind, run.repo, run.executionId);
    const call = callsOf(holder, run.crashes);
    const protocol = protocolOf(partsOf(holder, call));
    let workDone = false;
    for (let attempt = 0; attempt < 10; attempt++) {
      try {
        if (!workDone) {
          for (const d of run.dags) {
            await protocol.acquire(d, holder);
            if (paused.has(d)) (relying.get(d) ?? relying.set(d, new Set()).get(d)!).add(holder);
          }
          // The run's work (the sync, the data restore): every DAG it holds must be paused now.
          for (const d of run.dags) if (paused.has(d) && paused.get(d) !== true) problems.push(`${holder} worked with ${d} unpaused`);
          workDone = true;
        }
        // A retry after the work only releases (as data-restore.ts does after a completed restore).
        for (const d of run.dags) {
          relying.get(d)?.delete(holder);
          await protocol.release(d, holder);
        }
        return;
      } catch (e) {
        if (!(e instanceof Crash)) throw e;
        dead.add(holder);
        for (let i = 0; i < e.deadFor; i++) await s.schedule(Promise.resolve(), `${holder} is dead`);
        dead.delete(holder);
      }
    }
    problems.push(`${holder} did not finish in 10 attempts`);
  };

  const all = Promise.all(sc.runs.map((r) => runOne(r)));
  await s.waitIdle();
  await all;
  for (const [d, p] of paused) if (p !== sc.initial[d]) problems.push(`${d} ended ${p ? 'paused' : 'unpaused'}, it was ${sc.initial[d] ? 'paused' : 'unpaused'} before the first run`);
  for (const d of records.keys()) {
    const r = recordOf(d)!;
    if (Object.keys(r.holders).length > 0 || r.releasing) problems.push(`${d} is still held at the end: ${JSON.stringify(r)}`);
  }
  return problems;
}

/** The property over random scenarios and interleavings, for `protocolOf`. */
export function holdsProperty(protocolOf: (p: ProtocolParts) => HoldProtocol): fc.IAsyncPropertyWithHooks<[fc.Scheduler, ModelScenario]> {
  return fc.asyncProperty(fc.scheduler(), scenarioArb, async (s, sc) => {
    const problems = await runScenario(s, sc, protocolOf);
    if (problems.length > 0) throw new Error(`${problems.join('\n')}\nscheduler: ${s.report().map((t) => t.label).join(' | ')}`);
  });
}

/**
 * The behaviour before per-DAG holds (for the negative check): each run kept its own record of the
 * prior states of the DAGs it paused, and put each one back to that state when it finished.
 */
export const perRunMarkerProtocol = (p: ProtocolParts): HoldProtocol => {
  const markers = new Map<string, Record<string, boolean>>();
  return {
    async acquire(dagId, holder) {
      const marker = markers.get(holder) ?? {};
      const now = await p.dags.pausedState(dagId);
      if (now === undefined) return;
      if (!(dagId in marker)) markers.set(holder, { ...marker, [dagId]: now });
      if (!now) await p.dags.setPaused(dagId, true);
    },
    async release(dagId, holder) {
      const prior = markers.get(holder)?.[dagId];
      if (prior === undefined) return;
      if ((await p.dags.pausedState(dagId)) !== prior) await p.dags.setPaused(dagId, prior);
    },
  };
};
