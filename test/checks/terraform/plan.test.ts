import { analysePlan, parsePlanJson, PlanFormatError } from '../../../lib/checks/terraform/plan';

const plan = (actions: string[], type = 'aws_dynamodb_table', name = 'watermarks') =>
  parsePlanJson(JSON.stringify({ format_version: '1.2', resource_changes: [{ address: `${type}.${name}`, mode: 'managed', type, name, change: { actions } }] }), 'plan.json');
const protectedTypes = ['aws_dynamodb_table', 'aws_s3_bucket'];

describe('Terraform plan analysis', () => {
  it.each([
    [['delete'], 'TF_PROTECTED_DESTROY', 'error'],
    [['delete', 'create'], 'TF_PROTECTED_REPLACE', 'error'],
    [['create', 'delete'], 'TF_PROTECTED_REPLACE', 'error'],
  ])('blocks %j of a protected resource with %s', (actions, code, severity) => {
    expect(analysePlan(plan(actions), { protectedTypes, planFile: 'plan.json' })).toEqual([
      expect.objectContaining({ code, severity, asset: 'terraform:aws_dynamodb_table.watermarks', file: 'plan.json' }),
    ]);
  });

  it.each([[['create']], [['update']], [['no-op']], [['read']]])('lets %j of a protected resource through', (actions) => {
    expect(analysePlan(plan(actions), { protectedTypes, planFile: 'plan.json' })).toEqual([]);
  });

  it('reports the destroy of an unprotected resource as a warning', () => {
    expect(analysePlan(plan(['delete'], 'aws_sns_topic', 'alerts'), { protectedTypes, planFile: 'p' })).toEqual([
      expect.objectContaining({ code: 'TF_DESTROY', severity: 'warning' }),
    ]);
  });

  it('lets a destroy through when the release allows that address', () => {
    const findings = analysePlan(plan(['delete']), { protectedTypes, planFile: 'p', allowed: ['aws_dynamodb_table.watermarks'] });
    expect(findings.map((f) => [f.code, f.severity])).toEqual([['TF_DESTROY', 'info']]);
  });

  it('places the finding at the resource declaration when it can be found', () => {
    const findings = analysePlan(plan(['delete']), { protectedTypes, planFile: 'p', locate: () => ({ file: 'main.tf', line: 3 }) });
    expect(findings[0]).toMatchObject({ file: 'main.tf', line: 3 });
  });

  it.each([
    ['{', /not JSON/],
    ['{"resource_changes": []}', /format_version/],
  ])('fails to parse %s with a PlanFormatError that says what to pass', (text, re) => {
    expect(() => parsePlanJson(text, 'x.json')).toThrow(PlanFormatError);
    expect(() => parsePlanJson(text, 'x.json')).toThrow(re);
  });
});
