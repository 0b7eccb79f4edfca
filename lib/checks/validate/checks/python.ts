import * as fs from 'fs';
import * as path from 'path';
import { z } from 'zod';
import type { Finding } from '../../findings';
import type { Check, CheckContext, CheckResult } from '../check';
import { changedUnder } from '../scope';
import { airflowVenv } from '../toolchain';
import { runPytest } from './pytest';

const RuffOutput = z.array(
  z.object({
    code: z.string().nullable(),
    message: z.string(),
    filename: z.string(),
    location: z.object({ row: z.number(), column: z.number() }).nullable(),
  }),
);

const isPy = (f: string) => f.endsWith('.py');

/** Ruff on the repo's Python files (the changed ones on a scoped run), with the repo's ruff settings. */
export const ruffCheck: Check = {
  name: 'ruff',
  kinds: ['python', 'airflow', 'spark'],
  order: 10,
  async run(ctx: CheckContext): Promise<CheckResult> {
    const files = ctx.scope.full ? ['.'] : changedUnder(ctx.scope, '.', isPy).filter((f) => fs.existsSync(path.join(ctx.repo.root, f)));
    if (files.length === 0) return { findings: [], skip: { check: 'ruff', kind: 'python', reason: 'no Python file changed' } };
    const ruff = ctx.tools.resolve('dbt', 'ruff');
    const res = await ctx.tools.run(ruff, ['check', '--output-format', 'json', '--no-cache', '--force-exclude', ...files], { cwd: ctx.repo.root });
    if (res.code !== 0 && res.code !== 1) {
      return { findings: [{ code: 'PY_LINT', severity: 'error', asset: 'python:.', message: `ruff failed (exit ${res.code}): ${res.stderr.trim()}` }] };
    }
    const findings: Finding[] = RuffOutput.parse(JSON.parse(res.stdout || '[]')).map((v) => {
      const file = path.relative(ctx.repo.root, v.filename);
      return { code: 'PY_LINT', severity: 'error', asset: `python:${file}`, file, line: v.location?.row, message: `${v.code ?? 'ruff'} ${v.message}` };
    });
    return { findings, selection: { check: 'ruff', kind: 'python', assets: ctx.scope.full ? ['*'] : files, reason: ctx.scope.reason } };
  },
};

/** The repo's pytest suite, for plain Python and Airflow repos (Spark repos run theirs on PySpark). */
export const pytestCheck: Check = {
  name: 'pytest',
  kinds: ['python'],
  order: 40,
  applies: (ctx) => !ctx.repo.kinds.includes('spark') && fs.existsSync(path.join(ctx.repo.root, ctx.repo.pythonTestsDir)),
  async run(ctx: CheckContext): Promise<CheckResult> {
    if (!ctx.scope.full && changedUnder(ctx.scope, '.', isPy).length === 0) {
      return { findings: [], skip: { check: 'pytest', kind: 'python', reason: 'no Python file changed' } };
    }
    // An Airflow repo's tests import Airflow: they run in the venv of the repo's Airflow version.
    const airflowRepo = ctx.repo.kinds.includes('airflow');
    if (airflowRepo) ctx.tools.airflowPython(ctx.repo.airflowVersion);
    const venv = airflowRepo ? airflowVenv(ctx.repo.airflowVersion) : 'dbt';
    const findings = await runPytest(ctx, { venv, paths: [ctx.repo.pythonTestsDir], code: 'PY_TEST_FAILED', assetPrefix: 'python', tag: 'python' });
    return { findings, selection: { check: 'pytest', kind: 'python', assets: [ctx.repo.pythonTestsDir], reason: ctx.scope.reason } };
  },
};
