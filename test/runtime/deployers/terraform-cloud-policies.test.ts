/**
 * The Terraform Cloud deployer obeys the run: it applies only a confirmable run whose hard-mandatory
 * policies passed, overrides a soft-mandatory failure only for a named approver, records the plan
 * summary and cost estimate, and deploys each repo to its own workspace. Against the TFC API fake
 * (policy checks, cost estimates, override action) and moto S3.
 */
import type { EnvironmentName } from '../../../lib/config/schema';
import type { ApprovalEvidence, DeployNote } from '../../../lib/runtime/deployers/contract';
import { DeployRefusedError } from '../../../lib/runtime/deployers/errors';
import { decidePolicies, describePlan, overridesIn, planSummary, TerraformCloudDeployer } from '../../../lib/runtime/deployers/terraform-cloud-deployer';
import { TerraformCloudClient, type PolicyCheckInfo } from '../../../lib/runtime/terraform-cloud/client';
import { createVersionedBucket, deployContext, motoS3, writeRelease } from '../../helpers/s3-fixtures';
import { startTfcFake, type FakePolicy, type TfcFake } from '../../helpers/tfc-fake';

const s3 = motoS3();
let fake: TfcFake;
let bucket: string;
const ORG = 'northstar-health';

const queueTf = (name: string, extra = '') => `resource "aws_sqs_queue" "events" {\n  name = "${name}"\n${extra}}\n`;
const dbTf = `resource "aws_db_instance" "claims" {\n  engine = "postgres"\n}\n`;
const approver = 'arn:aws:sts::111111111111:assumed-role/data-platform-owners/dana';

/** Fails when a queue has no tags line: a soft-mandatory tagging policy. */
const requireTags: FakePolicy = { name: 'require-tags', enforcement: 'soft-mandatory', fails: (rs) => rs.some((r) => r.type === 'aws_sqs_queue' && !r.body.includes('tags')) };
/** Fails when the configuration holds a database instance: a hard-mandatory policy. */
const noPublicDb: FakePolicy = { name: 'no-db-instances', enforcement: 'hard-mandatory', fails: (rs) => rs.some((r) => r.type === 'aws_db_instance') };
/** Always fails: an advisory policy, which never blocks. */
const advisory: FakePolicy = { name: 'prefer-small', enforcement: 'advisory', fails: () => true };

beforeAll(async () => {
  fake = await startTfcFake();
  bucket = await createVersionedBucket(s3, 'tfc-policies');
  fake.enableCostEstimation({ aws_sqs_queue: 0.4, aws_db_instance: 187.2 });
});
afterAll(async () => fake?.stop());

function approval(summary: string | null, who: string | null = approver): ApprovalEvidence {
  return { pipelineName: 'northstar-platform-infra', stageName: 'Prod', actionName: 'Approve', approvedExecutionId: '0f6c7a38-9a54-4c1b-8e1e-2d1f0b4c5a6e', approver: who, summary, at: '2026-12-03T10:00:00.000Z' };
}

/** A repo with its own workspace in `env` (named as the default config's pattern '{repo}-{env}'), under the given policy sets. */
function repoWorkspace(repo: string, env: EnvironmentName, policies: FakePolicy[] = []): string {
  const ws = fake.addWorkspace(ORG, `${repo}-${env}`);
  if (policies.length > 0) fake.addPolicySet({ name: `${repo}-guardrails`, workspaceIds: [ws], policies });
  return ws;
}

async function deploy(o: { repo: string; env?: EnvironmentName; tf: string; approval?: ApprovalEvidence | null; build?: number }) {
  const { release, dir } = await writeRelease({ repo: o.repo, build: o.build ?? 1, files: [{ kind: 'terraform', path: 'terraform/main.tf', body: o.tf }] });
  const notes: DeployNote[] = [];
  const log: string[] = [];
  const ctx = { ...deployContext(release, dir, { env: o.env ?? 'prod', log }), approval: o.approval, record: async (n: DeployNote) => void notes.push(n) };
  const d = new TerraformCloudDeployer({ tfc: new TerraformCloudClient({ token: fake.token, baseUrl: fake.baseUrl }), s3, artifactBucket: bucket, protectedResourceTypes: ['aws_s3_bucket'], pollMs: 1 });
  const run = async () => d.apply(d.plan(await d.readCurrent(ctx), ctx), ctx);
  return { run, notes, log, d, ctx };
}

const applyRequests = (runId: string) => fake.requests.filter((r) => r === `POST /api/v2/runs/${runId}/actions/apply`);

describe('TerraformCloudDeployer and policy checks', () => {
  it('fails naming the hard-mandatory policy and never applies, even with an approval that overrides it', async () => {
    // GIVEN a workspace under a hard-mandatory policy the configuration breaks, and an approval that names the policy
    const ws = repoWorkspace('claims-db', 'prod', [noPublicDb]);
    const r = await deploy({ repo: 'claims-db', tf: dbTf, approval: approval('ok; tfc-override: no-db-instances') });
    // WHEN it is deployed
    const err = await r.run().catch((e: Error) => e);
    // THEN it is refused naming the run and the policy, nothing was applied and the workspace holds nothing
    expect(err).toBeInstanceOf(DeployRefusedError);
    const runId = fake.runs().at(-1)!.id;
    expect((err as Error).message).toBe(
      `terraform run ${runId} in ${ORG}/claims-db-prod failed hard-mandatory policy claims-db-guardrails/no-db-instances; it was not applied and a hard-mandatory policy cannot be overridden: change the configuration so that the policy passes (read the policy check in Terraform Cloud)`,
    );
    expect(fake.runs().at(-1)!.status).toBe('errored');
    expect(applyRequests(runId)).toEqual([]);
    expect(fake.overrides).toEqual([]);
    expect(fake.stateOf(ws)).toEqual([]);
    // AND the refusal is recorded
    expect(r.notes.map((n) => [n.step, n.result])).toEqual([['terraform-policy', 'refused']]);
  });

  it('fails naming the run, the soft-mandatory policy and how to override it when the approval overrides nothing, and discards the run', async () => {
    // GIVEN a soft-mandatory tagging policy the configuration breaks, and a prod approval without an override
    const ws = repoWorkspace('events-infra', 'prod', [requireTags]);
    const r = await deploy({ repo: 'events-infra', tf: queueTf('events'), approval: approval('looks good') });
    // WHEN it is deployed
    const err = await r.run().catch((e: Error) => e);
    // THEN it is refused naming the run, the policy, what the approval said, and the way to override
    const run = fake.runs().at(-1)!;
    expect(err).toBeInstanceOf(DeployRefusedError);
    expect((err as Error).message).toBe(
      `terraform run ${run.id} in ${ORG}/events-infra-prod failed soft-mandatory policy events-infra-guardrails/require-tags; the approval by ${approver} overrides no policy; the run was discarded. ` +
        "to apply it anyway, an approver of prod approves the release with the comment 'tfc-override: require-tags' (retry the Prod stage with all actions, or run the release again)",
    );
    // AND the run is discarded (it would hold the workspace's queue), unapplied and not overridden
    expect(run.status).toBe('discarded');
    expect(applyRequests(run.id)).toEqual([]);
    expect(fake.policyCheckOf(run.id)?.status).toBe('soft_failed');
    expect(fake.stateOf(ws)).toEqual([]);
  });

  it('overrides a soft-mandatory failure when the approval names the policy, applies, and records who approved the override', async () => {
    // GIVEN the same kind of failure and a prod approval whose comment overrides the policy
    const ws = repoWorkspace('audit-infra', 'prod', [requireTags, advisory]);
    const r = await deploy({ repo: 'audit-infra', tf: queueTf('audit'), approval: approval('approved for the audit queue\ntfc-override: require-tags') });
    // WHEN it is deployed
    const out = await r.run();
    // THEN the policy check was overridden through the API, then the run was applied
    const run = fake.runs().at(-1)!;
    expect(fake.overrides).toEqual([fake.policyCheckOf(run.id)!.id]);
    expect(fake.policyCheckOf(run.id)?.status).toBe('overridden');
    expect(run.status).toBe('applied');
    expect(fake.stateOf(ws)).toEqual(['aws_sqs_queue.events']);
    const order = fake.requests.filter((q) => q.includes('/actions/'));
    expect(order.slice(-2)).toEqual([`POST /api/v2/policy-checks/${fake.policyCheckOf(run.id)!.id}/actions/override`, `POST /api/v2/runs/${run.id}/actions/apply`]);
    // AND the apply comment in Terraform Cloud and the ledger note name the approver and the policy
    expect(run.comments.at(-1)).toContain(`soft-mandatory policy audit-infra-guardrails/require-tags overridden for ${approver}`);
    const note = r.notes.find((n) => n.step === 'policy-override')!;
    expect(note).toMatchObject({
      assetKind: 'terraform',
      target: run.id,
      result: 'succeeded',
      details: { policies: ['audit-infra-guardrails/require-tags'], approver, approvalSummary: 'approved for the audit queue\ntfc-override: require-tags', approvedExecutionId: approval(null).approvedExecutionId },
    });
    expect(out.writes).toBe(6);
  });

  it('fails when the approval overrides the policy but names no approver', async () => {
    // GIVEN an approval whose CodePipeline record names nobody
    repoWorkspace('anon-infra', 'prod', [requireTags]);
    const r = await deploy({ repo: 'anon-infra', tf: queueTf('anon'), approval: approval('tfc-override: require-tags', null) });
    // WHEN it is deployed THEN it is refused: an override needs a named approver
    await expect(r.run()).rejects.toThrow(/failed soft-mandatory policy anon-infra-guardrails\/require-tags; the run was discarded/);
    expect(fake.overrides).not.toContain(fake.policyCheckOf(fake.runs().at(-1)!.id)!.id);
  });

  it('fails in dev on a soft-mandatory failure, saying that dev has no approval to override it', async () => {
    // GIVEN a dev workspace under the tagging policy (dev has no Approve action)
    repoWorkspace('events-infra', 'dev', [requireTags]);
    const r = await deploy({ repo: 'events-infra', env: 'dev', tf: queueTf('events'), approval: null });
    // WHEN it is deployed THEN it is refused with the dev rule
    await expect(r.run()).rejects.toThrow(/dev has no approval, so nobody can override it there: change the configuration, or make the policy advisory for dev workspaces$/);
  });

  it('fails, discarding the run, when the token may not override the policy check the approver overrode', async () => {
    // GIVEN a token without the permission to manage policy overrides
    repoWorkspace('locked-infra', 'prod', [requireTags]);
    fake.setCanOverride(false);
    try {
      const r = await deploy({ repo: 'locked-infra', tf: queueTf('locked'), approval: approval('tfc-override: require-tags') });
      // WHEN it is deployed THEN it is refused naming the permission, and the run is discarded unapplied
      await expect(r.run()).rejects.toThrow(/the Terraform Cloud token may not override policy check polchk-[0-9a-z]+; the run was discarded/);
      expect(fake.runs().at(-1)!.status).toBe('discarded');
    } finally {
      fake.setCanOverride(true);
    }
  });

  it('applies a run whose hard and soft policies pass and only an advisory one fails, without overriding anything', async () => {
    // GIVEN a configuration with tags under all three enforcement levels
    const ws = repoWorkspace('tagged-infra', 'prod', [requireTags, noPublicDb, advisory]);
    const r = await deploy({ repo: 'tagged-infra', tf: queueTf('tagged', '  tags = { team = "data" }\n'), approval: null });
    // WHEN it is deployed THEN it is applied with no override
    await r.run();
    const run = fake.runs().at(-1)!;
    expect(run.status).toBe('applied');
    expect(fake.policyCheckOf(run.id)?.status).toBe('passed');
    expect(fake.overrides).not.toContain(fake.policyCheckOf(run.id)!.id);
    expect(fake.stateOf(ws)).toEqual(['aws_sqs_queue.events']);
  });
});

describe('TerraformCloudDeployer plan summary and workspaces', () => {
  it('logs and records the plan summary (add / change / destroy) and the cost estimate of the run', async () => {
    // GIVEN a workspace that already runs a queue and a database
    const ws = repoWorkspace('billing-infra', 'staging');
    const first = await deploy({ repo: 'billing-infra', env: 'staging', tf: queueTf('billing') + dbTf });
    await first.run();
    // WHEN a release changes the queue and drops the database
    const second = await deploy({ repo: 'billing-infra', env: 'staging', tf: queueTf('billing-v2'), build: 2 });
    await second.run();
    // THEN the log line and the ledger note give 0 to add, 1 to change, 1 to destroy, and the monthly cost going down by the database's price
    const run = fake.runs().at(-1)!;
    const line = `plan of run ${run.id} in ${ORG}/billing-infra-staging: 0 to add, 1 to change, 1 to destroy; cost estimate $0.40/month (-$187.20 from $187.60), 1 of 1 resources estimated`;
    expect(second.log).toContain(`terraform: ${line}`);
    expect(second.notes.find((n) => n.step === 'terraform-plan')).toMatchObject({
      target: run.id,
      message: line,
      details: { add: 0, change: 1, destroy: 1, costEstimate: { status: 'finished', proposedMonthlyCost: '0.40', priorMonthlyCost: '187.60', deltaMonthlyCost: '-187.20' } },
    });
    expect(fake.stateOf(ws)).toEqual(['aws_sqs_queue.events']);
  });

  it("deploys each repo to its own workspace of the environment, so one repo's apply never plans another's resources away", async () => {
    // GIVEN two repos with their own staging workspaces
    const a = repoWorkspace('ingest-infra', 'staging');
    const b = repoWorkspace('reports-infra', 'staging');
    // WHEN each deploys a configuration with a different resource
    await (await deploy({ repo: 'ingest-infra', env: 'staging', tf: queueTf('ingest') })).run();
    const second = await deploy({ repo: 'reports-infra', env: 'staging', tf: dbTf });
    await second.run();
    // THEN each workspace holds only its repo's resources, and the second plan destroyed nothing
    expect(fake.stateOf(a)).toEqual(['aws_sqs_queue.events']);
    expect(fake.stateOf(b)).toEqual(['aws_db_instance.claims']);
    expect(second.notes.find((n) => n.step === 'terraform-plan')?.details).toMatchObject({ add: 1, change: 0, destroy: 0 });
  });

  it('fails naming the workspace when the repo has none in the environment', async () => {
    // GIVEN no workspace for this repo in prod WHEN it is deployed THEN the lookup of <repo>-prod fails
    const r = await deploy({ repo: 'missing-infra', tf: queueTf('x') });
    await expect(r.run()).rejects.toThrow(/GET \/organizations\/northstar-health\/workspaces\/missing-infra-prod answered HTTP 404/);
  });
});

describe('planSummary, describePlan and overridesIn', () => {
  it.each([
    ['a create', ['create'], { add: 1, change: 0, destroy: 0 }],
    ['an update', ['update'], { add: 0, change: 1, destroy: 0 }],
    ['a delete', ['delete'], { add: 0, change: 0, destroy: 1 }],
    ['a replace', ['delete', 'create'], { add: 1, change: 0, destroy: 1 }],
    ['a no-op', ['no-op'], { add: 0, change: 0, destroy: 0 }],
    ['a read', ['read'], { add: 0, change: 0, destroy: 0 }],
  ])('counts %s as Terraform does', (_what, actions, expected) => {
    expect(planSummary([{ address: 'a.b', type: 'a', actions }])).toEqual(expected);
  });

  it('says when the organization estimates no cost', () => {
    expect(describePlan({ add: 1, change: 0, destroy: 0 }, null)).toBe('1 to add, 0 to change, 0 to destroy; no cost estimate (cost estimation is off for the organization)');
  });

  it.each([
    ['one line', 'tfc-override: require-tags', ['require-tags']],
    ['several, comma or space separated', 'ok\nTFC-OVERRIDE: a/require-tags, max-cost  other', ['a/require-tags', 'max-cost', 'other']],
    ['two markers', 'tfc-override: a; then tfc-override: b', ['a', 'b']],
    ['none', 'approved', []],
    ['no comment', null, []],
  ])('reads the policies an approval overrides from %s', (_what, summary, expected) => {
    expect(overridesIn(summary)).toEqual(expected);
  });
});

describe('decidePolicies', () => {
  const where = { runId: 'run-1', workspace: `${ORG}/r-prod`, env: 'prod' as const };
  const check = (status: string, policies: Array<[string, boolean, boolean?]> = [], overridable = status === 'soft_failed'): PolicyCheckInfo => ({
    id: 'polchk-1',
    status,
    scope: 'organization',
    hardFailed: 0,
    softFailed: 0,
    advisoryFailed: 0,
    policies: policies.map(([name, passed, adv]) => ({ name, passed, advisory: adv ?? false })),
    overridable,
  });
  it.each([
    ['no policy check', [], null, 'apply'],
    ['a passed check', [check('passed')], null, 'apply'],
    ['an overridden check', [check('overridden')], null, 'apply'],
    ['a hard failure, even with an override', [check('hard_failed', [['s/p', false]])], approval('tfc-override: p'), 'refuse'],
    ['an errored check', [check('errored')], approval('tfc-override: p'), 'refuse'],
    ['a pending check', [check('pending')], null, 'refuse'],
    ['a soft failure without approval', [check('soft_failed', [['s/p', false]])], null, 'refuse'],
    ['a soft failure overridden by the bare policy name', [check('soft_failed', [['s/p', false]])], approval('tfc-override: p'), 'override'],
    ['a soft failure overridden by set/policy', [check('soft_failed', [['s/p', false]])], approval('tfc-override: s/p'), 'override'],
    ['a soft failure of two policies, one overridden', [check('soft_failed', [['s/p', false], ['s/q', false]])], approval('tfc-override: p'), 'refuse'],
    ['a soft failure whose advisory failure is not overridden', [check('soft_failed', [['s/p', false], ['s/adv', false, true]])], approval('tfc-override: p'), 'override'],
    ['a soft failure the token may not override', [check('soft_failed', [['s/p', false]], false)], approval('tfc-override: p'), 'refuse'],
    ['a soft failure overridden by a similar name only', [check('soft_failed', [['s/pp', false]])], approval('tfc-override: p'), 'refuse'],
  ])('decides %s', (_what, checks, appr, action) => {
    expect(decidePolicies(checks, appr, where).action).toBe(action);
  });
});
