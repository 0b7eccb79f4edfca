import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { airflowInventory } from './airflow';
import { loadManifestFile } from './dbt';
import { listFiles } from './files';
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

function dbtProjects(repoRoot: string): { projects: DbtProject[]; problems: InventoryProblem[] } {
  const projects: DbtProject[] = [];
  const problems: InventoryProblem[] = [];
  const projectFiles = listFiles(repoRoot, (name) => name === 'dbt_project.yml', 6);
  const candidates: Array<{ manifest: string | null; dir: string; projectFile: string }> = projectFiles.map((pf) => {
    const dir = path.join(repoRoot, path.dirname(pf));
    const found = DBT_MANIFEST_PATHS.map((p) => path.join(dir, p)).find((p) => fs.existsSync(p)) ?? null;
    return { manifest: found, dir, projectFile: pf };
  });
  if (projectFiles.length === 0 && fs.existsSync(path.join(repoRoot, 'manifest.json'))) {
    candidates.push({ manifest: path.join(repoRoot, 'manifest.json'), dir: repoRoot, projectFile: 'manifest.json' });
  }
  for (const c of candidates) {
    if (!c.manifest) {
      problems.push({
        kind: 'dbt',
        file: c.projectFile,
        line: null,
        message: `dbt project has no target/manifest.json, so its models are not in the graph; run 'dbt parse' in ${path.dirname(c.projectFile) || '.'} first`,
        severity: 'info',
      });
      continue;
    }
    try {
      projects.push(loadManifestFile(c.manifest, repoRoot, c.dir));
    } catch (err) {
      if (!(err instanceof InventoryError)) throw err;
      problems.push({ kind: 'dbt', file: path.relative(repoRoot, c.manifest), line: null, message: err.message, severity: 'error' });
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
  const dbt = dbtProjects(root);
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
