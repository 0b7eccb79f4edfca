import { describeFaultCases, FAULT_CASES } from './fault-cases';

describe('Airflow checks on one deliberate fault each', () => {
  describeFaultCases(FAULT_CASES.filter((c) => !c.code.startsWith('DBT_')));
});
