import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { parse } from 'yaml';
import { PlatformNames } from '../../lib/constructs/names';
import { PROJECT_ROOT } from '../../lib/constructs/platform-function';
import { makeTestConfig } from '../helpers/config';
import { synthPlatform } from '../helpers/synth';

describe('toolchain image build (DataOpsTooling)', () => {
  const config = makeTestConfig();
  const names = new PlatformNames(config);

  it('builds in a privileged, KMS-encrypted project that logs to a KMS log group and pushes the configured tag', () => {
    // GIVEN the default platform
    const template = Template.fromStack(synthPlatform().platform.tooling);
    // THEN the project runs Docker (privileged), encrypts with the platform key and knows where to push
    template.hasResourceProperties('AWS::CodeBuild::Project', {
      Name: names.toolchainImageProjectName(),
      Source: Match.objectLike({ Type: 'S3' }),
      EncryptionKey: Match.anyValue(),
      LogsConfig: { CloudWatchLogs: Match.objectLike({ Status: 'ENABLED', GroupName: Match.anyValue() }) },
      Environment: Match.objectLike({
        PrivilegedMode: true,
        EnvironmentVariables: Match.arrayWith([
          Match.objectLike({ Name: 'IMAGE_REPOSITORY_NAME', Value: Match.anyValue() }),
          { Name: 'IMAGE_TAG', Type: 'PLAINTEXT', Value: config.ci.toolchainImageTag },
        ]),
      }),
    });
    // AND its role may push only to the toolchain repository
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as Array<{ Properties: { PolicyDocument: { Statement: Array<{ Action: string | string[]; Resource: unknown }> } } }>;
    const pushes = policies.flatMap((p) => p.Properties.PolicyDocument.Statement).filter((s) => [s.Action].flat().includes('ecr:PutImage'));
    expect(pushes).toHaveLength(1);
    expect(JSON.stringify(pushes[0].Resource)).toMatch(/ToolchainRepository/);
  });

  it('ships a buildspec that builds buildspecs/toolchain/Dockerfile and pushes <repository>:<tag>', () => {
    const spec = parse(fs.readFileSync(path.join(PROJECT_ROOT, 'buildspecs', 'toolchain-image.yml'), 'utf8')) as { phases: Record<string, { commands: string[] }> };
    const commands = Object.values(spec.phases).flatMap((p) => p.commands).join('\n');
    expect(commands).toContain('docker build -f buildspecs/toolchain/Dockerfile');
    expect(commands).toContain('docker push "$IMAGE_REPOSITORY_URI:$IMAGE_TAG"');
    // AND it refuses an existing tag instead of overwriting it
    expect(commands).toMatch(/describe-images .*imageTag="\$IMAGE_TAG"[\s\S]*exit 3/);
  });
});

describe('toolchain image supply chain', () => {
  const config = makeTestConfig();
  const names = new PlatformNames(config);
  const dockerfile = fs.readFileSync(path.join(PROJECT_ROOT, 'buildspecs', 'toolchain', 'Dockerfile'), 'utf8');
  // RUN instructions with their `\` continuations joined, comments left out
  const instructions = dockerfile.replace(/\\\n/g, ' ').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
  const digest = `public.ecr.aws/docker/library/python:3.11.7-slim-bookworm@sha256:${'0123456789abcdef'.repeat(4)}`;
  const bash = (command: string, env: Record<string, string>) =>
    spawnSync('bash', ['--noprofile', '--norc', '-c', command], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' });

  it('pipes nothing into a shell and checks every downloaded file by sha256', () => {
    // GIVEN the toolchain Dockerfile
    // THEN no instruction pipes into bash or sh, and nothing is fetched by ADD or wget
    expect(dockerfile).not.toMatch(/\|\s*(sudo\s+)?(ba|z|da)?sh\b/);
    expect(dockerfile).not.toMatch(/nodesource/);
    expect(instructions.filter((l) => /^ADD\s+https?:/i.test(l) || /\bwget\b/.test(l))).toEqual([]);
    // AND every curl download writes a file that the same RUN checks with sha256sum -c before use
    const downloads = instructions.flatMap((l) => [...l.matchAll(/curl\s+(?:-\S+\s+)*?-\w*o\s*(\S+)/g)].map((m) => ({ line: l, file: m[1] })));
    expect(downloads.map((d) => d.file).sort()).toEqual(['/tmp/node.tar.xz', '/tmp/tf.zip']);
    for (const { line, file } of downloads) {
      expect(line).toContain(`  ${file}" | sha256sum -c -`);
      expect(line.indexOf('sha256sum -c')).toBeLessThan(line.indexOf(file === '/tmp/tf.zip' ? 'unzip' : 'tar -x'));
    }
    expect(instructions.filter((l) => /\bcurl\b/.test(l) && !/^RUN apt-get/.test(l))).toHaveLength(downloads.length);
  });

  it('installs Node.js 24 from the release tarball, its sha256 a required build arg', () => {
    expect(dockerfile).toMatch(/^ARG NODE_VERSION=24\.\d+\.\d+$/m);
    expect(dockerfile).toMatch(/^ARG NODE_SHA256=$/m);
    expect(dockerfile).toContain('https://nodejs.org/dist/v${NODE_VERSION}/node-v${NODE_VERSION}-linux-x64.tar.xz');
    // the Node.js guard refuses a build without the sha256, naming the build arg
    const guard = instructions.find((l) => l.startsWith('RUN test -n "$NODE_SHA256"'))!.slice('RUN '.length).split(' && curl')[0];
    const missing = bash(guard, { NODE_VERSION: '24.11.1', NODE_SHA256: '' });
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain('NODE_SHA256');
  });

  it('takes its base image from the BASE_IMAGE build arg, which must name a digest', () => {
    // GIVEN the Dockerfile's FROM and its BASE_IMAGE guard
    const from = instructions.filter((l) => /^FROM\s/i.test(l));
    expect(from).toEqual(['FROM ${BASE_IMAGE}']);
    expect(dockerfile.indexOf('ARG BASE_IMAGE')).toBeLessThan(dockerfile.indexOf('FROM ${BASE_IMAGE}'));
    const guard = instructions.find((l) => l.startsWith('RUN ') && l.includes('"$BASE_IMAGE"'))!.slice('RUN '.length);
    // WHEN it runs with a digest THEN it passes
    expect(bash(guard, { BASE_IMAGE: digest }).status).toBe(0);
  });

  it.each([
    ['a tag only', 'public.ecr.aws/docker/library/python:3.11.7-slim-bookworm'],
    ['nothing', ''],
    ['a short digest', 'python@sha256:abc123'],
    ['a digest followed by a tag', `python@sha256:${'a'.repeat(64)}:latest`],
  ])('fails the image build when BASE_IMAGE is %s, naming BASE_IMAGE (Dockerfile and buildspec)', (_what, value) => {
    const dockerGuard = instructions.find((l) => l.startsWith('RUN ') && l.includes('"$BASE_IMAGE"'))!.slice('RUN '.length);
    const spec = parse(fs.readFileSync(path.join(PROJECT_ROOT, 'buildspecs', 'toolchain-image.yml'), 'utf8')) as { phases: Record<string, { commands: string[] }> };
    const specGuard = spec.phases.build.commands.find((c) => c.includes('"$BASE_IMAGE"') && !c.startsWith('docker'))!;
    for (const guard of [dockerGuard, specGuard]) {
      const run = bash(guard, { BASE_IMAGE: value });
      expect(run.status).not.toBe(0);
      expect(run.stderr).toContain('BASE_IMAGE must name the base image by digest');
    }
  });

  it('passes the base image and both sha256s to docker build', () => {
    const spec = parse(fs.readFileSync(path.join(PROJECT_ROOT, 'buildspecs', 'toolchain-image.yml'), 'utf8')) as { phases: Record<string, { commands: string[] }> };
    const build = spec.phases.build.commands.find((c) => c.startsWith('docker build'))!;
    for (const arg of ['BASE_IMAGE', 'NODE_VERSION', 'NODE_SHA256', 'TERRAFORM_VERSION', 'TERRAFORM_SHA256']) {
      expect(build).toContain(`--build-arg ${arg}="$${arg}"`);
    }
  });

  describe('the synthesized buildspec refuses start-build overrides', () => {
    const template = Template.fromStack(synthPlatform().platform.tooling);
    const project = Object.values(template.findResources('AWS::CodeBuild::Project', { Properties: { Name: names.toolchainImageProjectName() } }))[0] as {
      Properties: { Source: { BuildSpec: unknown }; Environment: { EnvironmentVariables: Array<{ Name: string; Value: unknown }> } };
    };
    const buildSpecText = project.Properties.Source.BuildSpec;
    const spec = parse(String(buildSpecText)) as { env: { variables: Record<string, string> }; phases: Record<string, { commands: string[] }> };
    const firstCommand = spec.phases.pre_build.commands[0];
    // the values the project and the buildspec give the build, as CodeBuild would set them
    const projectValues = Object.fromEntries(project.Properties.Environment.EnvironmentVariables.map((v) => [v.Name, String(v.Value)]));
    const right = {
      IMAGE_REPOSITORY_URI: `${config.toolingAccount}.dkr.ecr.${config.region}.amazonaws.com/${names.toolchainRepositoryName()}`,
      IMAGE_REPOSITORY_NAME: names.toolchainRepositoryName(),
      IMAGE_TAG: config.ci.toolchainImageTag,
      TERRAFORM_VERSION: spec.env.variables.TERRAFORM_VERSION,
      NODE_VERSION: spec.env.variables.NODE_VERSION,
    };

    it('is a buildspec without tokens whose first command passes with the project\'s own values', () => {
      expect(typeof buildSpecText).toBe('string');
      expect(projectValues).toMatchObject({ IMAGE_REPOSITORY_URI: right.IMAGE_REPOSITORY_URI, IMAGE_REPOSITORY_NAME: right.IMAGE_REPOSITORY_NAME, IMAGE_TAG: right.IMAGE_TAG });
      const run = bash(firstCommand, right);
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
    });

    it.each(Object.keys(right))('fails when %s is overridden at start-build, naming it', (name) => {
      // GIVEN the project's values with one of them overridden
      const overridden = { ...right, [name]: name === 'IMAGE_TAG' ? 'evil' : `${right[name as keyof typeof right]}x` };
      // WHEN the buildspec's first command runs
      const run = bash(firstCommand, overridden);
      // THEN it fails naming the variable and the value synthesis baked in
      expect(run.status).toBe(4);
      expect(run.stderr).toContain(`${name} is '${overridden[name as keyof typeof right]}' but this project was synthesized with '${right[name as keyof typeof right]}': start-build overrides of ${name} are refused`);
    });

    it('fails when IMAGE_TAG is unset', () => {
      const { IMAGE_TAG: _tag, ...rest } = right;
      const run = bash(firstCommand, rest);
      expect(run.status).toBe(4);
      expect(run.stderr).toContain('IMAGE_TAG is');
    });
  });
});
