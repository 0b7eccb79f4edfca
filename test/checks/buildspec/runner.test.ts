import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { failurePolicy, runBuildspec } from '../../../lib/checks/buildspec/runner';
import { BuildspecError } from '../../../lib/checks/buildspec/schema';

function setup(buildspec: string): { file: string; src: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bs-runner-'));
  const src = path.join(dir, 'src');
  fs.mkdirSync(src);
  const file = path.join(dir, 'buildspec.yml');
  fs.writeFileSync(file, buildspec);
  return { file, src };
}

const statuses = (r: { phases: ReadonlyArray<{ name: string; status: string }> }) => Object.fromEntries(r.phases.map((p) => [p.name, p.status]));

describe('local buildspec runner', () => {
  it('runs every phase in one shell so variables and the working folder carry over, and exports variables', async () => {
    // GIVEN a buildspec that sets a variable and changes folder in one phase and uses them in the next
    const { file, src } = setup(`
version: 0.2
env:
  variables: { GREETING: hello }
  exported-variables: [RESULT, GREETING]
phases:
  install:
    commands: [mkdir -p sub, cd sub, 'FROM_INSTALL="$GREETING world"']
  build:
    commands: ['RESULT="$FROM_INSTALL in $(basename "$PWD") of $(basename "$CODEBUILD_SRC_DIR")"']
`);
    // WHEN it runs
    const r = await runBuildspec({ file, srcDir: src });
    // THEN the build succeeds and the exported variables carry the values from the end of the build
    expect(r.succeeded).toBe(true);
    expect(r.exportedVariables).toEqual({ RESULT: 'hello world in sub of src', GREETING: 'hello' });
    expect(statuses(r)).toEqual({ install: 'SUCCEEDED', pre_build: 'ABSENT', build: 'SUCCEEDED', post_build: 'ABSENT' });
  });

  it('lets start-build overrides win over the buildspec variables', async () => {
    const { file, src } = setup('version: 0.2\nenv: {variables: {X: buildspec}, exported-variables: [X]}\nphases: {build: {commands: [":"]}}\n');
    expect((await runBuildspec({ file, srcDir: src, env: { X: 'override' } })).exportedVariables.X).toBe('override');
  });

  it('fails a build phase but still runs post_build with CODEBUILD_BUILD_SUCCEEDING=0 and the failing phase finally', async () => {
    // GIVEN a build phase whose second command fails
    const { file, src } = setup(`
version: 0.2
env: { exported-variables: [AFTER, SEEN, FIN] }
phases:
  build:
    commands: ['false', 'AFTER=ran']
    finally: ['FIN=yes']
  post_build:
    commands: ['SEEN=$CODEBUILD_BUILD_SUCCEEDING']
`);
    // WHEN it runs
    const r = await runBuildspec({ file, srcDir: src });
    // THEN the command after the failure did not run, finally did, post_build saw the failure
    expect(r.succeeded).toBe(false);
    expect(statuses(r)).toMatchObject({ build: 'FAILED', post_build: 'SUCCEEDED' });
    expect(r.phases.find((p) => p.name === 'build')?.failedCommand).toEqual({ command: 'false', exitCode: 1, inFinally: false });
    expect(r.exportedVariables).toEqual({ AFTER: '', SEEN: '0', FIN: 'yes' });
  });

  it.each([
    ['default', '', { pre_build: 'FAILED', build: 'SKIPPED', post_build: 'SKIPPED' }],
    ['ABORT', 'on-failure: ABORT', { pre_build: 'FAILED', build: 'SKIPPED', post_build: 'SKIPPED' }],
    ['CONTINUE', 'on-failure: CONTINUE', { pre_build: 'FAILED', build: 'SUCCEEDED', post_build: 'SUCCEEDED' }],
  ])('follows the phase transitions after a failed pre_build with %s', async (_name, policy, expected) => {
    const { file, src } = setup(`version: 0.2\nphases:\n  pre_build:\n    ${policy || 'commands: ["exit_code() { return 3; }; exit_code"]'}\n${policy ? '    commands: ["exit_code() { return 3; }; exit_code"]\n' : ''}  build: {commands: [":"]}\n  post_build: {commands: [":"]}\n`);
    const r = await runBuildspec({ file, srcDir: src });
    expect(statuses(r)).toMatchObject(expected);
    expect(r.succeeded).toBe(false);
  });

  it('runs a RETRY-n phase again until it succeeds', async () => {
    // GIVEN a phase that fails on its first two attempts
    const { file, src } = setup(`
version: 0.2
phases:
  build:
    on-failure: RETRY-3
    commands: ['n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; [ $n -ge 3 ]']
`);
    // WHEN it runs THEN the third attempt succeeds
    const r = await runBuildspec({ file, srcDir: src });
    expect(r.succeeded).toBe(true);
    expect(r.phases.find((p) => p.name === 'build')?.attempts).toBe(3);
  });

  it('fails the phase when a finally command fails', async () => {
    const { file, src } = setup('version: 0.2\nphases: {build: {commands: [":"], finally: ["false"]}}\n');
    const r = await runBuildspec({ file, srcDir: src });
    expect(r.phases.find((p) => p.name === 'build')).toMatchObject({ status: 'FAILED', failedCommand: { command: 'false', inFinally: true } });
  });

  it('fails the phase on a command that ends the shell itself (exit, a failed ${X:?}), naming it with its status', async () => {
    // GIVEN a pre_build whose second command exits 3, and a build phase after it
    const { file, src } = setup('version: 0.2\nphases: {pre_build: {commands: ["echo checking", "test -n \\"$NOPE\\" || exit 3", "echo after"]}, build: {commands: ["echo built"]}}\n');
    // WHEN it runs
    const r = await runBuildspec({ file, srcDir: src });
    // THEN pre_build failed on that command with exit status 3, and nothing after it ran
    expect(r.succeeded).toBe(false);
    expect(r.phases.find((p) => p.name === 'pre_build')).toMatchObject({ status: 'FAILED', failedCommand: { command: 'test -n "$NOPE" || exit 3', exitCode: 3, inFinally: false } });
    expect(statuses(r)).toMatchObject({ build: 'SKIPPED' });
    expect(r.log).toContain('checking');
    expect(r.log).not.toContain('after');
    expect(r.log).not.toContain('built');
  });

  it('lists report files and copies artifacts relative to their base directory', async () => {
    // GIVEN a build that writes a JUnit report and two artifacts, one excluded
    const { file, src } = setup(`
version: 0.2
phases:
  build:
    commands: ['mkdir -p reports out/sub', 'echo "<testsuites/>" > reports/a.xml', 'echo x > out/sub/keep.txt', 'echo y > out/skip.tmp']
reports:
  tests: { base-directory: reports, files: ["*.xml"], file-format: JUNITXML }
artifacts:
  base-directory: out
  files: ["**/*"]
  exclude-paths: ["*.tmp"]
`);
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'artifacts-'));
    // WHEN it runs with an artifacts folder
    const r = await runBuildspec({ file, srcDir: src, artifactsDir: outDir });
    // THEN the report and the artifact are found, and the artifact is copied with its path
    expect(r.reports).toEqual([{ group: 'tests', fileFormat: 'JUNITXML', files: ['reports/a.xml'] }]);
    expect(r.artifacts).toEqual(['sub/keep.txt']);
    expect(fs.readFileSync(path.join(outDir, 'sub', 'keep.txt'), 'utf8')).toBe('x\n');
  });

  it('fails before running when a Parameter Store variable has no local value', async () => {
    const { file, src } = setup('version: 0.2\nenv: {parameter-store: {TOKEN: /x/token}}\nphases: {build: {commands: [":"]}}\n');
    await expect(runBuildspec({ file, srcDir: src })).rejects.toThrow(BuildspecError);
    await expect(runBuildspec({ file, srcDir: src })).rejects.toThrow(/TOKEN \(\/x\/token\).*--env NAME=value/);
  });

  it.each([
    [undefined, { mode: 'DEFAULT', retries: 0 }],
    ['ABORT', { mode: 'ABORT', retries: 0 }],
    ['RETRY', { mode: 'RETRY', retries: 3 }],
    ['RETRY-5', { mode: 'RETRY', retries: 5 }],
    ['RETRY-2-timed out', { mode: 'RETRY', retries: 2, regex: 'timed out' }],
  ])('reads on-failure %s', (value, expected) => {
    expect(failurePolicy(value)).toEqual(expected);
  });

  it('passes commands to the shell exactly as written, quotes and all', async () => {
    // GIVEN a command with single quotes, double quotes and a dollar sign
    const command = String.raw`printf '%s' "it's \$1 \"quoted\"" > out.txt`;
    const { file, src } = setup(['version: 0.2', 'phases:', '  build:', '    commands:', '      - |', `        ${command}`, ''].join('\n'));
    // WHEN it runs THEN the file holds the text the shell was given
    await runBuildspec({ file, srcDir: src });
    expect(fs.readFileSync(path.join(src, 'out.txt'), 'utf8')).toBe('it\'s $1 "quoted"');
  });
});
