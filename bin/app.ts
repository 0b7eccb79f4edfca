#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../lib/config/loader';

const app = new App();
const configPath = (app.node.tryGetContext('config') as string | undefined) ?? DEFAULT_CONFIG_PATH;
loadConfig(configPath);
app.synth();
