import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { GUARD_RULE_FILES, guardRules, projectPolicyPlugin } from '../../lib/policies';
import { VALIDATE_AGAINST_DEFAULT_RULES } from '../../lib/stacks/platform';
import { makeTestConfig } from '../helpers/config';

const CONFIG = makeTestConfig();
const TOOLING = CONFIG.toolingAccount;
const OTHER = '999999999999';

interface Violation {
  ruleName: string;
  severity: string;
  violatingConstructs: Array<{ constructPath: string }>;
}

/** A stack marked the way the platform marks its stacks, for the Guard rules to select. */
function markedStack(app: App, id: string, kind: 'tooling' | 'pipeline' | 'target', env?: string): Stack {
  const stack = new Stack(app, id, { env: { account: '222222222222', region: 'us-east-1' } });
  stack.templateOptions.metadata = { DataOps: { StackKind: kind, ...(env ? { Environment: env } : {}) } };
  return stack;
}

/** A role trusted only by the tooling account, the way the platform writes the prod deploy role. */
function toolingTrustedRole(stack: Stack, id: string): iam.Role {
  return new iam.Role(stack, id, { assumedBy: new iam.ArnPrincipal(`arn:aws:iam::${TOOLING}:root`) });
}

/**
 * One app holding, per rule, one stack that breaks it (changing one thing from a compliant
 * stack) and one that keeps it; synthesized once with only the project's policy plugin.
 */
function synthCases(): { violations: Violation[]; threw: boolean } {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-guard-'));
  const app = new App({ outdir, builtinCloudFormationValidation: false, context: { [VALIDATE_AGAINST_DEFAULT_RULES]: true } });
  const key = (stack: Stack) => new kms.Key(stack, 'Key', { enableKeyRotation: true });

  // no Action * in a target stack
  const wildcard = markedStack(app, 'TargetWithWildcard', 'target', 'dev');
  toolingTrustedRole(wildcard, 'Role').addToPolicy(new iam.PolicyStatement({ actions: ['*'], resources: ['arn:aws:s3:::bucket/*'] }));
  const inlineWildcard = markedStack(app, 'TargetWithInlineWildcard', 'target', 'dev');
  new iam.Role(inlineWildcard, 'Role', {
    assumedBy: new iam.ArnPrincipal(`arn:aws:iam::${TOOLING}:root`),
    inlinePolicies: { all: new iam.PolicyDocument({ statements: [new iam.PolicyStatement({ actions: ['s3:GetObject', '*'], resources: ['arn:aws:s3:::bucket/*'] })] }) },
  });
  const listed = markedStack(app, 'TargetWithListedActions', 'target', 'dev');
  toolingTrustedRole(listed, 'Role').addToPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::bucket/*'] }));
  const toolingWildcard = markedStack(app, 'ToolingWithWildcard', 'tooling');
  new iam.Role(toolingWildcard, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }).addToPolicy(
    new iam.PolicyStatement({ actions: ['*'], resources: ['arn:aws:s3:::bucket/*'] }),
  );

  // every bucket encrypted with a KMS key
  const s3Managed = markedStack(app, 'BucketS3Managed', 'tooling');
  new s3.Bucket(s3Managed, 'Bucket', { encryption: s3.BucketEncryption.S3_MANAGED });
  const awsManagedKms = markedStack(app, 'BucketAwsManagedKms', 'tooling');
  new s3.Bucket(awsManagedKms, 'Bucket', { encryption: s3.BucketEncryption.KMS_MANAGED });
  const cmk = markedStack(app, 'BucketCmk', 'tooling');
  new s3.Bucket(cmk, 'Bucket', { encryption: s3.BucketEncryption.KMS, encryptionKey: key(cmk) });

  // the prod deploy role trusts only the tooling account
  const prodOther = markedStack(app, 'ProdTrustsOtherAccount', 'target', 'prod');
  new iam.Role(prodOther, 'Role', { assumedBy: new iam.ArnPrincipal(`arn:aws:iam::${OTHER}:root`) });
  const prodService = markedStack(app, 'ProdTrustsService', 'target', 'prod');
  new iam.Role(prodService, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  const prodMixed = markedStack(app, 'ProdTrustsToolingAndOther', 'target', 'prod');
  new iam.Role(prodMixed, 'Role', {
    assumedBy: new iam.CompositePrincipal(new iam.ArnPrincipal(`arn:aws:iam::${TOOLING}:root`), new iam.ArnPrincipal(`arn:aws:iam::${OTHER}:role/x`)),
  });
  const prodTooling = markedStack(app, 'ProdTrustsTooling', 'target', 'prod');
  toolingTrustedRole(prodTooling, 'Role');
  const devOther = markedStack(app, 'DevTrustsOtherAccount', 'target', 'dev');
  new iam.Role(devOther, 'Role', { assumedBy: new iam.ArnPrincipal(`arn:aws:iam::${OTHER}:root`) });

  Validations.of(app).addPlugins(projectPolicyPlugin(CONFIG));
  let threw = false;
  try {
    app.synth();
  } catch {
    threw = true;
  }
  const report = JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8')) as { pluginReports: Array<{ violations: Violation[] }> };
  return { violations: report.pluginReports.flatMap((r) => r.violations), threw };
}

describe('project Guard rules', () => {
  let result: ReturnType<typeof synthCases>;
  // GIVEN one app with a breaking and a compliant stack per rule, synthesized once (about 10 s)
  beforeAll(() => {
    result = synthCases();
  }, 300_000);

  const stacksFlaggedBy = (rule: string) =>
    [...new Set(result.violations.filter((v) => v.ruleName === rule).flatMap((v) => v.violatingConstructs.map((c) => c.constructPath.split('/')[0])))].sort();

  it('loads every rule file with the tooling account filled in', () => {
    const rules = guardRules(CONFIG);
    expect(rules.map((r) => r.name)).toEqual([...GUARD_RULE_FILES]);
    for (const r of rules) expect(r.content).not.toContain('{{');
    expect(rules.find((r) => r.name === 'prod-trusts-only-tooling')?.content).toContain(TOOLING);
  });

  it('fails synthesis when a rule is broken', () => {
    expect(result.threw).toBe(true);
    expect(result.violations.filter((v) => v.ruleName.startsWith('dataops_')).every((v) => v.severity === 'error')).toBe(true);
  });

  it('fails a stack of any kind that allows Action *, as a string or in a list, and passes listed actions', () => {
    const flagged = [...stacksFlaggedBy('dataops_no_broad_identity_policy'), ...stacksFlaggedBy('dataops_no_broad_inline_policy')].sort();
    expect(flagged).toEqual(['TargetWithInlineWildcard', 'TargetWithWildcard', 'ToolingWithWildcard']);
  });

  it('fails a bucket with S3-managed or AWS-managed-key encryption, and passes a bucket with a customer key', () => {
    expect(stacksFlaggedBy('dataops_bucket_kms_encryption')).toEqual(['BucketAwsManagedKms', 'BucketS3Managed']);
  });

  it('fails a prod role trusted by another account, a service or a mix, and passes tooling-only trust and non-prod stacks', () => {
    expect(stacksFlaggedBy('dataops_prod_trusts_only_tooling')).toEqual(['ProdTrustsOtherAccount', 'ProdTrustsService', 'ProdTrustsToolingAndOther']);
  });
});
