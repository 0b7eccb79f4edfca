import type { Command } from 'commander';
import { computeImpact } from '../../checks/graph';

/** `dataops impact --repo DIR --base REF [--registry DIR] [--format text|json]` */
export function registerImpact(program: Command): void {
  program
    .command('impact')
    .description('list every asset, in any known repo, affected by the change of a repo against a base ref')
    .requiredOption('--repo <dir>', 'repo folder (a git work tree), DIR or NAME=DIR')
    .requiredOption('--base <ref>', 'git ref to compare with, e.g. origin/main')
    .option('--registry <location>', 'folder or s3://bucket/prefix with the other repos\' published fragments')
    .option('--format <format>', 'text or json', 'text')
    .action(async (opts: { repo: string; base: string; registry?: string; format: string }) => {
      if (!['text', 'json'].includes(opts.format)) throw new Error(`--format '${opts.format}' is not supported, expected text or json`);
      const r = await computeImpact({ repo: opts.repo, base: opts.base, registry: opts.registry });
      if (opts.format === 'json') {
        process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        return;
      }
      const lines = [`${r.repo} against ${r.base}: ${r.changed.length} changed asset(s), ${r.affected.length} affected downstream`];
      for (const c of r.changed) lines.push(`  ${c.change.padEnd(8)} ${c.asset}`);
      if (r.affected.length) lines.push('affected:', ...r.affected.map((a) => `  ${a}`));
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
