import * as fs from 'fs';
import * as path from 'path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ASSET_KINDS, AssetKind, ConfigSchema } from '../../config/schema';
import { findDbtProjects } from '../inventory/dbt-parse';

/** Name of the optional per-repo file that tells `dataops validate` how the repo is laid out. */
export const REPO_CONFIG_FILE = 'dataops.yaml';

const rel = z.string().min(1).refine((p) => !path.isAbsolute(p) && !p.split('/').includes('..'), {
  error: 'must be a path relative to the repo root, without .. segments',
});

/** Repo names: the rule of `repos[].name` in the platform config (lib/config/schema.ts). */
const REPO_NAME = /^[a-z][a-z0-9-]{1,62}$/;

/** Schema of `dataops.yaml` at a data repo's root. Every field is optional; missing ones are detected. */
export const RepoFileSchema = z.strictObject({
  /**
   * The repo's name in the platform config; gives the package its DAG folder is on MWAA.
   * @default - `--repo-name`, else env DATAOPS_REPO, else the directory name
   */
  name: z
    .string()
    .regex(REPO_NAME, { error: (i) => `'${String(i.input)}' must be the repo's name from the platform config: 2-63 lowercase letters, digits or hyphens, starting with a letter` })
    .optional(),
  kinds: z.array(z.enum(ASSET_KINDS)).optional(),
  paths: z.partialRecord(z.enum(ASSET_KINDS), rel).optional(),
  airflow: z
    .strictObject({
      version: z.string().optional(),
      /** Seconds one DAG file may take to import. @default 2 */
      importBudgetSeconds: z.number().positive().optional(),
    })
    .optional(),
  dbt: z
    .strictObject({
      projectDir: rel.optional(),
      profilesDir: rel.optional(),
      /** Target used on laptops and in this project's tests (DuckDB). @default local */
      localTarget: z.string().optional(),
      /** Target used in CodeBuild (a clone of the environment's Snowflake database). @default ci */
      ciTarget: z.string().optional(),
    })
    .optional(),
  spark: z.strictObject({ testsDir: rel.optional() }).optional(),
  python: z.strictObject({ testsDir: rel.optional() }).optional(),
  terraform: z.strictObject({ protectedResourceTypes: z.array(z.string()).optional() }).optional(),
  /** Extra files (glob-like prefixes) whose change widens a PR run to every check. */
  sharedPaths: z.array(z.string()).optional(),
});

/** Where a repo's assets are and how to check them, after reading dataops.yaml and detecting the rest. */
export interface RepoLayout {
  readonly root: string;
  /** The repo's name (its DAG folder is `dags/<name with _ for ->/` on MWAA). */
  readonly name: string;
  /** Where the name came from, for messages: `--repo-name`, `DATAOPS_REPO`, `dataops.yaml`, `the directory name`. */
  readonly nameFrom: string;
  readonly kinds: readonly AssetKind[];
  readonly paths: Readonly<Partial<Record<AssetKind, string>>>;
  readonly airflowVersion: string;
  readonly dagImportBudgetSeconds: number;
  readonly dbt: { readonly projectDir: string; readonly profilesDir: string; readonly localTarget: string; readonly ciTarget: string };
  readonly sparkTestsDir: string;
  readonly pythonTestsDir: string;
  readonly protectedResourceTypes: readonly string[];
  readonly sharedPaths: readonly string[];
}

/** Raised when dataops.yaml is not valid YAML or does not match the schema. */
export class RepoConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RepoConfigError';
  }
}

const DEFAULT_PROTECTED: readonly string[] = ConfigSchema.shape.protectedResourceTypes.parse(undefined);

function exists(root: string, p: string): boolean {
  return fs.existsSync(path.join(root, p));
}

function hasFile(dir: string, pred: (name: string) => boolean, depth = 3): boolean {
  if (depth < 0 || !fs.existsSync(dir)) return false;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.') || e.name === 'node_modules' || e.name === 'dbt_packages' || e.name === 'target') continue;
    if (e.isFile() && pred(e.name)) return true;
    if (e.isDirectory() && hasFile(path.join(dir, e.name), pred, depth - 1)) return true;
  }
  return false;
}

function detectKinds(root: string): AssetKind[] {
  const kinds = new Set<AssetKind>();
  if (exists(root, 'dbt_project.yml') || findDbtProjects(root).length > 0) kinds.add('dbt').add('sql');
  if (exists(root, 'dags')) kinds.add('airflow');
  if (hasFile(root, (n) => n.endsWith('.tf'), 1)) kinds.add('terraform');
  if (exists(root, 'jobs') && hasFile(path.join(root, 'jobs'), (n) => n.endsWith('.py'))) kinds.add('spark');
  if (hasFile(root, (n) => n.endsWith('.py'))) kinds.add('python');
  return [...kinds];
}

/** Options of {@link loadRepoLayout}. */
export interface RepoLayoutOptions {
  /** The repo's name, overriding the `name` of dataops.yaml. @default - dataops.yaml `name`, else the directory name */
  readonly name?: string;
  /** Where `name` came from, for messages. @default '--repo-name' */
  readonly nameFrom?: string;
}

/**
 * Reads `<root>/dataops.yaml` (optional) and fills in what it leaves out by looking at the files.
 * @throws RepoConfigError when the file exists but is invalid, or `opts.name` is not a repo name
 */
export function loadRepoLayout(root: string, opts: RepoLayoutOptions = {}): RepoLayout {
  const abs = path.resolve(root);
  if (!fs.existsSync(abs) || !fs.statSync(abs).isDirectory()) {
    throw new RepoConfigError(`repo '${root}' is not a directory; pass --repo with the path of a checked-out data repo`);
  }
  const file = path.join(abs, REPO_CONFIG_FILE);
  let parsed: z.output<typeof RepoFileSchema> = {};
  if (fs.existsSync(file)) {
    let raw: unknown;
    try {
      raw = parseYaml(fs.readFileSync(file, 'utf8')) ?? {};
    } catch (cause) {
      throw new RepoConfigError(`${file}: not valid YAML (${(cause as Error).message}); fix the syntax`, { cause });
    }
    const result = RepoFileSchema.safeParse(raw);
    if (!result.success) {
      const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      throw new RepoConfigError(`${file}: ${problems}; fix the file (see docs/validation.md)`);
    }
    parsed = result.data;
  }
  if (opts.name !== undefined && !REPO_NAME.test(opts.name)) {
    throw new RepoConfigError(
      `${opts.nameFrom ?? '--repo-name'} '${opts.name}' is not a repo name: expected the repo's name from the platform config (2-63 lowercase letters, digits or hyphens, starting with a letter)`,
    );
  }
  const [name, nameFrom] =
    opts.name !== undefined ? [opts.name, opts.nameFrom ?? '--repo-name'] : parsed.name !== undefined ? [parsed.name, REPO_CONFIG_FILE] : [path.basename(abs), 'the directory name'];
  const kinds = parsed.kinds ?? detectKinds(abs);
  // Without dbt.projectDir: the root's dbt project, else the first one found (nested projects).
  const dbtDir = parsed.dbt?.projectDir ?? (exists(abs, 'dbt_project.yml') ? '.' : findDbtProjects(abs)[0] ?? '.');
  const paths: Partial<Record<AssetKind, string>> = {
    airflow: 'dags',
    dbt: dbtDir,
    spark: 'jobs',
    terraform: '.',
    python: '.',
    sql: dbtDir,
    ...parsed.paths,
  };
  return {
    root: abs,
    name,
    nameFrom,
    kinds,
    paths,
    airflowVersion: parsed.airflow?.version ?? '2.10.3',
    dagImportBudgetSeconds: parsed.airflow?.importBudgetSeconds ?? 2,
    dbt: {
      projectDir: parsed.dbt?.projectDir ?? paths.dbt ?? '.',
      profilesDir: parsed.dbt?.profilesDir ?? parsed.dbt?.projectDir ?? '.',
      localTarget: parsed.dbt?.localTarget ?? 'local',
      ciTarget: parsed.dbt?.ciTarget ?? 'ci',
    },
    sparkTestsDir: parsed.spark?.testsDir ?? 'tests',
    pythonTestsDir: parsed.python?.testsDir ?? 'tests',
    protectedResourceTypes: parsed.terraform?.protectedResourceTypes ?? DEFAULT_PROTECTED,
    sharedPaths: parsed.sharedPaths ?? [],
  };
}
