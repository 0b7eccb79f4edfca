import { execFileSync } from 'child_process';
import * as path from 'path';
import { dbtProjectPaths, findDbtProjects } from '../inventory/dbt-parse';
import type { RepoLayout } from './repo-config';

/** Which files a run looks at: everything, or the files a change touched. */
export interface Scope {
  /** The base revision the change is compared with, when one was given. */
  readonly base?: string;
  /** True when every check runs on everything. */
  readonly full: boolean;
  /** Why the run is full or scoped, in words for the report. */
  readonly reason: string;
  /** Changed files relative to the repo root (empty on a full run without a base). */
  readonly changed: readonly string[];
}

/** Raised when git cannot compute the change (unknown base, not a repository). */
export class ScopeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ScopeError';
  }
}

/**
 * Files whose change affects every asset of the repo, so a PR that touches them runs everything:
 * dbt macros, packages and project files, Python requirements and tool settings, buildspecs and CI
 * configuration, Airflow plugins, and this tool's own repo file.
 */
export const SHARED_PATTERNS: readonly RegExp[] = [
  /(^|\/)macros\//,
  /(^|\/)packages\.yml$/,
  /(^|\/)dependencies\.yml$/,
  /(^|\/)package-lock\.yml$/,
  /(^|\/)dbt_project\.yml$/,
  /(^|\/)profiles\.yml$/,
  /(^|\/)packages\//,
  /(^|\/)requirements[^/]*\.txt$/,
  /(^|\/)(pyproject\.toml|setup\.cfg|ruff\.toml|\.ruff\.toml|\.sqlfluff|\.sqlfluffignore|conftest\.py|\.airflowignore)$/,
  /(^|\/)buildspecs?\//,
  /(^|\/)buildspec[^/]*\.ya?ml$/,
  /^\.github\//,
  /^\.ci\//,
  /(^|\/)plugins\//,
  /(^|\/)Dockerfile$/,
  /^dataops\.ya?ml$/,
];

function git(cwd: string, args: string[]): string {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (cause) {
    const stderr = (cause as { stderr?: string }).stderr?.trim();
    throw new ScopeError(`git ${args.join(' ')} failed in ${cwd}: ${stderr || (cause as Error).message}; check that --repo is a git checkout and --base names a fetched revision`, { cause });
  }
}

/** Path of `root` inside its git work tree ('' when it is the top), with a trailing slash. */
function prefixInRepo(root: string): string {
  return git(root, ['rev-parse', '--show-prefix']).trim();
}

/**
 * Files changed between the merge base of `base` and HEAD (`git diff base...HEAD`), plus the
 * working tree's uncommitted and untracked changes so a laptop run sees what is about to be pushed.
 * Paths are relative to `root` (which may be a folder inside the repository).
 */
export function changedFiles(root: string, base: string): string[] {
  const prefix = prefixInRepo(root);
  const mergeBase = git(root, ['merge-base', base, 'HEAD']).trim();
  const files = new Set<string>();
  const add = (out: string) => {
    for (const line of out.split('\n')) {
      const f = line.trim();
      if (!f) continue;
      if (prefix && !f.startsWith(prefix)) continue;
      files.add(f.slice(prefix.length));
    }
  };
  // Committed changes of the branch (three-dot semantics) and what the working tree adds on top.
  add(git(root, ['diff', '--name-only', '--no-renames', `${mergeBase}...HEAD`, '--', '.']));
  add(git(root, ['diff', '--name-only', '--no-renames', 'HEAD', '--', '.']));
  add(git(root, ['ls-files', '--others', '--exclude-standard', '--full-name', '--', '.']));
  return [...files].sort();
}

/** The shared file (if any) among `changed` that widens the run to everything. */
export function sharedChange(changed: readonly string[], extra: readonly string[] = []): string | undefined {
  return changed.find((f) => SHARED_PATTERNS.some((re) => re.test(f)) || extra.some((p) => f === p || f.startsWith(p.endsWith('/') ? p : `${p}/`)));
}

/**
 * The macro folders of the repo's dbt projects (dbt_project.yml `macro-paths`, relative to the repo
 * root), beyond the `macros/` that {@link SHARED_PATTERNS} already covers: a macro change can change
 * any model.
 */
export function dbtMacroDirs(root: string): string[] {
  return findDbtProjects(root).flatMap((dir) =>
    dbtProjectPaths(path.join(root, dir))
      .macros.filter((m) => !/(^|\/)macros$/.test(m))
      .map((m) => (dir === '.' ? `${m}/` : `${dir}/${m}/`)),
  );
}

/** Decides the scope of a run from the repo and the optional base revision. */
export function computeScope(repo: RepoLayout, base?: string, changedOverride?: readonly string[]): Scope {
  if (!base && !changedOverride) return { full: true, reason: 'no --base given: full run', changed: [] };
  const changed = changedOverride ? [...changedOverride] : changedFiles(repo.root, base as string);
  const shared = sharedChange(changed, [...repo.sharedPaths, ...dbtMacroDirs(repo.root)]);
  if (shared) return { base, full: true, reason: `shared file ${shared} changed: full run`, changed };
  return { base, full: false, reason: `${changed.length} changed file(s) since ${base}`, changed };
}

/** Changed files under `dir` (relative to the repo root; '.' is the root) that `pred` accepts. */
export function changedUnder(scope: Scope, dir: string, pred: (f: string) => boolean = () => true): string[] {
  const prefix = dir === '.' || dir === '' ? '' : `${dir.replace(/\/$/, '')}/`;
  return scope.changed.filter((f) => f.startsWith(prefix) && pred(f));
}
