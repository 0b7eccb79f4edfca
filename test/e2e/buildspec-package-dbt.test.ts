import { execFileSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { gunzipSync } from 'zlib';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { runBuildspec, type BuildspecRunResult } from '../../lib/checks/buildspec/runner';
import { PROJECT_ROOT } from '../../lib/checks/validate/toolchain';
import { ReleaseManifestSchema, type ReleaseManifest } from '../../lib/runtime/release/manifest';
import { motoClientConfig, uniqueName } from '../helpers/moto';
import { SampleRepo } from './helpers';

// End-to-end: the real buildspecs/package.yml on a copy of examples/dbt-models (no target/, no
// dbt_packages/), with only the variables the Package project sets (DATAOPS_REPO, ARTIFACT_BUCKET) and
// no Snowflake credentials: `dataops package` parses the project with the offline profile itself.
jest.setTimeout(300_000);

const SNOWFLAKE_VARS = ['SNOWFLAKE_ACCOUNT', 'SNOWFLAKE_USER', 'SNOWFLAKE_PRIVATE_KEY_PATH', 'SNOWFLAKE_ROLE', 'SNOWFLAKE_WAREHOUSE', 'DBT_CI_DATABASE', 'DBT_PROFILES_DIR', 'DBT_TARGET'];

/** The files of a tar archive (ustar headers; the release tarballs hold regular files only). */
function untar(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (let off = 0; off + 512 <= buf.length; ) {
    const name = buf.subarray(off, off + 100).toString('utf8').replace(/\0.*$/s, '');
    if (!name) break;
    const prefix = buf.subarray(off + 345, off + 500).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(buf.subarray(off + 124, off + 136).toString('utf8').replace(/\0.*$/s, '').trim() || '0', 8);
    out.set(prefix ? `${prefix}/${name}` : name, buf.subarray(off + 512, off + 512 + size));
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

describe('buildspecs/package.yml on the dbt sample repo, without credentials', () => {
  const repoName = 'clinic-analytics';
  const s3 = new S3Client(motoClientConfig());
  let sample: SampleRepo;
  let artifactsDir: string;
  let build: BuildspecRunResult;
  const saved: Record<string, string | undefined> = {};

  // GIVEN the sample dbt repo committed in git (its profile's ci target reads SNOWFLAKE_* variables,
  // none of which is set), and the artifact bucket in moto
  beforeAll(async () => {
    for (const v of SNOWFLAKE_VARS) {
      saved[v] = process.env[v];
      delete process.env[v];
    }
    sample = new SampleRepo('dbt-models');
    const bucket = uniqueName('artifacts');
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    artifactsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-package-dbt-'));
    const moto = motoClientConfig();
    // WHEN the Package build runs with the project's two variables (plus the AWS endpoint of moto)
    build = await runBuildspec({
      file: path.join(PROJECT_ROOT, 'buildspecs', 'package.yml'),
      srcDir: sample.dir,
      artifactsDir,
      env: {
        AWS_ENDPOINT_URL: moto.endpoint,
        AWS_REGION: moto.region,
        AWS_ACCESS_KEY_ID: moto.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: moto.credentials.secretAccessKey,
        DATAOPS_REPO: repoName,
        ARTIFACT_BUCKET: bucket,
        DATAOPS_CACHE_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-package-dbt-cache-')),
      },
    });
  });
  afterAll(() => {
    for (const [k, v] of Object.entries(saved)) if (v !== undefined) process.env[k] = v;
    sample.remove();
    fs.rmSync(artifactsDir, { recursive: true, force: true });
  });

  const manifest = (): ReleaseManifest => ReleaseManifestSchema.parse(JSON.parse(fs.readFileSync(path.join(artifactsDir, 'release-manifest.json'), 'utf8')));

  it('succeeds, and the release carries the dbt manifest of the project with its models', () => {
    // THEN the build succeeded
    expect({ succeeded: build.succeeded, log: build.succeeded ? '' : build.log.slice(-3000) }).toEqual({ succeeded: true, log: '' });
    // AND the dbt tarball holds target/manifest.json, whose sha256 the release manifest records
    const m = manifest();
    const tar = untar(gunzipSync(fs.readFileSync(path.join(artifactsDir, 'dbt.tar.gz'))));
    const body = tar.get('target/manifest.json');
    expect(body).toBeDefined();
    expect(m.dbt?.manifestSha256).toBe(createHash('sha256').update(body as Buffer).digest('hex'));
    // AND that manifest is dbt's, for this project, with the sample's models
    const dbtManifest = JSON.parse((body as Buffer).toString('utf8')) as { metadata: { project_name: string; dbt_schema_version: string }; nodes: Record<string, unknown> };
    expect(dbtManifest.metadata.project_name).toBe('clinic_analytics');
    expect(dbtManifest.metadata.dbt_schema_version).toMatch(/manifest\/v12\.json$/);
    expect(Object.keys(dbtManifest.nodes).filter((id) => id.startsWith('model.')).sort()).toEqual([
      'model.clinic_analytics.dim_patients',
      'model.clinic_analytics.fct_daily_visits',
      'model.clinic_analytics.stg_patients',
      'model.clinic_analytics.stg_visits',
    ]);
  });

  it('writes nothing into the source folder', () => {
    // THEN git sees no new or changed file (no target/, logs/, dbt_packages/, package-lock.yml, .duckdb)
    // apart from release/, the folder the buildspec writes the release to
    const status = execFileSync('git', ['status', '--porcelain', '--ignored'], { cwd: sample.dir, encoding: 'utf8' }).split('\n').filter(Boolean);
    expect(status.filter((l) => !/^(\?\?|!!) release\/$/.test(l))).toEqual([]);
  });
});
