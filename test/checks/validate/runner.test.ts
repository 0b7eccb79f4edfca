import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Check } from '../../../lib/checks/validate/check';
import { runValidate } from '../../../lib/checks/validate/runner';
import { ToolMissingError } from '../../../lib/checks/validate/toolchain';

function repo(kinds: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-test-'));
  fs.writeFileSync(path.join(dir, 'dataops.yaml'), `kinds: [${kinds.join(', ')}]\n`);
  return dir;
}

const fake = (name: string, kinds: Check['kinds'], run: Check['run'], extra: Partial<Check> = {}): Check => ({ name, kinds, run, ...extra });

describe('validate runner', () => {
  it('runs the checks of the repo kinds in order, collects their findings and selections, and passes without errors', async () => {
    // GIVEN a dbt repo and three checks, one for another kind
    const order: string[] = [];
    const checks = [
      fake('slow', ['dbt'], async () => (order.push('slow'), { findings: [{ code: 'X_WARN', severity: 'warning', asset: 'dbt:a', message: 'w' }], selection: { check: 'slow', kind: 'dbt', assets: ['*'], reason: 'r' } }), { order: 50 }),
      fake('fast', ['sql'], async () => (order.push('fast'), { findings: [], skip: { check: 'fast', kind: 'sql', reason: 'nothing changed' } }), { order: 10 }),
      fake('other', ['terraform'], async () => (order.push('other'), { findings: [] })),
    ];
    // WHEN the runner runs them one at a time
    const report = await runValidate({ repoDir: repo(['dbt', 'sql']), checks, concurrency: 1 });
    // THEN the fast one ran first, the terraform one not at all, and warnings do not block
    expect(order).toEqual(['fast', 'slow']);
    expect(report.passed).toBe(true);
    expect(report.findings.map((f) => f.code)).toEqual(['X_WARN']);
    expect(report.selected).toEqual([{ check: 'slow', kind: 'dbt', assets: ['*'], reason: 'r' }]);
    expect(report.skipped).toEqual([{ check: 'fast', kind: 'sql', reason: 'nothing changed' }]);
    expect(report.checks.map((c) => [c.name, c.status])).toEqual([['fast', 'skipped'], ['slow', 'passed']]);
  });

  it.each([
    [new Error('boom'), 'VAL_CHECK_ERROR'],
    [new ToolMissingError('no dbt'), 'VAL_TOOL_MISSING'],
  ])('fails a check that throws %s with %s and still runs the others', async (err, code) => {
    const ran: string[] = [];
    const checks = [
      fake('crashes', ['dbt'], async () => {
        throw err;
      }),
      fake('fine', ['dbt'], async () => (ran.push('fine'), { findings: [] })),
    ];
    const report = await runValidate({ repoDir: repo(['dbt']), checks });
    expect(report.findings).toEqual([expect.objectContaining({ code, severity: 'error', asset: 'dbt:crashes' })]);
    expect(report.passed).toBe(false);
    expect(ran).toEqual(['fine']);
  });

  it('runs only the checks of the requested kinds', async () => {
    const checks = [fake('a', ['dbt'], async () => ({ findings: [] })), fake('b', ['sql'], async () => ({ findings: [] }))];
    const report = await runValidate({ repoDir: repo(['dbt', 'sql']), checks, kinds: ['sql'] });
    expect(report.checks.map((c) => c.name)).toEqual(['b']);
  });

  it('reports the same finding from two checks once', async () => {
    const f = { code: 'DBT_REF_MISSING', severity: 'error' as const, asset: 'dbt:model.p.a', file: 'models/a.sql', line: 3, message: 'x' };
    const checks = [fake('one', ['dbt'], async () => ({ findings: [f] })), fake('two', ['dbt'], async () => ({ findings: [{ ...f, message: 'same place, other words' }] }))];
    expect((await runValidate({ repoDir: repo(['dbt']), checks })).findings).toHaveLength(1);
  });

  it('runs checks of one group one after another', async () => {
    let running = 0;
    let overlap = false;
    const body: Check['run'] = async () => {
      running++;
      if (running > 1) overlap = true;
      await new Promise((r) => setTimeout(r, 50));
      running--;
      return { findings: [] };
    };
    const checks = [fake('g1', ['dbt'], body, { group: 'g' }), fake('g2', ['dbt'], body, { group: 'g' })];
    await runValidate({ repoDir: repo(['dbt']), checks, concurrency: 2 });
    expect(overlap).toBe(false);
  });
});
