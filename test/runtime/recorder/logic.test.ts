import { evidenceKey, observationsFor, planRecording, RecorderEventSchema } from '../../../lib/runtime/recorder/logic';

const envelope = { version: '0', id: 'ev-1', source: 'aws.codepipeline', account: '111111111111', time: '2026-03-02T10:00:00Z', region: 'us-east-1', resources: [] };
const stage = (stageName: string, state: string) =>
  RecorderEventSchema.parse({ ...envelope, 'detail-type': 'CodePipeline Stage Execution State Change', detail: { pipeline: 'p', version: 1, 'execution-id': 'x', stage: stageName, state } });
const repoOf = (p: string) => (p === 'p' ? 'orchestration' : undefined);

describe('planRecording', () => {
  it.each([
    ['Prod', 'SUCCEEDED', { scope: 'prod', recordSuccess: true, markFailed: false, releaseLock: true, evidence: true }],
    ['Staging', 'FAILED', { scope: 'staging', recordSuccess: false, markFailed: true, releaseLock: true, evidence: true }],
    ['Dev', 'CANCELED', { scope: 'dev', recordSuccess: false, markFailed: false, releaseLock: true, evidence: true }],
    ['Dev', 'STARTED', { scope: 'dev', recordSuccess: false, markFailed: false, releaseLock: false, evidence: false }],
    ['Package', 'SUCCEEDED', { scope: 'pipeline', recordSuccess: false, releaseLock: false, evidence: false }],
  ])('plans stage %s %s', (stageName, state, expected) => {
    expect(planRecording(stage(stageName, state), repoOf)).toMatchObject({ kind: 'stage-state', repo: 'orchestration', ...expected });
  });

  it('records action and pipeline events without ending anything', () => {
    const action = RecorderEventSchema.parse({
      ...envelope,
      'detail-type': 'CodePipeline Action Execution State Change',
      detail: { pipeline: 'p', version: 1, 'execution-id': 'x', stage: 'Prod', action: 'Deploy', state: 'FAILED', type: { owner: 'AWS', category: 'Build', provider: 'CodeBuild', version: '1' } },
    });
    const pipe = RecorderEventSchema.parse({ ...envelope, 'detail-type': 'CodePipeline Pipeline Execution State Change', detail: { pipeline: 'p', version: 1, 'execution-id': 'x', state: 'SUCCEEDED' } });
    expect(planRecording(action, repoOf)).toMatchObject({ kind: 'action-state', scope: 'prod', action: 'Deploy', evidence: false, releaseLock: false });
    expect(planRecording(pipe, repoOf)).toMatchObject({ kind: 'pipeline-state', scope: 'pipeline', evidence: false });
  });

  it('ignores pipelines that are not the platform\'s', () => {
    expect(planRecording(stage('Prod', 'SUCCEEDED'), () => undefined)).toBeNull();
  });

  it('fails to parse an event of another source', () => {
    expect(RecorderEventSchema.safeParse({ ...envelope, source: 'aws.s3', 'detail-type': 'Object Created', detail: {} }).success).toBe(false);
  });

  it('keys evidence by repo, env, day and execution', () => {
    expect(evidenceKey('orchestration', 'prod', 'x', 'SUCCEEDED', '2026-03-02T10:00:00.000Z')).toBe('evidence/orchestration/prod/2026/03/02/x-succeeded.json');
  });
});

describe('observationsFor (platform metrics from recorder events)', () => {
  const at = new Date('2026-03-02T10:10:00Z');
  const ev = (over: Record<string, unknown>) => ({
    eventId: Math.random().toString(36),
    repo: 'orchestration',
    env: 'prod',
    actor: 'codepipeline',
    version: 'v1',
    executionId: 'x',
    result: 'started',
    message: '',
    pipeline: 'p',
    stage: 'Prod',
    action: null,
    state: 'STARTED',
    kind: 'stage-state',
    at: '2026-03-02T10:00:00.000Z',
    ...over,
  });
  const plan = (e: ReturnType<typeof stage>) => planRecording(e, repoOf)!;
  it.each([
    ['a prod stage that succeeded: its duration and a deployment', stage('Prod', 'SUCCEEDED'), [ev({})], false, [{ kind: 'stage-finished', seconds: 600 }, { kind: 'prod-deployment', failed: false }]],
    ['a prod stage that failed: a failed deployment', stage('Prod', 'FAILED'), [ev({})], false, [{ kind: 'stage-finished' }, { kind: 'prod-deployment', failed: true }]],
    ['a rollback that restored prod: time since the failure', stage('Prod', 'SUCCEEDED'), [ev({ executionId: 'old', state: 'FAILED', at: '2026-03-02T09:50:00.000Z' }), ev({})], true, [{ kind: 'stage-finished' }, { kind: 'prod-deployment' }, { kind: 'prod-restored', seconds: 1200 }]],
    ['a prod success whose deployment recorded the commit time: the lead time', stage('Prod', 'SUCCEEDED'), [ev({}), ev({ kind: 'deployment', result: 'succeeded', commitAt: '2026-03-01T10:10:00.000Z' })], false, [{ kind: 'stage-finished' }, { kind: 'prod-deployment', leadTimeSeconds: 86_400 }]],
    ['a prod success whose deployment has no commit time: no lead time', stage('Prod', 'SUCCEEDED'), [ev({}), ev({ kind: 'deployment', result: 'succeeded' })], false, [{ kind: 'stage-finished' }, { kind: 'prod-deployment', leadTimeSeconds: null }]],
    ['a staging stage: only its duration', stage('Staging', 'SUCCEEDED'), [ev({ stage: 'Staging', env: 'staging' })], false, [{ kind: 'stage-finished', env: 'staging' }]],
  ] as const)('gives for %s', (_n, event, history, wasRollback, expected) => {
    // GIVEN the event and the env's history WHEN observed THEN the metrics are as expected
    const out = observationsFor(plan(event), at, history as never, wasRollback);
    expect(out).toEqual(expected.map((e) => expect.objectContaining(e)));
  });

  it('gives the promotion time from approval to Verify succeeding', () => {
    const verify = RecorderEventSchema.parse({ ...envelope, 'detail-type': 'CodePipeline Action Execution State Change', detail: { pipeline: 'p', version: 1, 'execution-id': 'x', stage: 'Prod', action: 'Verify', state: 'SUCCEEDED' } });
    const history = [ev({ kind: 'action-state', action: 'Approve', state: 'SUCCEEDED', at: '2026-03-02T10:02:00.000Z' })];
    expect(observationsFor(planRecording(verify, repoOf)!, at, history as never, false)).toEqual([expect.objectContaining({ kind: 'promotion-finished', env: 'prod', seconds: 480 })]);
  });
});
