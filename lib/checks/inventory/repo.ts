import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { airflowInventory } from './airflow';
import { DbtProfileError } from '../../runtime/snowflake/dbt-profile';
import { ToolMissingError } from '../validate/toolchain';
import { loadManifestFile } from './dbt';
import { DbtParseError, ensureDbtManifest, findDbtProjects } from './dbt-parse';
import { sparkInventory } from './spark';
import { terraformInventory } from './terraform';
import { INVENTORY_SCHEMA, InventoryError, type DbtProject, type InventoryProblem, type RepoInventory } from './types';

/** Options for reading one repo. */
export interface RepoInventoryOptions {
  /** Name of the repo in the graph. @default - the folder's name */
  readonly name?: string;
  /** Reference time (days_ago, generatedAt). @default - now */
  readonly now?: Date;
  /** Python interpreter for the Airflow helper. @default - $DATAOPS_PYTHON, else python3 */
  readonly python?: string;
}

/** Where dbt writes the manifest, relative to a dbt project folder. */
export const DBT_MANIFEST_PATHS = ['target/manifest.json'];

/**
 * The dbt projects of a repo (lib/checks/inventory/dbt-parse.ts `findDbtProjects`: nested ones too,
 * not local packages). Each is read from its own target/manifest.json when that is fresh, else from a
 * `dbt parse` in a sandbox outside the work tree (the repo's profile when usable, else the offline one),
 * cached by the project's contents.
 */
async function dbtProjects(repoRoot: string): Promise<{ projects: DbtProject[]; problems: InventoryProblem[] }> {
  const projects: DbtProject[] = [];
  const problems: InventoryProblem[] = [];
  const dirs = findDbtProjects(repoRoot);
  if (dirs.length === 0 && fs.existsSync(path.join(repoRoot, 'manifest.json'))) {
    try {
      projects.push(loadManifestFile(path.join(repoRoot, 'manifest.json'), repoRoot, repoRoot));
    } catch (err) {
      if (!(err instanceof InventoryError)) throw err;
      problems.push({ kind: 'dbt', file: 'manifest.json', line: null, message: err.message, severity: 'error' });
    }
  }
  for (const dir of dirs) {
    const abs = path.join(repoRoot, dir);
    const projectFile = dir === '.' ? 'dbt_project.yml' : `${dir}/dbt_project.yml`;
    let manifest: string;
    try {
      manifest = (await ensureDbtManifest(abs, { target: process.env.DATAOPS_DBT_TARGET })).file;
    } catch (err) {
      if (err instanceof ToolMissingError) {
        problems.push({ kind: 'dbt', file: projectFile, line: null, message: `dbt project has no fresh target/manifest.json and dbt is not installed to parse it (${err.message}), so its models are not in the graph`, severity: 'info' });
        continue;
      }
      // Left out (info), not an error of its own: the dbt check blocks on the same parse failure, at the file dbt names.
      if (err instanceof DbtParseError || err instanceof DbtProfileError) {
        problems.push({ kind: 'dbt', file: projectFile, line: null, message: `${err.message}; its models are not in the graph`, severity: 'info' });
        continue;
      }
      throw err;
    }
    // A parsed manifest lives outside the work tree; the project names it where dbt would write it.
    const manifestRel = dir === '.' ? 'target/manifest.json' : `${dir}/target/manifest.json`;
    try {
      projects.push({ ...loadManifestFile(manifest, repoRoot, abs), manifestFile: manifestRel });
    } catch (err) {
      if (!(err instanceof InventoryError)) throw err;
      problems.push({ kind: 'dbt', file: manifestRel, line: null, message: err.message, severity: 'error' });
    }
  }
  return { projects, problems };
}

function gitCommit(repoRoot: string): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null;
  } catch {
    return null;
  }
}

/**
 * Reads every asset a repo declares: dbt manifests, Airflow DAGs (statically), Spark job
 * descriptors and Terraform. Unreadable inputs become `problems`, never exceptions, so one broken
 * file does not hide the rest of the graph.
 */
export async function buildRepoInventory(repoDir: string, opts: RepoInventoryOptions = {}): Promise<RepoInventory> {
  const root = path.resolve(repoDir);
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) {
    throw new InventoryError(`repo folder ${repoDir} does not exist; pass the path of a checked-out repo`);
  }
  const now = opts.now ?? new Date();
  // Start the Airflow helper process first, and yield, so that every repo's helper runs while
  // this process parses dbt manifests.
  const airflowRun = airflowInventory(root, { now, python: opts.python });
  airflowRun.catch(() => undefined);
  await new Promise((r) => setImmediate(r));
  const dbt = await dbtProjects(root);
  const spark = sparkInventory(root);
  const terraform = await terraformInventory(root);
  const airflow = await airflowRun;
  return {
    schema: INVENTORY_SCHEMA,
    repo: opts.name ?? path.basename(root),
    commit: gitCommit(root),
    generatedAt: now.toISOString(),
    dbt: dbt.projects,
    airflow: airflow.dags,
    spark: spark.jobs,
    terraform: terraform.items,
    problems: [...dbt.problems, ...airflow.problems, ...spark.problems, ...terraform.problems],
  };
}
