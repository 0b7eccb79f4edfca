import { makeTestConfig } from '../helpers/config';
import { synthPlatform, templatesOf } from '../helpers/synth';

/** CloudFormation quotas: resources per stack and template body size (S3-uploaded templates). */
const MAX_RESOURCES = 500;
const MAX_TEMPLATE_BYTES = 1_000_000;

describe.each([
  ['the default configuration (8 repos)', 8],
  ['a 64-repo configuration', 64],
])('CloudFormation limits with %s', (_label, repoCount) => {
  let templates: Record<string, { resources: number; bytes: number }>;
  // GIVEN a configuration with this many repos, synthesized once
  beforeAll(() => {
    const config = repoCount === 8 ? makeTestConfig() : makeTestConfig({ repoCount });
    templates = templatesOf(synthPlatform(repoCount === 8 ? {} : { config }));
  }, 600_000);

  it('writes the tooling stack, one pipeline stack per repo and three target stacks', () => {
    expect(Object.keys(templates)).toHaveLength(1 + repoCount + 3);
    expect(Object.keys(templates).filter((id) => id.startsWith('DataOpsPipeline-'))).toHaveLength(repoCount);
  });

  it(`keeps every stack under ${MAX_RESOURCES} resources`, () => {
    const over = Object.entries(templates).filter(([, t]) => t.resources >= MAX_RESOURCES);
    expect(over).toEqual([]);
  });

  it('keeps every template under 1 MB', () => {
    const over = Object.entries(templates).filter(([, t]) => t.bytes >= MAX_TEMPLATE_BYTES);
    expect(over).toEqual([]);
  });
});
