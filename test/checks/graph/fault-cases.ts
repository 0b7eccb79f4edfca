/** One deliberate fault per finding code (test/fixtures/graph/faults) and what the checks must report. */
import type { Finding } from '../../../lib/checks/findings';
import { hasBlocking } from '../../../lib/checks/findings';
import { runGraphChecks } from '../../../lib/checks/graph';
import { makeWorkspace, type Workspace } from './workspace';

export const NOW = new Date('2026-06-01T00:00:00Z');

export interface FaultCase {
  readonly fault: string;
  readonly code: string;
  readonly severity: Finding['severity'];
  readonly repo: string;
  readonly asset: string;
  readonly file: string;
  readonly line: number;
  readonly message: RegExp;
  readonly downstream: readonly string[];
  readonly strict?: boolean;
}

export const FAULT_CASES: FaultCase[] = [
  {
    fault: 'DBT_REF_MISSING',
    code: 'DBT_REF_MISSING',
    severity: 'error',
    repo: 'analytics',
    asset: 'dbt:model.analytics.claims_summary',
    file: 'models/claims_summary.sql',
    line: 4,
    message: /ref\('warehouse', 'fct_claim'\).*does not exist in repo warehouse/,
    downstream: [],
  },
  {
    fault: 'DBT_REF_MISSING_REMOVED',
    code: 'DBT_REF_MISSING',
    severity: 'error',
    repo: 'analytics',
    asset: 'dbt:model.analytics.claims_summary',
    file: 'models/claims_summary.sql',
    line: 4,
    message: /existed at the base ref, so this change removed or renamed it/,
    downstream: [],
  },
  {
    fault: 'DBT_COLUMN_REMOVED',
    code: 'DBT_COLUMN_REMOVED',
    severity: 'error',
    repo: 'warehouse',
    asset: 'dbt:model.warehouse.fct_claims',
    file: 'models/marts/schema.yml',
    line: 13,
    message: /column amount was removed from model fct_claims/,
    downstream: ['analytics/dbt:model.analytics.claims_summary', 'spark-jobs/spark:claims_enrichment', 'warehouse/dbt:exposure.warehouse.claims_dashboard', 'dataset:s3://lake/curated/claims_enriched', 'orchestration/airflow:publish_reports'],
  },
  {
    fault: 'DBT_COLUMN_TYPE_CHANGED',
    code: 'DBT_COLUMN_TYPE_CHANGED',
    severity: 'error',
    repo: 'warehouse',
    asset: 'dbt:model.warehouse.fct_claims',
    file: 'models/marts/schema.yml',
    line: 22,
    message: /column amount of model fct_claims changed type from numeric\(12,2\) to varchar/,
    downstream: ['analytics/dbt:model.analytics.claims_summary', 'spark-jobs/spark:claims_enrichment', 'warehouse/dbt:exposure.warehouse.claims_dashboard'],
  },
  {
    fault: 'DBT_CONTRACT_BROKEN',
    code: 'DBT_CONTRACT_BROKEN',
    severity: 'error',
    repo: 'warehouse',
    asset: 'dbt:model.warehouse.dim_member',
    file: 'models/marts/schema.yml',
    line: 3,
    message: /column\(s\) region have no data_type, which an enforced contract requires/,
    downstream: ['warehouse/dbt:model.warehouse.fct_claims', 'analytics/dbt:model.analytics.claims_summary', 'spark-jobs/spark:claims_enrichment'],
  },
  {
    fault: 'DAG_REF_MISSING_DAG',
    code: 'DAG_REF_MISSING_DAG',
    severity: 'warning',
    repo: 'orchestration',
    asset: 'airflow:build_warehouse',
    file: 'dags/build_warehouse.py',
    line: 15,
    message: /DAG 'ingest_claim', which is outside the known repos/,
    downstream: ['orchestration/airflow:refresh_dashboards'],
  },
  {
    fault: 'DAG_REF_MISSING_DAG',
    code: 'DAG_REF_MISSING_DAG',
    severity: 'error',
    strict: true,
    repo: 'orchestration',
    asset: 'airflow:build_warehouse',
    file: 'dags/build_warehouse.py',
    line: 15,
    message: /DAG 'ingest_claim', which is outside the known repos/,
    downstream: ['orchestration/airflow:refresh_dashboards'],
  },
  {
    fault: 'DAG_REF_MISSING_DAG_REMOVED',
    code: 'DAG_REF_MISSING_DAG',
    severity: 'error',
    repo: 'orchestration',
    asset: 'airflow:build_warehouse',
    file: 'dags/build_warehouse.py',
    line: 15,
    message: /DAG 'ingest_claims', which existed at the base ref but is in no known repo now/,
    downstream: ['orchestration/airflow:refresh_dashboards'],
  },
  {
    fault: 'DAG_REF_MISSING_TASK',
    code: 'DAG_REF_MISSING_TASK',
    severity: 'error',
    repo: 'orchestration',
    asset: 'airflow:build_warehouse',
    file: 'dags/build_warehouse.py',
    line: 15,
    message: /task 'validate_all' of DAG 'ingest_claims' .*which has no such task/,
    downstream: ['orchestration/airflow:refresh_dashboards'],
  },
  {
    fault: 'DAG_DUPLICATE_ID',
    code: 'DAG_DUPLICATE_ID',
    severity: 'error',
    repo: 'orchestration',
    asset: 'airflow:ingest_claims',
    file: 'dags/ingest_claims_backfill.py',
    line: 10,
    message: /DAG id 'ingest_claims' is also declared in orchestration\/dags\/ingest_claims.py/,
    downstream: ['orchestration/airflow:build_warehouse', 'orchestration/airflow:publish_reports'],
  },
  {
    fault: 'DATASET_NO_PRODUCER',
    code: 'DATASET_NO_PRODUCER',
    severity: 'warning',
    repo: 'orchestration',
    asset: 'dataset:s3://lake/curated/members',
    file: 'dags/publish_reports.py',
    line: 12,
    message: /scheduled on s3:\/\/lake\/curated\/members, which no task outlet or Spark job output/,
    downstream: ['orchestration/airflow:publish_reports'],
  },
  {
    fault: 'DAG_CATCHUP_HAZARD',
    code: 'DAG_CATCHUP_HAZARD',
    severity: 'error',
    repo: 'orchestration',
    asset: 'airflow:member_snapshot',
    file: 'dags/member_snapshot.py',
    line: 7,
    message: /catchup is set only in default_args .*which Airflow ignores for catchup.*\(new DAG\)/,
    downstream: [],
  },
  {
    fault: 'DAG_CATCHUP_HAZARD_START_DATE',
    code: 'DAG_CATCHUP_HAZARD',
    severity: 'warning',
    repo: 'orchestration',
    asset: 'airflow:ingest_claims',
    file: 'dags/ingest_claims.py',
    line: 10,
    message: /start_date changed from datetime\(2024, 1, 1\) to datetime\(2023, 6, 1\)/,
    downstream: ['orchestration/airflow:build_warehouse'],
  },
];


/** Declares the tests of some fault cases; one workspace per fault, shared by its strict and plain runs. */
export function describeFaultCases(cases: readonly FaultCase[]): void {
  const faults = [...new Set(cases.map((c) => c.fault))];
  describe.each(faults)('%s', (fault) => {
    let ws: Workspace;
    const results = new Map<boolean, Finding[]>();
    beforeAll(async () => {
      // GIVEN the fixture repos with one fault committed on top of the base
      ws = makeWorkspace(fault);
      // WHEN the checks run against the base (plainly, and with --strict when a case asks)
      for (const strict of new Set(cases.filter((c) => c.fault === fault).map((c) => Boolean(c.strict)))) {
        results.set(strict, await runGraphChecks({ repos: ws.all, base: 'HEAD~1', now: NOW, strict }));
      }
    });
    afterAll(() => ws.cleanup());

    describe.each(cases.filter((c) => c.fault === fault))('$code (strict: $strict)', (c) => {
      const findings = (): Finding[] => results.get(Boolean(c.strict)) ?? [];

      it(`reports ${c.code} naming the broken thing, its file and line`, () => {
        // THEN exactly the expected finding is there, with its location
        const hits = findings().filter((f) => f.code === c.code);
        expect(hits).toHaveLength(1);
        expect(hits[0]).toMatchObject({ severity: c.severity, repo: c.repo, asset: c.asset, file: c.file, line: c.line });
        expect(hits[0].message).toMatch(c.message);
      });

      it('lists every affected downstream asset, in any repo', () => {
        const [hit] = findings().filter((f) => f.code === c.code);
        expect(hit.downstream).toEqual(expect.arrayContaining([...c.downstream]));
      });

      it(`${c.severity === 'error' ? 'fails' : 'does not fail'} the check on it`, () => {
        // THEN only errors block (warnings are reported)
        expect(hasBlocking(findings())).toBe(c.severity === 'error');
      });
    });
  });
}
