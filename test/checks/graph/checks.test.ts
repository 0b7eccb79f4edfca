import { runGraphChecks } from '../../../lib/checks/graph';
import { describeFaultCases, FAULT_CASES, NOW } from './fault-cases';
import { makeWorkspace } from './workspace';

describe('graph checks on the fixture repos', () => {
  it('finds no errors or warnings on the consistent fixture repos, with or without a base', async () => {
    // GIVEN the five consistent fixture repos
    const ws = makeWorkspace();
    try {
      // WHEN every check runs, first without and then with a base ref
      const plain = await runGraphChecks({ repos: ws.all, now: NOW });
      const withBase = await runGraphChecks({ repos: ws.all, now: NOW, base: 'HEAD~1', strict: true });
      // THEN nothing is reported
      expect(plain.filter((f) => f.severity !== 'info')).toEqual([]);
      expect(withBase.filter((f) => f.severity !== 'info')).toEqual([]);
    } finally {
      ws.cleanup();
    }
  });
});

describe('dbt checks on one deliberate fault each', () => {
  describeFaultCases(FAULT_CASES.filter((c) => c.code.startsWith('DBT_')));
});
