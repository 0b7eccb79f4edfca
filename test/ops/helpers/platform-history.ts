import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { ASSET_KINDS } from '../../../lib/config/schema';
import { STAGE_NAME_BY_ENV } from '../../../lib/runtime/ledger/model';
import type { Ledger } from '../../../lib/runtime/ledger/ledger';
import { record, type RecorderDeps } from '../../../lib/runtime/recorder/recorder';
import { rollback, type RollbackResponse } from '../../../lib/runtime/rollback/rollback';
import { CodePipelineFake } from '../../helpers/codepipeline-fake';
import { createTestLedger, memoryLog, testClock } from '../../helpers/ledger';
import { motoClientConfig, uniqueName } from '../../helpers/moto';

type Env = 'dev' | 'staging' | 'prod';
const ENVS: Env[] = ['dev', 'staging', 'prod'];
const envelope = { version: '0', source: 'aws.codepipeline', account: '111111111111', region: 'us-east-1', resources: [] as string[] };
const minutes = (iso: string, m: number) => new Date(Date.parse(iso) + m * 60_000).toISOString();
const hex = (seed: string) => Buffer.from(seed.padEnd(32, '0')).toString('hex').slice(0, 64).padEnd(64, '0');

/** One release walked through the pipeline by {@link PlatformHistory.release}. */
export interface ReleaseRun {
  readonly repo: string;
  readonly version: string;
  /** The one pipeline execution that carries the release through dev, staging and prod. */
  readonly executionId: string;
  /** When the Prod stage ended. */
  readonly prodAt: string;
}

/**
 * A deployed platform's history, written the way the runtime writes it: the ledger through the
 * runtime's Ledger (promotion, deploy-step, deployment and verification records, as Promote and
 * `dataops deploy|verify` append them), stage and approval events through the runtime's Recorder
 * (which also moves CURRENT, frees locks and writes Object Lock evidence to the audit bucket), and
 * rollbacks through the runtime's Rollback handler against the CodePipeline fake.
 */
export class PlatformHistory {
  private constructor(
    readonly ledger: Ledger,
    readonly tableName: string,
    readonly clock: ReturnType<typeof testClock>,
    readonly fake: CodePipelineFake,
    readonly s3: S3Client,
    readonly auditBucket: string,
    readonly pipelines: Record<string, string>,
    readonly recorderDeps: RecorderDeps,
  ) {}

  /** Creates the ledger table, the audit bucket (Object Lock) and one fake pipeline per repo. `fake` must be started. */
  static async create(fake: CodePipelineFake, repos: readonly string[], platform = 'northstar'): Promise<PlatformHistory> {
    const clock = testClock('2026-01-01T00:00:00.000Z');
    const { ledger, tableName } = await createTestLedger({ now: clock.now });
    const s3 = new S3Client(motoClientConfig());
    const auditBucket = uniqueName('audit');
    await s3.send(new CreateBucketCommand({ Bucket: auditBucket, ObjectLockEnabledForBucket: true }));
    const pipelines: Record<string, string> = {};
    for (const repo of repos) {
      pipelines[repo] = `${platform}-${repo}`;
      if (!fake.pipelines.has(pipelines[repo])) fake.addPipeline(pipelines[repo], ['Source', 'Validate', 'Package', 'Dev', 'Staging', 'Prod']);
    }
    const deps: RecorderDeps = {
      codepipeline: fake.client(),
      s3,
      eventbridge: new EventBridgeClient(motoClientConfig()),
      ledger,
      pipelines,
      auditBucket,
      eventBusName: 'default',
      retentionDays: 2190,
      log: memoryLog(),
    };
    return new PlatformHistory(ledger, tableName, clock, fake, s3, auditBucket, pipelines, deps);
  }

  private async stage(repo: string, executionId: string, env: Env, state: 'SUCCEEDED' | 'FAILED' | 'STARTED', at: string): Promise<void> {
    await record(
      {
        ...envelope,
        id: uniqueName('ev'),
        time: at,
        'detail-type': 'CodePipeline Stage Execution State Change',
        detail: { pipeline: this.pipelines[repo], version: 1, 'execution-id': executionId, stage: STAGE_NAME_BY_ENV[env], state },
      },
      this.recorderDeps,
    );
  }

  /** Who approves each gated environment in this history (as CodePipeline reports them). */
  static approverOf(env: Env): string {
    return env === 'prod' ? 'arn:aws:sts::111111111111:assumed-role/data-platform-owners/alice' : 'arn:aws:sts::111111111111:assumed-role/data-engineering-leads/bob';
  }

  private async approval(repo: string, executionId: string, env: Env, at: string, version: string): Promise<void> {
    this.fake.setApproval(this.pipelines[repo], executionId, STAGE_NAME_BY_ENV[env], 'Approve', {
      status: 'Succeeded',
      updatedBy: PlatformHistory.approverOf(env),
      summary: `reviewed the ${version} manifest diff and dbt contract diff`,
      at: new Date(at),
    });
    await record(
      {
        ...envelope,
        id: uniqueName('ap'),
        time: at,
        'detail-type': 'CodePipeline Action Execution State Change',
        detail: {
          pipeline: this.pipelines[repo],
          version: 1,
          'execution-id': executionId,
          stage: STAGE_NAME_BY_ENV[env],
          action: 'Approve',
          state: 'SUCCEEDED',
          type: { owner: 'AWS', category: 'Approval', provider: 'Manual', version: '1' },
        },
      },
      this.recorderDeps,
    );
  }

  /** Deploys into one env within an execution: promotion, deploy steps, verification, then the stage end. */
  private async deployEnv(repo: string, version: string, executionId: string, env: Env, start: string, outcome: 'succeeded' | 'failed', isRollback: boolean, commitAt?: string): Promise<string> {
    this.clock.set(start);
    const manifestSha256 = hex(`${repo}${version}`);
    const assets = { [`dags/${repo}.py`]: hex(`${version}dag`), [`models/${repo}.sql`]: hex(`${version}sql`) };
    const base = { repo, env, actor: 'codepipeline', version, executionId } as const;
    if (env !== 'dev' && !isRollback) await this.approval(repo, executionId, env, minutes(start, -1), version);
    await this.stage(repo, executionId, env, 'STARTED', start);
    await this.ledger.putExecution({ executionId, repo, env, version, manifestSha256, isRollback, assets });
    await this.ledger.appendEvent({ ...base, kind: 'promotion', at: minutes(start, 1), result: 'succeeded', message: `promoted ${version} to ${env}`, manifestSha256, checksums: { 'release.json': manifestSha256 }, previousEnv: env === 'dev' ? null : ENVS[ENVS.indexOf(env) - 1], jobId: uniqueName('job') });
    await this.ledger.appendEvent({ ...base, kind: 'deploy-step', at: minutes(start, 2), result: 'succeeded', message: `airflow: 1 upload`, assetKind: ASSET_KINDS[0], step: isRollback ? 'restore' : 'apply', writes: 1, previous: {}, summary: 'uploaded 1, deleted 0' });
    await this.ledger.appendEvent({ ...base, kind: 'deployment', at: minutes(start, 3), result: 'succeeded', message: `deployed ${version}`, manifestSha256, writes: 2, isRollback, ...(commitAt ? { commitAt } : {}) });
    const problems = outcome === 'failed' ? ['dbt test not_null_claims_id failed'] : [];
    await this.ledger.appendEvent({ ...base, kind: 'verification', at: minutes(start, 4), result: outcome === 'failed' ? 'failed' : 'succeeded', message: problems.length ? 'verification failed' : 'all checks passed', assetKind: null, problems });
    const end = minutes(start, 5);
    this.fake.setStage(this.pipelines[repo], executionId, STAGE_NAME_BY_ENV[env], outcome === 'succeeded' ? 'Succeeded' : 'Failed', env === 'prod' || outcome === 'failed' ? (outcome === 'succeeded' ? 'Succeeded' : 'Failed') : undefined);
    await this.stage(repo, executionId, env, outcome === 'succeeded' ? 'SUCCEEDED' : 'FAILED', end);
    return end;
  }

  /**
   * Walks one release through dev, staging and prod in one pipeline execution: the Prod stage ends at
   * `prodAt` with `prodOutcome` (dev and staging succeed before it). `until` stops the walk earlier.
   * `commitAt` is written on the deployment records as `dataops deploy` does; without it the records
   * look like those written before the field existed.
   */
  async release(o: { repo: string; version: string; prodAt: string; prodOutcome?: 'succeeded' | 'failed'; until?: Env; commitAt?: string }): Promise<ReleaseRun> {
    const executionId = this.fake.startExecution(this.pipelines[o.repo], new Date(minutes(o.prodAt, -60)));
    const last = ENVS.indexOf(o.until ?? 'prod');
    let prodAt = o.prodAt;
    for (const [i, env] of ENVS.entries()) {
      if (i > last) break;
      const start = minutes(o.prodAt, -5 - (2 - i) * 20);
      const end = await this.deployEnv(o.repo, o.version, executionId, env, start, env === 'prod' ? (o.prodOutcome ?? 'succeeded') : 'succeeded', false, o.commitAt);
      if (env === 'prod') prodAt = end;
    }
    return { repo: o.repo, version: o.version, executionId, prodAt };
  }

  /**
   * Rolls an env back through the runtime's Rollback handler at `at`, then (unless `finish` is false)
   * lets the rollback execution redeploy and succeed five minutes later.
   */
  async rollback(o: { repo: string; env?: Env; at: string; reason?: string; requestedBy?: string; toVersion?: string; finish?: boolean }): Promise<RollbackResponse> {
    const env = o.env ?? 'prod';
    this.clock.set(o.at);
    const out = await rollback(
      { repo: o.repo, env, reason: o.reason ?? 'bake alarm fired', requestedBy: o.requestedBy ?? 'arn:aws:iam::111111111111:user/oncall', toVersion: o.toVersion },
      { codepipeline: this.fake.client(), ledger: this.ledger, pipelines: this.pipelines, log: memoryLog(), now: this.clock.now },
    );
    if (out.status === 'started' && o.finish !== false && out.rollbackExecutionId && out.toVersion) {
      await this.deployEnv(o.repo, out.toVersion, out.rollbackExecutionId, env, minutes(o.at, 1), 'succeeded', true);
    }
    return out;
  }
}
