import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildRepoInventory, type RepoInventoryOptions } from '../inventory/repo';
import type { RepoInventory } from '../inventory/types';

/** A git ref that cannot be read in a repo. */
export class BaseRefError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BaseRefError';
  }
}

/** True when `repoDir` is inside a git work tree. */
export function isGitRepo(repoDir: string): boolean {
  try {
    execFileSync('git', ['rev-parse', '--is-inside-work-tree'], { cwd: repoDir, stdio: ['ignore', 'pipe', 'ignore'] });
    return true;
  } catch {
    return false;
  }
}

/** Resolves `ref` to a commit, or throws naming the repo and the ref. */
export function resolveRef(repoDir: string, ref: string): string {
  try {
    return execFileSync('git', ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { cwd: repoDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch (cause) {
    throw new BaseRefError(`base ref '${ref}' does not exist in ${repoDir}; fetch it first (git fetch origin ${ref}) or pass an existing --base`, { cause });
  }
}

/** Files that differ between `ref` and the work tree (committed or not), relative to the repo root. */
export function changedFiles(repoDir: string, ref: string): string[] {
  const top = execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd: repoDir, encoding: 'utf8' }).trim();
  const out = execFileSync('git', ['diff', '--name-only', '--no-renames', ref, '--', '.'], { cwd: repoDir, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const untracked = execFileSync('git', ['ls-files', '--others', '--exclude-standard', '--', '.'], { cwd: repoDir, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const rel = path.relative(top, path.resolve(repoDir));
  return [...out.split('\n'), ...untracked.split('\n').map((f) => (rel ? path.posix.join(rel, f) : f))]
    .filter(Boolean)
    .map((f) => (rel && f.startsWith(`${rel}/`) ? f.slice(rel.length + 1) : f))
    .sort();
}

/**
 * The inventory of a repo as it was at `ref`: the tree is exported with `git archive` into a
 * temporary folder (the repo itself is not touched) and read like a checkout.
 */
export async function inventoryAtRef(repoDir: string, ref: string, opts: RepoInventoryOptions = {}): Promise<RepoInventory> {
  const commit = resolveRef(repoDir, ref);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-base-'));
  try {
    const archive = spawnSync('git', ['archive', '--format=tar', commit, '.'], { cwd: repoDir, maxBuffer: 2 * 1024 * 1024 * 1024 });
    if (archive.status !== 0) throw new BaseRefError(`git archive ${ref} failed in ${repoDir}: ${archive.stderr.toString().slice(-500)}`);
    const untar = spawnSync('tar', ['-x', '-C', tmp], { input: archive.stdout });
    if (untar.status !== 0) throw new BaseRefError(`cannot unpack ${ref} of ${repoDir}: ${untar.stderr.toString().slice(-500)}`);
    const inv = await buildRepoInventory(tmp, { ...opts, name: opts.name ?? path.basename(path.resolve(repoDir)) });
    return { ...inv, commit };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
