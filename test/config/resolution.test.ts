import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { stringify } from 'yaml';
import { CONFIG_ENV, ConfigError, ConfigMismatchError, DEFAULT_CONFIG_PATH, configSourceOf, loadPlatformConfig, sha256Of } from '../../lib/config/loader';
import { defaultConfigData } from '../helpers/config';

describe('which platform configuration a dataops command reads', () => {
  let dir: string;
  const fileOf = (name: string) => path.join(dir, `${name}.yaml`);
  beforeAll(() => {
    // GIVEN two valid configurations that differ only in their platform name
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-resolution-'));
    for (const name of ['from-flag', 'from-env']) {
      const raw = defaultConfigData();
      raw.name = name;
      fs.writeFileSync(fileOf(name), stringify(raw));
    }
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['--config beats DATAOPS_CONFIG', 'PATH', 'from-env', 'from-flag'],
    ['the CDK-style config=PATH beats DATAOPS_CONFIG', 'config=PATH', 'from-env', 'from-flag'],
    ['DATAOPS_CONFIG is used without --config', undefined, 'from-env', 'from-env'],
    ['the embedded default is used without either', undefined, undefined, 'northstar'],
    ['an empty DATAOPS_CONFIG counts as unset', undefined, '', 'northstar'],
  ])('%s', (_name, flag, envFile, expected) => {
    // GIVEN the flag and the variable as in the row
    const env = envFile === undefined ? {} : { [CONFIG_ENV.path]: envFile ? fileOf(envFile) : '' };
    // WHEN the configuration is loaded
    const config = loadPlatformConfig(flag?.replace('PATH', fileOf('from-flag')), env);
    // THEN it is the expected one, and its source names the file and its bytes' sha256
    expect(config.name).toBe(expected);
    const file = expected === 'northstar' ? DEFAULT_CONFIG_PATH : fileOf(expected);
    expect(configSourceOf(config)).toEqual({ file: path.resolve(file), sha256: sha256Of(fs.readFileSync(file)) });
  });

  it('accepts the file when DATAOPS_CONFIG_SHA256 is its sha256, in either case', () => {
    // GIVEN the pipeline's pin of the file's bytes, upper-cased
    const env = { [CONFIG_ENV.path]: fileOf('from-env'), [CONFIG_ENV.sha256]: sha256Of(fs.readFileSync(fileOf('from-env'))).toUpperCase() };
    // WHEN loaded THEN it is read
    expect(loadPlatformConfig(undefined, env).name).toBe('from-env');
  });

  it('fails when DATAOPS_CONFIG_SHA256 is not the sha256 of the file it loads, saying the image holds another configuration', () => {
    // GIVEN the pipeline was synthesized from from-flag.yaml, but the build finds from-env.yaml
    const env = { [CONFIG_ENV.path]: fileOf('from-env'), [CONFIG_ENV.sha256]: sha256Of(fs.readFileSync(fileOf('from-flag'))) };
    // WHEN loaded THEN it is refused naming the file, both checksums, the cause and both fixes
    const load = () => loadPlatformConfig(undefined, env);
    expect(load).toThrow(ConfigMismatchError);
    expect(load).toThrow(fileOf('from-env'));
    expect(load).toThrow(sha256Of(fs.readFileSync(fileOf('from-env'))));
    expect(load).toThrow(/the toolchain image holds a different configuration than the pipeline was synthesized with/);
    expect(load).toThrow(/rebuild the toolchain image .*aws codebuild start-build --project-name <name>-toolchain-image.* or re-synthesize/);
  });

  it('fails on a mismatched sha256 for a file given with --config too', () => {
    // GIVEN a pinned build where someone passes --config explicitly
    const env = { [CONFIG_ENV.sha256]: sha256Of('other bytes') };
    // WHEN loaded THEN the pin still applies
    expect(() => loadPlatformConfig(fileOf('from-flag'), env)).toThrow(ConfigMismatchError);
  });

  it('fails when DATAOPS_CONFIG_SHA256 is not a sha256, naming the variable', () => {
    expect(() => loadPlatformConfig(undefined, { [CONFIG_ENV.sha256]: 'abc123' })).toThrow(/DATAOPS_CONFIG_SHA256 'abc123' is not a sha256, expected 64 hex digits/);
  });

  it('fails when the file named by DATAOPS_CONFIG is missing, naming the variable and how the image gets the file', () => {
    // GIVEN a build whose image does not hold the configured file
    const missing = path.join(dir, 'config', 'acme.yaml');
    // WHEN loaded THEN the error names the file, the variable and the fix
    const load = () => loadPlatformConfig(undefined, { [CONFIG_ENV.path]: missing });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(missing);
    expect(load).toThrow(/cannot read the file \(ENOENT\); the file is named by DATAOPS_CONFIG; .*keep the configuration under config\/ .*rebuild the toolchain image/);
  });

  it('fails when the file given with --config is missing, naming the option', () => {
    expect(() => loadPlatformConfig(path.join(dir, 'nope.yaml'), { [CONFIG_ENV.path]: fileOf('from-env') })).toThrow(/nope\.yaml.*cannot read the file \(ENOENT\); pass an existing file with --config PATH/s);
  });
});
