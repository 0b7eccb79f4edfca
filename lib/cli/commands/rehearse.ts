import type { Command } from 'commander';
import { addOutputOptions, UsageError, writeOutput, type CommonOptions } from '../options';

/** Options of `dataops rehearse`. */
interface RehearseOptions extends CommonOptions {
  readonly repo: string;
  readonly source: string;
  readonly assembly: string;
  readonly awsEndpoint: string;
  readonly region: string;
  readonly enforceIam?: boolean;
  readonly endpoint: string[];
  readonly approveAs?: string;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/**
 * `dataops rehearse`: runs one repo's pipeline from the cloud assembly `cdk synth` wrote, against
 * local stand-ins (docs/rehearsal.md). Exit 1 when the execution fails, 2 on bad input (an assembly
 * that cannot be read, a repo not in it, an action type the rehearsal does not run).
 */
export function registerRehearse(program: Command): void {
  addOutputOptions(
    program
      .command('rehearse')
      .description("run one repo's synthesized pipeline (every stage, action, variable, role and condition of the cloud assembly) against local stand-ins: moto for AWS, the rehearsal's CodePipeline, and the endpoints you give")
      .requiredOption('--repo <name>', 'the repo whose pipeline runs (stack DataOpsPipeline-<repo> of the assembly)')
      .requiredOption('--source <dir>', "a git work tree of the repo; its HEAD is the commit the Source action delivers")
      .option('--assembly <dir>', 'the folder cdk synth wrote', 'cdk.out')
      .requiredOption('--aws-endpoint <url>', 'the AWS stand-in (moto in server mode: .venv/emulators/bin/python tools/rehearsal/moto-server.py 127.0.0.1 5000)')
      .option('--region <region>', 'region of the stand-in', 'us-east-1')
      .option('--enforce-iam', 'turn IAM enforcement on in the stand-in (a moto server of the rehearsal\'s own) and run every action with only its synthesized role')
      .option('--endpoint <VAR=url>', 'another stand-in every build and function gets, e.g. AWS_ENDPOINT_URL_MWAA=http://127.0.0.1:5001 (repeatable)', collect, [])
      .option('--approve-as <arn>', 'the identity that approves every manual approval (default: arn:aws:iam::<tooling>:user/rehearsal-approver)'),
    ['text', 'json'],
    'text',
    'the execution',
  ).action(async (opts: RehearseOptions) => {
    const { CodePipelineFake } = require('../../../tools/rehearsal/codepipeline-api') as typeof import('../../../tools/rehearsal/codepipeline-api');
    const { Rehearsal } = require('../../../tools/rehearsal/rehearse') as typeof import('../../../tools/rehearsal/rehearse');
    const endpoints: Record<string, string> = {};
    for (const e of opts.endpoint) {
      const m = /^([A-Z][A-Z0-9_]*)=(https?:\/\/\S+)$/.exec(e);
      if (!m) throw new UsageError(`--endpoint '${e}' is not VAR=http(s)://host:port, e.g. AWS_ENDPOINT_URL_MWAA=http://127.0.0.1:5001`);
      endpoints[m[1]] = m[2];
    }
    const codepipeline = new CodePipelineFake();
    await codepipeline.start();
    try {
      let aws = { endpoint: opts.awsEndpoint, region: opts.region, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
      if (opts.enforceIam) aws = await Rehearsal.enforceIam(opts.assembly, aws);
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const rehearsal = await Rehearsal.prepare({ assemblyDir: opts.assembly, repo: opts.repo, aws, enforceIam: opts.enforceIam, codepipeline, endpoints, log });
      const approver = opts.approveAs;
      const result = await rehearsal.run({ sourceDir: opts.source, ...(approver ? { approve: () => ({ approver, approve: true }) } : {}) }).finally(() => rehearsal.close());
      const text =
        opts.format === 'json'
          ? `${JSON.stringify({ ...result, actions: result.actions.map(({ log: _log, ...a }) => a) }, null, 2)}\n`
          : `${rehearsal.pipeline.name} execution ${result.executionId}: ${result.status} in ${(result.durationMs / 1000).toFixed(0)} s\n${result.actions.map((a) => `  ${a.stage}/${a.action}: ${a.status} (${(a.durationMs / 1000).toFixed(1)} s)${a.status === 'Failed' ? `\n    ${a.message.split('\n').join('\n    ')}` : ''}\n`).join('')}${result.rollback ? `  rollback ${result.rollback.executionId}: ${result.rollback.status}\n` : ''}${result.deliveries.filter((d) => !d.ok).map((d) => `  event ${d.detailType} ${[d.stage, d.action, d.state].filter(Boolean).join('/')} → ${d.target} failed: ${(d.error ?? '').split('\n')[0]}\n`).join('')}`;
      writeOutput(opts.out, text);
      if (result.status !== 'Succeeded') process.exitCode = 1;
    } finally {
      await codepipeline.stop();
    }
  });
}
