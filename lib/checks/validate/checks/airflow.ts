import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { z } from 'zod';
import { dagPackageName } from '../../../runtime/mwaa/dag-package';
import type { Check, CheckContext, CheckResult } from '../check';
import { changedUnder } from '../scope';
import { PROJECT_ROOT } from '../toolchain';
import { lastLine } from './pytest';

const DagCheckReport = z.object({
  airflowVersion: z.string(),
  files: z.array(z.object({ file: z.string(), seconds: z.number(), dags: z.array(z.string()) })),
  findings: z.array(
    z.object({
      code: z.string(),
      severity: z.enum(['error', 'warning', 'info']),
      asset: z.string(),
      file: z.string().optional(),
      line: z.number().nullable().optional(),
      message: z.string(),
    }),
  ),
});

/** True for a file that MWAA's safe-mode discovery would parse as a DAG file. */
function looksLikeDagFile(abs: string): boolean {
  if (!abs.endsWith('.py') || !fs.existsSync(abs)) return false;
  const text = fs.readFileSync(abs, 'utf8').toLowerCase();
  return text.includes('airflow') && text.includes('dag');
}

/** The repo's plugins folder, which MWAA puts on sys.path as `plugins/`. */
const PLUGINS_DIR = 'plugins';

/**
 * DAG import test with DagBag in the Airflow venv (MWAA constraints), one file at a time with an
 * import-time budget, plus the DAG policies (owner, retries, tags, explicit catchup, no heavy
 * module-level work). The DAG folder is imported as MWAA imports it: as `dags/<package>/` with only
 * `dags/` (and `plugins/`) on sys.path, the package named after the repo (`dagPackageName`).
 * See buildspecs/helpers/dag_check.py.
 */
export const dagImportCheck: Check = {
  name: 'dag-import',
  kinds: ['airflow'],
  order: 30,
  async run(ctx: CheckContext): Promise<CheckResult> {
    const dagDir = ctx.repo.paths.airflow ?? 'dags';
    const changed = changedUnder(ctx.scope, dagDir, (f) => f.endsWith('.py'));
    let files: string[] | undefined;
    let reason = ctx.scope.reason;
    if (!ctx.scope.full) {
      if (changed.length === 0) return { findings: [], skip: { check: 'dag-import', kind: 'airflow', reason: `no Python file under ${dagDir}/ changed` } };
      const dagFiles = changed.filter((f) => looksLikeDagFile(path.join(ctx.repo.root, f)));
      const helpers = changed.filter((f) => !dagFiles.includes(f));
      if (helpers.length > 0) {
        // A changed helper module may break any DAG that imports it: check them all.
        files = undefined;
        reason = `helper module ${helpers[0]} changed: every DAG file`;
      } else {
        files = dagFiles;
      }
    }
    let pkg: string;
    try {
      pkg = dagPackageName(ctx.repo.name);
    } catch (err) {
      const message = `${(err as Error).message} (the name comes from ${ctx.repo.nameFrom}); pass --repo-name with the repo's name from the platform config, or set name: in dataops.yaml`;
      return { findings: [{ code: 'VAL_CHECK_ERROR', severity: 'error', asset: `airflow:${dagDir}`, message }] };
    }
    const plugins = fs.statSync(path.join(ctx.repo.root, PLUGINS_DIR), { throwIfNoEntry: false })?.isDirectory() ? ['--plugins-folder', PLUGINS_DIR] : [];
    const python = ctx.tools.airflowPython(ctx.repo.airflowVersion);
    const out = path.join(ctx.workDir, 'dag-check.json');
    const airflowHome = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-airflow-home-'));
    const args = [
      path.join(PROJECT_ROOT, 'buildspecs', 'helpers', 'dag_check.py'),
      '--dag-folder', dagDir,
      '--package', pkg,
      ...plugins,
      '--repo-root', ctx.repo.root,
      '--budget-seconds', String(ctx.repo.dagImportBudgetSeconds),
      '--out', out,
      ...(files ?? []).flatMap((f) => ['--file', f]),
    ];
    try {
      const res = await ctx.tools.run(python, args, {
        cwd: ctx.repo.root,
        env: {
          AIRFLOW_HOME: airflowHome,
          AIRFLOW__CORE__LOAD_EXAMPLES: 'False',
          AIRFLOW__LOGGING__LOGGING_LEVEL: 'WARNING',
          AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT: '30',
          PYTHONDONTWRITEBYTECODE: '1',
          // MWAA's sys.path is dags/ and plugins/ only: nothing from the caller's environment
          PYTHONPATH: undefined,
        },
      });
      if (res.code !== 0 || !fs.existsSync(out)) {
        return { findings: [{ code: 'VAL_CHECK_ERROR', severity: 'error', asset: `airflow:${dagDir}`, message: `the DAG import helper failed (exit ${res.code}): ${lastLine(res.stderr)}` }] };
      }
      const report = DagCheckReport.parse(JSON.parse(fs.readFileSync(out, 'utf8')));
      const findings = report.findings.map((f) => ({ ...f, line: f.line ?? undefined }));
      const assets = files ?? report.files.map((f) => f.file);
      return { findings, selection: { check: 'dag-import', kind: 'airflow', assets, reason: `${reason} (Airflow ${report.airflowVersion}, as dags/${pkg}/)` } };
    } finally {
      fs.rmSync(airflowHome, { recursive: true, force: true });
    }
  },
};
