import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AIRFLOW_VERSIONS } from '../../../lib/config/schema';
import type { Check } from '../../../lib/checks/validate/check';
import { dagImportCheck } from '../../../lib/checks/validate/checks/airflow';
import { pytestCheck } from '../../../lib/checks/validate/checks/python';
import { terraformCheck } from '../../../lib/checks/validate/checks/terraform';
import { runValidate, type ValidateReport } from '../../../lib/checks/validate/runner';
import { airflowVenv, PROJECT_ROOT, Toolchain } from '../../../lib/checks/validate/toolchain';

// The tools a check runs are the ones of the repo's configuration: the Airflow of its
// `airflow.version` (a venv per MWAA version, built by buildspecs/toolchain/ensure.sh) and the pinned
// terraform in .venv/terraform/bin. These tests use the real venvs that `npm test` builds.
jest.setTimeout(180_000);

const TERRAFORM_VERSION = /^TERRAFORM_VERSION=(\S+)$/m.exec(fs.readFileSync(path.join(PROJECT_ROOT, 'buildspecs', 'toolchain', 'ensure.sh'), 'utf8'))?.[1];

const made: string[] = [];
afterAll(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** A repo folder (named so that its DAG package name is valid) with these files. */
function repo(files: Record<string, string>): string {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'toolchain-test-'));
  made.push(parent);
  const dir = path.join(parent, 'flows');
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  }
  return dir;
}

/** An empty toolchain folder: no venv, no tool. */
function emptyToolchain(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'toolchain-empty-'));
  made.push(dir);
  return dir;
}

const run = (repoDir: string, checks: Check[], tools = new Toolchain()): Promise<ValidateReport> => runValidate({ repoDir, checks, tools, concurrency: 1 });

const DAG = `from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.empty import EmptyOperator

with DAG(
    dag_id="versions_probe",
    start_date=datetime(2026, 1, 1),
    schedule=None,
    catchup=False,
    tags=["probe"],
    default_args={"owner": "data-eng", "retries": 1, "retry_delay": timedelta(minutes=1)},
):
    EmptyOperator(task_id="noop")
`;

const airflowRepo = (version: string, extra: Record<string, string> = {}) =>
  repo({ 'dataops.yaml': `kinds: [airflow, python]\nairflow: { version: "${version}" }\n`, 'dags/probe.py': DAG, ...extra });

describe('Airflow venv of the repo’s airflow.version', () => {
  it.each([
    ['2.10.3', 'airflow'],
    ['2.11.2', 'airflow-2.11.2'],
    ['3.0.6', 'airflow-3.0.6'],
  ])('Airflow %s lives in .venv/%s', (version, venv) => {
    // GIVEN a supported version WHEN its venv is named THEN it is the one ensure.sh builds from requirements/<venv>.txt
    expect(airflowVenv(version)).toBe(venv);
    expect(fs.existsSync(path.join(PROJECT_ROOT, 'buildspecs', 'toolchain', 'requirements', `${venv}.txt`))).toBe(true);
  });

  it.each([...AIRFLOW_VERSIONS])('imports and checks the DAG folder with Airflow %s itself', async (version) => {
    // GIVEN a repo set to this Airflow version, with a clean DAG
    const dir = airflowRepo(version);
    // WHEN the DAG import check runs
    const report = await run(dir, [dagImportCheck]);
    // THEN it ran in that version's Airflow and found nothing
    expect(report.findings).toEqual([]);
    expect(report.selected).toEqual([expect.objectContaining({ check: 'dag-import', assets: ['dags/probe.py'], reason: expect.stringContaining(`(Airflow ${version}`) })]);
  });

  it('runs an Airflow repo’s tests in the venv of its Airflow version', async () => {
    // GIVEN an Airflow 3.0.6 repo whose test asserts the Airflow it runs with
    const dir = airflowRepo('3.0.6', { 'tests/test_version.py': 'import airflow\n\n\ndef test_airflow_version():\n    assert airflow.__version__ == "3.0.6"\n' });
    // WHEN its pytest check runs
    const report = await run(dir, [pytestCheck]);
    // THEN the test passed: it ran under Airflow 3.0.6, not the default 2.10.3
    expect(report.findings).toEqual([]);
    expect(report.checks.map((c) => [c.name, c.status])).toEqual([['pytest', 'passed']]);
  });

  it.each([
    ['dag-import', dagImportCheck],
    ['pytest', pytestCheck],
  ])('fails %s of a repo whose Airflow version has no venv, naming the version and the command that builds it', async (_name, check) => {
    // GIVEN an Airflow 2.11.2 repo and a toolchain without that venv (python3 is still on PATH)
    const dir = airflowRepo('2.11.2', { 'tests/test_x.py': 'def test_x():\n    pass\n' });
    // WHEN the check runs
    const report = await run(dir, [check], new Toolchain(emptyToolchain()));
    // THEN it blocks with VAL_TOOL_MISSING instead of running another Python
    expect(report.passed).toBe(false);
    expect(report.findings).toEqual([expect.objectContaining({ code: 'VAL_TOOL_MISSING', severity: 'error' })]);
    expect(report.findings[0].message).toContain("Airflow 2.11.2 (airflow.version in dataops.yaml) is not installed");
    expect(report.findings[0].message).toContain("run 'bash buildspecs/toolchain/ensure.sh airflow-2.11.2'");
  });

  it('fails the DAG import check of a repo set to an Airflow version MWAA constraints are not vendored for', async () => {
    // GIVEN a repo set to Airflow 2.9.0
    const dir = airflowRepo('2.9.0');
    // WHEN the DAG import check runs
    const report = await run(dir, [dagImportCheck]);
    // THEN it blocks, naming the version and the supported ones
    expect(report.findings).toEqual([expect.objectContaining({ code: 'VAL_TOOL_MISSING', severity: 'error' })]);
    expect(report.findings[0].message).toContain("airflow.version '2.9.0' in dataops.yaml has no toolchain: expected one of 2.10.3, 2.11.2, 3.0.6");
  });
});

describe('terraform binary of the toolchain', () => {
  const MISFORMATTED = 'resource "aws_sns_topic" "alerts" {\nname = "alerts"\n  tags = { team = "data" }\n}\n';

  it('has the pinned terraform in .venv/terraform/bin, which ensure.sh provides', () => {
    // GIVEN the toolchain that `npm test` ensured WHEN terraform reports its version
    const tf = path.join(PROJECT_ROOT, '.venv', 'terraform', 'bin', 'terraform');
    const out = execFileSync(tf, ['version'], { env: { ...process.env, CHECKPOINT_DISABLE: '1', TF_CLI_CONFIG_FILE: '/dev/null' }, encoding: 'utf8' });
    // THEN it is the version ensure.sh pins (the toolchain image's)
    expect(TERRAFORM_VERSION).toMatch(/^\d+\.\d+\.\d+$/);
    expect(out.split('\n')[0]).toBe(`Terraform v${TERRAFORM_VERSION}`);
    expect(new Toolchain(path.join(PROJECT_ROOT, '.venv'), { strict: true }).resolve('terraform', 'terraform')).toBe(tf);
  });

  it('fails a .tf file that is not in canonical format with TF_FMT at that file', async () => {
    // GIVEN a Terraform repo with a misformatted file, and only the toolchain's tools (not PATH's)
    const dir = repo({ 'dataops.yaml': 'kinds: [terraform]\n', 'main.tf': MISFORMATTED });
    // WHEN the terraform check runs
    const report = await run(dir, [terraformCheck], new Toolchain(path.join(PROJECT_ROOT, '.venv'), { strict: true }));
    // THEN terraform fmt flags the file
    expect(report.findings.filter((f) => f.code === 'TF_FMT')).toEqual([expect.objectContaining({ severity: 'error', file: 'main.tf', message: "not in canonical format; run 'terraform fmt main.tf'" })]);
  });

  it('warns with VAL_TOOL_MISSING naming the fix when terraform is absent, and still runs checkov', async () => {
    // GIVEN a toolchain with checkov but no terraform, PATH refused, and a repo with a misformatted file
    const tools = emptyToolchain();
    fs.mkdirSync(path.join(tools, 'terraform', 'bin'), { recursive: true });
    fs.symlinkSync(path.join(PROJECT_ROOT, '.venv', 'terraform', 'bin', 'checkov'), path.join(tools, 'terraform', 'bin', 'checkov'));
    const dir = repo({ 'dataops.yaml': 'kinds: [terraform]\n', 'main.tf': MISFORMATTED });
    // WHEN the terraform check runs
    const report = await run(dir, [terraformCheck], new Toolchain(tools, { strict: true }));
    // THEN fmt is a warning that says how to get terraform, and checkov's findings are still there
    const missing = report.findings.filter((f) => f.code === 'VAL_TOOL_MISSING');
    expect(missing).toEqual([expect.objectContaining({ severity: 'warning', asset: 'terraform:.' })]);
    expect(missing[0].message).toContain("run 'bash buildspecs/toolchain/ensure.sh terraform'");
    expect(report.findings.some((f) => f.code === 'TF_FMT')).toBe(false);
    expect(report.findings.some((f) => f.code === 'TF_CHECKOV')).toBe(true);
    expect(report.checks.map((c) => c.name)).toEqual(['terraform']);
  });
});
