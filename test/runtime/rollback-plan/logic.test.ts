import { chooseRollbackTarget, decideData, decidePause, decideResume, planRollback, type DagTouch, type DataDagFacts, type DataObjectFact, type ReleaseState, type TargetFacts } from '../../../lib/runtime/rollback-plan/logic';

const noTouches: DataDagFacts = { repo: 'orchestration', touches: [] };

const dag = (dagId: string, over: Partial<{ file: string; schedule: string | null; startDate: string | null; catchup: boolean | null }> = {}) => ({
  dagId,
  file: `dags/${dagId}.py`,
  schedule: '@daily',
  startDate: '2025-01-01T00:00:00+00:00',
  catchup: true,
  ...over,
});

function facts(over: Partial<TargetFacts>): TargetFacts {
  return {
    repo: 'orchestration',
    env: 'prod',
    current: { version: 'v3', executionId: 'e3', viaRollback: false },
    candidates: [
      { version: 'v3', executionId: 'e3', wasRollback: false },
      { version: 'v2', executionId: 'e2', wasRollback: false },
      { version: 'v1', executionId: 'e1', wasRollback: false },
    ],
    executions: [],
    ...over,
  };
}

describe('chooseRollbackTarget', () => {
  it.each<[string, Partial<TargetFacts>, string]>([
    ['picks the previous release by default', {}, 'e2'],
    ['picks a requested older version', { toVersion: 'v1' }, 'e1'],
    ['skips a success that was itself a rollback', { candidates: [{ version: 'v3', executionId: 'e3', wasRollback: false }, { version: 'v2', executionId: 'e9', wasRollback: true }, { version: 'v2', executionId: 'e2', wasRollback: false }] }, 'e2'],
    ['skips an execution CodePipeline lists as ROLLBACK', { executions: [{ executionId: 'e2', status: 'Succeeded', type: 'ROLLBACK' }, { executionId: 'e1', status: 'Succeeded', type: 'STANDARD' }] }, 'e1'],
  ])('%s', (_n, over, exec) => {
    expect(chooseRollbackTarget(facts(over))).toMatchObject({ ok: true, target: { executionId: exec } });
  });

  it.each<[string, Partial<TargetFacts>, string, RegExp]>([
    ['fails when the env runs a rollback already', { current: { version: 'v2', executionId: 'e9', viaRollback: true } }, 'rollback-of-rollback', /a rollback of a rollback is refused, ship a fixed release forward/],
    ['fails while a rollback execution is running', { executions: [{ executionId: 'e9', status: 'InProgress', type: 'ROLLBACK' }] }, 'rollback-in-progress', /already has a rollback in progress \(pipeline execution e9\)/],
    ['fails when nothing was ever deployed', { current: null }, 'nothing-deployed', /no successful deployment/],
    ['fails when there is no earlier release', { candidates: [{ version: 'v3', executionId: 'e3', wasRollback: false }] }, 'no-previous-release', /no earlier successful release than v3/],
    ['fails for an unknown requested version, listing the known ones', { toVersion: 'v7' }, 'unknown-version', /versions you can roll back to: v2, v1/],
    ['fails for the version the env already runs', { toVersion: 'v3' }, 'already-at-version', /already runs v3/],
    ['fails when CodePipeline no longer lists the target execution', { executions: [{ executionId: 'e3', status: 'Succeeded', type: 'STANDARD' }] }, 'target-not-in-pipeline', /not in the pipeline's execution history/],
  ])('%s', (_n, over, refusal, message) => {
    const c = chooseRollbackTarget(facts(over));
    expect(c).toMatchObject({ ok: false, refusal });
    expect(!c.ok && c.message).toMatch(message);
  });
});

describe('planRollback', () => {
  const current: ReleaseState = { version: 'v3', executionId: 'e3', assets: { 'dags/a.py': 'a3', 'dags/b.py': 'b1', 'dags/new.py': 'n3' }, dags: [dag('a'), dag('b'), dag('new')] };
  const target: ReleaseState = { version: 'v2', executionId: 'e2', assets: { 'dags/a.py': 'a2', 'dags/b.py': 'b1' }, dags: [dag('a'), dag('b')] };

  it('pauses the changed DAGs, puts back changed objects and removes added ones', () => {
    // GIVEN v3 changed a.py and added new.py WHEN planned back to v2
    const d = planRollback(current, target, [], noTouches);
    // THEN a and new are paused, a.py restored, new.py removed, b untouched
    expect(d).toMatchObject({ ok: true, plan: { pauseDags: [{ dagId: 'a', repo: 'orchestration' }, { dagId: 'new', repo: 'orchestration' }], pauseNote: null, putAssets: { 'dags/a.py': 'a2' }, deleteAssets: ['dags/new.py'] } });
  });

  it.each<[string, Partial<ReturnType<typeof dag>>, RegExp]>([
    ['an earlier start_date', { startDate: '2024-01-01T00:00:00+00:00' }, /a: start_date 2024-01-01T00:00:00\+00:00 → 2025-01-01T00:00:00\+00:00 with catchup on/],
    ['a different schedule', { schedule: '@hourly' }, /a: schedule @hourly → @daily with catchup on/],
    ['catchup switched off in the current release', { catchup: false }, /a: catchup False → True/],
  ])('fails a rollback that would start catch-up runs through %s', (_n, currentChange, message) => {
    // GIVEN the current release changed DAG a (one field) and the target catches up
    const cur = { ...current, dags: [dag('a', currentChange), dag('b'), dag('new')] };
    // WHEN planned THEN refused, naming the DAG, the change and the fix
    const d = planRollback(cur, target, [], noTouches);
    expect(d).toMatchObject({ ok: false, refusal: 'catch-up-hazard' });
    expect(!d.ok && d.message).toMatch(message);
    expect(!d.ok && d.message).toMatch(/set catchup=False on these DAGs first/);
  });

  it('allows a schedule change when the target DAG has catchup=False', () => {
    // GIVEN a schedule change whose target does not catch up WHEN planned THEN allowed
    const cur = { ...current, dags: [dag('a', { schedule: '@hourly' }), dag('b'), dag('new')] };
    const tgt = { ...target, dags: [dag('a', { catchup: false }), dag('b')] };
    expect(planRollback(cur, tgt, [], noTouches).ok).toBe(true);
  });

  const restorable: DataObjectFact = { name: 'ANALYTICS.CORE.STG_CLAIMS', changedByFailedRelease: true, watermarkAt: '2026-03-02T10:00:00.000Z', lastLoadAt: null, restoreMethod: 'swap-back' };
  const reader: DagTouch = { dagId: 'claims_report', repo: 'reporting', object: 'ANALYTICS.CORE.STG_CLAIMS', how: 'reads', via: 'dataset snowflake://analytics/core/stg_claims → dataset' };

  it('pauses a DAG of another repo that reads a restored table, naming its repo and the table', () => {
    // GIVEN stg_claims can be restored and a DAG of repo reporting is scheduled on it
    const d = planRollback(current, target, [restorable], { repo: 'orchestration', touches: [reader, { ...reader, dagId: 'unrelated', object: 'ANALYTICS.CORE.OTHER' }] });
    // THEN the plan restores it and pauses that DAG with the reason, beside the repo's own changed DAGs; a DAG of another table is not paused
    expect(d.ok && d.plan.dataRestores.map((r) => r.name)).toEqual(['ANALYTICS.CORE.STG_CLAIMS']);
    expect(d.ok && d.plan.pauseDags).toEqual([
      { dagId: 'a', repo: 'orchestration', reasons: ['its file or definition changes in the rollback'] },
      { dagId: 'new', repo: 'orchestration', reasons: ['its file or definition changes in the rollback'] },
      { dagId: 'claims_report', repo: 'reporting', reasons: [expect.stringMatching(/^reads ANALYTICS\.CORE\.STG_CLAIMS, which the rollback restores \(dataset snowflake:/)] },
    ].sort((x, y) => x.repo.localeCompare(y.repo) || x.dagId.localeCompare(y.dagId)));
  });

  it('fails to restore data without the asset graph: the table goes to a person with its watermark', () => {
    // GIVEN the same restorable table WHEN the graph is unavailable
    const d = planRollback(current, target, [restorable], { repo: 'orchestration', touches: null, unavailable: 'no asset graph registry is configured' });
    // THEN nothing is restored, the person gets the table, the reason and the watermark, and the plan says why other repos' DAGs are unknown
    expect(d.ok && d.plan.dataRestores).toEqual([]);
    expect(d.ok && d.plan.dataForPerson).toEqual([
      { name: 'ANALYTICS.CORE.STG_CLAIMS', reason: expect.stringContaining('the cross-repo asset graph is unavailable (no asset graph registry is configured)'), watermarkAt: '2026-03-02T10:00:00.000Z', lastLoadAt: null },
    ]);
    expect(d.ok && d.plan.pauseNote).toMatch(/DAGs of other repos that use the restored data are not known/);
  });
});

describe('decidePause and decideResume (the DAG guard)', () => {
  const before = [
    { dagId: 'reader', paused: false },
    { dagId: 'by_person', paused: true },
  ];
  it.each<[string, Array<{ dagId: string; paused: boolean }>, Record<string, boolean> | null, string[], Record<string, boolean>, string[], string[]]>([
    ['records prior states and pauses the unpaused ones', before, null, ['reader', 'by_person'], { reader: false, by_person: true }, ['reader'], []],
    ["keeps a crashed attempt's marker, so its own pause is not taken for a person's", [{ dagId: 'reader', paused: true }, { dagId: 'by_person', paused: true }], { reader: false }, ['reader'], { reader: false }, [], []],
    ['lists a wanted DAG the environment does not know as missing', before, null, ['gone'], {}, [], ['gone']],
  ])('%s', (_n, listed, marker, wanted, priors, pause, missing) => {
    // GIVEN the listed states and a marker WHEN deciding the pause THEN priors, pauses and missing are as expected
    expect(decidePause(listed, marker, wanted)).toEqual({ priors, pause, missing });
  });

  it('puts back only what the rollback changed; a DAG a person paused stays paused', () => {
    // GIVEN both DAGs paused now, reader unpaused and by_person paused before
    const now = [{ dagId: 'reader', paused: true }, { dagId: 'by_person', paused: true }];
    // WHEN resuming THEN only reader is unpaused
    expect(decideResume(now, { reader: false, by_person: true })).toEqual([{ dagId: 'reader', paused: false }]);
  });
});

describe('decideData', () => {
  it.each([
    ['restores an object with no load since the watermark', { lastLoadAt: '2026-03-02T09:00:00.000Z' }, 'restore'],
    ['restores an object that never got a load', { lastLoadAt: null }, 'restore'],
    ['hands to a person an object loaded after the watermark', { lastLoadAt: '2026-03-02T11:00:00.000Z' }, 'person'],
    ['hands to a person an object without a recorded watermark', { watermarkAt: null }, 'person'],
    ['leaves alone an object the failed release did not change', { changedByFailedRelease: false, lastLoadAt: '2026-03-02T11:00:00.000Z' }, 'none'],
  ] as const)('%s', (_n, over, expected) => {
    // GIVEN one object, watermark 10:00 WHEN decided
    const o = { name: 'DB.CORE.T', changedByFailedRelease: true, watermarkAt: '2026-03-02T10:00:00.000Z', lastLoadAt: null, restoreMethod: 'swap-back' as const, ...over };
    const { restores, forPerson } = decideData([o]);
    // THEN it lands in exactly the expected list
    expect({ restores: restores.length, person: forPerson.length }).toEqual({ restores: expected === 'restore' ? 1 : 0, person: expected === 'person' ? 1 : 0 });
    if (expected === 'person') expect(forPerson[0].reason).toMatch(/data left as it is/);
  });
});
