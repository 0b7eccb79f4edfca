import * as fs from 'fs';
import * as path from 'path';
import { makeTestConfig } from '../helpers/config';
import { synthPlatform, type SynthesizedPlatform, templatesOf } from '../helpers/synth';

/** CloudFormation quotas: resources per stack and template body size (S3-uploaded templates). */
const MAX_RESOURCES = 500;
const MAX_TEMPLATE_BYTES = 1_000_000;
/** IAM quota: the inline policies of one role together, in characters without whitespace. */
const MAX_ROLE_INLINE_POLICY_CHARS = 10_240;

/** Characters of the inline policies of each role, per `stack/role` (imported values count as their token). */
function inlinePolicySizes(synth: SynthesizedPlatform): Record<string, number> {
  const sizes: Record<string, number> = {};
  for (const file of fs.readdirSync(synth.outdir).filter((f) => f.endsWith('.template.json'))) {
    const template = JSON.parse(fs.readFileSync(path.join(synth.outdir, file), 'utf8')) as { Resources?: Record<string, { Type: string; Properties: Record<string, any> }> };
    for (const r of Object.values(template.Resources ?? {})) {
      if (r.Type !== 'AWS::IAM::Policy') continue;
      for (const role of (r.Properties.Roles ?? []) as unknown[]) {
        const key = `${file.replace('.template.json', '')}/${JSON.stringify(role)}`;
        sizes[key] = (sizes[key] ?? 0) + JSON.stringify(r.Properties.PolicyDocument).length;
      }
    }
  }
  return sizes;
}

describe.each([
  ['the default configuration (8 repos)', 8],
  ['a 64-repo configuration', 64],
])('CloudFormation limits with %s', (_label, repoCount) => {
  let templates: Record<string, { resources: number; bytes: number }>;
  let policySizes: Record<string, number>;
  // GIVEN a configuration with this many repos, synthesized once
  beforeAll(() => {
    const config = repoCount === 8 ? makeTestConfig() : makeTestConfig({ repoCount });
    const synth = synthPlatform(repoCount === 8 ? {} : { config });
    templates = templatesOf(synth);
    policySizes = inlinePolicySizes(synth);
  }, 600_000);

  it('writes the tooling stack, one pipeline stack per repo and three target stacks', () => {
    expect(Object.keys(templates)).toHaveLength(1 + repoCount + 3);
    expect(Object.keys(templates).filter((id) => id.startsWith('DataOpsPipeline-'))).toHaveLength(repoCount);
  });

  it(`keeps every stack under ${MAX_RESOURCES} resources`, () => {
    const over = Object.entries(templates).filter(([, t]) => t.resources >= MAX_RESOURCES);
    expect(over).toEqual([]);
  });

  it(`keeps the inline policies of every role under IAM's ${MAX_ROLE_INLINE_POLICY_CHARS} characters`, () => {
    // (the Package role denies writes to every other repo's graph fragment, so it grows with the repos)
    expect(Object.keys(policySizes).length).toBeGreaterThan(repoCount);
    const over = Object.entries(policySizes).filter(([, chars]) => chars >= MAX_ROLE_INLINE_POLICY_CHARS);
    expect(over).toEqual([]);
  });

  it('keeps every template under 1 MB', () => {
    const over = Object.entries(templates).filter(([, t]) => t.bytes >= MAX_TEMPLATE_BYTES);
    expect(over).toEqual([]);
  });
});
