import * as fs from 'fs';
import * as path from 'path';
import { z } from 'zod';
import { dbtProjectPaths } from '../../inventory/dbt-parse';
import type { Finding } from '../../findings';
import type { Check, CheckContext, CheckResult, Selection } from '../check';
import { changedUnder } from '../scope';
import { dbtProjectsOf, dbtRunSandbox, ensureDbtDeps } from './dbt';
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

/** Codes of SQL that sqlfluff could not lex or parse: blocking with or without a repo configuration. */
const PARSE_CODES = new Set(['PRS', 'LXR']);

/** sqlfluff's dialect for a dbt adapter (the warehouse the SQL runs on). */
const DIALECT_OF_ADAPTER: Readonly<Record<string, string>> = {
  snowflake: 'snowflake',
  duckdb: 'duckdb',
  postgres: 'postgres',
  redshift: 'redshift',
  bigquery: 'bigquery',
  databricks: 'databricks',
  spark: 'sparksql',
  trino: 'trino',
  athena: 'athena',
  sqlserver: 'tsql',
  oracle: 'oracle',
  mysql: 'mysql',
  clickhouse: 'clickhouse',
};

/** Dialect when neither the repo's sqlfluff configuration nor its dbt profile names one: the platform's warehouse. */
export const DEFAULT_SQL_DIALECT = 'snowflake';

/** A sqlfluff configuration file of the repo (as sqlfluff reads them) and whether it sets a dialect. */
export interface SqlfluffConfig {
  /** Absolute path. */
  readonly file: string;
  readonly setsDialect: boolean;
}

/** Files sqlfluff reads its configuration from, with the section that marks them as sqlfluff's. */
const CONFIG_FILES: ReadonlyArray<{ name: string; section: RegExp }> = [
  { name: '.sqlfluff', section: /^\s*\[sqlfluff[\]:]/m },
  { name: 'setup.cfg', section: /^\s*\[sqlfluff[\]:]/m },
  { name: 'tox.ini', section: /^\s*\[sqlfluff[\]:]/m },
  { name: 'pyproject.toml', section: /^\s*\[tool\.sqlfluff[\].]/m },
];

/**
 * The sqlfluff configuration files that apply to `dirAbs`: those in it and in every folder above it
 * up to the repo root (sqlfluff merges them, nearest last). Only files with a sqlfluff section count.
 */
export function sqlfluffConfigs(repoRoot: string, dirAbs: string): SqlfluffConfig[] {
  const out: SqlfluffConfig[] = [];
  const root = path.resolve(repoRoot);
  let dir = path.resolve(dirAbs);
  for (;;) {
    for (const c of CONFIG_FILES) {
      const file = path.join(dir, c.name);
      if (!fs.existsSync(file)) continue;
      const text = fs.readFileSync(file, 'utf8');
      if (!c.section.test(text)) continue;
      out.unshift({ file, setsDialect: /^\s*dialect\s*=/m.test(text) });
    }
    if (dir === root || path.dirname(dir) === dir || !dir.startsWith(root)) break;
    dir = path.dirname(dir);
  }
  return out;
}

/** Writes the settings that point sqlfluff's dbt templater at the run's sandbox (passed with --config, which overrides the repo's). */
function templaterOverride(file: string, sb: Awaited<ReturnType<typeof dbtRunSandbox>>, forceDbt: boolean): string {
  const lines = [
    ...(forceDbt ? ['[sqlfluff]', 'templater = dbt', ''] : []),
    '[sqlfluff:templater:dbt]',
    `project_dir = ${sb.dir}`,
    `profiles_dir = ${sb.profilesDir}`,
    `profile = ${sb.choice.profile}`,
    `target = ${sb.choice.target}`,
    '',
  ];
  fs.writeFileSync(file, lines.join('\n'));
  return file;
}

async function lintProject(ctx: CheckContext, projectDir: string, isDbt: boolean): Promise<{ findings: Finding[]; selection?: Selection; skip?: string }> {
  const projectAbs = path.resolve(ctx.repo.root, projectDir);
  const modelDirs = isDbt ? dbtProjectPaths(projectAbs).models : ['models'];
  const inRepo = (d: string) => path.posix.join(projectDir, d).replace(/^\.\//, '');
  const dirs = modelDirs.map(inRepo).filter((d) => fs.existsSync(path.join(ctx.repo.root, d)));
  const files = ctx.scope.full
    ? dirs
    : dirs.flatMap((d) => changedUnder(ctx.scope, d, (f) => f.endsWith('.sql'))).filter((f) => fs.existsSync(path.join(ctx.repo.root, f)));
  if (files.length === 0) return { findings: [], skip: 'no SQL model changed' };

  const configs = sqlfluffConfigs(ctx.repo.root, projectAbs);
  const hasConfig = configs.length > 0;
  let cwd = projectAbs;
  let env: Record<string, string> = {};
  const args = ['lint', '--format', 'json', '--disable-progress-bar', '--nocolor'];
  let adapter: string | undefined;
  if (isDbt) {
    const deps = await ensureDbtDeps(ctx, projectDir);
    if (deps.length) return { findings: [], skip: 'dbt deps failed (reported by the dbt check)' };
    const sb = await dbtRunSandbox(ctx, projectDir);
    adapter = sb.choice.declaredAdapter ?? (sb.choice.source === 'repo' ? sb.choice.adapter : undefined);
    cwd = sb.dir;
    env = sb.env;
    // Configuration files above the project (e.g. at the repo root) are linked into the sandbox,
    // where sqlfluff looks for them; the project's own are there already.
    for (const c of configs) {
      const link = path.join(sb.dir, path.basename(c.file));
      if (path.dirname(c.file) !== projectAbs && !fs.existsSync(link)) fs.symlinkSync(c.file, link);
    }
    const usesDbtTemplater = !hasConfig || configs.some((c) => /^\s*templater\s*=\s*dbt\b/m.test(fs.readFileSync(c.file, 'utf8')));
    if (usesDbtTemplater) args.push('--config', templaterOverride(path.join(ctx.workDir, `sqlfluff-${projectDir.replace(/[^A-Za-z0-9_-]+/g, '_')}.cfg`), sb, !hasConfig));
  }
  if (!configs.some((c) => c.setsDialect)) args.push('--dialect', (adapter && DIALECT_OF_ADAPTER[adapter]) || DEFAULT_SQL_DIALECT);

  const rel = files.map((f) => path.relative(projectAbs, path.join(ctx.repo.root, f)) || '.');
  const sqlfluff = ctx.tools.resolve('dbt', 'sqlfluff');
  const res = await ctx.tools.run(sqlfluff, [...args, ...rel], { cwd, env });
  let parsed: z.output<typeof SqlfluffOutput>;
  try {
    parsed = SqlfluffOutput.parse(JSON.parse(res.stdout.trim().split('\n').pop() || '[]'));
  } catch {
    return { findings: [{ code: 'VAL_CHECK_ERROR', severity: 'error', asset: `sql:${dirs.join(',')}`, message: `sqlfluff failed (exit ${res.code}): ${lastLine(res.stderr || res.stdout)}` }] };
  }
  const findings: Finding[] = [];
  for (const f of parsed) {
    const file = path.posix.join(projectDir, f.filepath.split(path.sep).join('/')).replace(/^\.\//, '');
    for (const v of f.violations) {
      if (NOT_LINT.has(v.code) && isDbt) continue;
      const line = v.start_line_no ?? v.line_no;
      if (PARSE_CODES.has(v.code)) {
        findings.push({ code: 'SQL_PARSE', severity: 'error', asset: `sql:${file}`, file, line, message: `${v.code} ${v.description}` });
      } else if (hasConfig) {
        findings.push({ code: 'SQL_LINT', severity: v.warning ? 'warning' : 'error', asset: `sql:${file}`, file, line, message: `${v.code} ${v.description}` });
      } else {
        findings.push({ code: 'SQL_LINT', severity: 'warning', asset: `sql:${file}`, file, line, message: `${v.code} ${v.description} (advisory: the repo has no sqlfluff configuration; add a .sqlfluff to make its rules blocking)` });
      }
    }
  }
  const how = hasConfig ? `the repo's sqlfluff configuration (${configs.map((c) => path.relative(ctx.repo.root, c.file)).join(', ')})` : 'no sqlfluff configuration: only parse errors block';
  return { findings, selection: { check: 'sqlfluff', kind: 'sql', assets: ctx.scope.full ? ['*'] : files, reason: `${ctx.scope.reason}; ${how}` } };
}

/**
 * sqlfluff on the models of every dbt project (dbt templater in the run's sandbox) or, without dbt,
 * on `models/`. With a repo sqlfluff configuration (.sqlfluff, setup.cfg, tox.ini, pyproject.toml)
 * its dialect and rules apply and violations block; without one only parse errors block and style
 * findings are warnings. The dialect, when no configuration sets it, is the dbt adapter's.
 */
export const sqlLintCheck: Check = {
  name: 'sqlfluff',
  kinds: ['sql'],
  order: 20,
  async run(ctx: CheckContext): Promise<CheckResult> {
    const dbtProjects = dbtProjectsOf(ctx);
    const projects = dbtProjects.length ? dbtProjects.map((p) => ({ dir: p, isDbt: true })) : [{ dir: ctx.repo.dbt.projectDir, isDbt: false }];
    const results = [];
    for (const p of projects) results.push(await lintProject(ctx, p.dir, p.isDbt));
    const findings = results.flatMap((r) => r.findings);
    const selections = results.map((r) => r.selection).filter((s): s is Selection => s !== undefined);
    if (selections.length === 0) {
      const skips = [...new Set(results.map((r) => r.skip).filter((s): s is string => Boolean(s)))];
      return findings.length ? { findings } : { findings, skip: { check: 'sqlfluff', kind: 'sql', reason: skips.join('; ') || 'no SQL model changed' } };
    }
    if (selections.length === 1) return { findings, selection: selections[0] };
    return { findings, selection: { check: 'sqlfluff', kind: 'sql', assets: selections.flatMap((s) => s.assets), reason: selections[0].reason } };
  },
};
