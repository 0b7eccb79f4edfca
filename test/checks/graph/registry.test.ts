import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DirRegistry, RegistryError, S3Registry, parseRepoSpec, publishFragments, runGraphChecks } from '../../../lib/checks/graph';
import { parseS3Url } from '../../../lib/checks/graph/registry';
import { motoClientConfig, uniqueName } from '../../helpers/moto';
import { makeWorkspace, type Workspace } from './workspace';

const NOW = new Date('2026-06-01T00:00:00Z');

describe('fragment registry', () => {
  let ws: Workspace;
  let tmp: string;
  beforeAll(() => {
    ws = makeWorkspace();
  });
  afterAll(() => ws.cleanup());
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-registry-'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('checks a repo against the fragments other repos published to a folder (--registry DIR)', async () => {
    // GIVEN every repo but analytics published its fragment (as their main pipelines do)
    const others = ws.all.filter((d) => d !== ws.dirs.analytics);
    await publishFragments({ repos: others, registry: tmp, now: NOW });
    expect(fs.readdirSync(tmp).sort()).toEqual(['infra.json', 'orchestration.json', 'spark-jobs.json', 'warehouse.json']);
    // WHEN analytics alone is checked, with and without the registry
    const alone = await runGraphChecks({ repos: [ws.dirs.analytics], now: NOW });
    const withRegistry = await runGraphChecks({ repos: [ws.dirs.analytics], registry: tmp, now: NOW, strict: true });
    // THEN its cross-project ref is outside the known repos alone, and resolves through the registry
    expect(alone).toEqual([expect.objectContaining({ code: 'DBT_REF_MISSING', severity: 'warning', message: expect.stringMatching(/outside the known repos/) })]);
    expect(withRegistry).toEqual([]);
  });

  it('reports a consumer in a published repo that a change to the local repo breaks', async () => {
    // GIVEN analytics (which refs warehouse.fct_claims) published, and warehouse renaming fct_claims locally
    await publishFragments({ repos: [ws.dirs.analytics, ws.dirs['spark-jobs']], registry: tmp, now: NOW });
    const broken = makeWorkspace('DBT_REF_MISSING_REMOVED');
    try {
      // WHEN warehouse alone is checked against the registry
      const findings = await runGraphChecks({ repos: [broken.dirs.warehouse], registry: tmp, base: 'HEAD~1', now: NOW });
      // THEN the broken consumer in the other repo is named
      expect(findings.filter((f) => f.severity === 'error')).toEqual([
        expect.objectContaining({ code: 'DBT_REF_MISSING', repo: 'analytics', asset: 'dbt:model.analytics.claims_summary', file: 'models/claims_summary.sql', line: 4 }),
      ]);
    } finally {
      broken.cleanup();
    }
  });

  it('replaces a repo\'s published fragment with its work tree when that repo is checked', async () => {
    // GIVEN orchestration published, then checked locally with the same name
    await publishFragments({ repos: [ws.dirs.orchestration], registry: tmp, now: NOW });
    // WHEN it is checked with the registry THEN its DAGs are not duplicates of themselves
    const findings = await runGraphChecks({ repos: [ws.dirs.orchestration], registry: tmp, now: NOW });
    expect(findings.filter((f) => f.code === 'DAG_DUPLICATE_ID')).toEqual([]);
  });

  it.each([
    ['../src/warehouse', 'warehouse'],
    ['warehouse=/codebuild/output/src123/src', 'warehouse'],
  ])('names the repo of --repos %s as %s', (spec, name) => {
    // GIVEN DIR or NAME=DIR WHEN parsed THEN the repo name is the folder name or NAME
    expect(parseRepoSpec(spec).name).toBe(name);
  });

  it('publishes a fragment under the NAME given with NAME=DIR', async () => {
    await publishFragments({ repos: [`claims-dbt=${ws.dirs.warehouse}`], registry: tmp, now: NOW });
    expect(fs.readdirSync(tmp)).toEqual(['claims-dbt.json']);
    expect((await new DirRegistry(tmp).get('claims-dbt'))?.repo).toBe('claims-dbt');
  });

  it('fails on a fragment that is not a dataops inventory, naming the file', async () => {
    fs.writeFileSync(path.join(tmp, 'x.json'), JSON.stringify({ schema: 'other', repo: 'x' }));
    await expect(new DirRegistry(tmp).list()).rejects.toThrow(RegistryError);
    await expect(new DirRegistry(tmp).list()).rejects.toThrow(/x.json: not a dataops inventory fragment \(schema: .*\); republish it/);
  });

  it.each([
    ['s3://bucket', { bucket: 'bucket', prefix: '' }],
    ['s3://my.bucket/graph/fragments/', { bucket: 'my.bucket', prefix: 'graph/fragments/' }],
  ])('parses the S3 location %s', (url, expected) => {
    expect(parseS3Url(url)).toEqual(expected);
  });

  it('fails on a registry URL that is not s3://bucket[/prefix]', () => {
    expect(() => parseS3Url('s3:/nope')).toThrow(/registry 's3:\/nope' is not an S3 URL; expected s3:\/\/bucket\[\/prefix\]/);
  });

  describe('in S3 (moto server)', () => {
    const client = new S3Client(motoClientConfig());
    let bucket: string;
    beforeAll(async () => {
      bucket = uniqueName('graph-registry');
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
    });

    it('publishes, lists and reads fragments under a prefix', async () => {
      // GIVEN fragments published to s3://bucket/fragments
      const url = `s3://${bucket}/fragments`;
      await publishFragments({ repos: [ws.dirs.warehouse, ws.dirs.orchestration], registry: url, s3Client: client, now: NOW });
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'fragments/nested/ignored.json', Body: '{}' }));
      const registry = new S3Registry(url, client);
      // WHEN they are listed and read back
      const listed = await registry.list();
      // THEN both are there, valid, and a repo never published is undefined
      expect(listed.map((f) => f.repo)).toEqual(['orchestration', 'warehouse']);
      expect((await registry.get('warehouse'))?.dbt[0].name).toBe('warehouse');
      expect(await registry.get('nobody')).toBeUndefined();
    });

    it('checks a repo against the fragments in S3', async () => {
      const url = `s3://${bucket}/mesh`;
      await publishFragments({ repos: [ws.dirs.warehouse], registry: url, s3Client: client, now: NOW });
      const findings = await runGraphChecks({ repos: [ws.dirs.analytics], registry: url, s3Client: client, now: NOW, strict: true });
      expect(findings).toEqual([]);
    });

    it('fails naming the bucket when it does not exist', async () => {
      const registry = new S3Registry(`s3://${uniqueName('missing')}/x`, client);
      await expect(registry.list()).rejects.toThrow(/cannot list fragments in s3:\/\/.*; check the bucket name and s3:ListBucket permission/);
    });
  });
});
