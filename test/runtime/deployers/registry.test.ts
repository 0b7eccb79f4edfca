/** The deployer registry's Terraform Cloud address (TFE_ADDRESS), and the terraform factory's use of it against the TFC API fake. */
import { DeployError } from '../../../lib/runtime/deployers/errors';
import { DEFAULT_TFE_ADDRESS, DEPLOYER_FACTORIES, terraformCloudAddress, TFE_ADDRESS_ENV } from '../../../lib/runtime/deployers/registry';
import type { TerraformCloudDeployer } from '../../../lib/runtime/deployers/terraform-cloud-deployer';
import { makeTestConfig } from '../../helpers/config';
import { deployContext, writeRelease } from '../../helpers/s3-fixtures';
import { startTfcFake, type TfcFake } from '../../helpers/tfc-fake';

describe('terraformCloudAddress', () => {
  it.each([
    ['unset', {}, DEFAULT_TFE_ADDRESS],
    ['empty', { TFE_ADDRESS: '' }, DEFAULT_TFE_ADDRESS],
    ['a Terraform Enterprise host', { TFE_ADDRESS: 'https://tfe.example.com' }, 'https://tfe.example.com'],
    ['a host with a trailing slash', { TFE_ADDRESS: 'https://tfe.example.com/' }, 'https://tfe.example.com'],
    ['a local stand-in on a port', { TFE_ADDRESS: 'http://127.0.0.1:4010' }, 'http://127.0.0.1:4010'],
    ['a base path', { TFE_ADDRESS: 'https://proxy.example.com/tfe/' }, 'https://proxy.example.com/tfe'],
  ])('reads TFE_ADDRESS %s as the API address', (_, env, expected) => {
    // GIVEN the variable as in the row, WHEN the address is read, THEN it is the row's
    expect(terraformCloudAddress(env)).toBe(expected);
  });

  it.each([
    ['no scheme', 'app.terraform.io', /is not a URL/],
    ['a scheme other than http(s)', 'ftp://tfe.example.com', /is not an http\(s\) URL \(got scheme ftp\)/],
    ['credentials', 'https://user:pw@tfe.example.com', /has credentials, a query or a fragment/],
    ['a query', 'https://tfe.example.com?x=1', /has credentials, a query or a fragment/],
  ])('fails naming TFE_ADDRESS when it has %s', (_, value, message) => {
    // GIVEN an address that is not an API address, WHEN it is read, THEN a DeployError names the variable, the value and the fix
    let err: unknown;
    try {
      terraformCloudAddress({ TFE_ADDRESS: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DeployError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toContain(`${TFE_ADDRESS_ENV} '${value}'`);
    expect((err as Error).message).toContain(`or unset it for ${DEFAULT_TFE_ADDRESS}`);
  });
});

describe('the terraform deployer factory', () => {
  const config = makeTestConfig();
  const saved = process.env[TFE_ADDRESS_ENV];
  let fake: TfcFake;
  beforeAll(async () => {
    fake = await startTfcFake();
  });
  afterEach(() => {
    if (saved === undefined) delete process.env[TFE_ADDRESS_ENV];
    else process.env[TFE_ADDRESS_ENV] = saved;
  });
  afterAll(async () => fake?.stop());
  const build = () => DEPLOYER_FACTORIES.terraform!({ config, env: 'dev', repo: 'platform-infra', region: 'us-east-1', artifactBucket: 'artifacts', terraformToken: fake.token }) as Promise<TerraformCloudDeployer>;

  it('calls the Terraform Cloud API at TFE_ADDRESS', async () => {
    // GIVEN TFE_ADDRESS naming the fake, which has no workspace for the repo
    process.env[TFE_ADDRESS_ENV] = fake.baseUrl;
    const { release, dir } = await writeRelease({ repo: 'platform-infra', build: 1, files: [{ kind: 'terraform', path: 'terraform/main.tf', body: 'resource "aws_sqs_queue" "q" {\n}\n' }] });
    // WHEN the factory's deployer reads the workspace
    const err = await (await build()).readCurrent(deployContext(release, dir)).catch((e: Error) => e);
    // THEN the fake answered the workspace lookup (404: no such workspace), so the client called TFE_ADDRESS
    expect(fake.requests).toContain(`GET /api/v2/organizations/${config.environments.dev.terraformCloud.organization}/workspaces/platform-infra-dev`);
    expect((err as Error).message).toMatch(/answered HTTP 404/);
  });

  it('fails with a DeployError naming TFE_ADDRESS when it is not a URL, before any call', async () => {
    // GIVEN an address without a scheme
    process.env[TFE_ADDRESS_ENV] = 'app.terraform.io';
    const before = fake.requests.length;
    // WHEN the deployer is built, THEN it is refused naming the variable, and nothing was called
    const err = await build().catch((e: Error) => e);
    expect(err).toBeInstanceOf(DeployError);
    expect((err as Error).message).toBe(`TFE_ADDRESS 'app.terraform.io' is not a URL; set it to the Terraform Cloud or Enterprise address, e.g. ${DEFAULT_TFE_ADDRESS} or https://tfe.example.com, or unset it for ${DEFAULT_TFE_ADDRESS}`);
    expect(fake.requests.length).toBe(before);
  });
});
