import * as fs from 'fs';
import * as path from 'path';
import { makeTestConfig } from '../helpers/config';
import { synthPlatform, type SynthesizedPlatform, templatesOf } from '../helpers/synth';

/** CloudFormation quotas: resources per stack and template body size (S3-uploaded templates). */
const MAX_RESOURCES = 500;
const MAX_TEMPLATE_BYTES = 1_000_000;
/** IAM quota: the inline policies of one role together, in characters without whitespace. */
const MAX_ROLE_INLINE_POLICY_CHARS = 10_240;

/** IAM quota: a role trust policy, in characters without whitespace (the default; 4,096 on request). */
const MAX_TRUST_POLICY_CHARS = 2048;

type CfnTemplate = { Resources?: Record<string, { Type: string; Properties: Record<string, any> }> };
/** Every template of a synthesized platform, by file name without `.template.json`. */
function rawTemplates(synth: SynthesizedPlatform): Record<string, CfnTemplate> {
  return Object.fromEntries(
    fs
      .readdirSync(synth.outdir)
      .filter((f) => f.endsWith('.template.json'))
      .map((f) => [f.replace('.template.json', ''), JSON.parse(fs.readFileSync(path.join(synth.outdir, f), 'utf8')) as CfnTemplate]),
  );
}

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
  let raw: Record<string, CfnTemplate>;
  // GIVEN a configuration with this many repos, synthesized once
  beforeAll(() => {
    const config = repoCount === 8 ? makeTestConfig() : makeTestConfig({ repoCount });
    const synth = synthPlatform(repoCount === 8 ? {} : { config });
    templates = templatesOf(synth);
    policySizes = inlinePolicySizes(synth);
    raw = rawTemplates(synth);
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

  it(`keeps the trust policy of every role under IAM's ${MAX_TRUST_POLICY_CHARS} characters (the target roles list exact deployer ARNs)`, () => {
    const sizes = Object.entries(raw).flatMap(([stack, t]) =>
      Object.entries(t.Resources ?? {})
        .filter(([, r]) => r.Type === 'AWS::IAM::Role')
        .map(([id, r]) => [`${stack}/${id}`, JSON.stringify(r.Properties.AssumeRolePolicyDocument).length] as const),
    );
    expect(sizes.filter(([id]) => id.startsWith('DataOpsTarget-')).length).toBe(3 * Math.ceil(repoCount / 16));
    expect(sizes.filter(([, chars]) => chars >= MAX_TRUST_POLICY_CHARS)).toEqual([]);
  });

  it("lets every deployer role assume only a deploy role whose trust names that deployer's exact ARN", () => {
    // GIVEN the trust of every target role, and the sts:AssumeRole of every named role of the pipeline stacks
    const trusted = new Map<string, string[]>();
    for (const [stack, t] of Object.entries(raw).filter(([id]) => id.startsWith('DataOpsTarget-'))) {
      const account = stack.replace('DataOpsTarget-', '');
      for (const r of Object.values(t.Resources ?? {}).filter((x) => x.Type === 'AWS::IAM::Role')) {
        trusted.set(`${account}:${r.Properties.RoleName}`, [r.Properties.AssumeRolePolicyDocument.Statement[0].Condition.ArnEquals['aws:PrincipalArn']].flat());
      }
    }
    let checked = 0;
    for (const t of Object.values(raw).filter((x) => Object.values(x.Resources ?? {}).some((r) => r.Type === 'AWS::CodePipeline::Pipeline'))) {
      const resources = t.Resources ?? {};
      for (const [id, policy] of Object.entries(resources).filter(([, r]) => r.Type === 'AWS::IAM::Policy')) {
        const roleName = resources[(policy.Properties.Roles as Array<{ Ref: string }>)[0].Ref]?.Properties.RoleName as string | undefined;
        if (!roleName?.includes('-deployer-')) continue;
        const env = roleName.split('-deployer-')[1].split('-')[0];
        for (const st of (policy.Properties.PolicyDocument.Statement as Array<{ Action: unknown; Resource: unknown }>).filter((x) => [x.Action].flat().includes('sts:AssumeRole'))) {
          for (const arn of [st.Resource].flat() as string[]) {
            // THEN the assumed role exists in a target stack of that env and trusts this deployer by its ARN
            const role = arn.split(':role/')[1];
            expect({ id, role, trusts: trusted.get(`${env}:${role}`)?.some((a) => a.endsWith(`:role/${roleName}`)) ?? false }).toEqual({ id, role, trusts: true });
            checked++;
          }
        }
      }
    }
    expect(checked).toBe(3 * repoCount);
  });

  it('keeps every template under 1 MB', () => {
    const over = Object.entries(templates).filter(([, t]) => t.bytes >= MAX_TEMPLATE_BYTES);
    expect(over).toEqual([]);
  });
});
