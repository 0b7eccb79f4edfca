/** environments.<env>.terraformCloud.workspace: every Terraform repo has its own workspace per environment. */
import { stringify } from 'yaml';
import { parseConfig } from '../../lib/config/loader';
import { terraformWorkspaceName } from '../../lib/config/schema';
import { configErrorOf, defaultConfigData } from '../helpers/config';

function withChange(mutate: (raw: Record<string, any>) => void): string {
  const raw = defaultConfigData();
  mutate(raw);
  return stringify(raw);
}

describe('terraformCloud.workspace', () => {
  it('gives each repo its own workspace in each environment of the embedded default', () => {
    // GIVEN the default configuration WHEN the workspace of two repos is resolved in every environment
    const config = parseConfig(withChange(() => undefined), 'northstar.yaml');
    const names = (['dev', 'staging', 'prod'] as const).flatMap((env) => ['platform-infra', 'other-infra'].map((repo) => terraformWorkspaceName(config.environments[env], repo, env)));
    // THEN every name is different and carries the repo and the environment
    expect(names).toEqual(['platform-infra-dev', 'other-infra-dev', 'platform-infra-staging', 'other-infra-staging', 'platform-infra-prod', 'other-infra-prod']);
  });

  it('defaults to {repo}-{env} when the key is left out, and fills {env} in a pattern', () => {
    // GIVEN no workspace in dev and a pattern with both placeholders in prod
    const config = parseConfig(
      withChange((raw) => {
        delete raw.environments.dev.terraformCloud.workspace;
        raw.environments.prod.terraformCloud.workspace = 'nh_{env}_{repo}';
      }),
      'x.yaml',
    );
    // THEN dev uses the default and prod the pattern
    expect(terraformWorkspaceName(config.environments.dev, 'platform-infra', 'dev')).toBe('platform-infra-dev');
    expect(terraformWorkspaceName(config.environments.prod, 'platform-infra', 'prod')).toBe('nh_prod_platform-infra');
  });

  it.each<[string, string, RegExp]>([
    [
      'a single workspace name shared by every repo',
      'platform-dev',
      /environments\.dev\.terraformCloud\.workspace \(line \d+\): 'platform-dev' names one workspace for every Terraform repo of the environment; each repo needs its own, so write a pattern with \{repo\}, e.g. '\{repo\}-\{env\}'/,
    ],
    ['a character Terraform Cloud does not allow', '{repo}.dev', /environments\.dev\.terraformCloud\.workspace \(line \d+\): '\{repo\}\.dev' is not a Terraform Cloud workspace name pattern; use letters, digits, _ - and the placeholders \{repo\} and \{env\}/],
    ['an unknown placeholder', '{repo}-{stage}', /'\{repo\}-\{stage\}' is not a Terraform Cloud workspace name pattern/],
  ])('fails on %s, naming the YAML path and the fix', (_what, value, expected) => {
    expect(configErrorOf(withChange((raw) => (raw.environments.dev.terraformCloud.workspace = value)))).toMatch(expected);
  });
});
