import * as fs from 'fs';
import * as path from 'path';
import { buildSchemaOf, fqnSelector, modelNodes, stateSelection } from '../../../lib/runtime/deployers/dbt-build';

// The dbt deployer's state comparison (what a release changes against the manifest an environment
// runs) on manifest JSON as dbt writes it: nodes with checksum, config.materialized and depends_on.

type Spec = Record<string, { sql: string; materialized?: string; deps?: string[] }>;

function manifest(spec: Spec): string {
  const nodes = Object.fromEntries(
    Object.entries(spec).map(([name, m]) => [
      `model.shop.${name}`,
      { unique_id: `model.shop.${name}`, resource_type: 'model', name, schema: 'analytics', alias: name, fqn: ['shop', name], checksum: { name: 'sha256', checksum: `sha-${m.sql}` }, config: { materialized: m.materialized ?? 'table' }, depends_on: { nodes: (m.deps ?? []).map((d) => `model.shop.${d}`) } },
    ]),
  );
  nodes['test.shop.unique_orders_id.1a'] = { unique_id: 'test.shop.unique_orders_id.1a', resource_type: 'test', name: 'unique_orders_id', schema: 'analytics', depends_on: { nodes: ['model.shop.orders'] } } as never;
  return JSON.stringify({ metadata: {}, nodes });
}

const base: Spec = {
  stg_orders: { sql: 'a', materialized: 'view' },
  stg_customers: { sql: 'b', materialized: 'view' },
  orders: { sql: 'c', deps: ['stg_orders'] },
  customers: { sql: 'd', deps: ['stg_customers', 'orders'] },
  unrelated: { sql: 'e' },
};
const nodes = (spec: Spec) => modelNodes(manifest(spec), 'test manifest');

describe('stateSelection', () => {
  it('selects every model when the environment runs no manifest yet (first deploy)', () => {
    const s = stateSelection(nodes(base), null);
    expect(s.modified).toHaveLength(5);
    expect(s.selected).toHaveLength(5);
    expect(s.removed).toEqual([]);
  });

  it('selects nothing when the release is what the environment runs', () => {
    expect(stateSelection(nodes(base), nodes(base))).toEqual({ modified: [], selected: [], removed: [] });
  });

  it('selects a changed model and everything downstream of it, and nothing else', () => {
    const s = stateSelection(nodes({ ...base, stg_orders: { sql: 'a2', materialized: 'view' } }), nodes(base));
    expect(s.modified).toEqual(['model.shop.stg_orders']);
    expect(s.selected).toEqual(['model.shop.stg_orders', 'model.shop.orders', 'model.shop.customers']);
  });

  it('counts a changed materialization and a new model as modified, and names models the release dropped', () => {
    const { unrelated: _dropped, ...rest } = base;
    const s = stateSelection(nodes({ ...rest, customers: { ...base.customers, materialized: 'incremental' }, returns: { sql: 'f', deps: ['orders'] } }), nodes(base));
    expect([...s.modified].sort()).toEqual(['model.shop.customers', 'model.shop.returns']);
    expect([...s.selected].sort()).toEqual(['model.shop.customers', 'model.shop.returns']);
    expect(s.removed).toEqual(['model.shop.unrelated']);
  });

  it('reads the models of a real dbt manifest (schema v12) and ignores other nodes', () => {
    const real = fs.readFileSync(path.join(__dirname, '..', '..', '..', '..', 'shared', 'data', 'dbt', 'state-manifests', 'manifest-v12.json'), 'utf8');
    const m = modelNodes(real, 'manifest-v12.json');
    expect([...m.keys()].sort()).toEqual(['model.test.metricflow_time_spine', 'model.test.my_model']);
    expect(m.get('model.test.my_model')?.checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses a file that is not a dbt manifest, naming it', () => {
    expect(() => modelNodes('{"models": []}', 's3://bucket/dbt/shop/manifest.json')).toThrow(/s3:\/\/bucket\/dbt\/shop\/manifest.json is not a dbt manifest.json/);
  });
});

describe('build names', () => {
  it('selects each model by its fully qualified name and builds in a schema named by the release', () => {
    expect(fqnSelector(nodes(base).get('model.shop.orders')!)).toBe('fqn:shop.orders');
    expect(buildSchemaOf({ account: 'a', database: 'D', role: 'R', warehouse: 'W', schema: 'analytics', deploySecretArn: 'x' }, '20261203.4+abc1234')).toBe('ANALYTICS__DATAOPS_20261203_4_ABC1234');
  });
});
