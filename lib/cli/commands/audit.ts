import * as fs from 'fs';
import { Option, type Command } from 'commander';
import { addLocationOptions, contextFor, progress, type OpsCommandOptions } from '../../ops/cli-support';
import { auditTime, collectAudit } from '../../ops/audit/collect';
import { AUDIT_FORMATS, renderAuditCsv, renderAuditHtml, renderAuditJson, type AuditFormat } from '../../ops/audit/render';

/** `dataops audit export`: the reviewers' report from the ledger and the Object Lock audit bucket. */
export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('compliance evidence of deployments: who approved what, which checks ran, where the evidence lives');
  const cmd = audit
    .command('export')
    .description('export every deployment in a window with its changes, approvals, checks and evidence location, from the ledger and the audit bucket')
    .requiredOption('--from <date>', 'start of the window: YYYY-MM-DD (UTC) or an ISO time')
    .requiredOption('--to <date>', 'end of the window, inclusive: YYYY-MM-DD (UTC) or an ISO time')
    .addOption(new Option('--format <format>', 'output format').choices([...AUDIT_FORMATS]).default('html'))
    .option('--out <file>', 'write to this file instead of standard output')
    .option('--no-pipeline-approvers', 'do not complete approvers missing from the ledger from CodePipeline (ListActionExecutions)');
  addLocationOptions(cmd, true)
    .option('--json', 'same as --format json')
    .action(async (opts: OpsCommandOptions & { from: string; to: string; format: AuditFormat; out?: string; pipelineApprovers: boolean }) => {
      const format: AuditFormat = opts.json ? 'json' : opts.format;
      const from = auditTime(opts.from, '--from', false);
      const to = auditTime(opts.to, '--to', true);
      const ctx = await contextFor(opts, true);
      const p = progress(!opts.out);
      p.step(`reading the ledger ${ctx.ledgerTable} from ${from} to ${to}`);
      const report = await collectAudit(
        {
          platform: ctx.config.name,
          ledger: ctx.ledger,
          ledgerTable: ctx.ledgerTable,
          s3: ctx.clients.s3,
          auditBucket: ctx.auditBucket,
          pipelines: ctx.pipelines,
          codepipeline: opts.pipelineApprovers ? ctx.clients.codepipeline : undefined,
        },
        from,
        to,
      );
      const text = format === 'json' ? renderAuditJson(report) : format === 'csv' ? renderAuditCsv(report) : renderAuditHtml(report);
      if (opts.out) {
        fs.writeFileSync(opts.out, text);
        p.step(`wrote ${report.deployments.length} deployments and ${report.rollbacks.length} rollback requests to ${opts.out}`);
        p.done();
      } else process.stdout.write(text);
    });
}
