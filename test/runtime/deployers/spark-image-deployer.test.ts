/** The Spark image-pointer deployer against moto SSM and ECR. */
import { createHash } from 'crypto';
import { CreateRepositoryCommand, ECRClient, PutImageCommand } from '@aws-sdk/client-ecr';
import { GetParametersByPathCommand, SSMClient } from '@aws-sdk/client-ssm';
import { SparkImageDeployer } from '../../../lib/runtime/deployers/spark-image-deployer';
import { DeployError } from '../../../lib/runtime/deployers/errors';
import { motoClientConfig, uniqueName } from '../../helpers/moto';
import { deployContext, writeRelease } from '../../helpers/s3-fixtures';

const ssm = new SSMClient(motoClientConfig());
const ecr = new ECRClient(motoClientConfig());
const deployer = new SparkImageDeployer({ ssm, ecr });

const sha = (s: string): string => `sha256:${createHash('sha256').update(s).digest('hex')}`;

/** Pushes an image manifest to moto ECR (moto derives the digest from the layer digests) and returns its digest. */
async function pushImage(repositoryName: string, tag: string): Promise<string> {
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: 7023, digest: sha(`config-${repositoryName}-${tag}`) },
    layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: 1024, digest: sha(`layer-${repositoryName}-${tag}`) }],
  });
  const out = await ecr.send(new PutImageCommand({ repositoryName, imageManifest: manifest, imageTag: tag }));
  return out.image!.imageId!.imageDigest!;
}

async function pointers(path: string): Promise<Record<string, string>> {
  const out = await ssm.send(new GetParametersByPathCommand({ Path: path, Recursive: true }));
  return Object.fromEntries((out.Parameters ?? []).map((p) => [p.Name!, p.Value!]));
}

async function run(repo: string, build: number, images: Array<{ job: string; repository: string; digest: string }>) {
  const { release, dir } = await writeRelease({ repo, build, files: [], sparkImages: images });
  const ctx = deployContext(release, dir);
  const plan = deployer.plan(await deployer.readCurrent(ctx), ctx);
  return { ctx, plan, apply: () => deployer.apply(plan, ctx) };
}

describe('SparkImageDeployer', () => {
  const repo = uniqueName('spark');
  let claimsV1: string;
  let claimsV2: string;
  let eligibility: string;

  beforeAll(async () => {
    for (const name of ['claims', 'eligibility']) await ecr.send(new CreateRepositoryCommand({ repositoryName: `northstar/dev/${repo}/${name}`, imageTagMutability: 'IMMUTABLE' }));
    claimsV1 = await pushImage(`northstar/dev/${repo}/claims`, 'v1');
    claimsV2 = await pushImage(`northstar/dev/${repo}/claims`, 'v2');
    eligibility = await pushImage(`northstar/dev/${repo}/eligibility`, 'v1');
  });

  it('points one SSM parameter per job at the image digest, and a second deploy of the same release writes nothing', async () => {
    // GIVEN a release with two jobs whose images are in the environment's ECR
    const images = [
      { job: 'claims', repository: `${repo}/claims`, digest: claimsV1 },
      { job: 'eligibility', repository: `${repo}/eligibility`, digest: eligibility },
    ];
    // WHEN it is deployed twice
    const first = await (await run(repo, 1, images)).apply();
    const second = await run(repo, 1, images);
    // THEN each job's pointer holds the full image reference by digest, and the second plan is empty
    expect(first.writes).toBe(2);
    expect(await pointers(`/dataops/dev/${repo}/spark`)).toEqual({
      [`/dataops/dev/${repo}/spark/claims/image`]: `123456789012.dkr.ecr.us-east-1.amazonaws.com/northstar/dev/${repo}/claims@${claimsV1}`,
      [`/dataops/dev/${repo}/spark/eligibility/image`]: `123456789012.dkr.ecr.us-east-1.amazonaws.com/northstar/dev/${repo}/eligibility@${eligibility}`,
    });
    expect(second.plan).toEqual({ moves: [], removes: [] });
    expect((await second.apply()).writes).toBe(0);
    await expect(deployer.verify(second.ctx)).resolves.toEqual({ ok: true, problems: [] });
  });

  it('fails before moving any pointer when one image digest is not in ECR', async () => {
    // GIVEN the deployed state of the previous test and a release whose eligibility digest was never pushed
    const before = await pointers(`/dataops/dev/${repo}/spark`);
    const missing = `sha256:${'e'.repeat(64)}`;
    const r = await run(repo, 2, [
      { job: 'claims', repository: `${repo}/claims`, digest: claimsV2 },
      { job: 'eligibility', repository: `${repo}/eligibility`, digest: missing },
    ]);
    // WHEN it is applied THEN it fails naming the image, and no pointer moved (not even claims)
    await expect(r.apply()).rejects.toThrow(new RegExp(`image northstar/dev/${repo}/eligibility@${missing} is not in ECR`));
    await expect(r.apply()).rejects.toBeInstanceOf(DeployError);
    expect(await pointers(`/dataops/dev/${repo}/spark`)).toEqual(before);
  });

  it('restores the recorded pointers, removing the pointer of a job the previous release did not have', async () => {
    // GIVEN release 3 that moves claims to v2, drops eligibility and adds a new job
    await ecr.send(new CreateRepositoryCommand({ repositoryName: `northstar/dev/${repo}/members` }));
    const members = await pushImage(`northstar/dev/${repo}/members`, 'v1');
    const before = await pointers(`/dataops/dev/${repo}/spark`);
    const r = await run(repo, 3, [
      { job: 'claims', repository: `${repo}/claims`, digest: claimsV2 },
      { job: 'members', repository: `${repo}/members`, digest: members },
    ]);
    const applied = await r.apply();
    expect(applied.writes).toBe(3);
    // WHEN the previous pointers are restored
    const restored = await deployer.restore(applied.previous, r.ctx);
    // THEN the pointers are exactly what they were, and restoring again writes nothing
    expect(restored.writes).toBe(3);
    expect(await pointers(`/dataops/dev/${repo}/spark`)).toEqual(before);
    expect((await deployer.restore(applied.previous, r.ctx)).writes).toBe(0);
  });

  it('converges after the second pointer write fails, and the previous state recorded before the apply restores both pointers', async () => {
    // GIVEN two pointers at v1 and a release moving both, whose second PutParameter fails once
    const repo2 = uniqueName('sparkfault');
    for (const name of ['a', 'b']) await ecr.send(new CreateRepositoryCommand({ repositoryName: `northstar/dev/${repo2}/${name}` }));
    const v1 = { a: await pushImage(`northstar/dev/${repo2}/a`, 'v1'), b: await pushImage(`northstar/dev/${repo2}/b`, 'v1') };
    const v2 = { a: await pushImage(`northstar/dev/${repo2}/a`, 'v2'), b: await pushImage(`northstar/dev/${repo2}/b`, 'v2') };
    const imgs = (v: typeof v1) => [
      { job: 'a', repository: `${repo2}/a`, digest: v.a },
      { job: 'b', repository: `${repo2}/b`, digest: v.b },
    ];
    await (await run(repo2, 1, imgs(v1))).apply();
    const before = await pointers(`/dataops/dev/${repo2}/spark`);
    let puts = 0;
    const flakySsm = new SSMClient(motoClientConfig());
    flakySsm.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'PutParameterCommand' && ++puts === 2) throw new Error('injected SSM failure');
        return next(args);
      },
      { step: 'initialize', name: 'fault' },
    );
    const flaky = new SparkImageDeployer({ ssm: flakySsm, ecr });
    const { release, dir } = await writeRelease({ repo: repo2, build: 2, files: [], sparkImages: imgs(v2) });
    const ctx = deployContext(release, dir);
    const current = await flaky.readCurrent(ctx);
    const plan = flaky.plan(current, ctx);
    const recorded = flaky.previousOf(current, plan);
    // WHEN it is applied THEN it fails, and running again moves only what is left
    await expect(flaky.apply(plan, ctx)).rejects.toThrow(/injected SSM failure/);
    const retry = await flaky.apply(flaky.plan(await flaky.readCurrent(ctx), ctx), ctx);
    expect(retry.writes).toBe(1);
    await expect(flaky.verify(ctx)).resolves.toEqual({ ok: true, problems: [] });
    // AND the state recorded before the first attempt restores both pointers
    await flaky.restore(recorded, ctx);
    expect(await pointers(`/dataops/dev/${repo2}/spark`)).toEqual(before);
  });
});
