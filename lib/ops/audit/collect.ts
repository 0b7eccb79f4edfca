import { ListActionExecutionsCommand, type CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Ledger } from '../../runtime/ledger/ledger';
import type { LedgerEvent } from '../../runtime/ledger/model';
import { evidenceKey } from '../../runtime/recorder/logic';
import type { AuditApproval, AuditCheck, AuditDeployment, AuditReport, AuditRollback } from './model';

/** What collecting the report needs. */
export interface AuditSources {
  readonly platform: string;
  readonly ledger: Ledger;
  readonly ledgerTable: string;
  readonly s3: S3Client;
  readonly auditBucket: string | null;
  /** Repo → pipeline name. */
  readonly pipelines: Readonly<Record<string, string>>;
  /**
   * When given, approvals whose approver the ledger does not name are completed from CodePipeline's
   * action history (ListActionExecutions: updatedBy and the approval summary; kept 12 months).
   */
  readonly codepipeline?: CodePipelineClient;
  readonly now?: () => Date;
}

/** The --from / --to values cannot be used. */
export class AuditInputError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuditInputError';
  }
}

const ENDED = new Set(['SUCCEEDED', 'FAILED']);
const ENVS = new Set(['dev', 'staging', 'prod']);
const isApproval = (e: LedgerEvent) => e.kind === 'action-state' && e.action !== null && /approv/i.test(e.action);

/** Reads a --from/--to date (YYYY-MM-DD or ISO time); `end` makes a bare date inclusive of that day. */
export function auditTime(value: string, flag: string, end: boolean): string {
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const ms = Date.parse(dateOnly ? `${value}T00:00:00.000Z` : value);
  if (Number.isNaN(ms) || !/^\d{4}-\d{2}-\d{2}/.test(value)) {
    throw new AuditInputError(`${flag} '${value}' is not a date; use YYYY-MM-DD (UTC) or an ISO time such as 2026-03-01T00:00:00Z`);
  }
  return new Date(dateOnly && end ? ms + 86_400_000 - 1 : ms).toISOString();
}

function diffAssets(prev: Readonly<Record<string, string>> | null, next: Readonly<Record<string, string>>): { added: string[]; changed: string[]; removed: string[] } {
  const before = prev ?? {};
  return {
    added: Object.keys(next).filter((k) => !(k in before)).sort(),
    changed: Object.keys(next).filter((k) => k in before && before[k] !== next[k]).sort(),
    removed: Object.keys(before).filter((k) => !(k in next)).sort(),
  };
}

async function approversFromPipeline(client: CodePipelineClient, pipelineName: string, executionId: string): Promise<Map<string, { approver: string | null; summary: string | null; at: string | null }>> {
  const out = await client.send(new ListActionExecutionsCommand({ pipelineName, filter: { pipelineExecutionId: executionId } }));
  const found = new Map<string, { approver: string | null; summary: string | null; at: string | null }>();
  for (const d of out.actionExecutionDetails ?? []) {
    if (!d.stageName || !d.actionName) continue;
    found.set(`${d.stageName}/${d.actionName}`, {
      approver: d.updatedBy ?? null,
      summary: d.output?.executionResult?.externalExecutionSummary ?? null,
      at: d.lastUpdateTime ? d.lastUpdateTime.toISOString() : null,
    });
  }
  return found;
}

/**
 * Collects the report for [from, to]: every environment deployment whose stage ended in the window,
 * with what changed (against the env's previous successful release), who approved it, which checks
 * ran, and where the Recorder's evidence object is (verified in the audit bucket, with its lock).
 */
export async function collectAudit(src: AuditSources, from: string, to: string): Promise<AuditReport> {
  if (Date.parse(from) > Date.parse(to)) throw new AuditInputError(`--from ${from} is after --to ${to}; swap them`);
  const events = await src.ledger.eventsBetween(from, to);
  const byExecEnv = new Map<string, LedgerEvent[]>();
  for (const e of events) {
    if (!e.executionId) continue;
    const k = `${e.executionId}\u0000${e.env}`;
    byExecEnv.set(k, [...(byExecEnv.get(k) ?? []), e]);
  }

  const deployments: AuditDeployment[] = [];
  for (const end of events) {
    if (end.kind !== 'stage-state' || !ENVS.has(end.env) || !ENDED.has(end.state) || !end.executionId) continue;
    const own = byExecEnv.get(`${end.executionId}\u0000${end.env}`) ?? [];
    const exec = await src.ledger.getExecution(end.executionId, end.env);
    const promotion = own.find((e) => e.kind === 'promotion');
    const deployment = own.find((e) => e.kind === 'deployment');
    const started = own.find((e) => e.kind === 'stage-state' && e.state === 'STARTED');
    const version = end.version ?? exec?.version ?? null;

    // What changed: the release's assets against the env's previous successful release.
    let changes: AuditDeployment['changes'] = null;
    if (exec) {
      const earlier = (await src.ledger.successes(end.repo, end.env, 50)).find((s) => s.at < (started?.at ?? end.at) && s.executionId !== end.executionId);
      const prevExec = earlier ? await src.ledger.getExecution(earlier.executionId, end.env) : null;
      changes = { previousVersion: earlier?.version ?? null, ...diffAssets(prevExec?.assets ?? null, exec.assets) };
    }

    let approvals: AuditApproval[] = own.filter(isApproval).map((e) => ({
      action: `${e.kind === 'action-state' ? e.stage : ''}/${e.kind === 'action-state' ? e.action : ''}`,
      at: e.at,
      approver: e.actor !== 'codepipeline' ? e.actor : null,
      // The Recorder's record of the decision (approver ARN as actor, comment as summary) wins over CodePipeline's history.
      summary: e.kind === 'action-state' && e.summary !== undefined ? e.summary : e.actor !== 'codepipeline' && e.message ? e.message : null,
      result: e.result,
    }));
    const pipeline = src.pipelines[end.repo];
    if (src.codepipeline && pipeline && approvals.some((a) => a.approver === null)) {
      const found = await approversFromPipeline(src.codepipeline, pipeline, end.executionId);
      approvals = approvals.map((a) => {
        const hit = found.get(a.action);
        return a.approver === null && hit ? { ...a, approver: hit.approver, summary: hit.summary ?? a.summary } : a;
      });
    }

    const checks: AuditCheck[] = own
      .filter((e) => e.kind === 'verification' || e.kind === 'deploy-step')
      .map((e) =>
        e.kind === 'verification'
          ? { name: `verify${e.assetKind ? ` ${e.assetKind}` : ''}`, result: e.result, at: e.at, problems: e.problems }
          : { name: `deploy ${e.kind === 'deploy-step' ? `${e.assetKind} (${e.step})` : ''}`, result: e.result, at: e.at, problems: [] },
      );

    const key = evidenceKey(end.repo, end.env, end.executionId, end.state, end.at);
    let evidence: AuditDeployment['evidence'] = { uri: src.auditBucket ? `s3://${src.auditBucket}/${key}` : key, found: false, retainUntil: null, mode: null };
    if (src.auditBucket) {
      try {
        // HeadObject reports the object's lock mode and retain-until date with its existence.
        const r = await src.s3.send(new HeadObjectCommand({ Bucket: src.auditBucket, Key: key }));
        evidence = { ...evidence, found: true, retainUntil: r.ObjectLockRetainUntilDate?.toISOString() ?? null, mode: r.ObjectLockMode ?? null };
      } catch (e) {
        const name = (e as Error).name;
        if (name !== 'NoSuchKey' && name !== 'NotFound' && name !== 'NoSuchObjectLockConfiguration') {
          throw new AuditInputError(`cannot read the lock of evidence object s3://${src.auditBucket}/${key}: ${(e as Error).message}; check s3:GetObject and s3:GetObjectRetention on the audit bucket`, { cause: e });
        }
      }
    }

    deployments.push({
      repo: end.repo,
      env: end.env,
      executionId: end.executionId,
      version,
      result: end.state === 'SUCCEEDED' ? 'succeeded' : 'failed',
      startedAt: started?.at ?? null,
      finishedAt: end.at,
      isRollback: Boolean(exec?.isRollback || (deployment?.kind === 'deployment' && deployment.isRollback)),
      manifestSha256: exec?.manifestSha256 ?? (promotion?.kind === 'promotion' ? promotion.manifestSha256 : null),
      checksums: promotion?.kind === 'promotion' ? promotion.checksums : {},
      changes,
      approvals,
      checks,
      evidence,
    });
  }

  const rollbacks: AuditRollback[] = events.flatMap((e) =>
    e.kind === 'rollback'
      ? [{ repo: e.repo, env: e.env, at: e.at, requestedBy: e.requestedBy, reason: e.reason, result: e.dryRun ? 'dry run' : e.result, fromVersion: e.fromVersion, toVersion: e.toVersion, message: e.message }]
      : [],
  );
  return {
    platform: src.platform,
    from,
    to,
    generatedAt: (src.now ?? (() => new Date()))().toISOString(),
    ledgerTable: src.ledgerTable,
    auditBucket: src.auditBucket,
    deployments,
    rollbacks,
  };
}
