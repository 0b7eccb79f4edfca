import type { ReleaseManifest } from '../release/manifest';
import { listDagRuns, type DagRun } from '../mwaa/airflow-commands';
import type { AirflowCli } from '../mwaa/cli-client';

/** What the environment needs to answer for one probe. */
export interface ProbeDeps {
  /** The environment's Airflow (MWAA CLI), for releases with DAGs. */
  readonly airflow?: AirflowCli;
  /** The environment's Airflow version (the CLI of Airflow 3 differs). @default '2.10.3' */
  readonly airflowVersion?: string;
  /**
   * Runs the dbt tests of the models the release built in the environment, for releases with dbt
   * assets (`runReleaseTests`): each error finding is a failure. Without it, dbt is not probed.
   */
  readonly dbtTests?: () => Promise<{ readonly ran: boolean; readonly detail: string; readonly findings: ReadonlyArray<{ readonly severity: string; readonly asset: string; readonly message: string }> }>;
}

/** Options of one probe. */
export interface ProbeOptions {
  /** Run the dbt tests in this probe (they take a dbt start-up, so the bake runs them at its first and last probe). @default true */
  readonly dbt?: boolean;
  /** What the last dbt test run found, reported again when this probe does not run them. */
  readonly lastDbt?: ProbeResult;
}

/** One unhealthy thing the probe found. */
export interface ProbeFailure {
  readonly kind: 'airflow' | 'dbt';
  readonly asset: string;
  readonly detail: string;
}

/** The health of what a release deployed, since it was deployed. */
export interface ProbeResult {
  readonly failures: readonly ProbeFailure[];
  /** What was looked at (e.g. `airflow: 3 DAGs, 2 runs since 12:00:00Z`). */
  readonly checked: readonly string[];
  /** Kinds of the release that this probe cannot watch, with why. */
  readonly notProbed: readonly string[];
}

/** Raised when the probe cannot look at what it must: a bake that sees nothing must not read as healthy. */
export class ProbeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProbeError';
  }
}

/**
 * Probes what `release` deployed for failures since `since` (the deployment): runs of the release's
 * DAGs that failed, and (with `deps.dbtTests`) the tests of the dbt models it built that fail on the
 * data now. Completed runs are only read, never cleared or triggered again.
 * @throws ProbeError when the release has DAGs and the environment's Airflow cannot be asked
 */
export async function probeRelease(release: ReleaseManifest, since: Date, deps: ProbeDeps, opts: ProbeOptions = {}): Promise<ProbeResult> {
  const failures: ProbeFailure[] = [];
  const checked: string[] = [];
  const notProbed: string[] = [];
  if (release.dags.length > 0) {
    if (!deps.airflow) throw new ProbeError(`release ${release.version} has ${release.dags.length} DAGs and the bake has no Airflow to ask; give the Bake action the environment's MWAA`);
    let runs = 0;
    for (const dag of release.dags) {
      let listed: DagRun[];
      try {
        listed = await listDagRuns(deps.airflow, dag.dagId, deps.airflowVersion);
      } catch (e) {
        throw new ProbeError(`the runs of DAG ${dag.dagId} could not be read: ${(e as Error).message}`, { cause: e });
      }
      const recent = listed.filter((r) => r.startDate !== null && r.startDate.getTime() >= since.getTime());
      runs += recent.length;
      for (const r of recent.filter((x) => x.state === 'failed')) failures.push({ kind: 'airflow', asset: dag.dagId, detail: `run ${r.runId} failed (started ${r.startDate?.toISOString()})` });
    }
    checked.push(`airflow: ${release.dags.length} DAGs, ${runs} runs since ${since.toISOString()}`);
  }
  const kinds = new Set(release.assets.map((a) => a.kind));
  if (kinds.has('dbt') && !deps.dbtTests) notProbed.push("dbt: no dbt to run the release's tests with (the Verify gates ran them)");
  if (kinds.has('dbt') && deps.dbtTests) {
    if (opts.dbt === false && opts.lastDbt) {
      failures.push(...opts.lastDbt.failures.filter((f) => f.kind === 'dbt'));
      checked.push(...opts.lastDbt.checked.filter((c) => c.startsWith('dbt')).map((c) => `${c.replace(/ \(last run\)$/, '')} (last run)`));
    } else {
      let out;
      try {
        out = await deps.dbtTests();
      } catch (e) {
        throw new ProbeError(`the dbt tests of release ${release.version} could not be run: ${(e as Error).message}`, { cause: e });
      }
      for (const f of out.findings.filter((x) => x.severity === 'error')) failures.push({ kind: 'dbt', asset: f.asset, detail: f.message });
      checked.push(out.detail);
    }
  }
  if (kinds.has('spark') || release.sparkImages.length > 0) notProbed.push('spark: failed runs of the release\'s EMR jobs are not read by the bake yet');
  return { failures, checked, notProbed };
}
