import * as path from 'path';
import { parseSparkDescriptor, sparkInventory } from '../../../lib/checks/inventory/spark';
import { terraformFileItems, terraformInventory } from '../../../lib/checks/inventory/terraform';
import { FIXTURES } from '../graph/workspace';

describe('Spark job descriptor (job.yaml)', () => {
  it('reads the inputs and outputs a job declares, with their lines', () => {
    // GIVEN the fixture Spark repo WHEN its descriptors are read
    const { jobs, problems } = sparkInventory(path.join(FIXTURES, 'repos', 'spark-jobs'));
    // THEN the job's inputs and outputs are typed and located
    expect(problems).toEqual([]);
    expect(jobs).toEqual([
      {
        name: 'claims_enrichment',
        file: 'jobs/claims_enrichment/job.yaml',
        entrypoint: 'main.py',
        inputs: [
          { table: null, path: null, dbt: 'warehouse.fct_claims', columns: ['claim_id', 'amount'], line: 6 },
          { table: null, path: 's3://lake/raw/claims', dbt: null, columns: [], line: 8 },
        ],
        outputs: [{ table: null, path: 's3://lake/curated/claims_enriched', dbt: null, columns: [], line: 10 }],
      },
    ]);
  });

  it.each([
    ['an input with both table and path', 'kind: spark-job\nname: j\ninputs:\n  - table: a.b\n    path: s3://x\n', /inputs.0: give exactly one of table, path or dbt/],
    ['a misspelt key', 'kind: spark-job\nname: j\ninputs:\n  - tabel: a.b\n', /unrecognized key.*"tabel"|tabel/i],
    ['no name', 'kind: spark-job\ninputs: []\n', /name: /],
    ['broken YAML', 'kind: spark-job\nname: [\n', /not valid YAML/],
  ])('fails on a descriptor with %s, naming the file and docs/spark-descriptor.md', (_what, text, message) => {
    const r = parseSparkDescriptor(text, 'jobs/j/job.yaml');
    expect(r).toMatchObject({ kind: 'spark', file: 'jobs/j/job.yaml', severity: 'error' });
    expect((r as { message: string }).message).toMatch(message);
  });

  it('reads URI shorthands: snowflake://db/schema/table is a table, other URIs are paths', () => {
    const r = parseSparkDescriptor('name: j\ninputs:\n  - snowflake://analytics/staging/stg_visits\noutputs:\n  - s3://exports/rollup/\n', 'jobs/j/job.yaml');
    expect(r).toMatchObject({
      name: 'j',
      inputs: [{ table: 'analytics.staging.stg_visits', path: null, dbt: null, columns: [], line: null }],
      outputs: [{ table: null, path: 's3://exports/rollup/', dbt: null, columns: [], line: null }],
    });
  });

  it('skips a job.yaml of another tool (no kind: spark-job) as info, not an error', () => {
    expect(parseSparkDescriptor('steps: []\n', 'ci/job.yaml')).toMatchObject({ severity: 'info' });
    expect(parseSparkDescriptor('kind: pipeline\ninputs: []\n', 'ci/job.yaml')).toMatchObject({ severity: 'info' });
  });
});

describe('Terraform inventory (HCL)', () => {
  it('lists resources, data sources and modules with their lines and literal names', async () => {
    const { items, problems } = await terraformInventory(path.join(FIXTURES, 'repos', 'infra'));
    expect(problems).toEqual([]);
    expect(items.map((i) => [i.address, i.kind, i.line, i.names, i.source])).toEqual([
      ['aws_s3_bucket.lake', 'resource', 1, ['lake'], null],
      ['aws_s3_bucket_versioning.lake', 'resource', 5, [], null],
      ['module.warehouse_role', 'module', 12, [], './modules/role'],
    ]);
  });

  it('reads data sources and leaves interpolated names out', async () => {
    const items = await terraformFileItems('data "aws_iam_policy_document" "p" {}\nresource "aws_s3_bucket" "b" {\n  bucket = "raw-${var.env}"\n}\n', 'x.tf');
    expect(items.map((i) => [i.address, i.line, i.names])).toEqual([
      ['aws_s3_bucket.b', 2, []],
      ['data.aws_iam_policy_document.p', 1, []],
    ]);
  });

  it('fails on HCL that does not parse', async () => {
    await expect(terraformFileItems('resource "a" {\n', 'bad.tf')).rejects.toThrow();
  });
});
