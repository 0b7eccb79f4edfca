import * as fs from 'fs';
import * as path from 'path';
import { CloudFormationValidatePlugin, type ValidationRuleSource } from 'aws-cdk-lib';
import { ENVIRONMENT_NAMES, type EnvironmentName, type PlatformConfig } from '../config/schema';
import { deployerRoleNameOf } from '../constructs/names';

/** The project's Guard rule files (lib/policies/NAME.guard), by name. */
export const GUARD_RULE_FILES = [
  'stack-metadata',
  'identity-policy-actions',
  'no-admin-managed-policy',
  'bucket-kms-encryption',
  'audit-object-lock',
  'prod-trusts-only-tooling',
  'target-trust',
  'principal-accounts',
] as const;

/** The configuration values that the Guard rules are filled in with. */
export type GuardRuleConfig = Pick<PlatformConfig, 'name' | 'toolingAccount' | 'environments' | 'repos' | 'audit'>;

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * A Guard regex literal matching an AWS principal that names only `accounts` (or the stack's own
 * account): `*`, a bare account id, or an IAM/STS ARN, also as the text of a Fn::Join (with its
 * pseudo parameters left out) or a Fn::Sub (with `${AWS::Partition}`, `${AWS::AccountId}`).
 */
function principalPattern(accounts: readonly string[]): string {
  const a = [...new Set(accounts)].map(escapeRegex).join('|');
  return `/^(\\*|(${a})|arn:(aws[a-z-]*|\\$\\{AWS::Partition\\})?:(iam|sts)::(${a}|\\$\\{AWS::AccountId\\})?:[^:]+)$/`;
}

/**
 * A Guard regex literal matching exactly the ARN of a deployer role of `envs` in the tooling
 * account (`<name>-deployer-<env>-<repo>`, as PlatformNames writes it): no pattern such as
 * `<name>-deployer-<env>-*`, which a role created later under a similar name would match.
 */
function deployerPattern(config: GuardRuleConfig, envs: readonly EnvironmentName[]): string {
  const roles = envs.flatMap((env) => config.repos.map((r) => escapeRegex(deployerRoleNameOf(config.name, r.name, env)))).join('|');
  return `/^arn:aws[a-z-]*:iam::${config.toolingAccount}:role\\/(${roles})$/`;
}

/** The placeholders of the rule files and their values for a configuration. */
function placeholders(config: GuardRuleConfig): Record<string, string> {
  const envAccounts = ENVIRONMENT_NAMES.map((env) => config.environments[env].account);
  const values: Record<string, string> = {
    TOOLING_ACCOUNT: config.toolingAccount,
    NAME: config.name,
    AUDIT_RETENTION_DAYS: String(config.audit.retentionDays),
    PRINCIPALS_TOOLING: principalPattern([config.toolingAccount, ...envAccounts]),
    PRINCIPALS_UNMARKED: principalPattern([config.toolingAccount]),
    DEPLOYERS_ANY: deployerPattern(config, ENVIRONMENT_NAMES),
  };
  for (const env of ENVIRONMENT_NAMES) {
    values[`PRINCIPALS_${env.toUpperCase()}`] = principalPattern([config.toolingAccount, config.environments[env].account]);
    values[`DEPLOYERS_${env.toUpperCase()}`] = deployerPattern(config, [env]);
  }
  return values;
}

/**
 * The project's own policies as CloudFormation Guard rules, with the configuration's values (the
 * tooling and environment accounts, the platform and repo names, `audit.retentionDays`) filled in.
 * Each rule is reported under its rule name, e.g. `dataops_prod_trusts_only_tooling`.
 */
export function guardRules(config: GuardRuleConfig): ValidationRuleSource[] {
  const values = placeholders(config);
  return GUARD_RULE_FILES.map((name) => {
    const content = fs.readFileSync(path.join(__dirname, `${name}.guard`), 'utf8').replace(/\{\{([A-Z_]+)\}\}/g, (_, key: string) => {
      const value = values[key];
      if (value === undefined) throw new Error(`lib/policies/${name}.guard: unknown placeholder {{${key}}}, expected one of ${Object.keys(values).join(', ')}`);
      return value;
    });
    return { name, content };
  });
}

/**
 * aws-cdk-lib's CloudFormation validation plugin with the CDK's default rules and the project's
 * Guard rules. With the `@aws-cdk/core:validateAgainstDefaultRules` feature flag on, a violation
 * fails synthesis.
 */
export function projectPolicyPlugin(config: GuardRuleConfig): CloudFormationValidatePlugin {
  return new CloudFormationValidatePlugin({ guardRules: guardRules(config), includeDefaultRules: true });
}
