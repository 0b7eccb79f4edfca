import * as fs from 'fs';
import * as path from 'path';
import { z } from 'zod';
import type { EnvironmentConfig } from '../../config/schema';
import { Toolchain } from '../../checks/validate/toolchain';
import { dbtProjectProfile, DEFAULT_DBT_SCHEMA, snowflakeDbtAuth, writeSnowflakeDbtProfile } from '../snowflake/dbt-profile';
import { DbtManifestError } from '../snowflake/dbt-models';
import type { TableRef } from '../snowflake/statements';
import { DeployError } from './errors';

const NodeSchema = z
  .object({
    unique_id: z.string(),
    resource_type: z.string(),
    name: z.string(),
    database: z.string().nullish(),
    schema: z.string(),
    alias: z.string().nullish(),
    fqn: z.array(z.string()).optional(),
    checksum: z.object({ checksum: z.string() }).loose().optional(),
    config: z.object({ materialized: z.string().optional() }).loose().optional(),
    depends_on: z.object({ nodes: z.array(z.string()).optional() }).loose().optional(),
  })
  .loose();
const ManifestSchema = z.object({ nodes: z.record(z.string(), z.unknown()), child_map: z.record(z.string(), z.array(z.string())).optional() }).loose();

/** A model node of a dbt manifest, as the deployer needs it. */
export interface ModelNode {
  readonly uniqueId: string;
  readonly name: string;
  readonly fqn: readonly string[];
  readonly materialized: string;
  readonly checksum: string | undefined;
  readonly relation: TableRef;
  readonly dependsOn: readonly string[];
}

/** The model nodes of a manifest's JSON, by unique id; `label` names the manifest in errors. */
export function modelNodes(manifestJson: string, label: string): Map<string, ModelNode> {
  let manifest: z.output<typeof ManifestSchema>;
  try {
    manifest = ManifestSchema.parse(JSON.parse(manifestJson));
  } catch (cause) {
    throw new DbtManifestError(`${label} is not a dbt manifest.json (no nodes); package the release with 'dataops package'`, { cause });
  }
  const out = new Map<string, ModelNode>();
  for (const [id, raw] of Object.entries(manifest.nodes)) {
    const node = NodeSchema.safeParse(raw);
    if (!node.success || node.data.resource_type !== 'model') continue;
    const n = node.data;
    out.set(id, {
      uniqueId: id,
      name: n.name,
      fqn: n.fqn ?? [n.name],
      materialized: n.config?.materialized ?? 'view',
      checksum: n.checksum?.checksum,
      relation: { database: n.database ?? '', schema: n.schema, name: n.alias ?? n.name },
      dependsOn: n.depends_on?.nodes ?? [],
    });
  }
  return out;
}

/** What a release changes against what an environment runs (dbt's state comparison, on models). */
export interface StateSelection {
  /** Models new in the release, or whose code (checksum) or materialization changed. */
  readonly modified: readonly string[];
  /** The modified models and every model downstream of them: what the deploy builds. */
  readonly selected: readonly string[];
  /** Models the environment runs that the release no longer has (their tables are left alone). */
  readonly removed: readonly string[];
}

/**
 * Compares the release's dbt manifest with the one the environment runs (the manifest the last deploy
 * published), as dbt's `state:modified+` does for models: a model is modified when it is new, or its
 * checksum or materialization differs; the selection adds every model downstream of one. With no
 * manifest live (the first deploy), every model is selected.
 */
export function stateSelection(release: ReadonlyMap<string, ModelNode>, live: ReadonlyMap<string, ModelNode> | null): StateSelection {
  const modified = [...release.values()]
    .filter((m) => {
      const before = live?.get(m.uniqueId);
      return !before || before.checksum !== m.checksum || before.materialized !== m.materialized;
    })
    .map((m) => m.uniqueId);
  const children = new Map<string, string[]>();
  for (const m of release.values()) for (const parent of m.dependsOn) children.set(parent, [...(children.get(parent) ?? []), m.uniqueId]);
  const selected = new Set<string>();
  const visit = (id: string): void => {
    if (selected.has(id)) return;
    selected.add(id);
    for (const c of children.get(id) ?? []) visit(c);
  };
  modified.forEach(visit);
  const removed = live ? [...live.keys()].filter((id) => !release.has(id)) : [];
  return { modified, selected: [...release.keys()].filter((id) => selected.has(id)), removed };
}

/** The outcome of a dbt build of the selected models. */
export interface DbtBuildOutcome {
  readonly ok: boolean;
  /** Nodes that errored or failed (models, tests), with dbt's message. */
  readonly failures: readonly string[];
  /** Tests that ran, by unique id, with their status. */
  readonly tests: Readonly<Record<string, string>>;
  /** dbt's last lines, for the log. */
  readonly tail: string;
}

/** How the deployer runs dbt in an environment's warehouse. */
export interface DbtEnvironment {
  /** Parses the project for an output (`live` or `build`) and returns its manifest's model nodes (the relations dbt resolves there). */
  parse(projectDir: string, output: 'live' | 'build'): Promise<{ nodes: Map<string, ModelNode>; manifestFile: string }>;
  /** `dbt build` of the models (and their tests) into the build output; refs to other models resolve to the live relations of `stateManifest`. */
  build(projectDir: string, models: readonly ModelNode[], stateManifest: string): Promise<DbtBuildOutcome>;
  /** `dbt run` of the models in the live output (the views a release replaces). */
  run(projectDir: string, models: readonly ModelNode[]): Promise<DbtBuildOutcome>;
}

/** Props of {@link SnowflakeDbtEnvironment}. */
export interface SnowflakeDbtEnvironmentProps {
  readonly env: string;
  readonly snowflake: EnvironmentConfig['snowflake'];
  /** Variables the profile reads (SNOWFLAKE_USER and the key path or password: `dbtEnvOf`). */
  readonly dbtEnv: Readonly<Record<string, string>>;
  /** Schema the build output writes to (each custom schema gets it as prefix, as dbt's generate_schema_name does). */
  readonly buildSchema: string;
  /** Scratch folder of this deploy (profile, target paths, logs). */
  readonly workDir: string;
  readonly toolchain?: Toolchain;
  /** @default 1800000 (30 minutes) */
  readonly timeoutMs?: number;
  readonly log: (line: string) => void;
}

const RunResults = z.object({ results: z.array(z.object({ unique_id: z.string(), status: z.string(), message: z.string().nullish() }).loose()) }).loose();

/** Selector of one model: its fully qualified name (dbt's `fqn:` method), exact across packages. */
export const fqnSelector = (m: ModelNode): string => `fqn:${m.fqn.join('.')}`;

/**
 * dbt against the environment's Snowflake with the dbt-snowflake adapter: a profile written from the
 * configuration with two outputs of the same connection, `<env>` (the environment's schema) and
 * `<env>_build` (the deploy's build schema), credentials from variables.
 */
export class SnowflakeDbtEnvironment implements DbtEnvironment {
  private readonly tools: Toolchain;

  constructor(private readonly props: SnowflakeDbtEnvironmentProps) {
    this.tools = props.toolchain ?? new Toolchain();
  }

  private outputName(output: 'live' | 'build'): string {
    return output === 'live' ? this.props.env : `${this.props.env}_build`;
  }

  private profilesDir(projectDir: string): string {
    const dir = path.join(this.props.workDir, 'profile');
    if (!fs.existsSync(path.join(dir, 'profiles.yml'))) {
      const profile = dbtProjectProfile(projectDir, 'dbt_project.yml of the release');
      const auth = snowflakeDbtAuth(this.props.dbtEnv, this.props.snowflake.deploySecretArn);
      writeSnowflakeDbtProfile(dir, { profile, target: this.props.env, snowflake: this.props.snowflake, auth, schemas: { [this.outputName('build')]: this.props.buildSchema } });
    }
    return dir;
  }

  private async dbt(projectDir: string, args: string[], output: 'live' | 'build', targetPath: string): Promise<{ code: number; text: string }> {
    const dbt = this.tools.resolve('dbt', 'dbt');
    const profilesDir = this.profilesDir(projectDir);
    const all = [...args, '--target', this.outputName(output), '--profiles-dir', profilesDir, ...(args[0] === 'deps' ? [] : ['--target-path', targetPath]), '--log-path', path.join(this.props.workDir, 'logs')];
    this.props.log(`dbt ${all.filter((a) => !a.startsWith(this.props.workDir)).join(' ')}`);
    const r = await this.tools.run(dbt, all, {
      cwd: projectDir,
      env: { ...this.props.dbtEnv, DBT_SEND_ANONYMOUS_USAGE_STATS: 'false', DBT_USE_COLORS: 'false', DBT_PARTIAL_PARSE: 'false' },
      timeoutMs: this.props.timeoutMs ?? 1_800_000,
    });
    return { code: r.timedOut ? -1 : r.code, text: r.timedOut ? `timed out after ${(this.props.timeoutMs ?? 1_800_000) / 1000} s` : r.stdout + r.stderr };
  }

  private depsDone = false;

  /** `dbt deps` once, when the project declares packages (releases carry none installed). */
  private async deps(projectDir: string): Promise<void> {
    if (this.depsDone || !['packages.yml', 'dependencies.yml'].some((f) => fs.existsSync(path.join(projectDir, f)))) return;
    const r = await this.dbt(projectDir, ['deps'], 'live', path.join(this.props.workDir, 'deps'));
    if (r.code !== 0) throw new DeployError(`dbt deps of the release in ${this.props.env} failed (exit ${r.code}): ${lastLines(r.text)}`);
    this.depsDone = true;
  }

  async parse(projectDir: string, output: 'live' | 'build'): Promise<{ nodes: Map<string, ModelNode>; manifestFile: string }> {
    await this.deps(projectDir);
    const targetPath = path.join(this.props.workDir, `parse-${output}`);
    const r = await this.dbt(projectDir, ['parse', '--no-partial-parse'], output, targetPath);
    const manifestFile = path.join(targetPath, 'manifest.json');
    if (r.code !== 0 || !fs.existsSync(manifestFile)) throw new DeployError(`dbt parse of the release for output '${this.outputName(output)}' of ${this.props.env} failed (exit ${r.code}): ${lastLines(r.text)}`);
    return { nodes: modelNodes(fs.readFileSync(manifestFile, 'utf8'), `the manifest dbt parse wrote for ${this.outputName(output)}`), manifestFile };
  }

  private outcome(r: { code: number; text: string }, targetPath: string): DbtBuildOutcome {
    const file = path.join(targetPath, 'run_results.json');
    const parsed = fs.existsSync(file) ? RunResults.safeParse(JSON.parse(fs.readFileSync(file, 'utf8'))) : undefined;
    const results = parsed?.success ? parsed.data.results : [];
    const failures = results.filter((x) => ['error', 'fail', 'runtime error'].includes(x.status)).map((x) => `${x.unique_id} ${x.status}${x.message ? `: ${x.message.split('\n').slice(0, 3).join(' ')}` : ''}`);
    if (r.code !== 0 && failures.length === 0) failures.push(`dbt exited ${r.code}: ${lastLines(r.text)}`);
    const tests = Object.fromEntries(results.filter((x) => x.unique_id.startsWith('test.')).map((x) => [x.unique_id, x.status]));
    return { ok: r.code === 0 && failures.length === 0, failures, tests, tail: lastLines(r.text) };
  }

  async build(projectDir: string, models: readonly ModelNode[], stateManifest: string): Promise<DbtBuildOutcome> {
    const targetPath = path.join(this.props.workDir, 'build');
    const stateDir = path.join(this.props.workDir, 'state');
    fs.mkdirSync(stateDir, { recursive: true });
    fs.copyFileSync(stateManifest, path.join(stateDir, 'manifest.json'));
    const r = await this.dbt(projectDir, ['build', '--select', ...models.map(fqnSelector), '--defer', '--favor-state', '--state', stateDir], 'build', targetPath);
    return this.outcome(r, targetPath);
  }

  async run(projectDir: string, models: readonly ModelNode[]): Promise<DbtBuildOutcome> {
    const targetPath = path.join(this.props.workDir, 'run-live');
    const r = await this.dbt(projectDir, ['run', '--select', ...models.map(fqnSelector)], 'live', targetPath);
    return this.outcome(r, targetPath);
  }
}

/** The last few lines of dbt's output that say something. */
function lastLines(text: string, n = 6): string {
  return text
    .split('\n')
    .map((l) => l.replace(/^\S*\d{2}:\d{2}:\d{2}\s+/, '').trim())
    .filter((l) => l.length > 0)
    .slice(-n)
    .join(' | ');
}

/** The schema a deploy builds in: the environment's schema with the release's version as suffix. */
export function buildSchemaOf(snowflake: EnvironmentConfig['snowflake'], releaseVersion: string): string {
  return `${(snowflake.schema ?? DEFAULT_DBT_SCHEMA).toUpperCase()}__DATAOPS_${releaseVersion.replace(/[^A-Za-z0-9]+/g, '_').toUpperCase()}`;
}
