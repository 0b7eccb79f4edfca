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

  it.each([
    ['--repo-name over dataops.yaml', 'name: clinic-dags\n', { name: 'ingest-postgres' }, 'ingest-postgres', '--repo-name'],
    ['DATAOPS_REPO over dataops.yaml', 'name: clinic-dags\n', { name: 'ingest-postgres', nameFrom: 'DATAOPS_REPO' }, 'ingest-postgres', 'DATAOPS_REPO'],
    ['name: of dataops.yaml', 'name: clinic-dags\n', {}, 'clinic-dags', 'dataops.yaml'],
    ['the directory name without either', 'kinds: [airflow]\n', {}, 'repo-dir', 'the directory name'],
  ])('takes the repo name from %s', (_from, yaml, opts, name, nameFrom) => {
    // GIVEN a repo folder named repo-dir with the given dataops.yaml
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'layout-')), 'repo-dir');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'dataops.yaml'), yaml);
    // WHEN the layout is loaded THEN the name and where it came from are the expected ones
    expect(loadRepoLayout(dir, opts)).toMatchObject({ name, nameFrom });
  });

  it('names the sample Airflow repo so that its DAG folder is the package clinic_dags', () => {
    expect(loadRepoLayout(path.join(PROJECT_ROOT, 'examples', 'airflow-dags')).name).toBe('clinic-dags');
  });

  it('fails naming the key when the name in dataops.yaml is not a repo name', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layout-'));
    fs.writeFileSync(path.join(dir, 'dataops.yaml'), 'name: Clinic_DAGs\n');
    expect(() => loadRepoLayout(dir)).toThrow(/dataops\.yaml: name: 'Clinic_DAGs' must be the repo's name from the platform config/);
  });

  it('fails naming DATAOPS_REPO when the name it gives is not a repo name', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layout-'));
    expect(() => loadRepoLayout(dir, { name: 'Ingest Postgres', nameFrom: 'DATAOPS_REPO' })).toThrow(/^DATAOPS_REPO 'Ingest Postgres' is not a repo name/);
  });

  it('fails when the repo folder does not exist', () => {
    expect(() => loadRepoLayout('/no/such/repo')).toThrow(/is not a directory/);
  });
});
