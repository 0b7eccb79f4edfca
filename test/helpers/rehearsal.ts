import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { loadConfig } from '../../lib/config/loader';
import { ENVIRONMENT_NAMES, type EnvironmentName, type PlatformConfig } from '../../lib/config/schema';
import { accountAdmin, clientConfig, type AwsTarget } from '../../tools/rehearsal/aws';
import { motoClientConfig } from './moto';
import { RealAirflow, startMwaaCliFake, type MwaaCliFake } from './mwaa-cli-fake';
import { ROOT, type LocalServer } from './servers';

/** The platform configuration the rehearsal synthesizes: the sample repos as one team's repos. */
export const REHEARSAL_CONFIG = path.join(ROOT, 'config', 'rehearsal.yaml');

/** The rehearsal configuration, loaded. */
export function rehearsalConfig(): PlatformConfig {
  return loadConfig(REHEARSAL_CONFIG);
}

/** Runs the real `cdk synth` on the rehearsal configuration into a fresh folder; returns the folder. */
export function synthRehearsalAssembly(): string {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-rehearsal-cdk-out-'));
  execFileSync(path.join(ROOT, 'node_modules', '.bin', 'cdk'), ['synth', '--quiet', '-c', `config=${REHEARSAL_CONFIG}`, '-o', out], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  return out;
}

/** The AWS stand-in of the tests: the moto server global-setup started. */
export function motoTarget(): AwsTarget {
  const m = motoClientConfig();
  return { endpoint: m.endpoint, region: m.region, credentials: m.credentials };
}

/** A moto server of a suite's own (a rehearsal with IAM enforcement needs one), as an AWS stand-in. */
export function motoTargetOf(server: LocalServer): AwsTarget {
  return { endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
}

/** The MWAA environments of a platform, each a CLI fake running real Airflow on its DAG bucket, behind one MWAA API endpoint. */
export interface MwaaEnvironments {
  /** The MWAA API endpoint (AWS_ENDPOINT_URL_MWAA) that routes CreateCliToken to each environment by name. */
  readonly endpoint: string;
  readonly fakes: Readonly<Record<EnvironmentName, MwaaCliFake>>;
  /** The real Airflow behind each environment (its scheduler's side: runs DAGs as the environment would). */
  readonly airflow: Readonly<Record<EnvironmentName, RealAirflow>>;
  /** An S3 client of the environment's account (its DAG bucket lives there). */
  s3(env: EnvironmentName): Promise<S3Client>;
  stop(): Promise<void>;
}

/**
 * Starts each environment's MWAA stand-in: its DAG bucket (versioned, in the environment's account of
 * the AWS stand-in) and a CLI fake running real Airflow on it; one endpoint serves them all, routing
 * `POST /clitoken/<environment>` to that environment's fake, as MWAA's regional API does by name.
 */
export async function startMwaaEnvironments(target: AwsTarget, config: PlatformConfig): Promise<MwaaEnvironments> {
  const fakes = {} as Record<EnvironmentName, MwaaCliFake>;
  const airflow = {} as Record<EnvironmentName, RealAirflow>;
  const clients = {} as Record<EnvironmentName, S3Client>;
  for (const env of ENVIRONMENT_NAMES) {
    const e = config.environments[env];
    const s3 = new S3Client(clientConfig(target, await accountAdmin(target, e.account)));
    await s3.send(new CreateBucketCommand({ Bucket: e.mwaa.dagBucket })).catch((err: Error) => {
      if (!/BucketAlready/.test(err.name)) throw err;
    });
    await s3.send(new PutBucketVersioningCommand({ Bucket: e.mwaa.dagBucket, VersioningConfiguration: { Status: 'Enabled' } }));
    clients[env] = s3;
    airflow[env] = await RealAirflow.start();
    fakes[env] = await startMwaaCliFake({ environmentName: e.mwaa.environmentName, backend: airflow[env], s3, dagBucket: e.mwaa.dagBucket });
  }
  const byName = new Map(ENVIRONMENT_NAMES.map((env) => [config.environments[env].mwaa.environmentName, fakes[env]]));
  const router = http.createServer((req, res) => {
    const name = decodeURIComponent(/^\/clitoken\/([^/?]+)/.exec(req.url ?? '')?.[1] ?? '');
    const fake = byName.get(name);
    if (!fake) {
      res.writeHead(404, { 'Content-Type': 'application/json', 'x-amzn-ErrorType': 'ResourceNotFoundException' });
      res.end(JSON.stringify({ message: `Environment ${name} not found` }));
      return;
    }
    const upstream = new URL(fake.apiEndpoint);
    const proxied = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    proxied.on('error', (e) => {
      res.writeHead(502);
      res.end(e.message);
    });
    req.pipe(proxied);
  });
  await new Promise<void>((resolve) => router.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(router.address() as { port: number }).port}`;
  return {
    endpoint,
    fakes,
    airflow,
    s3: async (env) => clients[env],
    stop: async () => {
      await new Promise<void>((resolve) => router.close(() => resolve()));
      await Promise.all(Object.values(fakes).map((f) => f.stop()));
    },
  };
}
