/**
 * Guard rules against mutations of the real synthesized templates (issue 11, item 9): of the
 * mutations in test/policies/mutations.ts (the table the tests use), how many the rule written for
 * each reports. The two figures must be equal.
 */
import type { BenchResult } from './run';
import { GUARD_MUTATIONS, GuardEvaluator, mutated, realTemplates } from '../test/policies/mutations';

export async function run(): Promise<BenchResult[]> {
  const { config, templates } = realTemplates();
  const guard = new GuardEvaluator(config);
  const clean = guard.violations(templates);
  if (clean.length > 0) throw new Error(`the unmutated templates break Guard rules: ${clean.map((v) => v.ruleName).join(', ')}; fix the templates or the rules before counting mutations`);
  let caught = 0;
  for (const mutation of GUARD_MUTATIONS) {
    if (guard.rulesBroken(mutation.stack, mutated(templates, mutation, config)).includes(mutation.caughtBy)) caught += 1;
    else process.stderr.write(`guard mutation not caught by ${mutation.caughtBy}: ${mutation.name}\n`);
  }
  return [
    { name: 'guard_mutations_caught', value: caught, unit: 'mutations' },
    { name: 'guard_mutations_total', value: GUARD_MUTATIONS.length, unit: 'mutations' },
  ];
}
