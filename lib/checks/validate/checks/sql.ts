import * as fs from 'fs';
import * as path from 'path';
import { z } from 'zod';
import type { Finding } from '../../findings';
import type { Check, CheckContext, CheckResult } from '../check';
import { changedUnder } from '../scope';
import { dbtEnv, ensureDbtDeps } from './dbt';
import { lastLine } from './pytest';

const SqlfluffOutput = z.array(
  z.object({
    filepath: z.string(),
    violations: z.array(
      z.object({
        code: z.string(),
        description: z.string(),
        start_line_no: z.number().optional(),
        line_no: z.number().optional(),
        warning: z.boolean().optional(),
      }),
    ),
  }),
);

/**
 * sqlfluff violation codes that are not lint findings: templating failures (TMP) come from a model
 * that does not compile, which the dbt check reports with its own code at the same place.
 */
const NOT_LINT = new Set(['TMP']);

/** sqlfluff (Snowflake dialect, dbt templater, the repo's .sqlfluff) on the dbt models. */
export const sqlLintCheck: Check = {
  name: 'sqlfluff',
  kinds: ['sql'],
  order: 20,
  async run(ctx: CheckContext): Promise<CheckResult> {
    const projectDir = ctx.repo.dbt.projectDir;
    const modelsDir = path.posix.join(projectDir, 'models').replace(/^\.\//, '');
    const files = ctx.scope.full
      ? [modelsDir]
      : changedUnder(ctx.scope, modelsDir, (f) => f.endsWith('.sql')).filter((f) => fs.existsSync(path.join(ctx.repo.root, f)));
    if (files.length === 0) return { findings: [], skip: { check: 'sqlfluff', kind: 'sql', reason: 'no SQL model changed' } };
    const isDbt = fs.existsSync(path.join(ctx.repo.root, projectDir, 'dbt_project.yml'));
    if (isDbt) {
      const deps = await ensureDbtDeps(ctx);
      if (deps.length) return { findings: [], skip: { check: 'sqlfluff', kind: 'sql', reason: 'dbt deps failed (reported by the dbt check)' } };
    }
    const sqlfluff = ctx.tools.resolve('dbt', 'sqlfluff');
    const cwd = path.resolve(ctx.repo.root, projectDir);
    const rel = files.map((f) => path.relative(cwd, path.join(ctx.repo.root, f)) || '.');
    const res = await ctx.tools.run(sqlfluff, ['lint', '--format', 'json', '--dialect', 'snowflake', '--disable-progress-bar', '--nocolor', ...rel], {
      cwd,
      env: isDbt ? dbtEnv(ctx, path.join(ctx.workDir, 'sqlfluff.duckdb')) : {},
    });
    let parsed: z.output<typeof SqlfluffOutput>;
    try {
      parsed = SqlfluffOutput.parse(JSON.parse(res.stdout.trim().split('\n').pop() || '[]'));
    } catch {
      return { findings: [{ code: 'VAL_CHECK_ERROR', severity: 'error', asset: `sql:${modelsDir}`, message: `sqlfluff failed (exit ${res.code}): ${lastLine(res.stderr || res.stdout)}` }] };
    }
    const findings: Finding[] = [];
    for (const f of parsed) {
      const file = path.relative(ctx.repo.root, path.resolve(cwd, f.filepath));
      for (const v of f.violations) {
        if (NOT_LINT.has(v.code) && isDbt) continue;
        findings.push({
          code: 'SQL_LINT',
          severity: v.warning ? 'warning' : 'error',
          asset: `sql:${file}`,
          file,
          line: v.start_line_no ?? v.line_no,
          message: `${v.code} ${v.description}`,
        });
      }
    }
    return { findings, selection: { check: 'sqlfluff', kind: 'sql', assets: ctx.scope.full ? ['*'] : files, reason: ctx.scope.reason } };
  },
};
