import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadManifestFile } from '../../../lib/checks/inventory/dbt';
import type { DbtProject } from '../../../lib/checks/inventory/types';
import { writeFixtureManifest } from '../graph/dbt-fixture';
import { FIXTURES } from '../graph/workspace';

/** dbt-core + dbt-duckdb from buildspecs/toolchain/requirements/dbt.txt (npm test's pretest builds it). */
const DBT = path.resolve(__dirname, '..', '..', '..', '.venv', 'dbt', 'bin', 'dbt');
const describeDbt = fs.existsSync(DBT) || process.env.CI ? describe : describe.skip;

function comparable(p: DbtProject): unknown[] {
  return p.nodes
    .map((n) => ({ ...n, checksum: null, identifiers: [...n.identifiers].sort() }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

describeDbt('dbt inventory on a manifest written by a real `dbt parse`', () => {
  it('reads the warehouse fixture exactly as the fixture manifest writer lays it out', () => {
    // GIVEN the warehouse fixture, parsed by real dbt (DuckDB profile: database analytics, schema core)
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-dbt-parse-'));
    try {
      fs.cpSync(path.join(FIXTURES, 'repos', 'warehouse'), dir, { recursive: true });
      fs.rmSync(path.join(dir, 'target'), { recursive: true, force: true });
      fs.writeFileSync(
        path.join(dir, 'profiles.yml'),
        `warehouse:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: ${path.join(dir, 'analytics.duckdb')}\n      schema: core\n`,
      );
      const r = spawnSync(DBT, ['parse', '--profiles-dir', dir, '--project-dir', dir, '--no-partial-parse', '--target-path', path.join(dir, 'real')], {
        encoding: 'utf8',
        env: { ...process.env, DO_NOT_TRACK: '1', DBT_SEND_ANONYMOUS_USAGE_STATS: 'false' },
      });
      expect(r.stdout + r.stderr).not.toMatch(/Encountered an error/);
      expect(r.status).toBe(0);
      // WHEN the real manifest and the fixture writer's manifest are read
      const real = loadManifestFile(path.join(dir, 'real', 'manifest.json'), dir, dir);
      writeFixtureManifest(dir);
      const fixture = loadManifestFile(path.join(dir, 'target', 'manifest.json'), dir, dir);
      // THEN both give the same inventory (so fixture-based tests stand for real dbt output)
      expect(real.schemaVersion).toBe('https://schemas.getdbt.com/dbt/manifest/v12.json');
      expect(comparable(real)).toEqual(comparable(fixture));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
