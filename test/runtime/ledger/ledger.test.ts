import { createTestLedger, testClock } from '../../helpers/ledger';
import type { NewLedgerEvent } from '../../../lib/runtime/ledger/model';

function deployEvent(over: Partial<Extract<NewLedgerEvent, { kind: 'deployment' }>> = {}): NewLedgerEvent {
  return {
    kind: 'deployment',
    repo: 'dbt-core-models',
    env: 'staging',
    actor: 'codebuild',
    version: '20260302.7+abc1234',
    executionId: 'exec-1',
    result: 'succeeded',
    message: 'deployed',
    manifestSha256: null,
    writes: 3,
    isRollback: false,
    ...over,
  };
}

describe('ledger events', () => {
  it('appends events and reads them back in time order for one repo and env', async () => {
    // GIVEN a ledger with a clock
    const clock = testClock();
    const { ledger } = await createTestLedger({ now: clock.now });
    // WHEN three events are appended a second apart, one for another env
    await ledger.appendEvent(deployEvent({ message: 'first' }));
    clock.advance(1);
    await ledger.appendEvent(deployEvent({ message: 'second', env: 'prod' }));
    clock.advance(1);
    await ledger.appendEvent(deployEvent({ message: 'third' }));
    // THEN the staging partition holds the first and third, oldest first
    const events = await ledger.eventsFor('dbt-core-models', 'staging');
    expect(events.map((e) => e.message)).toEqual(['first', 'third']);
    expect(events[0].at).toBe('2026-03-02T10:00:00.000Z');
  });

  it('filters a partition by pipeline execution id and time range', async () => {
    // GIVEN events of two executions
    const clock = testClock();
    const { ledger } = await createTestLedger({ now: clock.now });
    await ledger.appendEvent(deployEvent({ executionId: 'a', message: 'a1' }));
    clock.advance(60);
    await ledger.appendEvent(deployEvent({ executionId: 'b', message: 'b1' }));
    clock.advance(60);
    await ledger.appendEvent(deployEvent({ executionId: 'a', message: 'a2' }));
    // WHEN filtered by execution, and by a range that covers only the middle
    const byExec = await ledger.eventsFor('dbt-core-models', 'staging', { executionId: 'a' });
    const byRange = await ledger.eventsFor('dbt-core-models', 'staging', { from: '2026-03-02T10:00:30.000Z', to: '2026-03-02T10:01:30.000Z' });
    // THEN each returns exactly its events
    expect(byExec.map((e) => e.message)).toEqual(['a1', 'a2']);
    expect(byRange.map((e) => e.message)).toEqual(['b1']);
  });

  it('keeps the first write when the same event id and time are appended twice', async () => {
    // GIVEN an event delivered twice (EventBridge delivers at least once)
    const { ledger } = await createTestLedger();
    const ev = { ...deployEvent({ message: 'once' }), eventId: 'eb-123', at: '2026-03-02T09:00:00.000Z' };
    // WHEN it is appended twice, the second time with a different message
    await ledger.appendEvent(ev);
    await ledger.appendEvent({ ...ev, message: 'twice' });
    // THEN one event is stored, the first
    const events = await ledger.eventsFor('dbt-core-models', 'staging');
    expect(events.map((e) => e.message)).toEqual(['once']);
  });

  it('reads events across repos by time through the byTime index, spanning days', async () => {
    // GIVEN events on two days for two repos
    const clock = testClock('2026-03-01T23:59:00.000Z');
    const { ledger } = await createTestLedger({ now: clock.now });
    await ledger.appendEvent(deployEvent({ repo: 'r1', message: 'day1' }));
    clock.advance(120);
    await ledger.appendEvent(deployEvent({ repo: 'r2', message: 'day2' }));
    clock.advance(3600);
    await ledger.appendEvent(deployEvent({ repo: 'r1', message: 'later' }));
    // WHEN read between two times
    const events = await ledger.eventsBetween('2026-03-01T00:00:00.000Z', '2026-03-02T00:30:00.000Z');
    // THEN both days' events inside the range come back in order and the later one does not
    expect(events.map((e) => `${e.repo}:${e.message}`)).toEqual(['r1:day1', 'r2:day2']);
  });

  it('fails to append an event that does not match its schema, naming the field', async () => {
    // GIVEN an event with a bad env
    const { ledger } = await createTestLedger();
    // WHEN appended THEN zod refuses it
    await expect(ledger.appendEvent({ ...deployEvent(), env: 'qa' as 'dev' })).rejects.toThrow(/env/);
  });
});

describe('ledger lock', () => {
  it('lets only one of two concurrent deploys of one repo to one env hold the lock', async () => {
    // GIVEN a free lock
    const { ledger } = await createTestLedger();
    // WHEN two executions try at once
    const [a, b] = await Promise.all([ledger.acquireLock('spark-claims', 'prod', 'exec-a'), ledger.acquireLock('spark-claims', 'prod', 'exec-b')]);
    // THEN exactly one gets it, and the other is told who holds it
    expect([a.acquired, b.acquired].filter(Boolean)).toHaveLength(1);
    const loser = a.acquired ? b : a;
    const winner = a.acquired ? 'exec-a' : 'exec-b';
    expect(loser).toMatchObject({ acquired: false, holder: winner });
  });

  it('is re-entrant for the same execution, so a retried action proceeds', async () => {
    // GIVEN exec-a holds the lock
    const { ledger } = await createTestLedger();
    await ledger.acquireLock('spark-claims', 'prod', 'exec-a');
    // WHEN exec-a asks again
    const again = await ledger.acquireLock('spark-claims', 'prod', 'exec-a');
    // THEN it has it, marked re-entrant
    expect(again).toMatchObject({ acquired: true, reentrant: true });
  });

  it('is free for another execution once it expires or is released', async () => {
    // GIVEN exec-a holds a 60 s lock on two envs
    const clock = testClock();
    const { ledger } = await createTestLedger({ now: clock.now });
    await ledger.acquireLock('r', 'prod', 'exec-a', 60);
    await ledger.acquireLock('r', 'staging', 'exec-a', 60);
    // WHEN prod's lock expires and staging's is released
    clock.advance(61);
    expect(await ledger.releaseLock('r', 'staging', 'exec-a')).toBe(true);
    // THEN exec-b gets both
    expect((await ledger.acquireLock('r', 'prod', 'exec-b')).acquired).toBe(true);
    expect((await ledger.acquireLock('r', 'staging', 'exec-b')).acquired).toBe(true);
  });

  it('fails to release a lock that another execution holds', async () => {
    // GIVEN exec-a holds the lock
    const { ledger } = await createTestLedger();
    await ledger.acquireLock('r', 'dev', 'exec-a');
    // WHEN exec-b releases it THEN nothing happens and exec-a still holds it
    expect(await ledger.releaseLock('r', 'dev', 'exec-b')).toBe(false);
    expect((await ledger.getLock('r', 'dev'))?.holder).toBe('exec-a');
  });
});

describe('ledger idempotency claims', () => {
  it('gives a completed claim\'s outcome to a retry instead of letting it run again', async () => {
    // GIVEN job-1 claimed and completed deploy:prod of exec-1
    const { ledger } = await createTestLedger();
    expect(await ledger.claim('exec-1', 'deploy:prod', 'job-1')).toEqual({ status: 'claimed', takeover: false });
    expect(await ledger.settleClaim('exec-1', 'deploy:prod', 'job-1', 'completed', { writes: 4 })).toBe(true);
    // WHEN a retried job claims the same action
    const retry = await ledger.claim('exec-1', 'deploy:prod', 'job-2');
    // THEN it gets the outcome, not the claim
    expect(retry).toEqual({ status: 'completed', outcome: JSON.stringify({ writes: 4 }) });
  });

  it('lets a retry take over a failed claim, and an abandoned one after its lease', async () => {
    // GIVEN a failed claim and an in-progress claim whose owner died
    const clock = testClock();
    const { ledger } = await createTestLedger({ now: clock.now, claimLeaseSeconds: 600 });
    await ledger.claim('exec-1', 'deploy:dev', 'job-1');
    await ledger.settleClaim('exec-1', 'deploy:dev', 'job-1', 'failed', { error: 'S3 500' });
    await ledger.claim('exec-1', 'verify:dev', 'job-1');
    // WHEN retries come, the second before and after the lease ends
    const afterFailure = await ledger.claim('exec-1', 'deploy:dev', 'job-2');
    const duringLease = await ledger.claim('exec-1', 'verify:dev', 'job-2');
    clock.advance(601);
    const afterLease = await ledger.claim('exec-1', 'verify:dev', 'job-3');
    // THEN the failed one is taken over, the live one is not, the abandoned one is
    expect(afterFailure).toEqual({ status: 'claimed', takeover: true });
    expect(duringLease).toMatchObject({ status: 'in-progress', owner: 'job-1' });
    expect(afterLease).toEqual({ status: 'claimed', takeover: true });
  });

  it('lets exactly one of two concurrent claims of one action win, every time', async () => {
    // GIVEN nothing claimed, and 25 actions so that a non-atomic condition check shows
    const { ledger } = await createTestLedger();
    const actions = Array.from({ length: 25 }, (_, i) => `promote:prod:${i}`);
    // WHEN two jobs claim each action at once
    const results = await Promise.all(
      actions.map((action) => Promise.all([ledger.claim('e', action, 'j1'), ledger.claim('e', action, 'j2')])),
    );
    // THEN for every action one is claimed and one is in progress
    for (const pair of results) expect(pair.map((r) => r.status).sort()).toEqual(['claimed', 'in-progress']);
  });

  it('fails to settle a claim the caller does not own', async () => {
    // GIVEN job-1 owns a claim
    const { ledger } = await createTestLedger();
    await ledger.claim('e', 'deploy:prod', 'job-1');
    // WHEN job-2 settles it THEN it is refused and job-1 can still settle it
    expect(await ledger.settleClaim('e', 'deploy:prod', 'job-2', 'completed', {})).toBe(false);
    expect(await ledger.settleClaim('e', 'deploy:prod', 'job-1', 'completed', {})).toBe(true);
  });
});

describe('ledger releases, successes and current pointer', () => {
  it('records successes, moves CURRENT, and finds the last successful non-rollback execution', async () => {
    // GIVEN two successes and then a rollback success
    const clock = testClock();
    const { ledger } = await createTestLedger({ now: clock.now });
    const base = { repo: 'orchestration', env: 'prod' as const, manifestSha256: null };
    expect(await ledger.recordSuccess({ ...base, version: 'v1', executionId: 'e1', wasRollback: false })).toBe(true);
    clock.advance(10);
    await ledger.recordSuccess({ ...base, version: 'v2', executionId: 'e2', wasRollback: false });
    clock.advance(10);
    await ledger.recordSuccess({ ...base, version: 'v1', executionId: 'e3', wasRollback: true });
    // WHEN the pointer and the history are read
    const current = await ledger.getCurrent('orchestration', 'prod');
    const list = await ledger.successes('orchestration', 'prod');
    // THEN CURRENT names the rollback with the version it replaced, newest first in history
    expect(current).toMatchObject({ version: 'v1', executionId: 'e3', viaRollback: true, previousVersion: 'v2' });
    expect(list.map((s) => s.executionId)).toEqual(['e3', 'e2', 'e1']);
    expect((await ledger.lastSuccessfulExecution('orchestration', 'prod'))?.executionId).toBe('e2');
    expect((await ledger.lastSuccessfulExecution('orchestration', 'prod', 'e2'))?.executionId).toBe('e1');
  });

  it('records a success of one execution only once', async () => {
    // GIVEN a recorded success
    const { ledger } = await createTestLedger();
    const s = { repo: 'r', env: 'dev' as const, version: 'v1', executionId: 'e1', manifestSha256: null, wasRollback: false };
    await ledger.recordSuccess(s);
    // WHEN the same execution's success is recorded again THEN nothing is written
    expect(await ledger.recordSuccess(s)).toBe(false);
    expect(await ledger.successes('r', 'dev')).toHaveLength(1);
  });

  it('keeps release status and execution records by key', async () => {
    // GIVEN a release promoted then verified, and an execution record
    const { ledger } = await createTestLedger();
    await ledger.putReleaseStatus({ repo: 'r', env: 'dev', version: 'v1', status: 'promoted', manifestSha256: null, executionId: 'e1' });
    await ledger.putReleaseStatus({ repo: 'r', env: 'dev', version: 'v1', status: 'verified', manifestSha256: null, executionId: 'e1' });
    await ledger.putExecution({ executionId: 'e1', repo: 'r', env: 'dev', version: 'v1', manifestSha256: null, isRollback: false });
    // WHEN read THEN the latest status and the execution come back; unknown keys give null
    expect((await ledger.getReleaseStatus('r', 'dev', 'v1'))?.status).toBe('verified');
    expect(await ledger.getReleaseStatus('r', 'staging', 'v1')).toBeNull();
    expect(await ledger.getExecution('e1', 'dev')).toMatchObject({ version: 'v1', dags: [], assets: {} });
    expect(await ledger.getExecution('e1', 'prod')).toBeNull();
  });
});
