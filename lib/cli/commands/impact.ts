import type { Command } from 'commander';
import { addOutputOptions, writeOutput } from '../options';

/** `dataops impact --repo DIR --base REF [--registry DIR] [--format text|json] [--out FILE]` */
export function registerImpact(program: Command): void {
  const cmd = program
    .command('impact')
    .description('list every asset, in any known repo, affected by the change of a repo against a base ref')
    .requiredOption('--repo <dir>', 'repo folder (a git work tree), DIR or NAME=DIR')
    .requiredOption('--base <ref>', 'git ref to compare with, e.g. origin/main')
    .option('--registry <location>', 'folder or s3://bucket/prefix with the other repos\' published fragments');
  addOutputOptions(cmd, ['text', 'json'], 'text', 'the impact')
    .action(async (opts: { repo: string; base: string; registry?: string; format: string; out?: string }) => {
      const { computeImpact } = require('../../checks/graph') as typeof import('../../checks/graph');
      const r = await computeImpact({ repo: opts.repo, base: opts.base, registry: opts.registry });
      if (opts.format === 'json') {
        writeOutput(opts.out, `${JSON.stringify(r, null, 2)}\n`);
        return;
      }
      const lines = [`${r.repo} against ${r.base}: ${r.changed.length} changed asset(s), ${r.affected.length} affected downstream`];
      for (const c of r.changed) lines.push(`  ${c.change.padEnd(8)} ${c.asset}`);
      if (r.affected.length) lines.push('affected:', ...r.affected.map((a) => `  ${a}`));
      writeOutput(opts.out, `${lines.join('\n')}\n`);
    });
}
