import * as fs from 'fs';
import * as path from 'path';
import { CloudFormationValidatePlugin, type ValidationRuleSource } from 'aws-cdk-lib';
import type { PlatformConfig } from '../config/schema';

/** The project's Guard rule files (lib/policies/NAME.guard), by name. */
export const GUARD_RULE_FILES = ['no-wildcard-action-in-target', 'bucket-kms-encryption', 'prod-trusts-only-tooling'] as const;

/**
 * The project's own policies as CloudFormation Guard rules, with the configuration's values
 * (the tooling account) filled in. Each rule is reported under its rule name, e.g.
 * `dataops_prod_trusts_only_tooling`.
 */
export function guardRules(config: Pick<PlatformConfig, 'toolingAccount'>): ValidationRuleSource[] {
  return GUARD_RULE_FILES.map((name) => ({
    name,
    content: fs.readFileSync(path.join(__dirname, `${name}.guard`), 'utf8').replaceAll('{{TOOLING_ACCOUNT}}', config.toolingAccount),
  }));
}

/**
 * aws-cdk-lib's CloudFormation validation plugin with the CDK's default rules and the project's
 * Guard rules. With the `@aws-cdk/core:validateAgainstDefaultRules` feature flag on, a violation
 * fails synthesis.
 */
export function projectPolicyPlugin(config: Pick<PlatformConfig, 'toolingAccount'>): CloudFormationValidatePlugin {
  return new CloudFormationValidatePlugin({ guardRules: guardRules(config), includeDefaultRules: true });
}
