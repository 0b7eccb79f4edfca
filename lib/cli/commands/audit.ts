import type { Command } from 'commander';
import { AUDIT_FORMATS } from '../../ops/audit/render';
import { addConfigOption, addLocationOptions, addOutputOptions, progress, UsageError, writeOutput, type CommonOptions } from '../options';

interface AuditOptions extends CommonOptions {
  readonly from: string;
  readonly to: string;
  readonly pipelineApprovers: boolean;
}

/** `dataops audit export`: the reviewers' report from the ledger and the Object Lock audit bucket. */
export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('compliance evidence of deployments: who approved what, which checks ran, where the evidence lives');
  const cmd = audit
    .command('export')
    .description('export every deployment in a window with its changes, approvals, checks and evidence location, from the ledger and the audit bucket')
    .requiredOption('--from <date>', 'start of the window: YYYY-MM-DD (UTC) or an ISO time')
    .requiredOption('--to <date>', 'end of the window, inclusive: YYYY-MM-DD (UTC) or an ISO time')
    .option('--no-pipeline-approvers', 'do not complete approvers missing from the ledger from CodePipeline (ListActionExecutions)');
  addOutputOptions(addLocationOptions(addConfigOption(cmd), true), AUDIT_FORMATS, 'html', 'the report').action(async (opts: AuditOptions) => {
    // arguments first: a wrong date or config is named before any AWS call
    const { auditTime } = require('../../ops/audit/collect') as typeof import('../../ops/audit/collect');
    const { loadPlatformConfig } = require('../../config/loader') as typeof import('../../config/loader');
    const from = auditTime(opts.from, '--from', false);
    const to = auditTime(opts.to, '--to', true);
    if (Date.parse(from) > Date.parse(to)) throw new UsageError(`--from ${from} is after --to ${to}; swap them`);
    const config = loadPlatformConfig(opts.config);
    const { opsContext } = require('../../ops/context') as typeof import('../../ops/context');
    const ctx = await opsContext(config, { ledgerTable: opts.ledgerTable, auditBucket: opts.auditBucket, needAuditBucket: true });
    const { collectAudit } = require('../../ops/audit/collect') as typeof import('../../ops/audit/collect');
    const { renderAuditCsv, renderAuditHtml, renderAuditJson } = require('../../ops/audit/render') as typeof import('../../ops/audit/render');
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
    writeOutput(opts.out, opts.format === 'json' ? renderAuditJson(report) : opts.format === 'csv' ? renderAuditCsv(report) : renderAuditHtml(report));
    if (opts.out) {
      p.step(`wrote ${report.deployments.length} deployments and ${report.rollbacks.length} rollback requests to ${opts.out}`);
      p.done();
    }
  });
}
