import * as fs from 'fs';
import * as path from 'path';
import type { Command } from 'commander';
import { addOutputOptions, UsageError, writeOutput } from '../options';

function parseEnv(specs: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const s of specs) {
    const i = s.indexOf('=');
    if (i < 1) throw new UsageError(`--env '${s}' must be NAME=value`);
    env[s.slice(0, i)] = s.slice(i + 1);
  }
  return env;
}

/** `dataops buildspec validate|run`: checks buildspecs against the schema and runs them locally like CodeBuild. */
export function registerBuildspec(program: Command): void {
  const cmd = program.command('buildspec').description('validate CodeBuild buildspecs against the schema, or run one locally the way CodeBuild does');
  addOutputOptions(
    cmd
      .command('validate')
      .description('validate buildspec files against buildspecs/schema/buildspec.schema.json (default: every buildspecs/*.yml); exit 1 when one is invalid')
      .argument('[files...]', 'buildspec files'),
    ['text', 'json'],
    'text',
    'the result (json: [{file, valid, problem?}])',
  ).action(async (files: string[], opts: { format: string; out?: string }) => {
    const { BuildspecError, loadBuildspec } = require('../../checks/buildspec/schema') as typeof import('../../checks/buildspec/schema');
    const { PROJECT_ROOT } = require('../../checks/validate/toolchain') as typeof import('../../checks/validate/toolchain');
    const list = files.length
      ? files
      : fs
          .readdirSync(path.join(PROJECT_ROOT, 'buildspecs'))
          .filter((f) => f.endsWith('.yml') || f.endsWith('.yaml'))
          .map((f) => path.join(PROJECT_ROOT, 'buildspecs', f));
    const results = list.map((file) => {
      try {
        loadBuildspec(file);
        return { file, valid: true };
      } catch (err) {
        if (!(err instanceof BuildspecError)) throw err;
        return { file, valid: false, problem: err.message };
      }
    });
    writeOutput(opts.out, opts.format === 'json' ? `${JSON.stringify(results, null, 2)}\n` : results.map((r) => `${r.valid ? `${r.file}: valid` : r.problem}\n`).join(''));
    if (results.some((r) => !r.valid)) process.exitCode = 1;
  });
  const run = cmd
    .command('run')
    .description('run a buildspec locally: env and exported variables, install/pre_build/build/post_build, on-failure, finally, reports and artifacts')
    .argument('<file>', 'buildspec file')
    .requiredOption('--src <dir>', 'source folder (CODEBUILD_SRC_DIR)')
    .option('--env <name=value>', 'environment override, as start-build passes it (repeatable)', (v: string, acc: string[]) => [...acc, v], [])
    .option('--artifacts-out <dir>', 'copy the artifacts here');
  addOutputOptions(run, ['text', 'json'], 'text', 'the result (the build log goes to stderr)')
    .action(async (file: string, opts: { src: string; env: string[]; artifactsOut?: string; format: string; out?: string }) => {
      const env = parseEnv(opts.env);
      const { runBuildspec } = require('../../checks/buildspec/runner') as typeof import('../../checks/buildspec/runner');
      const result = await runBuildspec({
        file,
        srcDir: opts.src,
        env,
        artifactsDir: opts.artifactsOut,
        onOutput: (s) => process.stderr.write(s),
      });
      if (opts.format === 'json') {
        writeOutput(opts.out, `${JSON.stringify({ ...result, log: undefined }, null, 2)}\n`);
      } else {
        const lines = result.phases.map(
          (p) => `${p.name}: ${p.status}${p.failedCommand ? ` (${p.failedCommand.inFinally ? 'finally ' : ''}command '${p.failedCommand.command}' exited ${p.failedCommand.exitCode})` : ''}`,
        );
        for (const r of result.reports) lines.push(`report ${r.group} (${r.fileFormat}): ${r.files.join(', ') || 'no files'}`);
        if (result.artifacts.length) lines.push(`artifacts: ${result.artifacts.length} file(s)`);
        lines.push(`build ${result.succeeded ? 'SUCCEEDED' : 'FAILED'} in ${(result.durationMs / 1000).toFixed(1)}s`);
        writeOutput(opts.out, `${lines.join('\n')}\n`);
      }
      if (!result.succeeded) process.exitCode = 1;
    });
}
