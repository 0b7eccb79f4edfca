import type { Command } from 'commander';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../../config/loader';

/** `dataops config validate|show`: checks a platform configuration file the way synth does. */
export function registerConfig(program: Command): void {
  const config = program.command('config').description('check or print a platform configuration file');
  config
    .command('validate')
    .description('validate a platform configuration file and list every problem with its YAML path')
    .option('-c, --config <path>', 'configuration file', DEFAULT_CONFIG_PATH)
    .option('--json', 'print the result as JSON')
    .action((opts: { config: string; json?: boolean }) => {
      const cfg = loadConfig(opts.config);
      const assets = cfg.repos.reduce((n, r) => n + r.expectedAssets, 0);
      if (opts.json) process.stdout.write(`${JSON.stringify({ ok: true, repos: cfg.repos.length, assets })}\n`);
      else process.stdout.write(`${opts.config}: valid; ${cfg.repos.length} repos, ${assets} expected assets\n`);
    });
  config
    .command('show')
    .description('print the validated configuration with every default filled in, as JSON')
    .option('-c, --config <path>', 'configuration file', DEFAULT_CONFIG_PATH)
    .action((opts: { config: string }) => {
      process.stdout.write(`${JSON.stringify(loadConfig(opts.config), null, 2)}\n`);
    });
}
