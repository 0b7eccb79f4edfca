import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { gunzipSync } from 'zlib';
import { readReleaseAssets } from '../../../lib/runtime/deployers/release-files';
import { checkRelease, RELEASE_MANIFEST_FILE } from '../../../lib/runtime/release/checksums';
import { ReleaseManifestSchema } from '../../../lib/runtime/release/manifest';
import { deterministicTarGz, modelsToRebuild, PackageError, packageRelease } from '../../../lib/runtime/release/package';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `pkg-${name}-`));
const base = { buildId: '42', sha: 'abc1234def5678', createdAt: '2026-03-02T09:15:00Z' };

function readDir(dir: string): Map<string, Uint8Array> {
  return new Map(fs.readdirSync(dir).map((f) => [f, fs.readFileSync(path.join(dir, f))]));
}

/** A repo with every kind: DAGs, a dbt project with a built manifest, a Spark job, Terraform, Python. */
function mixedRepo(order: 'forward' | 'reverse' = 'forward'): string {
  const dir = tmp('repo');
  const files: Record<string, string> = {
    'dataops.yaml': 'kinds: [airflow, dbt, spark, terraform, python]\npaths:\n  airflow: dags\n  spark: jobs\n  terraform: infra\ndbt:\n  projectDir: warehouse\n',
    'dags/claims.py': "from airflow import DAG\nimport pendulum\nwith DAG(dag_id='claims_daily', schedule='@daily', start_date=pendulum.datetime(2025, 1, 1, tz='UTC'), catchup=False):\n    pass\n",
    'dags/common/util.py': 'X = 1\n',
    'dags/tests/test_claims.py': 'def test_x():\n    pass\n',
    'warehouse/dbt_project.yml': "name: core\nprofile: core\n",
    'warehouse/profiles.yml': 'secret: do-not-ship\n',
    'warehouse/models/stg_claims.sql': 'select 1 as id\n',
    'warehouse/target/manifest.json': JSON.stringify({ nodes: { 'model.core.stg_claims': { resource_type: 'model', checksum: { checksum: 'new' }, config: { materialized: 'table' } } } }),
    'jobs/visit_rollup/job.py': 'print(1)\n',
    'infra/main.tf': 'resource "aws_s3_bucket" "raw" {}\n',
    'infra/.terraform/providers/x': 'cache',
    'lib/helpers.py': 'def f():\n    return 1\n',
  };
  const names = Object.keys(files);
  for (const f of order === 'forward' ? names : names.reverse()) {
    fs.mkdirSync(path.join(dir, path.dirname(f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), files[f]);
  }
  return dir;
}

describe('dataops package', () => {
  it('builds a release with one tarball per kind and a manifest that passes its schema and checksums', async () => {
    // GIVEN a repo with every kind
    const repo = mixedRepo();
    const out = tmp('out');
    // WHEN packaged
    const r = await packageRelease({ ...base, repoDir: repo, outDir: out, repoName: 'ingest-postgres', sparkImagesFile: undefined });
    // THEN the manifest is valid, versioned <yyyymmdd>.<build>+<sha>, and every artifact checks out
    const m = ReleaseManifestSchema.parse(JSON.parse(fs.readFileSync(r.manifestPath, 'utf8')));
    expect(m).toMatchObject({ repo: 'ingest-postgres', version: '20260302.42+abc1234def56', gitSha: 'abc1234def5678', buildId: '42', createdAt: '2026-03-02T09:15:00.000Z' });
    expect(m.artifacts.map((a) => a.file)).toEqual(['airflow.tar.gz', 'dbt.tar.gz', 'python.tar.gz', 'spark.tar.gz', 'terraform.tar.gz']);
    expect(checkRelease(readDir(out)).ok).toBe(true);
    // AND assets are exactly the deployable files, each under one kind, without tests, credentials or caches
    expect(m.assets.map((a) => a.id)).toEqual([
      'airflow:dags/claims.py',
      'airflow:dags/common/util.py',
      'terraform:infra/main.tf',
      'spark:jobs/visit_rollup/job.py',
      'python:lib/helpers.py',
      'dbt:warehouse/dbt_project.yml',
      'dbt:warehouse/models/stg_claims.sql',
      'dbt:warehouse/target/manifest.json',
    ]);
    // AND the DAG inventory, dbt manifest hash and Terraform tarball hash are recorded
    expect(m.dags).toEqual([{ dagId: 'claims_daily', file: 'dags/claims.py', schedule: '@daily', startDate: expect.stringMatching(/^2025-01-01/), catchup: false }]);
    expect(m.dbt).toEqual({ manifestSha256: m.assets.find((a) => a.path.endsWith('manifest.json'))?.sha256, modelsToRebuild: [] });
    expect(m.terraform).toEqual({ tarballSha256: m.artifacts.find((a) => a.kind === 'terraform')?.sha256, allowDestroy: [] });
    expect(r.warnings).toContain('spark: no --spark-images given, so the release moves no image pointer; pass the digests the image build pushed');
  });

  it('gives the same bytes for the same inputs, whatever the order and times the files were written in', async () => {
    // GIVEN the same repo written in two orders, with different file mtimes
    const a = mixedRepo('forward');
    const b = mixedRepo('reverse');
    fs.utimesSync(path.join(b, 'dags/claims.py'), new Date('2001-01-01'), new Date('2001-01-01'));
    const outA = tmp('a');
    const outB = tmp('b');
    // WHEN both are packaged
    await packageRelease({ ...base, repoDir: a, outDir: outA, repoName: 'r' });
    await packageRelease({ ...base, repoDir: b, outDir: outB, repoName: 'r' });
    // THEN every file of the two releases is byte-identical
    const filesA = readDir(outA);
    const filesB = readDir(outB);
    expect([...filesA.keys()].sort()).toEqual([...filesB.keys()].sort());
    for (const [name, bytes] of filesA) expect(Buffer.compare(Buffer.from(bytes), Buffer.from(filesB.get(name) as Uint8Array))).toBe(0);
  });

  it('gives different bytes when one asset changes, and only that kind\'s tarball changes', async () => {
    const a = mixedRepo();
    const b = mixedRepo();
    fs.writeFileSync(path.join(b, 'infra/main.tf'), 'resource "aws_s3_bucket" "raw2" {}\n');
    const [ra, rb] = [await packageRelease({ ...base, repoDir: a, outDir: tmp('a'), repoName: 'r' }), await packageRelease({ ...base, repoDir: b, outDir: tmp('b'), repoName: 'r' })];
    const changed = ra.manifest.artifacts.filter((x) => rb.manifest.artifacts.find((y) => y.file === x.file)?.sha256 !== x.sha256).map((x) => x.file);
    expect(changed).toEqual(['terraform.tar.gz']);
  });

  it('writes tarballs the deployers read back with repo-relative paths and checked sha256', async () => {
    // GIVEN a packaged release WHEN the MWAA deployer's reader opens the airflow tarball
    const repo = mixedRepo();
    const out = tmp('out');
    const r = await packageRelease({ ...base, repoDir: repo, outDir: out, repoName: 'r' });
    const assets = await readReleaseAssets(r.manifest, out, 'airflow');
    // THEN it gets the DAG files with their bytes
    expect(assets.map((x) => x.path)).toEqual(['dags/claims.py', 'dags/common/util.py']);
    expect(assets[1].body.toString()).toBe('X = 1\n');
  });

  it('writes tar entries with fixed mtime, uid, gid and mode, and a gzip header without time or platform', async () => {
    const tgz = await deterministicTarGz([{ path: 'b.txt', body: Buffer.from('b') }, { path: 'a.txt', body: Buffer.from('a') }]);
    // gzip: MTIME bytes 4-7 are 0 and OS byte is 255 (unknown)
    expect([...tgz.subarray(4, 8)]).toEqual([0, 0, 0, 0]);
    expect(tgz[9]).toBe(0xff);
    const tar = gunzipSync(tgz);
    // ustar header: name at 0, mode at 100, uid 108, gid 116, mtime 136 (octal)
    expect(tar.subarray(0, 5).toString()).toBe('a.txt');
    expect(parseInt(tar.subarray(100, 108).toString(), 8)).toBe(0o644);
    expect(parseInt(tar.subarray(108, 116).toString(), 8)).toBe(0);
    expect(parseInt(tar.subarray(116, 124).toString(), 8)).toBe(0);
    expect(parseInt(tar.subarray(136, 147).toString(), 8)).toBe(315532800);
  });

  it('packages the Airflow example repo', async () => {
    // GIVEN the sample Airflow repo WHEN packaged THEN its DAGs are in the inventory
    const r = await packageRelease({ ...base, repoDir: path.join(ROOT, 'examples/airflow-dags'), outDir: tmp('ex'), repoName: 'orchestration' });
    expect(r.manifest.dags.map((d) => d.dagId).length).toBeGreaterThanOrEqual(3);
    expect(r.manifest.artifacts.map((a) => a.kind)).toContain('airflow');
  });

  it.each([
    ['a build id that is not a number', { buildId: 'abc' }, /--build-id 'abc' must be the numeric build number/],
    ['a sha that is not hex', { sha: 'main' }, /--sha 'main' is not a git commit sha/],
    ['a creation time that is not ISO', { createdAt: 'yesterday' }, /--created-at 'yesterday' is not an ISO time/],
  ])('fails on %s', async (_n, change, message) => {
    await expect(packageRelease({ ...base, ...change, repoDir: mixedRepo(), outDir: tmp('x') })).rejects.toThrow(message);
  });

  it('parses a dbt project without a built manifest with the offline profile, reproducibly, writing nothing into the repo', async () => {
    // GIVEN the repo without warehouse/target (its profiles.yml has no profile 'core')
    const repo = mixedRepo();
    fs.rmSync(path.join(repo, 'warehouse/target'), { recursive: true });
    const cache = { DATAOPS_CACHE_DIR: tmp('cache') };
    // WHEN it is packaged twice, the second time with a cold parse cache
    const first = await packageRelease({ ...base, repoDir: repo, outDir: tmp('a') }, cache);
    const second = await packageRelease({ ...base, repoDir: repo, outDir: tmp('b') }, { DATAOPS_CACHE_DIR: tmp('cache') });
    // THEN the release carries dbt's manifest of the project at warehouse/target/manifest.json
    const asset = first.manifest.assets.find((a) => a.path === 'warehouse/target/manifest.json');
    expect(asset?.sha256).toBe(first.manifest.dbt?.manifestSha256);
    // AND both releases have the same bytes (dbt's timestamps come from the commit)
    expect(second.manifestSha256).toBe(first.manifestSha256);
    // AND nothing was written into the repo's dbt project
    expect(fs.readdirSync(path.join(repo, 'warehouse')).sort()).toEqual(['dbt_project.yml', 'models', 'profiles.yml']);
  });

  it('fails on a dbt project that does not parse, with the lines of dbt saying why', async () => {
    // GIVEN a model with a Jinja syntax error and no built manifest
    const repo = mixedRepo();
    fs.rmSync(path.join(repo, 'warehouse/target'), { recursive: true });
    fs.writeFileSync(path.join(repo, 'warehouse/models/stg_claims.sql'), "select id from {{ ref('raw_claims' }}\n");
    // WHEN it is packaged, THEN the error names the model and dbt's reason
    await expect(packageRelease({ ...base, repoDir: repo, outDir: tmp('x') }, { DATAOPS_CACHE_DIR: tmp('cache') })).rejects.toThrow(
      /dbt manifest of warehouse: dbt parse failed .*Compilation Error in model stg_claims \(models\/stg_claims\.sql\) \/ unexpected '}', expected '\)'/,
    );
  });

  it('fails without a creation time outside git unless SOURCE_DATE_EPOCH is set', async () => {
    const repo = mixedRepo();
    const noTime = { buildId: '1', sha: 'abcdef1' };
    await expect(packageRelease({ ...noTime, repoDir: repo, outDir: tmp('x') }, {})).rejects.toBeInstanceOf(PackageError);
    const r = await packageRelease({ ...noTime, repoDir: repo, outDir: tmp('x') }, { SOURCE_DATE_EPOCH: '1772442000' });
    expect(r.manifest.createdAt).toBe('2026-03-02T09:00:00.000Z');
  });

  it('marks changed table and incremental models for rebuild against the base manifest, not views', () => {
    const node = (checksum: string, materialized: string) => ({ resource_type: 'model', checksum: { checksum }, config: { materialized } });
    const now = JSON.stringify({ nodes: { 'model.a.t': node('2', 'table'), 'model.a.i': node('1', 'incremental'), 'model.a.v': node('2', 'view'), 'model.a.new': node('1', 'table') } });
    const base0 = JSON.stringify({ nodes: { 'model.a.t': node('1', 'table'), 'model.a.i': node('1', 'incremental'), 'model.a.v': node('1', 'view') } });
    expect(modelsToRebuild(now, base0)).toEqual(['model.a.new', 'model.a.t']);
    expect(modelsToRebuild(now, null)).toEqual([]);
  });

  it('writes the manifest under the fixed file name', async () => {
    const r = await packageRelease({ ...base, repoDir: mixedRepo(), outDir: tmp('x') });
    expect(path.basename(r.manifestPath)).toBe(RELEASE_MANIFEST_FILE);
  });
});
