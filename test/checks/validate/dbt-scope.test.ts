import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadRepoLayout } from '../../../lib/checks/validate/repo-config';
import { computeScope, dbtMacroDirs } from '../../../lib/checks/validate/scope';

function repoWith(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-dbt-scope-'));
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), text);
  }
  return dir;
}

describe('change scoping of dbt projects', () => {
  it("widens to a full run when a macro in the project's own macro-paths changes, nested projects included", () => {
    // GIVEN a nested dbt project whose macros live in jinja/ (macro-paths), not macros/
    const dir = repoWith({ 'warehouse/dbt_project.yml': 'name: w\nprofile: w\nmacro-paths: ["jinja"]\n', 'warehouse/models/a.sql': 'select 1\n' });
    expect(dbtMacroDirs(dir)).toEqual(['warehouse/jinja/']);
    // WHEN a PR changes a macro there and a model
    const scope = computeScope(loadRepoLayout(dir), 'main', ['warehouse/models/a.sql', 'warehouse/jinja/cents.sql']);
    // THEN the run is full, naming the macro
    expect(scope).toMatchObject({ full: true, reason: 'shared file warehouse/jinja/cents.sql changed: full run' });
  });

  it('stays scoped when only a model of the project changes', () => {
    const dir = repoWith({ 'warehouse/dbt_project.yml': 'name: w\nprofile: w\nmacro-paths: ["jinja"]\n' });
    expect(computeScope(loadRepoLayout(dir), 'main', ['warehouse/models/a.sql'])).toMatchObject({ full: false });
  });
});
