import type { Command } from 'commander';
import { CONFIG_OPTION_HELP, configSourceOf, loadPlatformConfig } from '../../config/loader';

/** `dataops config validate|show`: checks a platform configuration file the way synth does. */
export function registerConfig(program: Command): void {
  const config = program.command('config').description('check or print a platform configuration file');
  config
    .command('validate')
    .description('validate a platform configuration file and list every problem with its YAML path')
    .option('-c, --config <path>', CONFIG_OPTION_HELP)
    .option('--json', 'print the result as JSON')
    .action((opts: { config?: string; json?: boolean }) => {
      const cfg = loadPlatformConfig(opts.config);
      const assets = cfg.repos.reduce((n, r) => n + r.expectedAssets, 0);
      // the sha256 is what the pipeline's builds compare with DATAOPS_CONFIG_SHA256
      const source = configSourceOf(cfg);
      if (opts.json) process.stdout.write(`${JSON.stringify({ ok: true, file: source?.file, sha256: source?.sha256, repos: cfg.repos.length, assets })}\n`);
      else process.stdout.write(`${source?.file}: valid; ${cfg.repos.length} repos, ${assets} expected assets; sha256 ${source?.sha256}\n`);
    });
  config
    .command('show')
    .description('print the validated configuration with every default filled in, as JSON')
    .option('-c, --config <path>', CONFIG_OPTION_HELP)
    .action((opts: { config?: string }) => {
      process.stdout.write(`${JSON.stringify(loadPlatformConfig(opts.config), null, 2)}\n`);
    });
}
