#!/usr/bin/env node
// The `dataops` command. Runs the TypeScript sources through tsx so that a checkout needs no build step.
require('tsx/cjs');
require('../lib/cli/main.ts').main(process.argv).catch((err) => {
  process.stderr.write(`dataops: ${err && err.message ? err.message : String(err)}\n`);
  process.exitCode = process.exitCode || 2;
});
