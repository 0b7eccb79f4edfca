#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { ConfigError, ConfigMismatchError, loadPlatformConfig } from '../lib/config/loader';
import { buildPlatform } from '../lib/stacks/platform';

const app = new App();
try {
  // the rule every dataops command follows: -c config=PATH, else $DATAOPS_CONFIG, else the embedded default
  buildPlatform(app, loadPlatformConfig(app.node.tryGetContext('config') as string | undefined));
} catch (err) {
  if (!(err instanceof ConfigError || err instanceof ConfigMismatchError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
}
app.synth();
