import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { publishFragments } from '../../../lib/checks/graph';
import { dependencyGraphCheck } from '../../../lib/checks/validate/checks/graph';
import { runValidate } from '../../../lib/checks/validate/runner';
import { PROJECT_ROOT } from '../../../lib/checks/validate/toolchain';

// Found by the pipeline rehearsal: the second release of a repo failed Validate with DAG_DUPLICATE_ID
// for every DAG, because the registry holds the repo's own fragment from its last Package build and
// the checkout (a folder CodeBuild names) was counted as another repo.

function gitCopy(example: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'graph-self-'));
  fs.cpSync(path.join(PROJECT_ROOT, 'examples', example), dir, { recursive: true });
  const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x' };
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: dir, env });
  execFileSync('git', ['add', '-A'], { cwd: dir, env });
  execFileSync('git', ['commit', '-qm', 'base'], { cwd: dir, env });
  return dir;
}

describe('the dependency-graph check with the graph registry', () => {
  const saved = process.env.DATAOPS_GRAPH_REGISTRY;
  afterEach(() => {
    if (saved === undefined) delete process.env.DATAOPS_GRAPH_REGISTRY;
    else process.env.DATAOPS_GRAPH_REGISTRY = saved;
  });

  it("replaces the registry's fragment of the repo being validated with its checkout, whatever the checkout folder is called", async () => {
    // GIVEN the Airflow sample's fragment published under its configured name, clinic-dags
    const registry = fs.mkdtempSync(path.join(os.tmpdir(), 'graph-self-registry-'));
    const published = gitCopy('airflow-dags');
    await publishFragments({ repos: [`clinic-dags=${published}`], registry });
    // AND a checkout of the same repo in a folder with another name, as CodeBuild makes
    const checkout = gitCopy('airflow-dags');
    process.env.DATAOPS_GRAPH_REGISTRY = registry;
    // WHEN it is validated as clinic-dags with the registry
    const report = await runValidate({ repoDir: checkout, repoName: 'clinic-dags', checks: [dependencyGraphCheck], kinds: ['airflow'] });
    // THEN its DAGs are not reported as duplicates of themselves
    expect(report.findings.filter((f) => f.code === 'DAG_DUPLICATE_ID')).toEqual([]);
  });

  it('still reports a DAG id that another repo of the registry declares', async () => {
    // GIVEN the sample's fragment published as another repo, ops-dags
    const registry = fs.mkdtempSync(path.join(os.tmpdir(), 'graph-self-registry-'));
    await publishFragments({ repos: [`ops-dags=${gitCopy('airflow-dags')}`], registry });
    process.env.DATAOPS_GRAPH_REGISTRY = registry;
    // WHEN the same DAGs are validated as clinic-dags
    const report = await runValidate({ repoDir: gitCopy('airflow-dags'), repoName: 'clinic-dags', checks: [dependencyGraphCheck], kinds: ['airflow'] });
    // THEN each DAG id is a duplicate of ops-dags'
    expect(report.findings.filter((f) => f.code === 'DAG_DUPLICATE_ID').map((f) => f.asset).sort()).toEqual(['airflow:clinic_report', 'airflow:dbt_daily', 'airflow:ingest_visits']);
  });
});
