import * as fs from 'fs';
import * as path from 'path';
import type { Command } from 'commander';
import { BuildspecError, loadBuildspec } from '../../checks/buildspec/schema';
import { runBuildspec } from '../../checks/buildspec/runner';
import { PROJECT_ROOT } from '../../checks/validate/toolchain';

function parseEnv(specs: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const s of specs) {
    const i = s.indexOf('=');
    if (i < 1) throw new BuildspecError(`--env '${s}' must be NAME=value`);
    env[s.slice(0, i)] = s.slice(i + 1);
  }
  return env;
}

/** `dataops buildspec validate|run`: checks buildspecs against the schema and runs them locally like CodeBuild. */
export function registerBuildspec(program: Command): void {
  const cmd = program.command('buildspec').description('validate CodeBuild buildspecs against the schema, or run one locally the way CodeBuild does');
  cmd
    .command('validate')
    .description('validate buildspec files against buildspecs/schema/buildspec.schema.json (default: every buildspecs/*.yml)')
    .argument('[files...]', 'buildspec files')
    .action((files: string[]) => {
      const list = files.length
        ? files
        : fs
            .readdirSync(path.join(PROJECT_ROOT, 'buildspecs'))
            .filter((f) => f.endsWith('.yml') || f.endsWith('.yaml'))
            .map((f) => path.join(PROJECT_ROOT, 'buildspecs', f));
      let bad = 0;
      for (const f of list) {
        try {
          loadBuildspec(f);
          process.stdout.write(`${f}: valid\n`);
        } catch (err) {
          if (!(err instanceof BuildspecError)) throw err;
          bad++;
          process.stdout.write(`${err.message}\n`);
        }
      }
      if (bad) process.exitCode = 1;
    });
  cmd
    .command('run')
    .description('run a buildspec locally: env and exported variables, install/pre_build/build/post_build, on-failure, finally, reports and artifacts')
    .argument('<file>', 'buildspec file')
    .requiredOption('--src <dir>', 'source folder (CODEBUILD_SRC_DIR)')
    .option('--env <name=value>', 'environment override, as start-build passes it (repeatable)', (v: string, acc: string[]) => [...acc, v], [])
    .option('--artifacts-out <dir>', 'copy the artifacts here')
    .option('--json', 'print the result as JSON after the build log')
    .action(async (file: string, opts: { src: string; env: string[]; artifactsOut?: string; json?: boolean }) => {
      const result = await runBuildspec({
        file,
        srcDir: opts.src,
        env: parseEnv(opts.env),
        artifactsDir: opts.artifactsOut,
        onOutput: (s) => process.stderr.write(s),
      });
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ ...result, log: undefined }, null, 2)}\n`);
      } else {
        for (const p of result.phases) {
          process.stdout.write(`${p.name}: ${p.status}${p.failedCommand ? ` (${p.failedCommand.inFinally ? 'finally ' : ''}command '${p.failedCommand.command}' exited ${p.failedCommand.exitCode})` : ''}\n`);
        }
        for (const r of result.reports) process.stdout.write(`report ${r.group} (${r.fileFormat}): ${r.files.join(', ') || 'no files'}\n`);
        if (result.artifacts.length) process.stdout.write(`artifacts: ${result.artifacts.length} file(s)\n`);
        process.stdout.write(`build ${result.succeeded ? 'SUCCEEDED' : 'FAILED'} in ${(result.durationMs / 1000).toFixed(1)}s\n`);
      }
      if (!result.succeeded) process.exitCode = 1;
    });
}
