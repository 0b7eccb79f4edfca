import * as fs from 'fs';
import { stringify } from 'yaml';
import { ConfigError, DEFAULT_CONFIG_PATH, loadConfig, parseConfig } from '../../lib/config/loader';
import { configErrorOf, defaultConfigData } from '../helpers/config';

function withChange(mutate: (raw: Record<string, any>) => void): string {
  const raw = defaultConfigData();
  mutate(raw);
  return stringify(raw);
}

describe('platform configuration', () => {
  it('loads the embedded default with 8 repos and about 250 assets', () => {
    const config = loadConfig();
    expect(config.repos).toHaveLength(8);
    const assets = config.repos.reduce((n, r) => n + r.expectedAssets, 0);
    expect(assets).toBeGreaterThanOrEqual(240);
    expect(assets).toBeLessThanOrEqual(260);
    expect(new Set(Object.values(config.environments).map((e) => e.account)).size).toBe(3);
  });

  it('fills defaults for optional settings', () => {
    // GIVEN a config without audit, ci or quality-gate sections
    const text = withChange((raw) => {
      delete raw.audit;
      delete raw.ci;
      delete raw.environments.dev.qualityGates;
    });
    // WHEN it is parsed
    const config = parseConfig(text, 'x.yaml');
    // THEN the documented defaults apply
    expect(config.audit.retentionDays).toBe(2190);
    expect(config.ci.prTimeBudgetMinutes).toBe(10);
    expect(config.environments.dev.qualityGates.maxRowCountChangePct).toBe(25);
    expect(config.repos[0].branch).toBe('main');
  });

  it.each<[string, (raw: Record<string, any>) => void, RegExp]>([
    ['a misspelt asset kind', (raw) => (raw.repos[2].kinds[0] = 'sparkk'), /repos\[2\]\.kinds\[0\] \(line \d+\): unknown asset kind 'sparkk', expected one of airflow, dbt, spark, terraform, python, sql; fix the spelling/],
    ['an account id that is not 12 digits', (raw) => (raw.environments.dev.account = '12345'), /environments\.dev\.account \(line \d+\): account id '12345' is not 12 digits/],
    ['the same account for staging and prod', (raw) => (raw.environments.prod.account = raw.environments.staging.account), /environments\.prod\.account \(line \d+\): account 333333333333 is already used by environments\.staging\.account/],
    ['an environment in the tooling account', (raw) => (raw.environments.dev.account = raw.toolingAccount), /environments\.dev\.account .*already used by toolingAccount/],
    ['a repo with no asset kind', (raw) => ((raw.repos[1].kinds = []), (raw.repos[1].paths = {})), /repos\[1\]\.kinds \(line \d+\): a repo needs at least one asset kind/],
    ['duplicate repo names', (raw) => (raw.repos[3].name = raw.repos[0].name), /repos\[3\]\.name \(line \d+\): duplicate repo name 'ingest-postgres' \(also repos\[0\]\)/],
    ['a path for a kind the repo does not hold', (raw) => (raw.repos[6].paths.dbt = 'models'), /repos\[6\]\.paths\.dbt .*not among this repo's kinds/],
    ['an unknown key', (raw) => (raw.repos[0].kind = ['dbt']), /repos\[0\]\.kind \(line \d+\): unknown key 'kind'; remove it or fix the spelling/],
    ['a missing required section', (raw) => delete raw.environments.staging, /environments\.staging .*required, but missing/],
    ['audit retention under six years', (raw) => (raw.audit.retentionDays = 365), /audit\.retentionDays .*at least six years/],
    ['a malformed connection ARN', (raw) => (raw.source.connectionArn = 'conn-123'), /source\.connectionArn .*not a \(codeconnections\|codestar-connections\) ARN/],
    ['a Terraform Cloud token secret that is not a Secrets Manager ARN', (raw) => (raw.environments.prod.terraformCloud.tokenSecretArn = 'tfc-token'), /environments\.prod\.terraformCloud\.tokenSecretArn .*'tfc-token' is not a secretsmanager ARN/],
    ['an approver entry of an unknown shape', (raw) => (raw.approvers.prod[0] = { group: 'owners' }), /approvers\.prod\[0\] .*expected a name, \{ iamGroup: NAME \} or \{ identityCenterPermissionSet: NAME \}/],
    ['an approver IAM group name with a space', (raw) => (raw.approvers.staging[0] = { iamGroup: 'data leads' }), /approvers\.staging\[0\]/],
  ])('fails on %s, naming the YAML path and the fix', (_what, mutate, expected) => {
    expect(configErrorOf(withChange(mutate))).toMatch(expected);
  });

  it('accepts approvers as display names, IAM groups and Identity Center permission sets, and the token secret of each environment', () => {
    // GIVEN the three approver shapes side by side
    const config = parseConfig(
      withChange((raw) => (raw.approvers.prod = ['Chief Data Officer', { iamGroup: 'data-platform-owners' }, { identityCenterPermissionSet: 'DataOpsProdApprover' }])),
      'x.yaml',
    );
    // THEN each keeps its shape, and the default's Terraform Cloud token secrets are in the tooling account
    expect(config.approvers.prod).toEqual(['Chief Data Officer', { iamGroup: 'data-platform-owners' }, { identityCenterPermissionSet: 'DataOpsProdApprover' }]);
    for (const env of ['dev', 'staging', 'prod'] as const) {
      expect(config.environments[env].terraformCloud.tokenSecretArn).toMatch(new RegExp(`^arn:aws:secretsmanager:${config.region}:${config.toolingAccount}:secret:`));
    }
  });

  it('fails with every problem listed in one error', () => {
    // GIVEN two unrelated mistakes
    const text = withChange((raw) => {
      raw.repos[2].kinds[0] = 'sparkk';
      raw.environments.dev.account = '12345';
    });
    // THEN one error names both
    const message = configErrorOf(text);
    expect(message).toContain('2 problems');
    expect(message).toContain('repos[2].kinds[0]');
    expect(message).toContain('environments.dev.account');
  });

  it('fails on YAML syntax errors with the line', () => {
    expect(configErrorOf('name: x\nrepos: [a, b\n')).toMatch(/YAML syntax/);
  });

  it('fails on a missing file with a hint to pass -c config=PATH', () => {
    expect(() => loadConfig('/nonexistent/platform.yaml')).toThrow(ConfigError);
    expect(() => loadConfig('/nonexistent/platform.yaml')).toThrow(/cannot read the file \(ENOENT\); pass an existing file with -c config=PATH/);
  });

  it('keeps the embedded default file parseable as shipped', () => {
    expect(() => parseConfig(fs.readFileSync(DEFAULT_CONFIG_PATH, 'utf8'), 'northstar.yaml')).not.toThrow();
  });
});
