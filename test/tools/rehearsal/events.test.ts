import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { RehearsalError } from '../../../tools/rehearsal/errors';
import { codepipelineEvent, FunctionWorker, matchesPattern } from '../../../tools/rehearsal/events';

// The rehearsal delivers CodePipeline's state-change events to the rules' Lambda targets as
// EventBridge would: these are the pattern rules it applies and the warm function process it uses.

const stageEvent = (pipeline: string, state: string) => codepipelineEvent('CodePipeline Stage Execution State Change', { account: '111111111111', region: 'us-east-1', name: pipeline }, { 'execution-id': 'e-1', stage: 'Prod', state });

describe('matchesPattern', () => {
  // The pattern the platform synthesizes for its Recorder rules (lib/constructs/pipeline-events.ts)
  const platformRule = { source: ['aws.codepipeline'], 'detail-type': ['CodePipeline Stage Execution State Change'], detail: { pipeline: [{ prefix: 'acme-' }] } };

  it("matches a platform pipeline's event and not another pipeline's, type or source", () => {
    expect(matchesPattern(platformRule, stageEvent('acme-orders', 'FAILED'))).toBe(true);
    expect(matchesPattern(platformRule, stageEvent('other-orders', 'FAILED'))).toBe(false);
    expect(matchesPattern(platformRule, { ...stageEvent('acme-orders', 'FAILED'), 'detail-type': 'CodePipeline Action Execution State Change' })).toBe(false);
    expect(matchesPattern(platformRule, { ...stageEvent('acme-orders', 'FAILED'), source: 'aws.codebuild' })).toBe(false);
  });

  it('applies literals, array values in the event and the content filters EventBridge documents', () => {
    const e = { detail: { state: 'FAILED', n: 5, tags: ['a', 'b'], name: 'Deploy-prod' } };
    expect(matchesPattern({ detail: { state: ['SUCCEEDED', 'FAILED'] } }, e)).toBe(true);
    expect(matchesPattern({ detail: { tags: ['b'] } }, e)).toBe(true);
    expect(matchesPattern({ detail: { state: [{ 'anything-but': ['STARTED', 'SUCCEEDED'] }] } }, e)).toBe(true);
    expect(matchesPattern({ detail: { state: [{ 'anything-but': 'FAILED' }] } }, e)).toBe(false);
    expect(matchesPattern({ detail: { missing: [{ exists: false }], state: [{ exists: true }] } }, e)).toBe(true);
    expect(matchesPattern({ detail: { name: [{ suffix: '-prod' }] } }, e)).toBe(true);
    expect(matchesPattern({ detail: { name: [{ wildcard: 'Deploy-*' }] } }, e)).toBe(true);
    expect(matchesPattern({ detail: { state: [{ 'equals-ignore-case': 'failed' }] } }, e)).toBe(true);
    expect(matchesPattern({ detail: { n: [{ numeric: ['>', 1, '<=', 5] }] } }, e)).toBe(true);
    expect(matchesPattern({ detail: { n: [{ numeric: ['>', 5] }] } }, e)).toBe(false);
    // a field the event lacks matches no literal
    expect(matchesPattern({ detail: { stage: ['Prod'] } }, e)).toBe(false);
  });

  it('refuses a content filter it does not evaluate, naming the rule and field, instead of guessing', () => {
    expect(() => matchesPattern({ detail: { ip: [{ cidr: '10.0.0.0/24' }] } }, { detail: { ip: '10.0.0.1' } }, 'of rule Tooling/R')).toThrow(RehearsalError);
    expect(() => matchesPattern({ detail: { ip: [{ cidr: '10.0.0.0/24' }] } }, { detail: { ip: '10.0.0.1' } }, 'of rule Tooling/R')).toThrow(/of rule Tooling\/R\.detail\.ip uses the content filter \{"cidr":"10\.0\.0\.0\/24"\}/);
  });
});

describe('codepipelineEvent', () => {
  it('is the event CodePipeline puts on the bus: source, type, account, region, the pipeline ARN and the detail', () => {
    expect(stageEvent('acme-orders', 'STARTED')).toMatchObject({
      version: '0',
      source: 'aws.codepipeline',
      'detail-type': 'CodePipeline Stage Execution State Change',
      account: '111111111111',
      region: 'us-east-1',
      resources: ['arn:aws:codepipeline:us-east-1:111111111111:acme-orders'],
      detail: { pipeline: 'acme-orders', version: 1, 'execution-id': 'e-1', stage: 'Prod', state: 'STARTED' },
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    });
  });
});

describe('FunctionWorker', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rehearsal-worker-'));
    // a handler that counts its invocations in module state (kept while the process is warm) and reads its environment
    fs.writeFileSync(
      path.join(dir, 'index.js'),
      "let n = 0; exports.handler = async (event) => { n += 1; if (event.fail) throw new Error('handler failed on purpose'); console.log('seen', event.x); return { n, x: event.x, leaked: process.env.REHEARSAL_TEST_LEAK ?? null, mine: process.env.MINE }; };",
    );
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('loads the handler once, runs invocations in turn with only the given environment, and reports a thrown error', async () => {
    process.env.REHEARSAL_TEST_LEAK = 'from the test process';
    const w = new FunctionWorker(dir, 'index.handler', async () => ({ MINE: 'set', PATH: process.env.PATH ?? '' }), 10_000);
    try {
      const [a, b] = await Promise.all([w.invoke({ x: 1 }), w.invoke({ x: 2 })]);
      expect(a).toEqual({ result: { n: 1, x: 1, leaked: null, mine: 'set' }, log: 'seen 1\n' });
      expect(b.result).toEqual({ n: 2, x: 2, leaked: null, mine: 'set' });
      const failed = await w.invoke({ fail: true });
      expect(failed.error).toMatch(/handler failed on purpose/);
      expect((await w.invoke({ x: 3 })).result).toMatchObject({ n: 4 });
    } finally {
      w.stop();
      delete process.env.REHEARSAL_TEST_LEAK;
    }
  });
});
