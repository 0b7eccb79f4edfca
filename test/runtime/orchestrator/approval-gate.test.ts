/**
 * No deploy without its approval: `dataops deploy` to staging and prod refuses an execution whose
 * Approve action has not succeeded, checked through CodePipeline (the CodePipeline fake), and hands
 * the approval to the deployers (a Terraform policy override, against the TFC fake), with the
 * ledger on moto DynamoDB.
 */
import * as path from 'path';
import type { AssetKind, EnvironmentName } from '../../../lib/config/schema';
import { DeployError, DeployRefusedError } from '../../../lib/runtime/deployers/errors';
import { TerraformCloudDeployer } from '../../../lib/runtime/deployers/terraform-cloud-deployer';
import { STAGE_NAME_BY_ENV } from '../../../lib/runtime/ledger/model';
import { PIPELINE_NAME_ENV as RUNTIME_PIPELINE_NAME_ENV, requireApproval } from '../../../lib/runtime/orchestrator/approval-gate';
import type { ApprovedRelease } from '../../../lib/runtime/promote/separation-of-duties';
import { deployRelease, loadRelease, type AnyDeployer } from '../../../lib/runtime/orchestrator/deploy';
import { TerraformCloudClient } from '../../../lib/runtime/terraform-cloud/client';
import { PIPELINE_NAME_ENV as CONSTRUCT_PIPELINE_NAME_ENV, STAGE_NAMES } from '../../../lib/constructs/repo-pipeline';
import { CodePipelineFake } from '../../helpers/codepipeline-fake';
import { makeTestConfig } from '../../helpers/config';
import { createTestLedger } from '../../helpers/ledger';
import { createVersionedBucket, motoS3, writeRelease } from '../../helpers/s3-fixtures';
import { startTfcFake, type TfcFake } from '../../helpers/tfc-fake';

const PIPELINE = 'northstar-platform-infra';
const approver = 'arn:aws:sts::111111111111:assumed-role/data-platform-owners/dana';
const fake = new CodePipelineFake();

beforeAll(async () => {
  await fake.start();
  fake.addPipeline(PIPELINE, [...STAGE_NAMES]);
});
afterAll(async () => fake.stop());

/** The release the gate checks for: its commit was written by alice@northstar.health. */
const RELEASE: ApprovedRelease = { repo: 'platform-infra', version: '20260302.41+abc1234', gitSha: 'abc1234def567890', commitAuthors: [{ name: 'Alice Author', email: 'alice@northstar.health' }] };
const gate = (env: EnvironmentName, executionId: string, pipelineName: string | null = PIPELINE, release = RELEASE) =>
  requireApproval({ env, executionId, pipelineName: pipelineName ?? undefined, codepipeline: () => fake.client(), release });
const approve = (id: string, env: 'staging' | 'prod', status: 'InProgress' | 'Succeeded' | 'Failed' = 'Succeeded', summary = 'CAB-1 reviewed') =>
  fake.setApproval(PIPELINE, id, STAGE_NAME_BY_ENV[env], 'Approve', { status, updatedBy: status === 'InProgress' ? undefined : approver, summary: status === 'InProgress' ? undefined : summary });

describe('requireApproval', () => {
  it('names the same project variable as the pipeline construct, and the approval stages the pipeline has', () => {
    expect(RUNTIME_PIPELINE_NAME_ENV).toBe(CONSTRUCT_PIPELINE_NAME_ENV);
    expect(STAGE_NAMES).toEqual(expect.arrayContaining([STAGE_NAME_BY_ENV.staging, STAGE_NAME_BY_ENV.prod]));
  });

  it('needs no approval in dev and does not call CodePipeline', async () => {
    // GIVEN no pipeline name at all WHEN dev is checked THEN there is nothing to check
    const calls = fake.calls.length;
    await expect(gate('dev', 'local-1', null)).resolves.toBeNull();
    expect(fake.calls.length).toBe(calls);
  });

  it.each(['staging', 'prod'] as const)('passes %s for an execution whose Approve action of that stage succeeded, with who approved and their comment', async (env) => {
    // GIVEN an execution approved in the stage
    const id = fake.startExecution(PIPELINE);
    approve(id, env);
    // WHEN it is checked THEN the evidence names the approval, the approver and the comment
    await expect(gate(env, id)).resolves.toMatchObject({ pipelineName: PIPELINE, stageName: STAGE_NAME_BY_ENV[env], actionName: 'Approve', approvedExecutionId: id, approver, summary: 'CAB-1 reviewed' });
    // AND it was read from ListActionExecutions filtered by the execution
    expect(fake.callsOf('ListActionExecutions').at(-1)?.input).toMatchObject({ pipelineName: PIPELINE, filter: { pipelineExecutionId: id } });
  });

  it.each<[string, (id: string) => void, RegExp]>([
    ['waiting for its approver', (id) => approve(id, 'prod', 'InProgress'), /has not passed the approval Prod\/Approve: it is inprogress;/],
    ['rejected', (id) => approve(id, 'prod', 'Failed'), new RegExp(`has not passed the approval Prod/Approve: it is failed \\(rejected by ${approver.replace(/[/.]/g, '\\$&')}\\)`)],
    ['approved in staging only', (id) => approve(id, 'staging'), /has not passed the approval Prod\/Approve: it is not run;/],
    ['never approved', () => undefined, /has not passed the approval Prod\/Approve: it is not run; prod is deployed only after an approver approves the release in CodePipeline$/],
  ])('fails for prod when the execution is %s, naming the execution and the approval', async (_what, arrange, expected) => {
    // GIVEN an execution of the pipeline in that state
    const id = fake.startExecution(PIPELINE);
    arrange(id);
    // WHEN it is checked THEN it is refused naming the execution, the pipeline and the approval
    const err = await gate('prod', id).catch((e: Error) => e);
    expect(err).toBeInstanceOf(DeployRefusedError);
    expect((err as Error).message).toMatch(new RegExp(`^execution ${id} of pipeline ${PIPELINE} `));
    expect((err as Error).message).toMatch(expected);
  });

  it('fails for staging without a pipeline name, saying which variable to set, and calls nothing', async () => {
    // GIVEN a deploy run by hand without DATAOPS_PIPELINE_NAME
    const calls = fake.calls.length;
    // WHEN staging is checked THEN it is refused naming the execution, the approval and the variable
    await expect(gate('staging', 'local-1', null)).rejects.toThrow(
      /^staging deploys only an execution whose approval Staging\/Approve succeeded, and the approval of execution local-1 cannot be checked: DATAOPS_PIPELINE_NAME is not set;/,
    );
    expect(fake.calls.length).toBe(calls);
  });

  it('fails for an execution the pipeline does not have, such as a local execution id', async () => {
    await expect(gate('prod', 'local-1')).rejects.toThrow(/^execution local-1 is not an execution of pipeline northstar-platform-infra, so it has no approval Prod\/Approve/);
  });

  it('fails naming the variable when the pipeline does not exist', async () => {
    await expect(gate('prod', 'x', 'no-such-pipeline')).rejects.toThrow(/^pipeline no-such-pipeline \(DATAOPS_PIPELINE_NAME\) does not exist/);
  });

  it('passes a stage rollback execution on the approval of the execution it rolls back to, and refuses it when that one was not approved', async () => {
    // GIVEN an approved execution that succeeded in Prod, and a later one that did not get approved
    const good = fake.startExecution(PIPELINE);
    approve(good, 'prod');
    fake.setStage(PIPELINE, good, 'Prod', 'Succeeded', 'Succeeded');
    // WHEN the Prod stage is rolled back to it (a ROLLBACK execution, whose own Approve never ran)
    const rollback = await fake.client().send(new (await import('@aws-sdk/client-codepipeline')).RollbackStageCommand({ pipelineName: PIPELINE, stageName: 'Prod', targetPipelineExecutionId: good }));
    const id = rollback.pipelineExecutionId!;
    fake.setStage(PIPELINE, id, 'Prod', 'Succeeded');
    // THEN the rollback passes with the target's approval
    await expect(gate('prod', id)).resolves.toMatchObject({ approvedExecutionId: good, approver });
    // AND a rollback whose target's approval is not recorded is refused naming both executions
    const unapproved = fake.startExecution(PIPELINE);
    fake.setStage(PIPELINE, unapproved, 'Prod', 'Succeeded', 'Succeeded');
    const second = (await fake.client().send(new (await import('@aws-sdk/client-codepipeline')).RollbackStageCommand({ pipelineName: PIPELINE, stageName: 'Prod', targetPipelineExecutionId: unapproved }))).pipelineExecutionId!;
    await expect(gate('prod', second)).rejects.toThrow(new RegExp(`execution ${second} of pipeline ${PIPELINE} has not passed the approval Prod/Approve: it is not run, and neither has the execution ${unapproved} it rolls back to`));
  });

  it("fails a prod deploy approved by the release's commit author, naming both, and passes the author's staging approval", async () => {
    // GIVEN an execution whose prod approval alice gave herself (a Deploy project started by hand with it)
    const alice = 'arn:aws:iam::111111111111:user/alice';
    const id = fake.startExecution(PIPELINE);
    fake.setApproval(PIPELINE, id, 'Prod', 'Approve', { status: 'Succeeded', updatedBy: alice, summary: 'mine' });
    // WHEN the deploy checks it THEN it is refused naming the approver and the author
    const err = await gate('prod', id).catch((e: Error) => e);
    expect(err).toBeInstanceOf(DeployRefusedError);
    expect((err as Error).message).toMatch(
      new RegExp(`^release 20260302\\.41\\+abc1234 of platform-infra was approved for prod \\(Prod/Approve of execution ${id}\\) by arn:aws:iam::111111111111:user/alice, who is the author of its commit abc1234def56, Alice Author <alice@northstar\\.health>; a change may not be approved for prod by its author`),
    );
    // AND her staging approval of the same release passes (separation of duties is for prod)
    fake.setApproval(PIPELINE, id, 'Staging', 'Approve', { status: 'Succeeded', updatedBy: alice });
    await expect(gate('staging', id)).resolves.toMatchObject({ approver: alice });
    // AND a prod approval of a release that records no authors (schema 1) is refused, saying why
    const other = fake.startExecution(PIPELINE);
    approve(other, 'prod');
    await expect(gate('prod', other, PIPELINE, { ...RELEASE, commitAuthors: null })).rejects.toThrow(/records no author of its commit abc1234def56 \(its manifest is schema 1/);
  });

  it('finds the approval on a later page of ListActionExecutions', async () => {
    // GIVEN an execution with more than 100 action executions before its approval (a long retried stage)
    const id = fake.startExecution(PIPELINE);
    for (let i = 0; i < 120; i++) fake.setApproval(PIPELINE, id, 'Dev', `Deploy-${i}`, { status: 'Succeeded' });
    approve(id, 'prod');
    // WHEN it is checked THEN the approval is found after following nextToken
    await expect(gate('prod', id)).resolves.toMatchObject({ approvedExecutionId: id });
    expect(fake.callsOf('ListActionExecutions').slice(-2).map((c) => c.input.nextToken)).toEqual([undefined, '100']);
  });

  it('fails as an error, not a refusal, naming the permission when CodePipeline denies the call', async () => {
    // GIVEN a role without codepipeline:ListActionExecutions
    const id = fake.startExecution(PIPELINE);
    fake.faults.set('ListActionExecutions', { type: 'AccessDeniedException', times: 1 });
    // WHEN it is checked THEN it fails naming the call and the permission
    const err = await gate('prod', id).catch((e: Error) => e);
    expect(err).toBeInstanceOf(DeployError);
    expect(err).not.toBeInstanceOf(DeployRefusedError);
    expect((err as Error).message).toMatch(/cannot read the approval Prod\/Approve of execution .* \(ListActionExecutions\): .*; the deployer role needs codepipeline:ListActionExecutions on the pipeline/);
  });
});

describe('deployRelease with the approval gate', () => {
  const s3 = motoS3();
  let tfc: TfcFake;
  let bucket: string;
  const config = makeTestConfig();

  beforeAll(async () => {
    tfc = await startTfcFake();
    bucket = await createVersionedBucket(s3, 'approval-gate');
  });
  afterAll(async () => tfc?.stop());

  async function setUp(repo: string, tf: string) {
    const ws = tfc.addWorkspace('northstar-health', `${repo}-prod`);
    const { dir } = await writeRelease({ repo, files: [{ kind: 'terraform', path: 'terraform/main.tf', body: tf }] });
    const test = await createTestLedger();
    const deployer = new TerraformCloudDeployer({ tfc: new TerraformCloudClient({ token: tfc.token, baseUrl: tfc.baseUrl }), s3, artifactBucket: bucket, protectedResourceTypes: [], pollMs: 1 });
    const deploy = (executionId: string) =>
      deployRelease(loadRelease(path.join(dir, 'release-manifest.json')), 'prod', config.environments.prod, {
        ledger: test.ledger,
        deployers: new Map<AssetKind, AnyDeployer>([['terraform', deployer as AnyDeployer]]),
        executionId,
        actor: 'codebuild:deploy-prod',
        log: () => undefined,
        approvalGate: () => gate('prod', executionId),
      });
    return { ws, ledger: test.ledger, deploy, events: (id: string) => test.ledger.eventsFor(repo, 'prod', { executionId: id }) };
  }

  it('fails for an unapproved execution before anything is deployed, and the ledger records the refusal', async () => {
    // GIVEN an execution waiting for its prod approval
    const { ws, events, deploy } = await setUp('gate-infra', 'resource "aws_sqs_queue" "q" {\n  name = "q"\n}\n');
    const id = fake.startExecution(PIPELINE);
    approve(id, 'prod', 'InProgress');
    const runsBefore = tfc.runs().length;
    // WHEN its prod Deploy runs THEN it is refused naming the execution and the approval
    await expect(deploy(id)).rejects.toThrow(new RegExp(`^execution ${id} of pipeline ${PIPELINE} has not passed the approval Prod/Approve`));
    // AND nothing reached Terraform Cloud, and the ledger holds a refused deployment of the execution
    expect(tfc.runs().length).toBe(runsBefore);
    expect(tfc.stateOf(ws)).toEqual([]);
    expect((await events(id)).filter((e) => e.kind === 'deployment').map((e) => [e.result, e.message])).toEqual([['refused', expect.stringContaining('has not passed the approval Prod/Approve')]]);
  });

  it("deploys an approved execution and gives the approval to the deployers: a soft-mandatory override for the approver, recorded in the ledger", async () => {
    // GIVEN a soft-mandatory policy the configuration breaks, and a prod approval whose comment overrides it
    const { ws, events, deploy } = await setUp('override-infra', 'resource "aws_sqs_queue" "q" {\n  name = "q"\n}\n');
    tfc.addPolicySet({ name: 'guardrails', workspaceIds: [ws], policies: [{ name: 'require-tags', enforcement: 'soft-mandatory', fails: (rs) => rs.some((r) => !r.body.includes('tags')) }] });
    const id = fake.startExecution(PIPELINE);
    approve(id, 'prod', 'Succeeded', 'CAB-7 accepted untagged queue\ntfc-override: require-tags');
    // WHEN its prod Deploy runs
    const out = await deploy(id);
    // THEN the configuration is applied after the override
    expect(out.status).toBe('deployed');
    expect(tfc.stateOf(ws)).toEqual(['aws_sqs_queue.q']);
    expect(tfc.overrides).toHaveLength(1);
    // AND the ledger holds the plan summary and the override naming the approver and their comment
    const notes = (await events(id)).filter((e) => e.kind === 'deploy-note');
    expect(notes.map((n) => (n.kind === 'deploy-note' ? [n.step, n.result, n.actor] : []))).toEqual([
      ['terraform-plan', 'succeeded', 'codebuild:deploy-prod'],
      ['policy-override', 'succeeded', 'codebuild:deploy-prod'],
    ]);
    const override = notes[1];
    expect(override.kind === 'deploy-note' && override.details).toMatchObject({ policies: ['guardrails/require-tags'], approver, approvalSummary: 'CAB-7 accepted untagged queue\ntfc-override: require-tags', approvedExecutionId: id });
    expect(override.message).toContain(`overridden for ${approver}`);
  });
});
