/** Builds throwaway git repos from test/fixtures/graph for the graph tests. */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeFixtureManifest } from './dbt-fixture';

export const FIXTURES = path.resolve(__dirname, '..', '..', 'fixtures', 'graph');
export const REPO_NAMES = ['analytics', 'infra', 'orchestration', 'spark-jobs', 'warehouse'] as const;

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=dataops-test', '-c', 'user.email=test@example.com', '-c', 'commit.gpgsign=false', ...args], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function regenerateManifests(repoDir: string): void {
  if (fs.existsSync(path.join(repoDir, 'dbt_project.yml'))) writeFixtureManifest(repoDir);
}

/** Copies `from` over `to`; a `_delete.txt` in `from` lists paths (relative to `to`) to remove. */
export function overlay(from: string, to: string): void {
  for (const e of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, e.name);
    if (e.isDirectory()) {
      fs.mkdirSync(path.join(to, e.name), { recursive: true });
      overlay(src, path.join(to, e.name));
    } else if (e.name === '_delete.txt') {
      for (const rel of fs.readFileSync(src, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean)) fs.rmSync(path.join(to, rel), { force: true });
    } else fs.copyFileSync(src, path.join(to, e.name));
  }
}

/** A workspace: the fixture repos as git repos, base committed, optionally one fault applied and committed on top. */
export interface Workspace {
  readonly root: string;
  readonly dirs: Record<(typeof REPO_NAMES)[number], string>;
  readonly all: string[];
  cleanup(): void;
}

/**
 * Copies test/fixtures/graph/repos into a temp folder, makes each repo a git repo with the base
 * commit, then applies `faults/<fault>` (when given) as a second commit, regenerating dbt manifests.
 * `--base HEAD~1` then compares the fault with the base.
 */
export function makeWorkspace(fault?: string, opts: { commit?: boolean } = {}): Workspace {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-graph-'));
  const dirs = {} as Record<(typeof REPO_NAMES)[number], string>;
  for (const name of REPO_NAMES) {
    const dir = path.join(root, name);
    fs.cpSync(path.join(FIXTURES, 'repos', name), dir, { recursive: true });
    git(dir, 'init', '-q', '-b', 'main');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', 'base');
    dirs[name] = dir;
  }
  if (fault) {
    const faultDir = path.join(FIXTURES, 'faults', fault);
    if (!fs.existsSync(faultDir)) throw new Error(`no fixture fault ${faultDir}`);
    for (const repo of fs.readdirSync(faultDir)) {
      const dir = dirs[repo as (typeof REPO_NAMES)[number]];
      overlay(path.join(faultDir, repo), dir);
      regenerateManifests(dir);
      if (opts.commit !== false) {
        git(dir, 'add', '-A');
        git(dir, 'commit', '-q', '-m', `fault ${fault}`);
      }
    }
  }
  // Repos the fault did not touch get a second commit too, so HEAD~1 exists everywhere.
  for (const name of REPO_NAMES) {
    if (git(dirs[name], 'rev-list', '--count', 'HEAD').trim() === '1') git(dirs[name], 'commit', '-q', '--allow-empty', '-m', 'no change');
  }
  return { root, dirs, all: REPO_NAMES.map((n) => dirs[n]), cleanup: () => fs.rmSync(root, { recursive: true, force: true }) };
}
