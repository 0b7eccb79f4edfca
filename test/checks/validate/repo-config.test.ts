import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadRepoLayout, RepoConfigError } from '../../../lib/checks/validate/repo-config';
import { PROJECT_ROOT } from '../../../lib/checks/validate/toolchain';

describe('repo layout', () => {
  it.each([
    ['dbt-models', ['dbt', 'sql']],
    ['airflow-dags', ['airflow', 'python']],
    ['spark-jobs', ['spark', 'python']],
    ['terraform-infra', ['terraform']],
  ])('reads the kinds of examples/%s from its dataops.yaml', (name, kinds) => {
    expect(loadRepoLayout(path.join(PROJECT_ROOT, 'examples', name)).kinds).toEqual(kinds);
  });

  it('detects the kinds of a repo without dataops.yaml from its files', () => {
    // GIVEN a repo with a dbt project, a dags folder and a .tf file but no dataops.yaml
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layout-'));
    fs.writeFileSync(path.join(dir, 'dbt_project.yml'), 'name: x\n');
    fs.mkdirSync(path.join(dir, 'dags'));
    fs.writeFileSync(path.join(dir, 'dags', 'd.py'), 'from airflow import DAG\n');
    fs.writeFileSync(path.join(dir, 'main.tf'), '');
    // WHEN the layout is loaded THEN the kinds are detected
    expect([...loadRepoLayout(dir).kinds].sort()).toEqual(['airflow', 'dbt', 'python', 'sql', 'terraform']);
  });

  it('fails naming the file and the key when dataops.yaml has an unknown kind', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layout-'));
    fs.writeFileSync(path.join(dir, 'dataops.yaml'), 'kinds: [dbt, sparkk]\n');
    expect(() => loadRepoLayout(dir)).toThrow(RepoConfigError);
    expect(() => loadRepoLayout(dir)).toThrow(/dataops\.yaml: kinds\.1: /);
  });

  it('fails when the repo folder does not exist', () => {
    expect(() => loadRepoLayout('/no/such/repo')).toThrow(/is not a directory/);
  });
});
