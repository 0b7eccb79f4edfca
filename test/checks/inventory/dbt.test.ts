import * as fs from 'fs';
import * as path from 'path';
import { loadManifestFile, parseManifest } from '../../../lib/checks/inventory/dbt';
import { InventoryError } from '../../../lib/checks/inventory/types';
import { buildFixtureManifest } from '../graph/dbt-fixture';
import { FIXTURES } from '../graph/workspace';

/** Real manifests written by dbt 1.6 (v10), 1.7 (v11) and 1.11 (v12); CI has ../shared beside the clone. */
const SHARED = path.resolve(__dirname, '..', '..', '..', '..', 'shared', 'data', 'dbt', 'state-manifests');
const haveShared = fs.existsSync(SHARED);
const describeShared = haveShared || process.env.CI ? describe : describe.skip;

describeShared('dbt inventory on real manifests (../shared/data/dbt/state-manifests)', () => {
  it.each(['10', '11', '12'])('reads the real schema v%s manifest with its models, seeds, snapshots, sources and exposures', (v) => {
    // GIVEN a manifest.json written by a real dbt run
    const file = path.join(SHARED, `manifest-v${v}.json`);
    // WHEN it is read
    const project = loadManifestFile(file, SHARED, SHARED);
    // THEN every kind the graph keeps is there, typed
    expect(project.schemaVersion).toBe(`https://schemas.getdbt.com/dbt/manifest/v${v}.json`);
    expect(project.name).toBe('test');
    const ids = project.nodes.map((n) => n.id).sort();
    expect(ids).toEqual(
      expect.arrayContaining(['model.test.my_model', 'seed.test.my_seed', 'snapshot.test.snapshot_seed', 'source.test.my_source.my_table', 'exposure.test.simple_exposure']),
    );
    const snapshot = project.nodes.find((n) => n.id === 'snapshot.test.snapshot_seed');
    expect(snapshot?.dependsOn).toEqual(['seed.test.my_seed']);
    expect(snapshot?.refs).toEqual([expect.objectContaining({ name: 'my_seed', package: null })]);
    const model = project.nodes.find((n) => n.id === 'model.test.my_model');
    expect(model?.columns).toEqual([{ name: 'id', dataType: null }]);
    expect(model?.contractEnforced).toBe(false);
    expect(model?.patchFile).toBe('models/schema.yml');
  });
});

describe('dbt inventory', () => {
  it('reads two-argument cross-project refs with their project', () => {
    // GIVEN the analytics fixture, whose model uses ref('warehouse', 'fct_claims')
    const dir = path.join(FIXTURES, 'repos', 'analytics');
    // WHEN its manifest is read
    const project = loadManifestFile(path.join(dir, 'target', 'manifest.json'), dir, dir);
    // THEN the ref keeps the project and depends_on points into the other project
    const model = project.nodes.find((n) => n.name === 'claims_summary');
    expect(model?.refs).toEqual([{ name: 'fct_claims', package: 'warehouse', version: null, line: 4 }]);
    expect(model?.dependsOn).toEqual(['model.warehouse.fct_claims']);
    expect(project.projectDependencies).toEqual(['warehouse']);
    expect(project.packages).toEqual([]);
  });

  it('reads contracts, column types and the SQL identifiers used for column checks', () => {
    const dir = path.join(FIXTURES, 'repos', 'warehouse');
    const project = loadManifestFile(path.join(dir, 'target', 'manifest.json'), dir, dir);
    const dim = project.nodes.find((n) => n.name === 'dim_member');
    expect(dim).toMatchObject({ contractEnforced: true, access: 'public', relation: 'analytics.core.dim_member' });
    expect(dim?.columns).toEqual([
      { name: 'member_id', dataType: 'integer' },
      { name: 'plan_code', dataType: 'varchar' },
    ]);
    const fct = project.nodes.find((n) => n.name === 'fct_claims');
    expect(fct?.identifiers).toEqual(expect.arrayContaining(['amount', 'plan_code']));
    expect(fct?.selectStar).toBe(false);
  });

  it('turns pre-1.5 list refs into ref objects', () => {
    // GIVEN a manifest whose refs are lists [package, name]
    const m = buildFixtureManifest(path.join(FIXTURES, 'repos', 'analytics'));
    const nodes = m.nodes as Record<string, { refs: unknown }>;
    nodes['model.analytics.claims_summary'].refs = [['warehouse', 'fct_claims']];
    // WHEN it is parsed
    const parsed = parseManifest(JSON.stringify(m), 'manifest.json');
    // THEN the ref is an object with its package
    expect(parsed.nodes['model.analytics.claims_summary'].refs).toEqual([{ name: 'fct_claims', package: 'warehouse', version: null }]);
  });

  type Loose = { metadata: Record<string, unknown>; nodes: Record<string, Record<string, unknown>>; sources: Record<string, Record<string, unknown>> };
  const fixture = (): Loose => buildFixtureManifest(path.join(FIXTURES, 'repos', 'warehouse')) as Loose;
  const broken = (mutate: (m: ReturnType<typeof fixture>) => void): string => {
    const m = fixture();
    mutate(m);
    return JSON.stringify(m);
  };
  it.each([
    ['not JSON', () => '{"metadata":', /manifest.json: not valid JSON/],
    ['a node without unique_id', () => broken((m) => delete m.nodes['model.warehouse.fct_claims'].unique_id), /\/nodes\/model.warehouse.fct_claims must have required property 'unique_id'/],
    ['columns of the wrong type', () => broken((m) => (m.sources['source.warehouse.raw.claims'].columns = 'id')), /\/sources\/source.warehouse.raw.claims\/columns must be object/],
    ['an old schema version', () => broken((m) => (m.metadata.dbt_schema_version = 'https://schemas.getdbt.com/dbt/manifest/v7.json')), /schema 'https:\/\/schemas.getdbt.com\/dbt\/manifest\/v7.json' is not supported, expected v9 to v12/],
  ])('fails on a manifest that is %s, naming the file and the fix', (_what, text, message) => {
    // WHEN a broken manifest is parsed THEN an InventoryError names the file and what is wrong
    expect(() => parseManifest(text(), 'manifest.json')).toThrow(InventoryError);
    expect(() => parseManifest(text(), 'manifest.json')).toThrow(message);
  });
});
