import { Toolchain } from '../../lib/checks/validate/toolchain';
import { locations, SampleRepo, writePlan } from './helpers';

// End-to-end: the real PR and Validate buildspecs run `dataops validate` with terraform fmt, the HCL
// parser, checkov and the plan analysis on a copy of examples/terraform-infra.
jest.setTimeout(300_000);

// buildspecs/toolchain/ensure.sh puts the pinned terraform in .venv/terraform/bin (linked from PATH or
// built with Go); where it could not, `terraform fmt -check` cannot run and the report says so with a
// warning (see docs/validation.md).
const fmtMissing = new Toolchain().has('terraform', 'terraform') ? [] : ['VAL_TOOL_MISSING@terraform:.'];

describe('PR validation of the Terraform sample repo', () => {
  const repos: SampleRepo[] = [];
  const repo = () => {
    const r = new SampleRepo('terraform-infra');
    repos.push(r);
    return r;
  };
  afterAll(() => repos.forEach((r) => r.remove()));

  it('passes a clean PR that adds a tag and whose plan only updates in place', async () => {
    // GIVEN a PR that adds a tag, and its speculative plan that updates the table in place
    const r = repo().change('main.tf', (s) => s.replace('{ "data-classification" = "internal" }', '{ "data-classification" = "internal", "owner" = "clinic-data-eng" }'));
    const plan = writePlan(r, 'update', [{ type: 'aws_dynamodb_table', name: 'ingest_watermarks', actions: ['update'] }]);
    // WHEN the PR buildspec runs with the plan
    const { build, report } = await r.prValidate({ TF_PLAN_JSON: plan });
    // THEN it passes, with the static checks and the plan analysis selected
    expect(locations(report)).toEqual(fmtMissing);
    expect(build.succeeded).toBe(true);
    expect(report.selected.find((s) => s.check === 'terraform')?.assets).toEqual(['main.tf', expect.stringMatching(/^plan:/)]);
  });

  it('fails a Terraform plan that destroys a protected table with its own code and location only', async () => {
    // GIVEN a PR whose plan deletes the watermark table
    const r = repo().change('main.tf', (s) => s.replace('# Alerts for failed loads', '# Alerts for failed or late loads'));
    const plan = writePlan(r, 'destroy', [
      { type: 'aws_dynamodb_table', name: 'ingest_watermarks', actions: ['delete'] },
      { type: 'aws_sns_topic', name: 'ingest_alerts', actions: ['update'] },
    ]);
    // WHEN the PR buildspec runs with the plan
    const { build, report } = await r.prValidate({ TF_PLAN_JSON: plan });
    // THEN the destroy is blocked, placed at the resource's declaration
    expect(locations(report)).toEqual([...fmtMissing, 'TF_PROTECTED_DESTROY@main.tf:3']);
    expect(build.succeeded).toBe(false);
  });

  it('runs the Validate stage buildspec for the terraform kind on the merged commit', async () => {
    // GIVEN the clean sample
    const r = repo();
    // WHEN buildspecs/validate.yml runs with ASSET_KIND=terraform
    const { build, report } = await r.runBuildspec('validate.yml', { ASSET_KIND: 'terraform' }, 'reports/validate-terraform.json');
    // THEN the full terraform checks ran and passed, and the JUnit report is where the report group reads it
    expect(locations(report)).toEqual(fmtMissing);
    expect(report.selected.find((s) => s.check === 'terraform')?.assets).toEqual(['*']);
    expect(build.succeeded).toBe(true);
    expect(build.reports).toEqual([{ group: 'dataops-validate', fileFormat: 'JUNITXML', files: ['reports/validate-terraform.xml'] }]);
  });
});
