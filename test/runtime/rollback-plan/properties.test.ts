import fc from 'fast-check';
import {
  applyCodeSteps,
  catchUpHazards,
  decideRollback,
  type DagTouch,
  type DataObjectFact,
  type PipelineExecutionFact,
  type ReleaseState,
  type RollbackCandidate,
  type RollbackFacts,
} from '../../../lib/runtime/rollback-plan/logic';
import type { DagEntry } from '../../../lib/runtime/release/manifest';
import { DagHolds, type HoldRecord } from '../../../lib/runtime/rollback/dag-holds';

const RUNS = { numRuns: 1000 };

const dagIds = ['claims_daily', 'eligibility_hourly', 'members_sync', 'payments_rollup'];
const paths = ['dags/claims.py', 'dags/eligibility.py', 'dags/members.py', 'dags/payments.py', 'models/stg_claims.sql', 'models/fct_payments.sql'];
const shas = ['a', 'b', 'c'].map((c) => c.repeat(64));
const dagArb: fc.Arbitrary<DagEntry> = fc.record({
  dagId: fc.constantFrom(...dagIds),
  file: fc.constantFrom(...paths.slice(0, 4)),
  schedule: fc.constantFrom('@daily', '@hourly', '0 3 * * *', null),
  startDate: fc.constantFrom('2025-01-01T00:00:00+00:00', '2025-06-01T00:00:00+00:00', null),
  catchup: fc.constantFrom(true, false, null),
});
const dagsArb = fc.uniqueArray(dagArb, { selector: (d) => d.dagId, maxLength: 4 });
const assetsArb = fc.dictionary(fc.constantFrom(...paths), fc.constantFrom(...shas), { maxKeys: 6 });
const versionArb = fc.constantFrom('v1', 'v2', 'v3', 'v4', 'v5');
const execIdArb = fc.constantFrom('e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8');
const isoArb = fc.integer({ min: Date.parse('2026-03-01T00:00:00Z'), max: Date.parse('2026-03-03T00:00:00Z') }).map((t) => new Date(t).toISOString());
const dataArb: fc.Arbitrary<DataObjectFact> = fc.record({
  name: fc.constantFrom('ANALYTICS.CORE.STG_CLAIMS', 'ANALYTICS.CORE.FCT_PAYMENTS', 'ANALYTICS.MARTS.MEMBERS'),
  changedByFailedRelease: fc.boolean(),
  watermarkAt: fc.option(isoArb, { nil: null }),
  lastLoadAt: fc.option(isoArb, { nil: null }),
  restoreMethod: fc.constantFrom('swap-back' as const, 'time-travel-clone' as const),
});
const otherRepoDags = ['claims_report', 'finance_sync', 'ml_features'];
const touchArb: fc.Arbitrary<DagTouch> = fc.record({
  dagId: fc.constantFrom(...otherRepoDags, ...dagIds),
  repo: fc.constantFrom('reporting', 'finance', 'orchestration'),
  object: fc.constantFrom('ANALYTICS.CORE.STG_CLAIMS', 'ANALYTICS.CORE.FCT_PAYMENTS', 'ANALYTICS.MARTS.MEMBERS'),
  how: fc.constantFrom('reads' as const, 'writes' as const),
  via: fc.constant('dataset snowflake://analytics/core/x → dataset'),
});
/** What the asset graph says (null: it could not be read, one time in five). */
const touchesArb = fc.option(fc.array(touchArb, { maxLength: 6 }), { nil: null, freq: 4 });
const candidateArb: fc.Arbitrary<RollbackCandidate> = fc.record({ version: versionArb, executionId: execIdArb, wasRollback: fc.boolean() });
const executionArb: fc.Arbitrary<PipelineExecutionFact> = fc.record({
  executionId: execIdArb,
  status: fc.constantFrom('InProgress', 'Succeeded', 'Failed', 'Stopped'),
  type: fc.constantFrom('STANDARD', 'ROLLBACK'),
});

/** Any facts a rollback might be asked to decide on, including inconsistent histories. */
const factsArb: fc.Arbitrary<RollbackFacts & { states: Record<string, ReleaseState> }> = fc
  .record({
    current: fc.option(fc.record({ version: versionArb, executionId: execIdArb, viaRollback: fc.boolean() }), { nil: null }),
    candidates: fc.uniqueArray(candidateArb, { selector: (c) => c.executionId, maxLength: 6 }),
    executions: fc.uniqueArray(executionArb, { selector: (e) => e.executionId, maxLength: 8 }),
    toVersion: fc.option(versionArb, { nil: undefined }),
    stateByExec: fc.dictionary(execIdArb, fc.record({ assets: assetsArb, dags: dagsArb })),
    data: fc.uniqueArray(dataArb, { selector: (d) => d.name, maxLength: 3 }),
    dagTouches: touchesArb,
  })
  .map((raw) => {
    // One execution deploys one version: the current execution keeps its candidate's version.
    const same = raw.current && raw.candidates.find((c) => c.executionId === raw.current?.executionId);
    const r = same && raw.current ? { ...raw, current: { ...raw.current, version: same.version } } : raw;
    const states: Record<string, ReleaseState> = {};
    const versionOf = new Map<string, string>([...r.candidates.map((c) => [c.executionId, c.version] as const), ...(r.current ? [[r.current.executionId, r.current.version] as const] : [])]);
    for (const [id, s] of Object.entries(r.stateByExec)) states[id] = { version: versionOf.get(id) ?? 'v0', executionId: id, ...s };
    return {
      repo: 'orchestration',
      env: 'prod',
      current: r.current,
      candidates: r.candidates,
      executions: r.executions,
      toVersion: r.toVersion,
      currentState: r.current ? (states[r.current.executionId] ?? null) : null,
      stateOf: (id: string) => states[id] ?? null,
      data: r.data,
      dagTouches: r.dagTouches,
      graphProblem: 'the registry cannot be read',
      states,
    };
  });

/**
 * Facts of a consistent history that can usually be planned: the env runs v5 by a normal deployment,
 * earlier successes exist (some of them rollbacks), DAG definitions change only sometimes.
 */
const plannableArb: fc.Arbitrary<RollbackFacts & { states: Record<string, ReleaseState> }> = fc
  .record({
    older: fc.uniqueArray(fc.record({ n: fc.integer({ min: 1, max: 4 }), wasRollback: fc.boolean() }), { selector: (c) => c.n, minLength: 1, maxLength: 4 }),
    listed: fc.boolean(),
    baseDags: dagsArb,
    perExec: fc.array(fc.record({ assets: assetsArb, dagChange: fc.oneof({ arbitrary: fc.constant(null), weight: 5 }, { arbitrary: dagArb, weight: 1 }) }), { minLength: 5, maxLength: 5 }),
    pickIndex: fc.oneof({ arbitrary: fc.constant(undefined), weight: 2 }, { arbitrary: fc.nat(), weight: 1 }),
    data: fc.uniqueArray(dataArb, { selector: (d) => d.name, maxLength: 3 }),
    dagTouches: touchesArb,
  })
  .map((r) => {
    const older = [...r.older].sort((a, b) => b.n - a.n);
    const candidates: RollbackCandidate[] = [{ version: 'v5', executionId: 'e5', wasRollback: false }, ...older.map((o) => ({ version: `v${o.n}`, executionId: `e${o.n}`, wasRollback: o.wasRollback }))];
    const states: Record<string, ReleaseState> = {};
    candidates.forEach((c, i) => {
      const { assets, dagChange } = r.perExec[i];
      const dags = dagChange ? [...r.baseDags.filter((d) => d.dagId !== dagChange.dagId), dagChange] : r.baseDags;
      states[c.executionId] = { version: c.version, executionId: c.executionId, assets, dags };
    });
    return {
      repo: 'orchestration',
      env: 'prod',
      current: { version: 'v5', executionId: 'e5', viaRollback: false },
      candidates,
      executions: r.listed ? candidates.map((c) => ({ executionId: c.executionId, status: 'Succeeded', type: c.wasRollback ? 'ROLLBACK' : 'STANDARD' })) : [],
      toVersion: r.pickIndex === undefined ? undefined : `v${older[r.pickIndex % older.length].n}`,
      currentState: states.e5,
      stateOf: (id: string) => states[id] ?? null,
      data: r.data,
      dagTouches: r.dagTouches,
      graphProblem: 'the registry cannot be read',
      states,
    };
  });

/** Any facts, half of them plannable histories, so both refusals and plans are exercised. */
const anyFactsArb = fc.oneof(factsArb, plannableArb);

describe('data-safe rollback decisions (fast-check, 1000 runs each)', () => {
  it('never rolls back a rollback: an env that got where it is by a rollback, or has one running, is refused', () => {
    fc.assert(
      fc.property(anyFactsArb, (f) => {
        // GIVEN any facts WHEN decided
        const d = decideRollback(f);
        // THEN a current state reached by rollback, or a running rollback execution, means refusal
        if (f.current?.viaRollback) expect(d).toMatchObject({ ok: false, refusal: 'rollback-of-rollback' });
        if (f.current && f.executions.some((e) => e.type === 'ROLLBACK' && e.status === 'InProgress')) expect(d.ok).toBe(false);
        // AND a plan never targets an execution that was itself a rollback
        if (d.ok) {
          const target = f.candidates.find((c) => c.executionId === d.plan.targetExecutionId);
          expect(target?.wasRollback).toBe(false);
          expect(f.executions.find((e) => e.executionId === d.plan.targetExecutionId)?.type ?? 'STANDARD').toBe('STANDARD');
        }
      }),
      RUNS,
    );
  });

  it('never restores data once a later load landed (or when no watermark proves none did)', () => {
    fc.assert(
      fc.property(anyFactsArb, (f) => {
        const d = decideRollback(f);
        if (!d.ok) return;
        const byName = new Map(f.data.map((o) => [o.name, o]));
        for (const r of d.plan.dataRestores) {
          const o = byName.get(r.name);
          // THEN every restored object was changed by the failed release, has a watermark, and no load after it
          expect(o?.changedByFailedRelease).toBe(true);
          expect(o?.watermarkAt).not.toBeNull();
          expect(o?.lastLoadAt === null || Date.parse(o?.lastLoadAt ?? '') <= Date.parse(o?.watermarkAt ?? '')).toBe(true);
          expect(r.toTimestamp).toBe(o?.watermarkAt);
        }
        // AND every changed object is either restored or handed to a person with its timestamps; unchanged ones are untouched
        for (const o of f.data) {
          const restored = d.plan.dataRestores.some((r) => r.name === o.name);
          const surfaced = d.plan.dataForPerson.find((p) => p.name === o.name);
          expect(restored || surfaced !== undefined).toBe(o.changedByFailedRelease);
          expect(restored && surfaced !== undefined).toBe(false);
          if (surfaced) expect(surfaced).toMatchObject({ watermarkAt: o.watermarkAt, lastLoadAt: o.lastLoadAt });
        }
      }),
      RUNS,
    );
  });

  it('ends in exactly the previous release\'s state: its object set and its version', () => {
    fc.assert(
      fc.property(anyFactsArb, (f) => {
        const d = decideRollback(f);
        if (!d.ok || !f.currentState) return;
        const target = f.stateOf(d.plan.targetExecutionId) as ReleaseState;
        // THEN carrying out the code steps on the current objects gives the target's objects
        expect(applyCodeSteps(f.currentState.assets, d.plan)).toEqual(target.assets);
        expect(d.plan.toVersion).toBe(target.version);
        // AND without a requested version the target is the newest eligible success (the previous release)
        if (f.toVersion === undefined) {
          const rollbackIds = new Set(f.executions.filter((e) => e.type === 'ROLLBACK').map((e) => e.executionId));
          const previous = f.candidates.find((c) => !c.wasRollback && !rollbackIds.has(c.executionId) && c.version !== f.current?.version);
          expect(d.plan.targetExecutionId).toBe(previous?.executionId);
        } else {
          expect(d.plan.toVersion).toBe(f.toVersion);
        }
      }),
      RUNS,
    );
  });

  it('refuses a rollback that changes a catching-up DAG\'s start_date or schedule, and plans one only when none does', () => {
    fc.assert(
      fc.property(anyFactsArb, (f) => {
        const d = decideRollback(f);
        if (!d.ok) return;
        const current = new Map((f.currentState?.dags ?? []).map((x) => [x.dagId, x]));
        const target = f.stateOf(d.plan.targetExecutionId) as ReleaseState;
        // THEN in every planned rollback, each DAG of the target that catches up keeps start_date, schedule and catchup
        for (const t of target.dags.filter((x) => x.catchup !== false)) {
          const c = current.get(t.dagId);
          expect(c).toBeDefined();
          expect([c?.startDate, c?.schedule, c?.catchup !== false]).toEqual([t.startDate, t.schedule, true]);
        }
      }),
      RUNS,
    );
  });

  it('pauses, before anything moves, every current DAG whose file or definition the rollback changes', () => {
    fc.assert(
      fc.property(anyFactsArb, (f) => {
        const d = decideRollback(f);
        if (!d.ok || !f.currentState) return;
        const touched = new Set([...Object.keys(d.plan.putAssets), ...d.plan.deleteAssets]);
        const own = d.plan.pauseDags.filter((p) => p.reasons.includes('its file or definition changes in the rollback')).map((p) => p.dagId);
        for (const dag of f.currentState.dags.filter((x) => touched.has(x.file))) expect(own).toContain(dag.dagId);
        // AND of its own DAGs it pauses only those the scheduler knows now
        const known = new Set(f.currentState.dags.map((x) => x.dagId));
        for (const id of own) expect(known.has(id)).toBe(true);
      }),
      RUNS,
    );
  });

  it('pauses every DAG, in any repo, that touches a restored object before the restore, and leaves each in its prior state after, across a crash and retry', () => {
    const allIds = [...dagIds, ...otherRepoDags];
    const envArb = fc.record({
      // the paused state of each DAG before the rollback (true: a person paused it), for DAGs the environment lists
      prior: fc.dictionary(fc.constantFrom(...allIds), fc.boolean()),
      // how many holds the first attempt takes before it crashes (before the restore)
      crashAfter: fc.nat({ max: 8 }),
    });
    return fc.assert(
      fc.asyncProperty(anyFactsArb, envArb, async (f, e) => {
        const d = decideRollback(f);
        if (!d.ok) return;
        const restored = new Set(d.plan.dataRestores.map((r) => r.name));
        // THEN nothing is restored without the asset graph
        if (f.dagTouches === null) expect(restored.size).toBe(0);
        const touching = (f.dagTouches ?? []).filter((t) => restored.has(t.object));
        const wanted = [...new Set(d.plan.pauseDags.map((p) => p.dagId))].sort();
        // AND every DAG that touches a restored object is in the plan, with its repo and the object as the reason
        for (const t of touching) expect(d.plan.pauseDags.find((p) => p.dagId === t.dagId)?.reasons.some((r) => r.includes(t.object))).toBe(true);
        // WHEN the guard's holds run: attempt 1 takes some holds and crashes, the retry (same holder) takes them all
        const env = new Map(Object.entries(e.prior));
        const records = new Map<string, { record: HoldRecord; etag: string }>();
        let tag = 0;
        const holds = new DagHolds({
          store: {
            locationOf: (id) => `memory://${id}`,
            read: async (id) => records.get(id) ?? null,
            write: async (record, etag) => {
              const cur = records.get(record.dagId);
              if (etag === null ? cur !== undefined : cur?.etag !== etag) return null;
              records.set(record.dagId, { record, etag: `${++tag}` });
              return `${tag}`;
            },
          },
          dags: { pausedState: async (id) => env.get(id), setPaused: async (id, p) => env.get(id) !== p && (env.set(id, p), true) },
        });
        const holder = 'rollback:orchestration:e9';
        for (const id of wanted.slice(0, e.crashAfter)) await holds.acquire(id, holder);
        for (const id of wanted) await holds.acquire(id, holder);
        // THEN at the restore every listed DAG that touches a restored object is paused
        for (const t of touching) if (env.has(t.dagId)) expect(env.get(t.dagId)).toBe(true);
        // AND after letting go every DAG is in its prior state (a DAG a person paused stays paused)
        for (const id of wanted) await holds.release(id, holder);
        expect(Object.fromEntries(env)).toEqual(e.prior);
      }),
      RUNS,
    );
  });

  it('finds a catch-up hazard for every catching-up DAG whose start_date or schedule differs (direct check)', () => {
    fc.assert(
      fc.property(dagsArb, dagsArb, (current, target) => {
        const hazards = new Set(catchUpHazards(current, target).map((h) => h.dagId));
        const now = new Map(current.map((x) => [x.dagId, x]));
        for (const t of target) {
          const c = now.get(t.dagId);
          const changes = !c || c.startDate !== t.startDate || c.schedule !== t.schedule || c.catchup === false;
          expect(hazards.has(t.dagId)).toBe(t.catchup !== false && changes);
        }
      }),
      RUNS,
    );
  });
});
