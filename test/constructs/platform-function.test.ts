import { App } from 'aws-cdk-lib';
import { environmentBytes, LAMBDA_ENVIRONMENT_LIMIT_BYTES } from '../../lib/constructs/platform-function';
import { projectContext } from '../../lib/stacks/platform';
import { ToolingStack } from '../../lib/stacks/tooling-stack';
import { makeTestConfig } from '../helpers/config';

describe('PlatformFunction environment size', () => {
  it.each([
    [{ A: 'bc' }, 3],
    [{ KEY: 'value', OTHER: '' }, 13],
  ])('counts keys and values of %j as %d bytes', (env, bytes) => {
    expect(environmentBytes(env)).toBe(bytes);
  });

  it('fails synthesis, naming the function and the fix, when the PIPELINES map outgrows the Lambda limit', () => {
    // GIVEN 64 repos whose names are long enough to push the repo → pipeline map over 4 KB
    const config = makeTestConfig({
      repoCount: 64,
      mutate: (raw) => raw.repos.forEach((r: { name: string }, i: number) => (r.name = `a-very-long-repository-name-for-capacity-${i}`)),
    });
    const app = new App({ builtinCloudFormationValidation: false, context: { ...projectContext(), 'aws:cdk:bundling-stacks': [] } });
    // WHEN the tooling stack is synthesized
    new ToolingStack(app, 'DataOpsTooling', { env: { account: config.toolingAccount, region: config.region }, config });
    // THEN synthesis fails with the limit and what to change
    expect(() => app.synth()).toThrow(new RegExp(`northstar-promote: environment variables take about \\d+ bytes, over Lambda's ${LAMBDA_ENVIRONMENT_LIMIT_BYTES}.*shorten the platform or repo names`));
  });

  it('keeps the 64-repo capacity configuration under the limit', () => {
    const config = makeTestConfig({ repoCount: 64 });
    const app = new App({ builtinCloudFormationValidation: false, context: { ...projectContext(), 'aws:cdk:bundling-stacks': [] } });
    new ToolingStack(app, 'DataOpsTooling', { env: { account: config.toolingAccount, region: config.region }, config });
    expect(() => app.synth()).not.toThrow();
  });
});
