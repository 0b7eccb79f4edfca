import type { Command } from 'commander';
import { HANDLER_ENV } from '../../runtime/ledger/table';
import type { RunOptions } from '../../runtime/orchestrator/runtime';
import { addConfigOption, addOutputOptions, checkEnv, writeOutput, type CommonOptions } from '../options';

/** Adds the options `dataops deploy` and `dataops verify` share. */
export function runOptions(cmd: Command): Command {
  return addConfigOption(
    cmd
      .requiredOption('--release <manifest>', 'release-manifest.json of the release (its artifacts sit next to it)')
      .requiredOption('--env <env>', 'target environment: dev, staging or prod')
      .option('--role-arn <arn>', "the environment's deploy role to assume for the target account")
      .option('--execution-id <id>', 'CodePipeline execution id (default: $PIPELINE_EXECUTION_ID)'),
  )
    .option('--ledger-table <name>', `ledger table (default: $${HANDLER_ENV.ledgerTable})`)
    .option('--artifact-bucket <name>', `artifact bucket (default: $${HANDLER_ENV.artifactBucket})`)
    .option('--region <region>', 'AWS region (default: $AWS_REGION, else the configuration)');
}

/** `dataops deploy`: what the Deploy CodeBuild action runs. */
export function registerDeploy(program: Command): void {
  addOutputOptions(
    runOptions(program.command('deploy').description('deploy a release to an environment with the idempotent per-kind deployers, under the repo/env lock, recorded in the ledger')),
    ['text', 'json'],
    'text',
    'the outcome (progress goes to stderr)',
  )
    .option('--registry <dir|s3://bucket/prefix>', "cross-repo asset graph registry; a rollback pauses every repo's DAGs that use the data it restores (default: $DATAOPS_GRAPH_REGISTRY; without it a rollback restores no data)")
    .action(async (opts: RunOptions & CommonOptions) => {
      // a wrong environment is named before the runtime (and its AWS clients) is loaded
      checkEnv(opts.env);
      const { deployRelease } = require('../../runtime/orchestrator/deploy') as typeof import('../../runtime/orchestrator/deploy');
      const { buildOrchestration } = require('../../runtime/orchestrator/runtime') as typeof import('../../runtime/orchestrator/runtime');
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const o = await buildOrchestration(opts, log);
      const out = await deployRelease(o.release, o.env, o.environment, o.deps);
      if (opts.format === 'json') {
        writeOutput(opts.out, `${JSON.stringify(out, null, 2)}\n`);
        return;
      }
      const lines = [`${o.release.manifest.repo} ${out.version} → ${o.env}: ${out.status}${out.isRollback ? ' (rollback)' : ''}, ${out.writes} writes`];
      for (const s of out.steps) lines.push(`  ${s.kind} ${s.step}: ${s.summary}`);
      if (out.rollbackPlan) lines.push(`  rollback from ${out.rollbackPlan.fromVersion}; paused first: ${out.rollbackPlan.pauseDags.map((d) => `${d.repo}/${d.dagId}`).join(', ') || 'none'}`);
      for (const p of out.forPerson) lines.push(`  FOR A PERSON: ${p}`);
      writeOutput(opts.out, `${lines.join('\n')}\n`);
    });
}
