/**
 * Deploy writes of a 250-asset release against the local servers (moto S3/SSM/ECR, the MWAA CLI
 * fake with the Airflow model, the Terraform Cloud fake, the Snowflake model), through the four
 * deployers:
 * - deploy_writes_first_250: first deploy into empty environments;
 * - deploy_writes_redeploy_250: the same release again (must be 0);
 * - deploy_writes_one_change: a release that changes one DAG file of an unpaused DAG
 *   (pause marker, pause, upload, unpause, marker delete);
 * plus the wall time of each, for the record.
 *
 * The release: 110 DAG files, 20 Spark jobs, 110 dbt files (5 models marked for rebuild),
 * 10 Terraform files. `npm run bench -- deploy`.
 */
import { createHash } from 'crypto';
import { CreateRepositoryCommand, ECRClient, PutImageCommand } from '@aws-sdk/client-ecr';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { BenchResult } from './run';
import type { DeployContext, Deployer } from '../lib/runtime/deployers/contract';
import { DbtSnowflakeDeployer } from '../lib/runtime/deployers/dbt-snowflake-deployer';
import { MwaaDagDeployer } from '../lib/runtime/deployers/mwaa-dag-deployer';
import { sha256Hex } from '../lib/runtime/deployers/release-files';
import { SparkImageDeployer } from '../lib/runtime/deployers/spark-image-deployer';
import { TerraformCloudDeployer } from '../lib/runtime/deployers/terraform-cloud-deployer';
import { MwaaCliClient } from '../lib/runtime/mwaa/cli-client';
import { TerraformCloudClient } from '../lib/runtime/terraform-cloud/client';
import { startMoto } from '../test/helpers/servers';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

async function deployAll(deployers: ReadonlyArray<{ d: Deployer<unknown, unknown, unknown>; ctx: DeployContext }>): Promise<{ writes: number; ms: number }> {
  const t0 = performance.now();
  let writes = 0;
  for (const { d, ctx } of deployers) {
    const plan = d.plan(await d.readCurrent(ctx), ctx);
    writes += (await d.apply(plan, ctx)).writes;
  }
  return { writes, ms: Math.round(performance.now() - t0) };
}

export async function run(): Promise<BenchResult[]> {
  const moto = await startMoto();
  process.env.DATAOPS_TEST_MOTO_ENDPOINT = moto.endpoint;
  process.env.AWS_ACCESS_KEY_ID ??= 'testing';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'testing';
  // Helpers read the moto endpoint from the environment, so load them after it is set.
  const { motoClientConfig } = await import('../test/helpers/moto');
  const fx = await import('../test/helpers/s3-fixtures');
  const { ModelAirflow, startMwaaCliFake } = await import('../test/helpers/mwaa-cli-fake');
  const { startTfcFake } = await import('../test/helpers/tfc-fake');
  const { SnowflakeModel } = await import('../test/helpers/snowflake-model');
  const s3 = fx.motoS3();
  const dagBucket = await fx.createVersionedBucket(s3, 'bench-dags');
  const artifactBucket = await fx.createVersionedBucket(s3, 'bench-artifacts');
  const airflow = new ModelAirflow();
  const mwaa = await startMwaaCliFake({ environmentName: 'northstar-dev', backend: airflow, s3, dagBucket });
  const tfc = await startTfcFake();
  tfc.addWorkspace('northstar-health', 'bench-repo-dev');
  const ecr = new ECRClient(motoClientConfig());
  const sf = new SnowflakeModel();
  try {
    const repo = 'bench-repo';
    const jobs = Array.from({ length: 20 }, (_, i) => `job${i}`);
    const images: Array<{ job: string; repository: string; digest: string }> = [];
    for (const job of jobs) {
      await ecr.send(new CreateRepositoryCommand({ repositoryName: `northstar/dev/${repo}/${job}` }));
      const manifest = JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: 1, digest: `sha256:${sha(`c${job}`)}` },
        layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: 1, digest: `sha256:${sha(`l${job}`)}` }],
      });
      const out = await ecr.send(new PutImageCommand({ repositoryName: `northstar/dev/${repo}/${job}`, imageManifest: manifest, imageTag: 'v1' }));
      images.push({ job, repository: `${repo}/${job}`, digest: out.image!.imageId!.imageDigest! });
    }
    const models = Array.from({ length: 5 }, (_, i) => `model.core.m${i}`);
    const dbtManifest = JSON.stringify({
      nodes: Object.fromEntries(models.map((id, i) => [id, { unique_id: id, resource_type: 'model', name: `m${i}`, schema: 'core', compiled_code: `select ${i} as id`, config: { materialized: 'table' } }])),
    });
    models.forEach((_, i) => {
      sf.createTable(`ANALYTICS_DEV.CORE.M${i}`, [{ ID: -1 }]);
      sf.defineQuery(`select ${i} as id`, [{ ID: i }]);
    });
    const files = (changed: boolean) => [
      ...Array.from({ length: 110 }, (_, i) => ({ kind: 'airflow' as const, path: `dags/d${i}.py`, body: fx.dagFile(`bench_d${i}`, { schedule: changed && i === 0 ? '@weekly' : '@daily' }) })),
      ...Array.from({ length: 109 }, (_, i) => ({ kind: 'dbt' as const, path: `models/m${i}.sql`, body: `select ${i} as id` })),
      { kind: 'dbt' as const, path: 'target/manifest.json', body: dbtManifest },
      ...Array.from({ length: 10 }, (_, i) => ({ kind: 'terraform' as const, path: `terraform/r${i}.tf`, body: `resource "aws_sqs_queue" "q${i}" {\n  name = "q${i}"\n}\n` })),
    ];
    // Release 2 changes one DAG file only, so packaging marks no dbt model for rebuild.
    const release = async (build: number, changed: boolean) => {
      const r = await fx.writeRelease({ repo, build, files: files(changed), sparkImages: images, dbt: { manifestSha256: sha256Hex(dbtManifest), modelsToRebuild: changed ? [] : models } });
      const assets = r.release.assets.length + r.release.sparkImages.length;
      if (assets !== 250) throw new Error(`bench release has ${assets} assets, expected 250`);
      return fx.deployContext(r.release, r.dir, { dagBucket });
    };
    const deployers = (ctx: DeployContext) =>
      [
        new MwaaDagDeployer({ s3, airflow: new MwaaCliClient({ mwaa: mwaa.mwaaClient(), environmentName: 'northstar-dev', scheme: 'http' }), parseWaitMs: 0 }),
        new SparkImageDeployer({ ssm: new SSMClient(motoClientConfig()), ecr }),
        new DbtSnowflakeDeployer({ sql: sf, s3, artifactBucket }),
        new TerraformCloudDeployer({ tfc: new TerraformCloudClient({ token: tfc.token, baseUrl: tfc.baseUrl }), s3, artifactBucket, protectedResourceTypes: ['aws_s3_bucket'], pollMs: 1 }),
      ].map((d) => ({ d: d as Deployer<unknown, unknown, unknown>, ctx }));

    const r1 = await release(1, false);
    const first = await deployAll(deployers(r1));
    const again = await deployAll(deployers(r1));
    // Production DAGs run unpaused: unpause the one the next release changes.
    airflow.setPausedDirectly('bench_d0', false);
    const r2 = await release(2, true);
    const one = await deployAll(deployers(r2));
    return [
      { name: 'deploy_writes_first_250', value: first.writes, unit: 'writes' },
      { name: 'deploy_writes_redeploy_250', value: again.writes, unit: 'writes' },
      { name: 'deploy_writes_one_change', value: one.writes, unit: 'writes' },
      { name: 'deploy_ms_first_250', value: first.ms, unit: 'ms' },
      { name: 'deploy_ms_redeploy_250', value: again.ms, unit: 'ms' },
      { name: 'deploy_ms_one_change', value: one.ms, unit: 'ms' },
    ];
  } finally {
    await mwaa.stop();
    await tfc.stop();
    await moto.stop();
  }
}
