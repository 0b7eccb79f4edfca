import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { stringify } from 'yaml';
import { CONFIG_ENV, DEFAULT_CONFIG_PATH, loadConfig, sha256Of } from '../../lib/config/loader';
import { PROJECT_ROOT } from '../../lib/constructs/platform-function';
import { TOOLCHAIN_CONTEXT_EXCLUDE } from '../../lib/constructs/toolchain-image-build';
import { TOOLCHAIN_WORKDIR, toolchainConfigPath } from '../../lib/constructs/toolchain-project';
import { defaultConfigData } from '../helpers/config';
import { synthPlatform, type SynthesizedPlatform } from '../helpers/synth';

type EnvVar = { Name: string; Value: string };

/** Every CodeBuild project of every pipeline stack, by logical id, with its environment variables by name. */
function pipelineProjects(synth: SynthesizedPlatform): Array<{ stack: string; id: string; env: Record<string, string> }> {
  return Object.values(synth.platform.pipelines).flatMap((stack) =>
    Object.entries(Template.fromStack(stack).findResources('AWS::CodeBuild::Project')).map(([id, r]) => {
      const vars = ((r as { Properties: { Environment: { EnvironmentVariables?: EnvVar[] } } }).Properties.Environment.EnvironmentVariables ?? []);
      return { stack: stack.stackName, id, env: Object.fromEntries(vars.map((v) => [v.Name, v.Value])) };
    }),
  );
}

const OUTSIDE_WARNING = /is not under .*config, so the toolchain image cannot contain it .*keep the config under config\/ so the toolchain image includes it/;

describe('toolchain projects run dataops with the configuration the pipeline was synthesized with', () => {
  it.each([
    ['config/northstar.yaml', '/opt/dataops/config/northstar.yaml', true],
    ['config/teams/acme.yaml', '/opt/dataops/config/teams/acme.yaml', true],
    ['acme.yaml', '/opt/dataops/config/acme.yaml', false],
    ['lib/acme.yaml', '/opt/dataops/config/acme.yaml', false],
    ['../elsewhere/acme.yaml', '/opt/dataops/config/acme.yaml', false],
  ])('maps %s of the project to %s in the image (in the image: %s)', (relative, expected, inImage) => {
    // GIVEN a config file relative to the project root WHEN it is mapped into the toolchain image
    const mapped = toolchainConfigPath(path.join('/src/dataops-cicd', relative), '/src/dataops-cicd');
    // THEN only files under config/ are in the image; others are named where they would have to be
    expect(mapped).toEqual({ path: expected, inImage });
  });

  it('builds the image from a context and Dockerfile that copy config/ into the working directory the builds are pointed at', () => {
    // GIVEN the Dockerfile and the image build's context filter
    const dockerfile = fs.readFileSync(path.join(PROJECT_ROOT, 'buildspecs', 'toolchain', 'Dockerfile'), 'utf8');
    // THEN the image's working directory is where DATAOPS_CONFIG points, and config/ reaches it
    expect(dockerfile.match(/^WORKDIR (\S+)$/m)?.[1]).toBe(TOOLCHAIN_WORKDIR);
    expect(dockerfile).toMatch(/^COPY config \.\/config$/m);
    expect(TOOLCHAIN_CONTEXT_EXCLUDE).toEqual(expect.arrayContaining(['!config', '!config/**']));
  });

  describe('synthesized from a non-default config outside the project', () => {
    let dir: string;
    let file: string;
    let synth: SynthesizedPlatform;
    beforeAll(() => {
      // GIVEN another platform (its own name and two repos) in a temporary folder, loaded as bin/app.ts does
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-pin-'));
      const raw = defaultConfigData();
      raw.name = 'acme';
      raw.repos = (raw.repos as unknown[]).slice(0, 2);
      file = path.join(dir, 'acme.yaml');
      fs.writeFileSync(file, stringify(raw));
      // WHEN the platform is synthesized from it
      synth = synthPlatform({ config: loadConfig(file) });
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('sets DATAOPS_CONFIG and the sha256 of the file on every CodeBuild project of every pipeline', () => {
      // THEN each project (Validate, Package, Deploy and Verify per environment, prod Bake, PR validation) is pinned to the file's bytes
      const projects = pipelineProjects(synth);
      expect(projects).toHaveLength(2 * 10);
      const sha = sha256Of(fs.readFileSync(file));
      for (const p of projects) {
        expect({ project: `${p.stack}/${p.id}`, path: p.env[CONFIG_ENV.path], sha: p.env[CONFIG_ENV.sha256] }).toEqual({
          project: `${p.stack}/${p.id}`,
          path: '/opt/dataops/config/acme.yaml',
          sha,
        });
      }
    });

    it('keeps the other build variables of a project next to the pin', () => {
      // THEN the Package project still names its repo
      Template.fromStack(synth.platform.pipelines[synth.config.repos[0].name]).hasResourceProperties('AWS::CodeBuild::Project', {
        Environment: Match.objectLike({
          EnvironmentVariables: Match.arrayWith([{ Name: 'DATAOPS_REPO', Type: 'PLAINTEXT', Value: synth.config.repos[0].name }, Match.objectLike({ Name: CONFIG_ENV.sha256 })]),
        }),
      });
    });

    it('warns on each pipeline stack that the toolchain image cannot contain the config', () => {
      // THEN the warning says to keep the config under config/
      for (const stack of Object.values(synth.platform.pipelines)) {
        Annotations.fromStack(stack).hasWarning(`/${stack.stackName}`, Match.stringLikeRegexp(OUTSIDE_WARNING.source));
      }
    });
  });

  it('does not warn for the embedded default, which the image holds at config/northstar.yaml', () => {
    // GIVEN the embedded default loaded from its file WHEN synthesized
    const synth = synthPlatform({ config: loadConfig(DEFAULT_CONFIG_PATH) });
    // THEN the projects point at the image's copy and no stack carries the warning
    const stack = synth.platform.pipelines[synth.config.repos[0].name];
    Template.fromStack(stack).hasResourceProperties('AWS::CodeBuild::Project', {
      Environment: Match.objectLike({
        EnvironmentVariables: Match.arrayWith([
          { Name: CONFIG_ENV.path, Type: 'PLAINTEXT', Value: '/opt/dataops/config/northstar.yaml' },
          { Name: CONFIG_ENV.sha256, Type: 'PLAINTEXT', Value: sha256Of(fs.readFileSync(DEFAULT_CONFIG_PATH)) },
        ]),
      }),
    });
    Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp(OUTSIDE_WARNING.source));
  });
});
