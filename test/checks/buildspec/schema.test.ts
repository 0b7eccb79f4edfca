import * as fs from 'fs';
import * as path from 'path';
import { BuildspecError, loadBuildspec, parseBuildspec } from '../../../lib/checks/buildspec/schema';
import { PROJECT_ROOT } from '../../../lib/checks/validate/toolchain';

const dir = path.join(PROJECT_ROOT, 'buildspecs');
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.yml'));

describe('buildspec schema', () => {
  it('covers every buildspec of the project', () => {
    expect(files).toEqual(expect.arrayContaining(['pr-validate.yml', 'validate.yml', 'package.yml', 'deploy.yml', 'verify.yml']));
  });

  it.each(files)('accepts buildspecs/%s', (f) => {
    expect(() => loadBuildspec(path.join(dir, f))).not.toThrow();
  });

  it('accepts the reference syntax: env, exported variables, every phase with on-failure and finally, reports, artifacts, cache', () => {
    const text = `
version: 0.2
run-as: root
env:
  shell: bash
  variables: { A: "1", N: 2 }
  parameter-store: { TOKEN: /dataops/token }
  secrets-manager: { KEY: "arn:aws:secretsmanager:us-east-1:123456789012:secret:s-AbCd:password" }
  exported-variables: [A]
  git-credential-helper: yes
phases:
  install:
    runtime-versions: { python: 3.11 }
    on-failure: ABORT
    commands: [echo install]
  pre_build:
    on-failure: RETRY-2
    commands: [echo pre]
  build:
    on-failure: CONTINUE
    commands: [echo build]
    finally: [echo done]
  post_build:
    commands: [echo post]
reports:
  group:
    files: ["**/*.xml"]
    base-directory: reports
    discard-paths: no
    file-format: JUNITXML
artifacts:
  files: ["**/*"]
  base-directory: out
  exclude-paths: ["*.tmp"]
  secondary-artifacts:
    docs: { files: [README.md] }
cache:
  paths: ["/root/.cache/pip/**/*"]
`;
    expect(() => parseBuildspec(text, 'full.yml')).not.toThrow();
  });

  it.each([
    ['a missing version', 'phases: {build: {commands: [x]}}', /\(root\): must have required property 'version'/],
    ['version 0.3', 'version: 0.3\nphases: {build: {commands: [x]}}', /version: must be equal to one of the allowed values/],
    ['a misspelt phase', 'version: 0.2\nphases: {prebuild: {commands: [x]}}', /phases: unknown key 'prebuild'/],
    ['an unknown on-failure', 'version: 0.2\nphases: {build: {on-failure: STOP, commands: [x]}}', /phases\.build\.on-failure: must match pattern/],
    ['an unknown report format', 'version: 0.2\nphases: {build: {commands: [x]}}\nreports: {r: {files: [a], file-format: JUNIT}}', /reports\.r\.file-format/],
    ['a phase without commands', 'version: 0.2\nphases: {build: {finally: [x]}}', /phases\.build: must have required property 'commands'/],
    ['a bad variable name', 'version: 0.2\nenv: {variables: {"1X": a}}\nphases: {build: {commands: [x]}}', /env\.variables/],
    ['broken YAML', 'version: 0.2\nphases: {build: [', /not valid YAML/],
  ])('fails %s with a BuildspecError that names the place', (_what, text, re) => {
    expect(() => parseBuildspec(text, 'bad.yml')).toThrow(BuildspecError);
    expect(() => parseBuildspec(text, 'bad.yml')).toThrow(re);
  });
});
