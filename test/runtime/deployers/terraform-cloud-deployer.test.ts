/** The Terraform Cloud deployer against the TFC API fake and moto S3 (artifact bucket). */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { DeployRefusedError } from '../../../lib/runtime/deployers/errors';
import { blockedChanges, TerraformCloudDeployer } from '../../../lib/runtime/deployers/terraform-cloud-deployer';
import { TerraformCloudClient } from '../../../lib/runtime/terraform-cloud/client';
import { createVersionedBucket, deployContext, motoS3, writeRelease } from '../../helpers/s3-fixtures';
import { startTfcFake, type TfcFake } from '../../helpers/tfc-fake';

const s3 = motoS3();
let fake: TfcFake;
let bucket: string;
let wsId: string;

const bucketTf = (extra = '') => `resource "aws_s3_bucket" "landing" {\n  bucket = "northstar-landing"\n${extra}}\n`;
const queueTf = (name: string) => `resource "aws_sqs_queue" "events" {\n  name = "${name}"\n}\n`;

beforeAll(async () => {
  fake = await startTfcFake();
  bucket = await createVersionedBucket(s3, 'artifacts');
  // the repo's own workspace in dev: terraformCloud.workspace '{repo}-dev' of the default config
  wsId = fake.addWorkspace('northstar-health', 'platform-infra-dev');
});
afterAll(async () => fake?.stop());

function deployer(): TerraformCloudDeployer {
  return new TerraformCloudDeployer({
    tfc: new TerraformCloudClient({ token: fake.token, baseUrl: fake.baseUrl }),
    s3,
    artifactBucket: bucket,
    protectedResourceTypes: ['aws_s3_bucket', 'aws_db_instance'],
    pollMs: 1,
  });
}

async function deploy(build: number, tf: string, allowDestroy: string[] = []) {
  const { release, dir } = await writeRelease({ repo: 'platform-infra', build, files: [{ kind: 'terraform', path: 'terraform/main.tf', body: tf }], allowDestroy });
  const ctx = deployContext(release, dir);
  const d = deployer();
  const plan = d.plan(await d.readCurrent(ctx), ctx);
  return { ctx, plan, d, apply: () => d.apply(plan, ctx) };
}

describe('TerraformCloudDeployer', () => {
  it('uploads a configuration version, plans, applies and keeps the tarball; the same release again starts no run', async () => {
    // GIVEN a workspace that never ran
    // WHEN a release with a bucket and a queue is deployed twice
    const first = await deploy(1, bucketTf() + queueTf('events'));
    const applied = await first.apply();
    const runsAfterFirst = fake.runs().length;
    const second = await deploy(1, bucketTf() + queueTf('events'));
    const again = await second.apply();
    // THEN the workspace holds both resources, the tarball is kept under its sha256, and the second deploy wrote nothing
    expect(fake.stateOf(wsId)).toEqual(['aws_s3_bucket.landing', 'aws_sqs_queue.events']);
    expect(applied.writes).toBe(5);
    expect(applied.previous).toEqual({ applied: null });
    expect(second.plan.action).toBe('none');
    expect(again.writes).toBe(0);
    expect(fake.runs().length).toBe(runsAfterFirst);
    const sha = first.ctx.release.terraform!.tarballSha256;
    const kept = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `terraform/platform-infra/${sha}.tar.gz` }));
    expect(kept.Metadata?.sha256).toBe(sha);
    await expect(second.d.verify(second.ctx)).resolves.toEqual({ ok: true, problems: [] });
  });

  it('fails with DeployRefusedError and discards the run when the plan replaces a protected resource the release does not allow', async () => {
    // GIVEN the applied state above and a release that forces the replacement of the bucket
    const r = await deploy(2, bucketTf('  # fake: forces replacement\n') + queueTf('events'));
    // WHEN it is applied
    const err = await r.apply().catch((e: Error) => e);
    // THEN it is refused naming the address, the run is discarded and the workspace is unchanged
    expect(err).toBeInstanceOf(DeployRefusedError);
    expect((err as Error).message).toMatch(/would replace aws_s3_bucket\.landing \(protected types aws_s3_bucket\)/);
    expect(fake.runs().at(-1)!.status).toBe('discarded');
    await expect(r.d.verify(r.ctx)).resolves.toMatchObject({ ok: false });
  });

  it('applies a plan that destroys a protected resource when the release lists its address under allowDestroy, and restore re-applies the previous configuration', async () => {
    // GIVEN a release that drops the bucket and allows exactly that
    const r = await deploy(3, queueTf('events-v3'), ['aws_s3_bucket.landing']);
    // WHEN it is applied
    const applied = await r.apply();
    // THEN the bucket is gone
    expect(fake.stateOf(wsId)).toEqual(['aws_sqs_queue.events']);
    // AND WHEN the previous configuration is restored THEN the workspace holds the bucket again
    const restored = await r.d.restore(applied.previous, r.ctx);
    expect(restored.writes).toBeGreaterThan(0);
    expect(fake.stateOf(wsId)).toEqual(['aws_s3_bucket.landing', 'aws_sqs_queue.events']);
    expect((await r.d.restore(applied.previous, r.ctx)).writes).toBe(0);
  });

  it('fails naming the run when the apply errors, and does not move the applied pointer', async () => {
    // GIVEN an apply that will error
    fake.failNextApply();
    const r = await deploy(4, bucketTf() + queueTf('events-v4'));
    // WHEN it is applied THEN it fails naming the run, and verify still reports the old configuration
    await expect(r.apply()).rejects.toThrow(/run run-[0-9a-z]+ ended errored, not applied/);
    await expect(r.d.verify(r.ctx)).resolves.toMatchObject({ ok: false });
  });
});

describe('TerraformCloudDeployer after a crash', () => {
  it('converges when the process dies after the apply and before the applied pointer is written', async () => {
    // GIVEN a workspace of its own and an S3 client whose write of the applied pointer fails once
    const ws = fake.addWorkspace('northstar-health', 'platform-infra-staging');
    let failPointer = true;
    const flaky = motoS3();
    flaky.middlewareStack.add(
      (next, context) => async (args) => {
        if (failPointer && context.commandName === 'PutObjectCommand' && String((args.input as { Key?: string }).Key).endsWith('/applied.json')) {
          failPointer = false;
          throw new Error('process died');
        }
        return next(args);
      },
      { step: 'initialize', name: 'crash' },
    );
    const d = new TerraformCloudDeployer({ tfc: new TerraformCloudClient({ token: fake.token, baseUrl: fake.baseUrl }), s3: flaky, artifactBucket: bucket, protectedResourceTypes: ['aws_s3_bucket'], pollMs: 1 });
    const { release, dir } = await writeRelease({ repo: 'platform-infra', build: 10, files: [{ kind: 'terraform', path: 'terraform/main.tf', body: queueTf('crash') }] });
    const ctx = deployContext(release, dir, { env: 'staging' });
    const deploy = async () => d.apply(d.plan(await d.readCurrent(ctx), ctx), ctx);
    // WHEN the first attempt dies after applying
    await expect(deploy()).rejects.toThrow('process died');
    expect(fake.stateOf(ws)).toEqual(['aws_sqs_queue.events']);
    // THEN running again plans no change (planned_and_finished), records the pointer, and a third run starts nothing
    const runs = fake.runs().length;
    const again = await deploy();
    expect(fake.runs().length).toBe(runs + 1);
    expect(fake.runs().at(-1)!.status).toBe('planned_and_finished');
    expect(again.writes).toBe(3);
    expect((await deploy()).writes).toBe(0);
    expect(fake.runs().length).toBe(runs + 1);
  });
});

describe('TerraformCloudDeployer after an apply that errored half way', () => {
  it('runs the applied configuration again when the workspace holds a newer state than its applied pointer, and verify names the state until then', async () => {
    // GIVEN a workspace of its own that runs release 20 (one queue)
    const ws = fake.addWorkspace('northstar-health', 'platform-infra-prod');
    const d = deployer();
    const release = async (build: number, tf: string) => {
      const { release: r, dir } = await writeRelease({ repo: 'platform-infra', build, files: [{ kind: 'terraform', path: 'terraform/main.tf', body: tf }] });
      const log: string[] = [];
      return { ctx: deployContext(r, dir, { env: 'prod', log }), log };
    };
    const deploy = async (r: Awaited<ReturnType<typeof release>>) => d.apply(d.plan(await d.readCurrent(r.ctx), r.ctx), r.ctx);
    const previous = await release(20, queueTf('previous'));
    await deploy(previous);
    const before = fake.currentStateVersion(ws)!;
    // WHEN release 21 (the queue renamed, a topic added) errors while applying, after the queue's update
    fake.failNextApply({ applyFirst: 1 });
    const failing = await release(21, `${queueTf('next')}resource "aws_sns_topic" "alerts" {\n  name = "alerts"\n}\n`);
    const err = await deploy(failing).catch((e: Error) => e);
    // THEN the failure says that the run changed resources and saved their state
    expect((err as Error).message).toMatch(new RegExp(`run (run-[0-9a-z]+) ended errored, not applied; it changed resources before it stopped \\(Terraform saved them as state serial ${before.serial + 1}\\)`));
    expect(fake.currentStateVersion(ws)).toMatchObject({ serial: before.serial + 1, resources: { 'aws_sqs_queue.events': 'name = "next"' } });
    // AND release 20, whose run the pointer still names, does not verify: the workspace holds another state
    const check = await d.verify(previous.ctx);
    expect(check).toEqual({ ok: false, problems: [expect.stringMatching(new RegExp(`^workspace northstar-health/platform-infra-prod holds state serial ${before.serial + 1} saved by run run-[0-9a-z]+, not serial ${before.serial} that run ${before.runId} of release 20261128\\.20`))] });
    // AND WHEN release 20 is deployed again (the stage rollback's redeploy), its configuration runs again and the queue is back
    const plan = d.plan(await d.readCurrent(previous.ctx), previous.ctx);
    expect(plan).toMatchObject({ action: 'run', drift: expect.stringContaining(`holds state serial ${before.serial + 1}`) });
    await d.apply(plan, previous.ctx);
    expect(previous.log.join('\n')).toMatch(/; running configuration [0-9a-f]{12} again/);
    expect(fake.currentStateVersion(ws)!.resources).toEqual(before.resources);
    await expect(d.verify(previous.ctx)).resolves.toEqual({ ok: true, problems: [] });
    // AND once more it starts no run
    const runs = fake.runs().length;
    expect((await deploy(previous)).writes).toBe(0);
    expect(fake.runs().length).toBe(runs);
  });

  it('restores the previous configuration over the state an errored apply left, although the pointer still names it', async () => {
    // GIVEN a workspace of its own that runs release 30
    const ws = fake.addWorkspace('northstar-health', 'lake-infra-dev');
    const d = deployer();
    const at = async (build: number, tf: string) => {
      const { release: r, dir } = await writeRelease({ repo: 'lake-infra', build, files: [{ kind: 'terraform', path: 'terraform/main.tf', body: tf }] });
      return deployContext(r, dir, { env: 'dev' });
    };
    const thirty = await at(30, queueTf('thirty'));
    await d.apply(d.plan(await d.readCurrent(thirty), thirty), thirty);
    const state30 = fake.currentStateVersion(ws)!.resources;
    // AND release 31, whose apply errored after changing the queue (the pointer still names release 30's run)
    const thirtyOne = await at(31, queueTf('thirty-one'));
    const plan = d.plan(await d.readCurrent(thirtyOne), thirtyOne);
    fake.failNextApply({ applyFirst: 1 });
    await expect(d.apply(plan, thirtyOne)).rejects.toThrow(/ended errored, not applied; it changed resources/);
    // WHEN the deployment of release 31 is restored to what was there before it
    const restored = await d.restore(plan.previous, thirtyOne);
    // THEN release 30's configuration ran again and the workspace holds its state
    expect(restored.summary).toMatch(/re-applied the configuration of release 20261128\.30/);
    expect(fake.currentStateVersion(ws)!.resources).toEqual(state30);
    // AND restoring again does nothing
    expect((await d.restore(plan.previous, thirtyOne)).writes).toBe(0);
  });
});

describe('blockedChanges', () => {
  const protectedTypes = ['aws_s3_bucket'];
  it.each([
    ['a delete of a protected type', ['delete'], [], 1],
    ['a replace (delete, create)', ['delete', 'create'], [], 1],
    ['a replace (create, delete)', ['create', 'delete'], [], 1],
    ['an update', ['update'], [], 0],
    ['a delete allowed by address', ['delete'], ['aws_s3_bucket.b'], 0],
    ['a delete allowed by type', ['delete'], ['aws_s3_bucket'], 0],
  ])('blocks %s only when not allowed', (_what, actions, allow, blocked) => {
    // GIVEN one change of a protected resource WHEN checked THEN it is blocked or not
    expect(blockedChanges([{ address: 'aws_s3_bucket.b', type: 'aws_s3_bucket', actions }], protectedTypes, allow)).toHaveLength(blocked);
  });
  it('never blocks changes of unprotected types', () => {
    expect(blockedChanges([{ address: 'aws_sqs_queue.q', type: 'aws_sqs_queue', actions: ['delete'] }], protectedTypes, [])).toEqual([]);
  });
});
