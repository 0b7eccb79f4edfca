import { Option, type Command } from 'commander';
import { ENVIRONMENT_NAMES } from '../../config/schema';
import { addConfigOption, addOutputOptions, writeOutput, type CommonOptions } from '../options';

/** Accounts `dataops config execution-policy --account` knows. */
const DEPLOY_ACCOUNTS = ['tooling', ...ENVIRONMENT_NAMES] as const;

/** `dataops config validate|show|execution-policy`: checks a platform configuration file the way synth does. */
export function registerConfig(program: Command): void {
  const config = program.command('config').description('check or print a platform configuration file');
  addOutputOptions(
    addConfigOption(config.command('validate').description('validate a platform configuration file and list every problem with its YAML path')),
    ['text', 'json'],
    'text',
    'the result',
  ).action(async (opts: CommonOptions) => {
    const { configSourceOf, loadPlatformConfig } = require('../../config/loader') as typeof import('../../config/loader');
    const cfg = loadPlatformConfig(opts.config);
    const assets = cfg.repos.reduce((n, r) => n + r.expectedAssets, 0);
    // the sha256 is what the pipeline's builds compare with DATAOPS_CONFIG_SHA256
    const source = configSourceOf(cfg);
    writeOutput(
      opts.out,
      opts.format === 'json'
        ? `${JSON.stringify({ ok: true, file: source?.file, sha256: source?.sha256, repos: cfg.repos.length, assets })}\n`
        : `${source?.file}: valid; ${cfg.repos.length} repos, ${assets} expected assets; sha256 ${source?.sha256}\n`,
    );
  });
  addOutputOptions(
    addConfigOption(config.command('show').description('print the validated configuration with every default filled in')),
    ['json', 'yaml'],
    'json',
    'the configuration',
  ).action(async (opts: CommonOptions) => {
    const { loadPlatformConfig } = require('../../config/loader') as typeof import('../../config/loader');
    const cfg = loadPlatformConfig(opts.config);
    if (opts.format === 'yaml') {
      const { stringify } = require('yaml') as typeof import('yaml');
      writeOutput(opts.out, stringify(cfg));
    } else writeOutput(opts.out, `${JSON.stringify(cfg, null, 2)}\n`);
  });
  addOutputOptions(
    addConfigOption(
      config
        .command('execution-policy')
        .description("print the CloudFormation execution policy of one account (README \"Deploy\", step 2), with the configuration's exact role ARNs")
        .addOption(new Option('--account <account>', 'the account the policy is for').choices(DEPLOY_ACCOUNTS).makeOptionMandatory()),
    ),
    ['json'],
    'json',
    'the policy document',
  ).action(async (opts: CommonOptions & { account: (typeof DEPLOY_ACCOUNTS)[number] }) => {
    const { loadPlatformConfig } = require('../../config/loader') as typeof import('../../config/loader');
    const { executionPolicy } = require('../../stacks/execution-policies') as typeof import('../../stacks/execution-policies');
    writeOutput(opts.out, `${JSON.stringify(executionPolicy(loadPlatformConfig(opts.config), opts.account), null, 2)}\n`);
  });
}
