import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { dagImportCheck } from '../../../lib/checks/validate/checks/airflow';
import { runValidate, type ValidateReport } from '../../../lib/checks/validate/runner';

// The DAG import check with the real Airflow venv: the DAG folder is imported as MWAA imports it,
// dags/<package>/ with only dags/ (and plugins/) on sys.path.
jest.setTimeout(120_000);

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** A DAG that passes every policy, importing OWNER with the given import line (line 3 of the file). */
const dag = (dagId: string, importLine: string) =>
  [
    'from datetime import datetime',
    'from airflow import DAG',
    importLine,
    'from airflow.operators.empty import EmptyOperator',
    `with DAG(dag_id="${dagId}", schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["t"],`,
    '         default_args={"owner": OWNER, "retries": 1}):',
    '    EmptyOperator(task_id="t")',
    '',
  ].join('\n');

/** A repo with dags/helpers/names.py (OWNER) and the given extra files. */
function repo(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-dag-import-'));
  dirs.push(dir);
  const all = { 'dataops.yaml': 'kinds: [airflow]\n', 'dags/helpers/__init__.py': '', 'dags/helpers/names.py': 'OWNER = "data-eng"\n', ...files };
  for (const [rel, text] of Object.entries(all)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

const validate = (repoDir: string, repoName?: string): Promise<ValidateReport> => runValidate({ repoDir, repoName, checks: [dagImportCheck] });

describe('DAG import check (MWAA sys.path)', () => {
  it('passes a DAG that imports its helpers through the package of a hyphenated repo name', async () => {
    // GIVEN the repo ingest-postgres, whose DAG imports ingest_postgres.helpers (hyphen as underscore)
    const dir = repo({ 'dags/load.py': dag('load', 'from ingest_postgres.helpers.names import OWNER') });
    // WHEN the DAG import check runs with that repo name
    const report = await validate(dir, 'ingest-postgres');
    // THEN it passes, and says where the DAG folder was put
    expect(report.findings).toEqual([]);
    expect(report.selected[0].reason).toMatch(/as dags\/ingest_postgres\//);
  });

  it('puts the repo plugins folder on sys.path as MWAA does', async () => {
    // GIVEN a DAG importing a top-level module of plugins/
    const dir = repo({ 'plugins/team_owners.py': 'OWNER = "data-eng"\n', 'dags/load.py': dag('load', 'from team_owners import OWNER') });
    // WHEN the check runs THEN the DAG imports
    const report = await validate(dir, 'ingest-postgres');
    expect(report.findings).toEqual([]);
  });

  it.each([
    ['a top-level module of the DAG folder', 'from helpers.names import OWNER', "on MWAA only dags/ is on sys.path; import it as ingest_postgres.helpers.names"],
    ['the DAG folder by its path in the repo', 'from dags.helpers.names import OWNER', "on MWAA only dags/ is on sys.path; import it as ingest_postgres.helpers.names"],
    ['another package name than the repo', 'from clinic_dags.helpers.names import OWNER', "on MWAA this repo's DAG folder is dags/ingest_postgres/ (the repo name as a package); import it as ingest_postgres.helpers.names"],
  ])('fails a DAG that imports %s, at the import line, saying how to import it on MWAA', async (_what, importLine, hint) => {
    // GIVEN a DAG whose import works only with the repo (or its DAG folder) on sys.path
    const dir = repo({ 'dags/load.py': dag('load', importLine) });
    // WHEN the check runs
    const report = await validate(dir, 'ingest-postgres');
    // THEN the DAG file fails to import at its repo-relative file and line, with the hint
    expect(report.findings).toEqual([
      expect.objectContaining({ code: 'DAG_IMPORT_ERROR', severity: 'error', file: 'dags/load.py', line: 3, message: expect.stringContaining(`ModuleNotFoundError: No module named '${importLine.split(' ')[1].split('.')[0]}'; ${hint}`) }),
    ]);
  });

  it('fails with the name source when the directory name gives no package name', async () => {
    // GIVEN a repo without a name whose directory name starts with a digit
    const parent = repo({});
    const dir = path.join(parent, '1st-repo');
    fs.mkdirSync(path.join(dir, 'dags'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'dags', 'load.py'), dag('load', 'from os import sep as OWNER'));
    // WHEN the check runs THEN it says where the name came from and how to give one
    const report = await validate(dir);
    expect(report.findings).toEqual([expect.objectContaining({ code: 'VAL_CHECK_ERROR', message: expect.stringMatching(/repo name '1st-repo'.*from the directory name.*--repo-name/) })]);
  });
});
