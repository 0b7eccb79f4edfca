import { evidenceKey, planRecording, RecorderEventSchema } from '../../../lib/runtime/recorder/logic';

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
