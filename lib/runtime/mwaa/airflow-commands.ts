import { z } from 'zod';
import { MwaaCliError, type AirflowCli, type CliOutput } from './cli-client';

/** A DAG as `airflow dags list -o json` reports it. */
export interface ListedDag {
  readonly dagId: string;
  /** Absolute path of the DAG file on the Airflow workers. */
  readonly fileloc: string;
  readonly paused: boolean;
}

/** A DAG with the time the scheduler last parsed its file, as `airflow dags list --columns …` reports it. */
export interface DagParse extends ListedDag {
  /**
   * When the scheduler last parsed the DAG's file successfully (DagModel.last_parsed_time); null
   * when the metadata database has no row for the DAG yet (the CLI host parsed a file the
   * scheduler has not).
   */
  readonly lastParsedTime: Date | null;
}

/** A file the environment could not import, as `airflow dags list-import-errors -o json` reports it. */
export interface ImportError {
  readonly filepath: string;
  readonly error: string;
}

// null: the CLI parsed a DAG the metadata database has no row for yet; it is created paused (MWAA sets dags_are_paused_at_creation).
const pausedValue = z.union([z.boolean(), z.string(), z.null()]).transform((v) => v === null || v === true || String(v).toLowerCase() === 'true');
const DagListSchema = z.array(z.object({ dag_id: z.string(), fileloc: z.string(), is_paused: pausedValue }).loose());
const parsedTime = z.union([z.string(), z.null()]).transform((v, ctx) => {
  if (v === null) return null;
  const t = new Date(v);
  if (Number.isNaN(t.getTime())) {
    ctx.addIssue({ code: 'custom', message: `last_parsed_time '${v}' is not an ISO time` });
    return z.NEVER;
  }
  return t;
});
const DagParseSchema = z.array(z.object({ dag_id: z.string(), fileloc: z.string(), is_paused: pausedValue, last_parsed_time: parsedTime }).loose());
const ImportErrorsSchema = z.array(z.object({ filepath: z.string(), error: z.string() }).loose());

/** Extracts the JSON document from CLI output (the CLI may print warnings before it). */
function jsonOf(command: string, out: CliOutput): unknown {
  const text = out.stdout.trim();
  const start = text.search(/[[{]/);
  if (start < 0) {
    if (text === '' && /no data found/i.test(out.stderr + out.stdout)) return [];
    throw new MwaaCliError(`airflow ${command} printed no JSON; stdout: ${text.slice(0, 300) || '(empty)'}; stderr: ${out.stderr.slice(-500) || '(empty)'}`);
  }
  try {
    return JSON.parse(text.slice(start));
  } catch (cause) {
    throw new MwaaCliError(`airflow ${command} printed output that is not JSON: ${text.slice(0, 300)}`, { cause });
  }
}

/** `airflow dags list -o json`: every DAG the environment knows, with its file and paused state. */
export async function listDags(cli: AirflowCli): Promise<ListedDag[]> {
  const command = 'dags list -o json';
  const out = await cli.run(command);
  if (out.stdout.trim() === '' || /^no data found/i.test(out.stdout.trim())) return [];
  return DagListSchema.parse(jsonOf(command, out)).map((d) => ({ dagId: d.dag_id, fileloc: d.fileloc, paused: d.is_paused }));
}

/** Columns {@link listDagParses} asks for (`airflow dags list --columns`, Airflow 2.x). */
export const DAG_PARSE_COLUMNS = ['dag_id', 'fileloc', 'is_paused', 'last_parsed_time'] as const;

/**
 * `airflow dags list -o json --columns dag_id,fileloc,is_paused,last_parsed_time`. In Airflow 2.10
 * the CLI parses its own copy of the DAG folder to find the DAGs and reads fileloc, is_paused and
 * last_parsed_time from the metadata database (what the scheduler recorded).
 */
export async function listDagParses(cli: AirflowCli): Promise<DagParse[]> {
  const command = `dags list -o json --columns ${DAG_PARSE_COLUMNS.join(',')}`;
  const out = await cli.run(command);
  if (out.stdout.trim() === '' || /^no data found/i.test(out.stdout.trim())) return [];
  const parsed = DagParseSchema.safeParse(jsonOf(command, out));
  if (!parsed.success) {
    throw new MwaaCliError(`airflow ${command} answered rows without ${parsed.error.issues.map((i) => i.path.slice(1).join('.') || i.message).join(', ')}; the environment's Airflow must support dags list --columns (Airflow 2.x)`);
  }
  return parsed.data.map((d) => ({ dagId: d.dag_id, fileloc: d.fileloc, paused: d.is_paused, lastParsedTime: d.last_parsed_time }));
}

/**
 * `airflow dags list-import-errors -o json`. In Airflow 2.10 the CLI parses its own copy of the DAG
 * folder and reports file and traceback only, with no time (the scheduler's import_error table has
 * one, the CLI does not show it).
 */
export async function listImportErrors(cli: AirflowCli): Promise<ImportError[]> {
  const command = 'dags list-import-errors -o json';
  const out = await cli.run(command);
  if (out.stdout.trim() === '' || /^no data found/i.test(out.stdout.trim())) return [];
  return ImportErrorsSchema.parse(jsonOf(command, out)).map((e) => ({ filepath: e.filepath, error: e.error }));
}

const DAG_ID = /^[A-Za-z0-9_.-]+$/;

const PauseReplySchema = z.array(z.object({ dag_id: z.string(), is_paused: pausedValue }).loose());

/**
 * `airflow dags pause|unpause DAG_ID -o json`. Airflow prints the DAGs it changed, or
 * "No paused DAGs were found" / "No unpaused DAGs were found" when the DAG already was in that
 * state; anything else fails naming the command and its output.
 * @returns whether the CLI changed the DAG's state
 */
export async function setPaused(cli: AirflowCli, dagId: string, paused: boolean): Promise<boolean> {
  if (!DAG_ID.test(dagId)) throw new MwaaCliError(`dag id '${dagId}' has characters a DAG id may not have; DAG ids are letters, digits, _ . -`);
  const command = `dags ${paused ? 'pause' : 'unpause'} ${dagId} -o json`;
  const out = await cli.run(command);
  if (new RegExp(`No ${paused ? 'un' : ''}paused DAGs were found`).test(out.stdout)) return false;
  const changed = out.stdout.trim() === '' ? [] : PauseReplySchema.safeParse(safeJson(out.stdout));
  if (Array.isArray(changed) || !changed.success || !changed.data.some((d) => d.dag_id === dagId && d.is_paused === paused)) {
    throw new MwaaCliError(`airflow ${command} did not confirm the DAG is ${paused ? 'paused' : 'unpaused'}; stdout: ${out.stdout.slice(0, 300) || '(empty)'}; stderr: ${out.stderr.slice(-500) || '(empty)'}`);
  }
  return true;
}

function safeJson(text: string): unknown {
  const start = text.search(/[[{]/);
  try {
    return start < 0 ? undefined : JSON.parse(text.slice(start));
  } catch {
    return undefined;
  }
}

/** A DAG run as `airflow dags list-runs -d DAG_ID -o json` reports it. */
export interface DagRun {
  readonly dagId: string;
  readonly runId: string;
  readonly state: string;
  /** When the run started; null for a run not started yet. */
  readonly startDate: Date | null;
}

const optionalTime = z.union([z.string(), z.null()]).optional().transform((v) => (v ? new Date(v) : null));
const DagRunsSchema = z.array(z.object({ dag_id: z.string(), run_id: z.string(), state: z.string(), start_date: optionalTime }).loose());

/**
 * `airflow dags list-runs -d DAG_ID -o json` (Airflow 2.x; Airflow 3 takes the DAG id as a positional
 * argument): every run of the DAG the metadata database holds, with its state and start time.
 */
export async function listDagRuns(cli: AirflowCli, dagId: string, airflowVersion = '2'): Promise<DagRun[]> {
  if (!DAG_ID.test(dagId)) throw new MwaaCliError(`dag id '${dagId}' has characters a DAG id may not have; DAG ids are letters, digits, _ . -`);
  const command = airflowVersion.startsWith('3') ? `dags list-runs ${dagId} -o json` : `dags list-runs -d ${dagId} -o json`;
  const out = await cli.run(command);
  if (out.stdout.trim() === '' || /^no data found/i.test(out.stdout.trim())) return [];
  const parsed = DagRunsSchema.safeParse(jsonOf(command, out));
  if (!parsed.success) throw new MwaaCliError(`airflow ${command} answered rows without ${parsed.error.issues.map((i) => i.path.slice(1).join('.') || i.message).join(', ')}`);
  return parsed.data.map((r) => ({ dagId: r.dag_id, runId: r.run_id, state: r.state, startDate: r.start_date }));
}
