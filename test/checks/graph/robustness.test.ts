import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runGraphChecks } from '../../../lib/checks/graph';
import { writeBigFixture } from './big-fixture';

describe('robustness on a large repo pair', () => {
  it('runs every check on 1,000 models and 100 DAGs without a crash or a false error', async () => {
    // GIVEN a generated dbt project (cross-project refs to a project nobody gives) and 100 DAG files
    // (a DAG factory with run-time ids, sensors to partner DAGs outside the known repos)
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-big-'));
    try {
      const { dbt, airflow } = writeBigFixture(root, { models: 1000, dags: 100 });
      // WHEN every check runs
      const findings = await runGraphChecks({ repos: [dbt, airflow], now: new Date('2026-06-01T00:00:00Z') });
      // THEN nothing is an error; outside references are warnings, run-time ids are info
      expect(findings.filter((f) => f.severity === 'error')).toEqual([]);
      const codes = new Set(findings.map((f) => `${f.code}:${f.severity}`));
      expect([...codes].sort()).toEqual(['DAG_ID_UNRESOLVED:info', 'DAG_REF_MISSING_DAG:warning', 'DBT_REF_MISSING:warning']);
      expect(findings.find((f) => f.code === 'DAG_REF_MISSING_DAG')?.message).toMatch(/partner_feed_0', which is outside the known repos/);
      // AND with --strict the outside references become errors
      const strict = await runGraphChecks({ repos: [dbt, airflow], strict: true, now: new Date('2026-06-01T00:00:00Z') });
      expect(new Set(strict.filter((f) => f.severity === 'error').map((f) => f.code))).toEqual(new Set(['DAG_REF_MISSING_DAG', 'DBT_REF_MISSING']));
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
