import type { Command } from 'commander';
import { CONFIG_OPTION_HELP } from '../../config/loader';
import { deployRelease } from '../../runtime/orchestrator/deploy';
import { buildOrchestration, type RunOptions } from '../../runtime/orchestrator/runtime';

/** Adds the options `dataops deploy` and `dataops verify` share. */
export function runOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--release <manifest>', 'release-manifest.json of the release (its artifacts sit next to it)')
    .requiredOption('--env <env>', 'target environment: dev, staging or prod')
    .option('--role-arn <arn>', "the environment's deploy role to assume for the target account")
    .option('--execution-id <id>', 'CodePipeline execution id (default: $PIPELINE_EXECUTION_ID)')
    .option('-c, --config <path>', CONFIG_OPTION_HELP)
    .option('--ledger-table <name>', 'ledger table (default: $LEDGER_TABLE)')
    .option('--artifact-bucket <name>', 'artifact bucket (default: $ARTIFACT_BUCKET)')
    .option('--region <region>', 'AWS region (default: $AWS_REGION, else the configuration)');
}

/** `dataops deploy`: what the Deploy CodeBuild action runs. */
export function registerDeploy(program: Command): void {
  runOptions(program.command('deploy').description('deploy a release to an environment with the idempotent per-kind deployers, under the repo/env lock, recorded in the ledger'))
    .option('--json', 'print the outcome as JSON')
    .option('--registry <dir|s3://bucket/prefix>', "cross-repo asset graph registry; a rollback pauses every repo's DAGs that use the data it restores (default: $DATAOPS_GRAPH_REGISTRY; without it a rollback restores no data)")
    .action(async (opts: RunOptions & { json?: boolean }) => {
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const o = await buildOrchestration(opts, log);
      const out = await deployRelease(o.release, o.env, o.environment, o.deps);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
        return;
      }
      process.stdout.write(`${o.release.manifest.repo} ${out.version} → ${o.env}: ${out.status}${out.isRollback ? ' (rollback)' : ''}, ${out.writes} writes\n`);
      for (const s of out.steps) process.stdout.write(`  ${s.kind} ${s.step}: ${s.summary}\n`);
      if (out.rollbackPlan) process.stdout.write(`  rollback from ${out.rollbackPlan.fromVersion}; paused first: ${out.rollbackPlan.pauseDags.map((d) => `${d.repo}/${d.dagId}`).join(', ') || 'none'}\n`);
      for (const p of out.forPerson) process.stdout.write(`  FOR A PERSON: ${p}\n`);
    });
}
