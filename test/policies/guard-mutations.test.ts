import { GUARD_MUTATIONS, GuardEvaluator, mutated, realTemplates, type CfnTemplate } from './mutations';
import type { PlatformConfig } from '../../lib/config/schema';

describe('project Guard rules on the real synthesized templates', () => {
  let config: PlatformConfig;
  let templates: Record<string, CfnTemplate>;
  let guard: GuardEvaluator;
  // GIVEN the default platform synthesized once (no cdk-nag) and the project's Guard rules
  beforeAll(() => {
    ({ config, templates } = realTemplates());
    guard = new GuardEvaluator(config);
  }, 300_000);

  it('passes every unmutated template of the platform', () => {
    // WHEN the rules run on every real template
    const violations = guard.violations(templates);
    // THEN none is broken, and the set covers every stack kind the mutations change
    expect(violations.map((v) => `${v.ruleName}: ${v.description}`)).toEqual([]);
    expect(Object.keys(templates)).toEqual(expect.arrayContaining([...new Set(GUARD_MUTATIONS.map((m) => m.stack))]));
  }, 300_000);

  it.each(GUARD_MUTATIONS.map((m) => [m.name, m.caughtBy, m] as const))('fails a template with %s (%s)', (_name, caughtBy, mutation) => {
    // GIVEN one real template with exactly this one change
    const template = mutated(templates, mutation, config);
    // WHEN the rules run on it
    const broken = guard.rulesBroken(mutation.stack, template);
    // THEN the rule written for it reports it
    expect(broken).toContain(caughtBy);
  });
});
