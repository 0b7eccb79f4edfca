import { ENDPOINT_ENV } from '../../../lib/ops/context';
import { motoClientConfig } from '../../helpers/moto';

/**
 * Points the operations commands at moto (DynamoDB, S3) and the CodePipeline fake for the duration of
 * a test file, with moto's test credentials; restores the environment afterwards.
 */
export function useLocalAws(codepipelineEndpoint: () => string | undefined, lambdaEndpoint: () => string | undefined = () => undefined): void {
  const saved: Record<string, string | undefined> = {};
  const set = (k: string, v: string | undefined) => {
    if (!(k in saved)) saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  };
  beforeAll(() => {
    const moto = motoClientConfig().endpoint;
    set(ENDPOINT_ENV.dynamodb, moto);
    set(ENDPOINT_ENV.s3, moto);
    set(ENDPOINT_ENV.codepipeline, codepipelineEndpoint());
    set(ENDPOINT_ENV.sts, moto);
    set(ENDPOINT_ENV.lambda, lambdaEndpoint());
    set('AWS_ACCESS_KEY_ID', 'testing');
    set('AWS_SECRET_ACCESS_KEY', 'testing');
    set('AWS_SESSION_TOKEN', undefined);
    set('AWS_PROFILE', undefined);
  });
  afterAll(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
}
