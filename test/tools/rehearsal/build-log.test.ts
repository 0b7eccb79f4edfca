import { secretsManagerReference, withoutSdkNodeWarning } from '../../../tools/rehearsal/rehearse';

// A failed build's message quotes the log's last lines: the AWS SDK's Node 20 warning, printed by
// every node process of the build, must not push the build's own error out of them.
describe('withoutSdkNodeWarning', () => {
  const warning = (pid: number) =>
    `(node:${pid}) Warning: NodeVersionSupportWarning: The AWS SDK for JavaScript (v3)\nversions published after the first week of January 2027\nwill require node >=22. You are running node v20.20.2.\n\nTo continue receiving updates to AWS services, bug fixes,\nand security updates please upgrade to node >=22.\n\nMore information can be found at: https://a.co/c895JFp\n(Use \`node --trace-warnings ...\` to show where the warning was created)\n`;

  it("removes each warning block and keeps every line of the build's own", () => {
    expect(withoutSdkNodeWarning(`$ dataops verify\n${warning(11)}dataops: dbt test failed: 2 of 13 tests\n${warning(12)}exit 1\n`)).toBe('$ dataops verify\ndataops: dbt test failed: 2 of 13 tests\nexit 1\n');
  });

  it('leaves a log without the warning as it is', () => {
    expect(withoutSdkNodeWarning('Warning: something else\nline\n')).toBe('Warning: something else\nline\n');
  });
});

// A CodeBuild SECRETS_MANAGER variable names its secret by name or by full ARN, then an optional JSON
// key, version stage and version id; the ARN's own colons are not separators.
describe('secretsManagerReference', () => {
  const arn = 'arn:aws:secretsmanager:us-east-1:111111111111:secret:dataops/tfc-token-dev-Mn78Op';
  it.each([
    [arn, { secretId: arn }],
    [`${arn}:token`, { secretId: arn, jsonKey: 'token' }],
    [`${arn}::AWSPREVIOUS`, { secretId: arn, versionStage: 'AWSPREVIOUS' }],
    ['dataops/ci:user:AWSCURRENT:v1', { secretId: 'dataops/ci', jsonKey: 'user', versionStage: 'AWSCURRENT', versionId: 'v1' }],
    ['dataops/ci', { secretId: 'dataops/ci' }],
  ])('reads %s', (value, expected) => {
    expect(secretsManagerReference(value)).toEqual({ jsonKey: undefined, versionStage: undefined, versionId: undefined, ...expected });
  });
});
