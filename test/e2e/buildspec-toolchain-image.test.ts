import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash } from 'crypto';
import { CreateRepositoryCommand, DescribeImagesCommand, ECRClient, PutImageCommand } from '@aws-sdk/client-ecr';
import { runBuildspec, type BuildspecRunResult } from '../../lib/checks/buildspec/runner';
import { PROJECT_ROOT } from '../../lib/checks/validate/toolchain';
import { motoClientConfig, uniqueName } from '../helpers/moto';

// The real buildspecs/toolchain-image.yml under `dataops buildspec run`, with the AWS CLI (the one the
// CodeBuild standard image has; here from the emulators venv) pointed at moto's ECR. This machine has no
// Docker engine, so a run that gets past its checks stops at `docker login`; what is tested is what the
// buildspec decides before that: missing variables, and an immutable tag that already exists.
jest.setTimeout(180_000);

const AWS_BIN = path.join(PROJECT_ROOT, '.venv', 'emulators', 'bin');
const sha = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;

function env(overrides: Record<string, string>): Record<string, string> {
  const moto = motoClientConfig();
  return {
    PATH: `${AWS_BIN}${path.delimiter}${process.env.PATH ?? ''}`,
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_REGION: moto.region,
    AWS_DEFAULT_REGION: moto.region,
    AWS_ACCESS_KEY_ID: moto.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: moto.credentials.secretAccessKey,
    TERRAFORM_SHA256: 'a'.repeat(64),
    ...overrides,
  };
}

describe('buildspecs/toolchain-image.yml against moto ECR', () => {
  const ecr = new ECRClient(motoClientConfig());
  const src = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-toolchain-image-'));
  let repositoryName: string;
  let repositoryUri: string;
  const run = (overrides: Record<string, string>): Promise<BuildspecRunResult> =>
    runBuildspec({ file: path.join(PROJECT_ROOT, 'buildspecs', 'toolchain-image.yml'), srcDir: src, env: env(overrides) });

  // GIVEN the toolchain repository in ECR holding tag 2026.11.1
  beforeAll(async () => {
    repositoryName = uniqueName('dataops/toolchain');
    const created = await ecr.send(new CreateRepositoryCommand({ repositoryName, imageTagMutability: 'IMMUTABLE' }));
    repositoryUri = created.repository!.repositoryUri!;
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: 1000, digest: sha(`c-${repositoryName}`) },
      layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: 2000, digest: sha(`l-${repositoryName}`) }],
    });
    await ecr.send(new PutImageCommand({ repositoryName, imageManifest: manifest, imageTag: '2026.11.1' }));
  });
  afterAll(() => fs.rmSync(src, { recursive: true, force: true }));

  it('fails before anything else when the project did not set the image variables, naming them', async () => {
    // WHEN the build runs without IMAGE_REPOSITORY_URI, IMAGE_REPOSITORY_NAME and IMAGE_TAG
    const build = await run({});
    // THEN it fails in pre_build with the variables named, and never reaches docker
    expect(build.succeeded).toBe(false);
    expect(build.phases.find((ph) => ph.name === 'pre_build')?.failedCommand?.exitCode).toBe(2);
    expect(build.log).toContain('IMAGE_REPOSITORY_URI, IMAGE_REPOSITORY_NAME and IMAGE_TAG must be set');
    expect(build.log).not.toMatch(/docker (login|build|push)/i);
  });

  it('refuses to build a tag that already exists (tags are immutable) and says to raise ci.toolchainImageTag', async () => {
    // WHEN the build runs for the tag ECR already holds
    const build = await run({ IMAGE_REPOSITORY_URI: repositoryUri, IMAGE_REPOSITORY_NAME: repositoryName, IMAGE_TAG: '2026.11.1' });
    // THEN it stops at the tag check with the fix, before logging in to the registry
    expect(build.succeeded).toBe(false);
    expect(build.phases.find((ph) => ph.name === 'pre_build')?.failedCommand?.exitCode).toBe(3);
    expect(build.log).toContain(`${repositoryName}:2026.11.1 exists and tags are immutable; raise ci.toolchainImageTag`);
  });

  it('goes past the tag check for a new tag, and pushes nothing when the image does not build', async () => {
    // WHEN the build runs for a tag ECR does not hold (and no Docker engine can build it here)
    const build = await run({ IMAGE_REPOSITORY_URI: repositoryUri, IMAGE_REPOSITORY_NAME: repositoryName, IMAGE_TAG: '2026.12.1' });
    // THEN the tag check passed, the build failed later, and ECR holds no image of that tag
    expect(build.succeeded).toBe(false);
    expect(build.log).not.toContain('exists and tags are immutable');
    const preBuild = build.phases.find((ph) => ph.name === 'pre_build');
    expect(preBuild?.failedCommand?.command).toMatch(/^aws ecr get-login-password .*\| docker login/);
    const images = await ecr.send(new DescribeImagesCommand({ repositoryName }));
    expect((images.imageDetails ?? []).flatMap((d) => d.imageTags ?? []).sort()).toEqual(['2026.11.1']);
  });
});
