import * as fs from 'fs';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { ENVIRONMENT_NAMES, type EnvironmentName } from '../../lib/config/schema';
import { listDagRuns } from '../../lib/runtime/mwaa/airflow-commands';
import { MwaaCliClient } from '../../lib/runtime/mwaa/cli-client';
import { Rehearsal, type ExecutionOptions, type ExecutionResult } from '../../tools/rehearsal/rehearse';
import { CodePipelineFake } from './codepipeline-fake';
import { motoTargetOf, rehearsalConfig, startMwaaEnvironments, synthRehearsalAssembly, type MwaaEnvironments } from './rehearsal';
import { startMoto, type LocalServer } from './servers';
import { SampleRepo } from '../e2e/helpers';

/** A rehearsal platform: the synthesized assembly, its own moto with IAM enforcement, the CodePipeline and MWAA stand-ins. */
export interface RehearsalPlatform {
  readonly assembly: string;
  readonly codepipeline: CodePipelineFake;
  readonly mwaa: MwaaEnvironments;
  readonly aws: Awaited<ReturnType<typeof Rehearsal.enforceIam>>;
  readonly lines: string[];
  /** Prepares the rehearsal of one repo of config/rehearsal.yaml. */
  rehearsal(repo: string): Promise<Rehearsal>;
  stop(): Promise<void>;
}

/** Options of {@link startRehearsalPlatform}. */
export interface RehearsalPlatformOptions {
  /** Endpoints of further stand-ins (a suite's own servers) every build and function gets, e.g. TFC_ADDRESS. @default none */
  readonly endpoints?: Readonly<Record<string, string>>;
}

/** Synthesizes config/rehearsal.yaml with the real cdk synth and starts every stand-in the rehearsal needs. */
export async function startRehearsalPlatform(options: RehearsalPlatformOptions = {}): Promise<RehearsalPlatform> {
  const config = rehearsalConfig();
  const assembly = synthRehearsalAssembly();
  const moto: LocalServer = await startMoto();
  const aws = await Rehearsal.enforceIam(assembly, motoTargetOf(moto));
  const codepipeline = new CodePipelineFake();
  await codepipeline.start();
  const mwaa = await startMwaaEnvironments(aws, config);
  const lines: string[] = [];
  const prepared: Rehearsal[] = [];
  return {
    assembly,
    codepipeline,
    mwaa,
    aws,
    lines,
    rehearsal: async (repo) => {
      const r = await Rehearsal.prepare({ assemblyDir: assembly, repo, aws, enforceIam: true, codepipeline, endpoints: { ...options.endpoints, AWS_ENDPOINT_URL_MWAA: mwaa.endpoint }, log: (l) => {
        lines.push(l);
        if (process.env.DATAOPS_REHEARSAL_LOG) fs.appendFileSync(process.env.DATAOPS_REHEARSAL_LOG, `${l}\n`);
      } });
      prepared.push(r);
      return r;
    },
    stop: async () => {
      for (const r of prepared) r.close();
      await mwaa.stop();
      await codepipeline.stop();
      await moto.stop();
      fs.rmSync(assembly, { recursive: true, force: true });
    },
  };
}

/** The DAG file the Airflow scenario changes from release to release. */
export const HEARTBEAT = 'dags/heartbeat.py';

/** A heartbeat DAG whose one task runs `command` (retried once, a second later). */
export const heartbeatDag = (command: string, tag: string): string => `"""Says the clinic DAGs are alive; run on demand."""

from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator

from clinic_dags.common.defaults import default_args

with DAG(
    dag_id="heartbeat",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    default_args={**default_args(owner="clinic-data-eng", retries=1), "retry_delay": timedelta(seconds=1)},
    tags=["${tag}"],
) as dag:
    BashOperator(task_id="beat", bash_command="${command}")
`;

/** What a repo's scenario ran (each release's execution) and what was live in each environment after each release. */
export interface Scenario<Release extends string, Live> {
  readonly sample: SampleRepo;
  readonly runs: Readonly<Record<Release, ExecutionResult>>;
  readonly live: Readonly<Record<Release, Readonly<Record<EnvironmentName, Live>>>>;
  readonly durationMs: number;
}

/** What the Airflow scenario ran and what was live after each release: the heartbeat DAG file in each environment (undefined: not there). */
export interface AirflowScenario extends Scenario<'first' | 'change' | 'rejected' | 'badBake', string | undefined> {
  /** Runs of the heartbeat DAG in prod before the failing release and after its rollback. */
  readonly prodRuns: { readonly beforeBadBake: ReadonlyArray<{ runId: string; state: string }>; readonly after: ReadonlyArray<{ runId: string; state: string }> };
}

/** An MWAA CLI client of an environment of the platform. */
export function mwaaCli(platform: RehearsalPlatform, env: EnvironmentName): MwaaCliClient {
  return new MwaaCliClient({ mwaa: platform.mwaa.fakes[env].mwaaClient(), environmentName: rehearsalConfig().environments[env].mwaa.environmentName, scheme: 'http' });
}

/**
 * The clinic-dags (examples/airflow-dags) scenario of issue 10: a first release, a one-file change (a
 * new DAG, which the prod scheduler runs during the bake), a release rejected at the staging approval,
 * and a release whose DAG fails when the prod scheduler runs it during the bake (rolled back).
 */
export async function airflowScenario(platform: RehearsalPlatform): Promise<AirflowScenario> {
  const started = Date.now();
  const config = rehearsalConfig();
  const rehearsal = await platform.rehearsal('clinic-dags');
  const sample = new SampleRepo('airflow-dags');
  const liveFile = async (env: EnvironmentName): Promise<string | undefined> => {
    const s3 = await platform.mwaa.s3(env);
    return s3
      .send(new GetObjectCommand({ Bucket: config.environments[env].mwaa.dagBucket, Key: `dags/clinic_dags/${HEARTBEAT.replace(/^dags\//, '')}` }))
      .then((o) => o.Body!.transformToString())
      .catch(() => undefined);
  };
  const snapshot = async (): Promise<Record<EnvironmentName, string | undefined>> => {
    const out = {} as Record<EnvironmentName, string | undefined>;
    for (const env of ENVIRONMENT_NAMES) out[env] = await liveFile(env);
    return out;
  };
  /** The prod scheduler running the heartbeat DAG once while the prod Bake probes (real Airflow). */
  const prodSchedulerRuns: ExecutionOptions['whileRunning'] = (stage, action, type) =>
    stage === 'Prod' && action === 'Bake' && type === 'STANDARD' ? new Promise((r) => setTimeout(r, 5_000)).then(() => platform.mwaa.airflow.prod.exec(['dags', 'test', 'heartbeat'])).then(() => undefined) : undefined;
  const prodHeartbeatRuns = async () => (await listDagRuns(mwaaCli(platform, 'prod'), 'heartbeat')).map((r) => ({ runId: r.runId, state: r.state }));

  const first = await rehearsal.run({ sourceDir: sample.dir });
  const afterFirst = await snapshot();
  sample.change(HEARTBEAT, () => heartbeatDag('echo beat', 'v1'));
  const change = await rehearsal.run({ sourceDir: sample.dir, whileRunning: prodSchedulerRuns });
  const afterChange = await snapshot();
  sample.change(HEARTBEAT, () => heartbeatDag('echo beat', 'v2'));
  const rejected = await rehearsal.run({ sourceDir: sample.dir, approve: (r) => ({ approver: 'arn:aws:iam::111111111111:user/lead', approve: r.stage !== 'Staging', summary: 'not this week' }) });
  const afterRejected = await snapshot();
  const beforeBadBake = await prodHeartbeatRuns();
  sample.change(HEARTBEAT, () => heartbeatDag('exit 1', 'v3'));
  const badBake = await rehearsal.run({ sourceDir: sample.dir, whileRunning: prodSchedulerRuns });
  const afterBadBake = await snapshot();
  return {
    sample,
    runs: { first, change, rejected, badBake },
    live: { first: afterFirst, change: afterChange, rejected: afterRejected, badBake: afterBadBake },
    prodRuns: { beforeBadBake, after: await prodHeartbeatRuns() },
    durationMs: Date.now() - started,
  };
}

/**
 * Of the scenario's failed releases, how many ended with the previous release live where they failed
 * and no completed run re-run: the rejected one (staging and prod keep the change), and the one that
 * failed its bake (prod back on the change, the earlier successful run still the only success, and
 * no run triggered or cleared by the platform).
 */
export function rollbacksOk(s: AirflowScenario, prodCommands: readonly string[]): { ok: number; failed: number } {
  const noRerun =
    s.prodRuns.after.filter((r) => r.state === 'success').length === s.prodRuns.beforeBadBake.filter((r) => r.state === 'success').length &&
    !prodCommands.some((c) => /^(dags trigger|tasks clear|dags backfill|tasks run)/.test(c));
  const rejectedOk = s.runs.rejected.status === 'Failed' && s.live.rejected.staging === s.live.change.staging && s.live.rejected.prod === s.live.change.prod;
  const bakeOk = s.runs.badBake.status === 'Failed' && s.runs.badBake.rollback?.status === 'Succeeded' && s.live.badBake.prod === s.live.change.prod && noRerun;
  return { ok: Number(rejectedOk) + Number(bakeOk), failed: 2 };
}
