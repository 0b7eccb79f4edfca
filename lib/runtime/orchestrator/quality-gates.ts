import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { z } from 'zod';
import type { EnvironmentName } from '../../config/schema';
import type { Finding } from '../../checks/findings';
import { hasBlocking } from '../../checks/findings';
import { evaluateGates, SourcesJsonSchema, testedModels, type QualityGates, type RowCounts, type SourcesJson } from '../../checks/gates/gates';
import { RunResultsSchema, type RunResults } from '../../checks/validate/checks/dbt-results';
import { Toolchain } from '../../checks/validate/toolchain';
import type { DeployContext } from '../deployers/contract';
import { DbtSnowflakeDeployer } from '../deployers/dbt-snowflake-deployer';
import { extractDbtProject } from '../deployers/release-files';
import { recordedPrevious } from '../deployers/step';
import type { Ledger } from '../ledger/ledger';
import { DbtProfileError, dbtProjectProfile, DEFAULT_DBT_SCHEMA, schemaMismatches, snowflakeDbtAuth, suggestedSchema, writeSnowflakeDbtProfile } from '../snowflake/dbt-profile';
import type { TableRef } from '../snowflake/statements';

/** Moved to lib/runtime/snowflake/dbt-env.ts, shared with the CI database of validation builds. */
export { snowflakeDbtEnv } from '../snowflake/dbt-env';

/** The environments whose Verify runs the data-quality gates; dev only deploys and checks the deployment. */
export const GATED_ENVIRONMENTS: readonly EnvironmentName[] = ['staging', 'prod'];

/** The three gates, in the order they run and are reported. */
export const GATE_NAMES = ['dbt-tests', 'source-freshness', 'row-counts'] as const;
export type GateName = (typeof GATE_NAMES)[number];

/** Counts the rows of a live table now, the way the dbt deployer counted them before its swap. */
export interface RowCounter {
  /** ROW_COUNT of the table; null when it does not exist. */
  rowCount(table: TableRef): Promise<number | null>;
}

/** One gate's part of the outcome. */
export interface GateRun {
  readonly gate: GateName;
  readonly status: 'passed' | 'failed' | 'not-run';
  /** What it checked, or why it did not run. */
  readonly detail: string;
  readonly findings: readonly Finding[];
  readonly durationMs: number;
}

/** What the gate step of a Verify found. */
export interface QualityGateOutcome {
  /** `not-run` in dev and for releases without dbt assets. */
  readonly status: 'passed' | 'failed' | 'not-run';
  /** The environment's thresholds (`environments.<env>.qualityGates`). */
  readonly thresholds: QualityGates;
  readonly gates: readonly GateRun[];
  /** Every finding of every gate (errors fail the Verify). */
  readonly findings: readonly Finding[];
  /** One line for the build log and the ledger. */
  readonly summary: string;
  /** The row counts the row-count gate compared, by model unique id. */
  readonly rowCounts: RowCounts;
}

/** How the gate step runs dbt and counts rows. */
export interface QualityGateOptions {
  /** The release's dbt profile output for the environment. @default - the environment's name (staging, prod) */
  readonly dbtTarget?: string;
  /**
   * Folder holding the profiles.yml with that output (releases never carry one).
   * @default - $DBT_PROFILES_DIR; when that is unset too, the step writes a Snowflake profile from the environment's configuration ({@link writeSnowflakeDbtProfile})
   */
  readonly profilesDir?: string;
  /** Extra environment of the dbt processes: the warehouse connection ({@link snowflakeDbtEnv}). @default - none */
  readonly dbtEnv?: Readonly<Record<string, string | undefined>>;
  /** Where dbt comes from. @default - the toolchain venvs (.venv/dbt) or PATH */
  readonly toolchain?: Toolchain;
  /** Counts rows after the deploy; without it the row-count gate does not run. @default - none */
  readonly rowCounter?: RowCounter;
  /** The Verify is of a rollback redeploy (the row-count gate does not run). @default false */
  readonly isRollback?: boolean;
  /** A dbt process taking longer fails its gate. @default 900000 (15 minutes) */
  readonly timeoutMs?: number;
}

/** What the gate step needs from the orchestrator. */
export interface QualityGateDeps {
  readonly ledger: Ledger;
  readonly executionId: string;
  readonly log: (line: string) => void;
}

/** The row counter of a run's dbt deployer (the dbt/Snowflake deployer counts the way it recorded). */
export function rowCounterOf(deployer: unknown): RowCounter | undefined {
  return deployer instanceof DbtSnowflakeDeployer ? deployer : undefined;
}

/** The models the release's dbt deploy built (its `DbtPrevious.built`), as read back from the ledger. */
const RecordedBuiltSchema = z.object({ built: z.array(z.object({ uniqueId: z.string(), selector: z.string().min(1) }).loose()) });

/**
 * The `fqn:` selectors of the models the release's dbt deploy built in this environment, whose tests
 * the dbt-tests gate runs; undefined when the deploy recorded none (an older deploy, or a deployer
 * without dbt builds): then every test runs.
 */
export async function builtModelsOfDeploy(ctx: DeployContext, deps: QualityGateDeps): Promise<Array<{ uniqueId: string; selector: string }> | undefined> {
  const parsed = RecordedBuiltSchema.safeParse(await recordedPrevious(deps.ledger, ctx, deps.executionId, 'dbt'));
  return parsed.success ? parsed.data.built : undefined;
}

/** The tables the dbt deployer recorded before its swap (its `DbtPrevious`, as read back from the ledger). */
const RecordedTablesSchema = z.object({
  tables: z.array(
    z.object({
      uniqueId: z.string(),
      table: z.object({ database: z.string(), schema: z.string(), name: z.string() }),
      before: z.object({ rowCount: z.number().nullable() }).loose(),
    }).loose(),
  ),
});

const notRun = (gate: GateName, detail: string): GateRun => ({ gate, status: 'not-run', detail, findings: [], durationMs: 0 });
const lastLine = (s: string) => s.trim().split('\n').filter((l) => l.trim()).slice(-1)[0]?.replace(/\x1b\[[0-9;]*m/g, '').trim() ?? '';

/**
 * The row counts of the tables the release's dbt deploy swapped: before as the dbt deployer recorded
 * them in the ledger (ROW_COUNT just before the swap), after counted now by `counter`.
 */
export async function rowCountsOfDeploy(ctx: DeployContext, deps: QualityGateDeps, counter: RowCounter): Promise<{ rowCounts: RowCounts; findings: Finding[]; recorded: boolean }> {
  const previous = await recordedPrevious(deps.ledger, ctx, deps.executionId, 'dbt');
  const parsed = RecordedTablesSchema.safeParse(previous);
  if (previous === null || !parsed.success) return { rowCounts: { models: {} }, findings: [], recorded: false };
  const models: Record<string, { before: number; after: number }> = {};
  const findings: Finding[] = [];
  for (const t of parsed.data.tables) {
    if (t.before.rowCount === null) continue;
    const after = await counter.rowCount(t.table);
    const name = `${t.table.database}.${t.table.schema}.${t.table.name}`.toUpperCase();
    if (after === null) {
      findings.push({ code: 'GATE_ROW_COUNT_ERROR', severity: 'error', asset: `dbt:${t.uniqueId}`, message: `${t.uniqueId.split('.').slice(-1)[0]}: table ${name} had ${t.before.rowCount} rows before the deploy and does not exist now; the row-count gate cannot compare it` });
      continue;
    }
    models[t.uniqueId] = { before: t.before.rowCount, after };
  }
  return { rowCounts: { models }, findings, recorded: true };
}

interface DbtRun {
  readonly code: number;
  readonly output: string;
}

/**
 * Runs the release's dbt tests and source freshness against the environment's target and returns
 * what dbt wrote (run_results.json, sources.json, the manifest of the run); a run that wrote nothing
 * is a GATE_DBT_ERROR naming the target and dbt's last line.
 */
type DbtOutcome =
  | { readonly ok: false; readonly error: Finding }
  | {
      readonly ok: true;
      readonly runResults?: RunResults;
      readonly sources?: SourcesJson;
      readonly testModels: Record<string, string>;
      readonly testError?: Finding;
      readonly freshnessError?: Finding;
      /** The run placed models in other schemas than the release's manifest: the gates tested other tables. */
      readonly schemaError?: Finding;
    };

async function runDbt(ctx: DeployContext, opts: QualityGateOptions, work: string, log: (l: string) => void, tests: { readonly select?: readonly string[] } | null, freshness = true): Promise<DbtOutcome> {
  const target = opts.dbtTarget ?? ctx.env;
  // An empty DBT_PROFILES_DIR (the buildspec's default) counts as unset.
  const givenDir = opts.profilesDir || process.env.DBT_PROFILES_DIR || undefined;
  const dbtError = (message: string): Finding => ({ code: 'GATE_DBT_ERROR', severity: 'error', asset: 'dbt:project', message });
  if (givenDir && !fs.existsSync(path.join(givenDir, 'profiles.yml'))) {
    return {
      ok: false,
      error: dbtError(
        `no profiles.yml in ${givenDir}; releases carry no profiles.yml, so the Verify action needs one with an output '${target}' for ${ctx.env}: set DBT_PROFILES_DIR (or pass --dbt-profiles-dir) to a folder that has one, or leave it unset to have the step write a Snowflake profile from the configuration`,
      ),
    };
  }
  const tools = opts.toolchain ?? new Toolchain();
  let dbt: string;
  try {
    dbt = tools.resolve('dbt', 'dbt');
  } catch (e) {
    return { ok: false, error: dbtError((e as Error).message) };
  }
  const project = await extractDbtProject(ctx, path.join(work, 'release'));
  let profilesDir: string;
  if (givenDir) {
    profilesDir = path.resolve(givenDir);
    log(`dbt profile: ${path.join(profilesDir, 'profiles.yml')} (DBT_PROFILES_DIR), output '${target}'`);
  } else {
    profilesDir = path.join(work, 'profile');
    const sf = ctx.environment.snowflake;
    try {
      const profile = dbtProjectProfile(project, `dbt_project.yml of release ${ctx.release.version}`);
      writeSnowflakeDbtProfile(profilesDir, { profile, target, snowflake: sf, auth: snowflakeDbtAuth({ ...process.env, ...opts.dbtEnv }, sf.deploySecretArn) });
      log(`dbt profile: written from the configuration of ${ctx.env} (profile '${profile}', output '${target}', ${sf.account} ${sf.database}.${sf.schema ?? DEFAULT_DBT_SCHEMA}; DBT_PROFILES_DIR is not set)`);
    } catch (e) {
      if (e instanceof DbtProfileError) return { ok: false, error: dbtError(e.message) };
      throw e;
    }
  }
  const targetPath = path.join(work, 'target');
  const env = { ...opts.dbtEnv, DBT_PROFILES_DIR: profilesDir, DBT_SEND_ANONYMOUS_USAGE_STATS: 'false', DBT_USE_COLORS: 'false' };
  const common = ['--target', target, '--profiles-dir', profilesDir, '--log-path', path.join(work, 'logs')];
  const run = async (args: string[]): Promise<DbtRun> => {
    log(`dbt ${args.join(' ')} (target ${target})`);
    const r = await tools.run(dbt, [...args, ...common, ...(args[0] === 'deps' ? [] : ['--target-path', targetPath])], { cwd: project, env, timeoutMs: opts.timeoutMs });
    return { code: r.timedOut ? -1 : r.code, output: r.timedOut ? `timed out after ${(opts.timeoutMs ?? 900_000) / 1000} s` : r.stdout + r.stderr };
  };
  if (['packages.yml', 'dependencies.yml'].some((f) => fs.existsSync(path.join(project, f)))) {
    const deps = await run(['deps']);
    if (deps.code !== 0) return { ok: false, error: dbtError(`dbt deps of release ${ctx.release.version} failed: ${lastLine(deps.output)}`) };
  }
  const readJson = (file: string): unknown => (fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined);
  let rr: ReturnType<typeof RunResultsSchema.safeParse> | undefined;
  let manifest: unknown;
  let testError: Finding | undefined;
  let schemaError: Finding | undefined;
  if (tests) {
    const test = await run(tests.select ? ['test', '--select', ...tests.select] : ['test']);
    rr = RunResultsSchema.safeParse(readJson(path.join(targetPath, 'run_results.json')));
    manifest = readJson(path.join(targetPath, 'manifest.json'));
    testError = rr.success ? undefined : dbtError(`dbt test against target '${target}' of ${ctx.env} wrote no run results (exit ${test.code}): ${lastLine(test.output)}`);
    schemaError = schemaErrorOf(ctx, readJson(path.join(project, 'target', 'manifest.json')), manifest, target, givenDir);
  }
  let sj: ReturnType<typeof SourcesJsonSchema.safeParse> | undefined;
  let freshnessError: Finding | undefined;
  if (freshness) {
    const fresh = await run(['source', 'freshness']);
    sj = SourcesJsonSchema.safeParse(readJson(path.join(targetPath, 'sources.json')));
    freshnessError = sj.success ? undefined : dbtError(`dbt source freshness against target '${target}' of ${ctx.env} wrote no sources.json (exit ${fresh.code}): ${lastLine(fresh.output)}`);
  }
  return {
    ok: true,
    runResults: rr?.success ? (rr.data as RunResults) : undefined,
    sources: sj?.success ? (sj.data as SourcesJson) : undefined,
    testModels: testedModels(manifest),
    testError,
    freshnessError,
    schemaError,
  };
}

/**
 * A GATE_DBT_ERROR when the gates' run resolved a model to another schema than the release's
 * manifest, whose schemas the dbt deployer rebuilt: the tests then checked other tables.
 */
function schemaErrorOf(ctx: DeployContext, releaseManifest: unknown, runManifest: unknown, target: string, givenDir: string | undefined): Finding | undefined {
  const mismatches = schemaMismatches(releaseManifest, runManifest);
  if (mismatches.length === 0) return undefined;
  const first = mismatches[0];
  const schema = ctx.environment.snowflake.schema ?? DEFAULT_DBT_SCHEMA;
  const fix = givenDir
    ? `set the schema of output '${target}' in ${path.join(givenDir, 'profiles.yml')} to the one the release was compiled with`
    : `set environments.${ctx.env}.snowflake.schema (now ${schema}) to ${suggestedSchema(first, schema) ?? 'the schema of the output the release was compiled with'}`;
  const more = mismatches.length > 1 ? ` (and ${mismatches.length - 1} more model(s))` : '';
  return {
    code: 'GATE_DBT_ERROR',
    severity: 'error',
    asset: `dbt:${first.uniqueId}`,
    message: `the gates' dbt run puts ${first.uniqueId} in schema ${first.run}, but release ${ctx.release.version} (what the deploy rebuilt) has it in ${first.release}${more}, so the tests checked other tables; ${fix}`,
  };
}

function gateRun(gate: GateName, detail: string, findings: readonly Finding[], started: number): GateRun {
  return { gate, status: hasBlocking(findings) ? 'failed' : 'passed', detail, findings, durationMs: Date.now() - started };
}

/** The findings of a dbt test run (a schema mismatch, dbt that wrote no results, or the tests against the thresholds) and how many tests ran. */
function testOutcome(dbt: Extract<DbtOutcome, { ok: true }>, thresholds: QualityGates): { findings: Finding[]; tests: number } {
  const findings = [...(dbt.schemaError ? [dbt.schemaError] : []), ...(dbt.testError ? [dbt.testError] : evaluateGates({ runResults: dbt.runResults, testModels: dbt.testModels }, thresholds))];
  const tests = dbt.runResults?.results.filter((r) => r.unique_id.startsWith('test.') || r.unique_id.startsWith('unit_test.')).length ?? 0;
  return { findings, tests };
}

/** What one run of the release's dbt tests found (the prod bake's dbt probe). */
export interface ReleaseTestsOutcome {
  /** Whether dbt ran tests (false: the deploy built no models here). */
  readonly ran: boolean;
  readonly findings: readonly Finding[];
  /** What was tested, e.g. `dbt: 8 test(s) of the 2 model(s) the deploy built`. */
  readonly detail: string;
}

/**
 * Runs, against the environment, the dbt tests of the models the release's deploy built there (all
 * tests when the deploy recorded none), as the dbt-tests gate does, without source freshness or row
 * counts: the prod bake's probe of the data the release's models produce while the environment's
 * scheduled loads and runs go on. A test that fails or errors, or dbt that cannot run, is a finding.
 */
export async function runReleaseTests(ctx: DeployContext, deps: QualityGateDeps, opts: QualityGateOptions = {}): Promise<ReleaseTestsOutcome> {
  const built = await builtModelsOfDeploy(ctx, deps);
  if (built?.length === 0) return { ran: false, findings: [], detail: `dbt: release ${ctx.release.version} built no models in ${ctx.env}, so it has no tests to probe` };
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-probe-'));
  try {
    const dbt = await runDbt(ctx, opts, work, deps.log, { select: built?.map((m) => m.selector) }, false);
    if (!dbt.ok) return { ran: true, findings: [dbt.error], detail: 'dbt: the tests could not run' };
    const { findings, tests } = testOutcome(dbt, ctx.environment.qualityGates);
    return { ran: true, findings, detail: `dbt: ${tests} test(s) of ${built ? `the ${built.length} model(s) the deploy built` : 'the project'}` };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The data-quality gates of a Verify in staging and prod (docs/validation.md, "Verify: data-quality
 * gates"): the release's dbt tests and source freshness, run with dbt against the environment's
 * target, and the row-count change of every table the deploy swapped (before: recorded by the dbt
 * deployer; after: counted now), each against `environments.<env>.qualityGates`. In dev, and for a
 * release without dbt assets, nothing runs. For a rollback, the row-count gate does not run: the
 * data was restored (or left to a person), so the replaced release's counts are no baseline.
 */
export async function runQualityGates(ctx: DeployContext, deps: QualityGateDeps, opts: QualityGateOptions = {}): Promise<QualityGateOutcome> {
  const thresholds = ctx.environment.qualityGates;
  const none = (why: string): QualityGateOutcome => ({
    status: 'not-run',
    thresholds,
    gates: GATE_NAMES.map((g) => notRun(g, why)),
    findings: [],
    summary: `data-quality gates not run: ${why}`,
    rowCounts: { models: {} },
  });
  if (!GATED_ENVIRONMENTS.includes(ctx.env)) return none(`${ctx.env} is not gated (gates run in ${GATED_ENVIRONMENTS.join(' and ')})`);
  if (!ctx.release.dbt || !ctx.release.artifacts.some((a) => a.kind === 'dbt')) return none(`release ${ctx.release.version} has no dbt assets`);

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-gates-'));
  try {
    const gates: GateRun[] = [];
    let started = Date.now();
    // The tests of what the release built (a rollback's Verify tests everything: the data was restored, not built)
    const built = opts.isRollback ? undefined : await builtModelsOfDeploy(ctx, deps);
    const threshold = `qualityGates of ${ctx.env}`;
    const testsOf = built?.length === 0 ? null : { select: built?.map((m) => m.selector) };
    const dbt = await runDbt(ctx, opts, work, deps.log, testsOf);
    if (!dbt.ok) {
      gates.push(gateRun('dbt-tests', `dbt could not run (${threshold})`, [dbt.error], started));
      gates.push(notRun('source-freshness', 'dbt could not run'));
    } else {
      if (!testsOf) {
        gates.push(notRun('dbt-tests', `release ${ctx.release.version} built no models in ${ctx.env} (none changed against what ${ctx.env} ran), so it has no tests to run here`));
      } else {
        const { findings: testFindings, tests } = testOutcome(dbt, thresholds);
        const of = testsOf.select ? `the tests of the ${testsOf.select.length} model(s) the deploy built` : 'every test (the deploy recorded no models it built)';
        gates.push(gateRun('dbt-tests', `${tests} dbt test(s), ${of}; failOnTestWarnings ${thresholds.failOnTestWarnings} (${threshold})`, testFindings, started));
      }
      started = Date.now();
      const freshnessFindings = dbt.freshnessError ? [dbt.freshnessError] : evaluateGates({ sources: dbt.sources }, thresholds);
      gates.push(gateRun('source-freshness', `${dbt.sources?.results.length ?? 0} source(s) with freshness; maxSourceStalenessHours ${thresholds.maxSourceStalenessHours} (${threshold})`, freshnessFindings, started));
    }

    started = Date.now();
    let rowCounts: RowCounts = { models: {} };
    if (opts.isRollback) {
      gates.push(notRun('row-counts', `a rollback restores data instead of rebuilding it; the replaced release's row counts are no baseline`));
    } else if (!opts.rowCounter) {
      gates.push(notRun('row-counts', 'no dbt deployer to count rows with'));
    } else {
      const counted = await rowCountsOfDeploy(ctx, deps, opts.rowCounter);
      rowCounts = counted.rowCounts;
      const n = Object.keys(rowCounts.models).length;
      if (!counted.recorded) gates.push(notRun('row-counts', `the dbt deploy of execution ${deps.executionId} recorded no tables`));
      else gates.push(gateRun('row-counts', `${n} table(s) swapped by the deploy; maxRowCountChangePct ${thresholds.maxRowCountChangePct} (${threshold})`, [...counted.findings, ...evaluateGates({ rowCounts }, thresholds)], started));
    }
    const findings = gates.flatMap((g) => g.findings);
    const status = hasBlocking(findings) ? 'failed' : 'passed';
    const summary = `data-quality gates ${status} in ${ctx.env}: ${gates.map((g) => `${g.gate} ${g.status}`).join(', ')}`;
    return { status, thresholds, gates, findings, summary, rowCounts };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The gate step of `verifyRelease`: runs {@link runQualityGates} (a step that cannot run is a failed
 * gate, never a silent pass), logs its summary and each failing gate, and records a `verification`
 * event (assetKind dbt, message starting `data-quality gates`) whose problems name each model or
 * source and the threshold it crossed. Nothing is recorded when the gates do not run.
 */
export async function verifyQualityGates(ctx: DeployContext, deps: QualityGateDeps & { readonly actor: string }, opts: QualityGateOptions = {}): Promise<QualityGateOutcome> {
  let outcome: QualityGateOutcome;
  try {
    outcome = await runQualityGates(ctx, deps, opts);
  } catch (e) {
    const finding: Finding = { code: 'GATE_DBT_ERROR', severity: 'error', asset: 'dbt:project', message: `the data-quality gates could not run: ${(e as Error).message}` };
    outcome = {
      status: 'failed',
      thresholds: ctx.environment.qualityGates,
      gates: [{ gate: 'dbt-tests', status: 'failed', detail: 'the gate step could not run', findings: [finding], durationMs: 0 }, notRun('source-freshness', 'the gate step could not run'), notRun('row-counts', 'the gate step could not run')],
      findings: [finding],
      summary: `data-quality gates failed in ${ctx.env}: ${finding.message}`,
      rowCounts: { models: {} },
    };
  }
  deps.log(outcome.summary);
  const errors = outcome.findings.filter((f) => f.severity === 'error');
  for (const f of outcome.findings) deps.log(`  ${f.severity} ${f.code} ${f.asset}: ${f.message}`);
  if (outcome.status !== 'not-run') {
    await deps.ledger.appendEvent({
      kind: 'verification',
      repo: ctx.repo,
      env: ctx.env,
      actor: deps.actor,
      version: ctx.release.version,
      executionId: deps.executionId,
      assetKind: 'dbt',
      result: outcome.status === 'passed' ? 'succeeded' : 'failed',
      problems: errors.map((f) => `${f.code} ${f.asset}: ${f.message}`),
      message: outcome.summary,
    });
  }
  return outcome;
}
