import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadRepoLayout } from '../../../lib/checks/validate/repo-config';
import { changedFiles, computeScope, ScopeError, sharedChange } from '../../../lib/checks/validate/scope';

const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e.org', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e.org' };
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env, stdio: 'pipe' }).toString();

function repoWith(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scope-test-'));
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), text);
  }
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'base');
  return dir;
}

describe('change scoping', () => {
  it.each([
    ['macros/cents_to_dollars.sql', true],
    ['packages.yml', true],
    ['dbt_project.yml', true],
    ['requirements.txt', true],
    ['requirements-dev.txt', true],
    ['buildspecs/pr-validate.yml', true],
    ['buildspec.yml', true],
    ['.github/workflows/ci.yml', true],
    ['plugins/hooks/snowflake.py', true],
    ['dataops.yaml', true],
    ['.sqlfluff', true],
    ['pyproject.toml', true],
    ['models/marts/fct_daily_visits.sql', false],
    ['dags/ingest_visits.py', false],
    ['jobs/visit_rollup/job.py', false],
    ['main.tf', false],
  ])('treats a change of %s as shared=%s', (file, shared) => {
    // GIVEN one changed file WHEN the shared-file rule looks at it THEN it widens the run or not
    expect(sharedChange([file]) !== undefined).toBe(shared);
  });

  it('widens to a full run and names the shared file', () => {
    // GIVEN a repo layout and a change that touches a macro and a model
    const dir = repoWith({ 'dbt_project.yml': 'name: x\n' });
    const layout = loadRepoLayout(dir);
    // WHEN the scope is computed
    const scope = computeScope(layout, 'main', ['models/a.sql', 'macros/m.sql']);
    // THEN it is full, with the macro as the reason
    expect(scope).toMatchObject({ full: true, reason: 'shared file macros/m.sql changed: full run' });
  });

  it('runs everything when no base is given', () => {
    const dir = repoWith({ 'dbt_project.yml': 'name: x\n' });
    expect(computeScope(loadRepoLayout(dir))).toEqual({ full: true, reason: 'no --base given: full run', changed: [] });
  });

  it('lists committed, uncommitted and untracked changes since the merge base, relative to a sub-folder', () => {
    // GIVEN a repository whose data repo lives in a sub-folder, with a branch that changes files
    const dir = repoWith({ 'repo/models/a.sql': 'select 1\n', 'repo/models/b.sql': 'select 2\n', 'other/x.txt': 'x\n' });
    git(dir, 'checkout', '-q', '-b', 'pr');
    fs.writeFileSync(path.join(dir, 'repo/models/a.sql'), 'select 11\n');
    fs.writeFileSync(path.join(dir, 'other/x.txt'), 'y\n');
    git(dir, 'commit', '-q', '-am', 'change a');
    fs.writeFileSync(path.join(dir, 'repo/models/b.sql'), 'select 22\n');
    fs.writeFileSync(path.join(dir, 'repo/models/c.sql'), 'select 3\n');
    // WHEN the changed files of repo/ since main are listed
    const changed = changedFiles(path.join(dir, 'repo'), 'main');
    // THEN they are the three model files, relative to repo/, and nothing outside it
    expect(changed).toEqual(['models/a.sql', 'models/b.sql', 'models/c.sql']);
  });

  it('fails with a ScopeError naming the base when the base revision does not exist', () => {
    const dir = repoWith({ 'a.txt': 'a\n' });
    expect(() => changedFiles(dir, 'no-such-branch')).toThrow(ScopeError);
    expect(() => changedFiles(dir, 'no-such-branch')).toThrow(/no-such-branch/);
  });
});
