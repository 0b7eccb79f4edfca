import { dbtParseFindings, dbtRunFindings, type Manifest } from '../../../lib/checks/validate/checks/dbt-results';

const files: Record<string, string> = {
  'models/marts/_marts.yml': ['version: 2', 'models:', '  - name: fct_a', '    columns:', '      - name: id', '      - name: amount', '  - name: dim_b', '    columns:', '      - name: amount'].join('\n'),
  'models/marts/fct_a.sql': ['select', '  id', "from {{ ref('stg_x') }}"].join('\n'),
};
const read = (f: string) => files[f];

const manifest: Manifest = {
  nodes: {
    'model.p.fct_a': { unique_id: 'model.p.fct_a', resource_type: 'model', name: 'fct_a', original_file_path: 'models/marts/fct_a.sql', patch_path: 'p://models/marts/_marts.yml' },
    'model.p.dim_b': { unique_id: 'model.p.dim_b', resource_type: 'model', name: 'dim_b', original_file_path: 'models/marts/dim_b.sql', patch_path: 'p://models/marts/_marts.yml' },
    'test.p.not_negative_dim_b_amount.1': {
      unique_id: 'test.p.not_negative_dim_b_amount.1',
      resource_type: 'test',
      name: 'not_negative_dim_b_amount',
      original_file_path: 'models/marts/_marts.yml',
      column_name: 'amount',
      attached_node: 'model.p.dim_b',
    },
    'test.p.assert_future': { unique_id: 'test.p.assert_future', resource_type: 'test', name: 'assert_future', original_file_path: 'tests/assert_future.sql' },
  },
};

const contractMessage = [
  'Compilation Error in model dim_b (models/marts/dim_b.sql)',
  '  This model has an enforced contract that failed.',
  '  | column_name | definition_type | contract_type | mismatch_reason    |',
  '  | ----------- | --------------- | ------------- | ------------------ |',
  '  | amount      | DOUBLE          | DECIMAL(38,2) | data type mismatch |',
].join('\n');

describe('dbt results as findings', () => {
  it.each([
    [
      'a failing generic test at its column entry under the right model',
      { unique_id: 'test.p.not_negative_dim_b_amount.1', status: 'fail', failures: 2 },
      { code: 'DBT_TEST_FAILED', file: 'models/marts/_marts.yml', line: 9, message: 'test not_negative_dim_b_amount on dim_b.amount returned 2 failing row(s)' },
    ],
    ['a failing singular test at its file', { unique_id: 'test.p.assert_future', status: 'fail', failures: 1 }, { code: 'DBT_TEST_FAILED', file: 'tests/assert_future.sql', line: 1 }],
    ['a warning test as a warning', { unique_id: 'test.p.assert_future', status: 'warn', failures: 1 }, { code: 'DBT_TEST_WARNING', severity: 'warning' }],
    [
      'a contract failure at the model entry of its YAML, with the mismatch',
      { unique_id: 'model.p.dim_b', status: 'error', message: contractMessage },
      { code: 'DBT_CONTRACT_VIOLATION', file: 'models/marts/_marts.yml', line: 7, message: expect.stringContaining('amount: DOUBLE vs contract DECIMAL(38,2) (data type mismatch)') },
    ],
    ['another model error at the model file', { unique_id: 'model.p.fct_a', status: 'error', message: 'Catalog Error: Table x does not exist' }, { code: 'DBT_MODEL_ERROR', file: 'models/marts/fct_a.sql' }],
  ])('reports %s', (_what, result, expected) => {
    const findings = dbtRunFindings({ results: [result] }, manifest, read);
    expect(findings).toEqual([expect.objectContaining({ severity: 'error', ...expected })]);
  });

  it('reports nothing for passed, successful and skipped nodes', () => {
    const results = [
      { unique_id: 'model.p.fct_a', status: 'success' },
      { unique_id: 'model.p.dim_b', status: 'skipped' },
      { unique_id: 'test.p.assert_future', status: 'pass', failures: 0 },
    ];
    expect(dbtRunFindings({ results }, manifest, read)).toEqual([]);
  });

  it('prefixes files with the project folder when the dbt project is not at the repo root', () => {
    const [f] = dbtRunFindings({ results: [{ unique_id: 'test.p.assert_future', status: 'fail', failures: 1 }] }, manifest, read, 'transform');
    expect(f.file).toBe('transform/tests/assert_future.sql');
  });

  it('reports a ref to a missing node as DBT_REF_MISSING at the line of the ref', () => {
    // GIVEN dbt parse output for a broken ref
    const log = "12:00:00  Encountered an error:\nCompilation Error\n  Model 'model.p.fct_a' (models/marts/fct_a.sql) depends on a node named 'stg_x' which was not found\n";
    // WHEN it is read THEN the finding points at the ref
    expect(dbtParseFindings(log, read)).toEqual([
      { code: 'DBT_REF_MISSING', severity: 'error', asset: 'dbt:model.p.fct_a', file: 'models/marts/fct_a.sql', line: 3, message: "fct_a refs 'stg_x', which is not a model, seed or snapshot of the project or its packages" },
    ]);
  });

  it('reports any other parse failure as DBT_PARSE_ERROR with the file it names', () => {
    const log = '12:00:00  Encountered an error:\nParsing Error\n  Error reading p: marts/_marts.yml - Runtime Error (models/marts/_marts.yml)\n';
    expect(dbtParseFindings(log, read)).toEqual([expect.objectContaining({ code: 'DBT_PARSE_ERROR', file: 'models/marts/_marts.yml' })]);
  });
});
