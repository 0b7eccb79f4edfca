import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { computeImpact, runGraphChecks } from '../../lib/checks/graph';
import { PROJECT_ROOT } from '../../lib/checks/validate/toolchain';
import { SampleRepo } from './helpers';

// End-to-end: `dataops check` and `dataops impact` (runGraphChecks, computeImpact) on dbt projects
// with no target/manifest.json: the tool parses both sides (HEAD and the base revision) itself with
// the real dbt of .venv/dbt and the offline profile, and writes nothing into the work tree.
jest.setTimeout(600_000);

const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 'e2e', GIT_AUTHOR_EMAIL: 'e2e@example.org', GIT_COMMITTER_NAME: 'e2e', GIT_COMMITTER_EMAIL: 'e2e@example.org' };
const git = (dir: string, args: string[]) => execFileSync('git', args, { cwd: dir, env: gitEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const dirty = (dir: string) => git(dir, ['status', '--porcelain', '--ignored']).split('\n').filter(Boolean);

describe('check and impact on dbt projects without a built manifest', () => {
  const dirs: string[] = [];
  const saved = process.env.DATAOPS_CACHE_DIR;
  beforeAll(() => {
    process.env.DATAOPS_CACHE_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-dbt-graph-cache-'));
    dirs.push(process.env.DATAOPS_CACHE_DIR);
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.DATAOPS_CACHE_DIR;
    else process.env.DATAOPS_CACHE_DIR = saved;
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('lists a renamed model of a nested project as removed and added, and its child as modified, not every model as added', async () => {
    // GIVEN the nested fixture in git, and a PR that renames stg_orders to stg_orders_v2 and updates the ref
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-dbt-nested-impact-'));
    dirs.push(dir);
    fs.cpSync(path.join(PROJECT_ROOT, 'test', 'fixtures', 'dbt-nested'), dir, { recursive: true });
    git(dir, ['init', '-q', '-b', 'main']);
    git(dir, ['add', '-A']);
    git(dir, ['commit', '-q', '-m', 'base']);
    git(dir, ['checkout', '-q', '-b', 'pr']);
    const models = 'warehouse/analytics/models';
    git(dir, ['mv', `${models}/stg_orders.sql`, `${models}/stg_orders_v2.sql`]);
    const child = path.join(dir, models, 'customer_orders.sql');
    fs.writeFileSync(child, fs.readFileSync(child, 'utf8').replace("ref('stg_orders')", "ref('stg_orders_v2')"));
    git(dir, ['commit', '-qam', 'rename stg_orders']);
    // WHEN impact runs against main
    const r = await computeImpact({ repo: `shop=${dir}`, base: 'main' });
    // THEN the change is the rename and its child, from manifests built for both sides
    expect(r.changed).toEqual([
      { asset: 'shop/dbt:model.nested_analytics.customer_orders', change: 'modified' },
      { asset: 'shop/dbt:model.nested_analytics.stg_orders', change: 'removed' },
      { asset: 'shop/dbt:model.nested_analytics.stg_orders_v2', change: 'added' },
    ]);
    expect(dirty(dir)).toEqual([]);
  });

  it('fails check --base on the dbt sample when a column that a contract enforces is removed', async () => {
    // GIVEN the dbt sample (no target/) and a PR that drops dim_patients.birth_year from the model and its contract
    const sample = new SampleRepo('dbt-models');
    dirs.push(sample.dir);
    sample.change('models/marts/dim_patients.sql', (s) => s.replace('    p.birth_year,\n', ''));
    sample.change('models/marts/_marts.yml', (s) => s.replace(/\n {6}- name: birth_year\n(?: {8}.*\n)*/, '\n'));
    // WHEN the graph checks run against main
    const findings = await runGraphChecks({ repos: [`clinic=${sample.dir}`], base: 'main' });
    // THEN the removed contract column blocks, at dim_patients
    const errors = findings.filter((f) => f.severity === 'error');
    expect(errors.map((f) => `${f.code} ${f.asset}`)).toContain('DBT_CONTRACT_BROKEN dbt:model.clinic_analytics.dim_patients');
    expect(dirty(sample.dir)).toEqual([]);
  });
});
