/**
 * Synthesis cost of the CDK app.
 *
 * - `synth_seconds_8` / `synth_seconds_64`: building and synthesizing the whole platform as
 *   `cdk synth` does (Lambda bundling, cdk-nag HIPAA + AWS Solutions, the Guard rules and the
 *   CloudFormation validation), for the default configuration and a 64-repo configuration.
 * - `max_stack_resources_64`, `max_template_bytes_64`: the largest stack of the 64-repo platform
 *   (CloudFormation allows 500 resources and 1 MB).
 * - `synth_plain_seconds_per_repo` and `synth_growth_ratio`: synthesis without validation at 8, 16,
 *   32 and 64 repos; the ratio of the per-repo cost between 32→64 and 8→32 is about 1 when the cost
 *   grows linearly with the number of repos (a warning is printed above 1.5).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import type { PlatformConfig } from '../lib/config/schema';
import { buildPlatform, projectContext } from '../lib/stacks/platform';
import { makeTestConfig } from '../test/helpers/config';
import type { BenchResult } from './run';

interface SynthRun {
  readonly seconds: number;
  readonly maxResources: number;
  readonly maxTemplateBytes: number;
  readonly stacks: number;
}

function synthOnce(config: PlatformConfig, full: boolean): SynthRun {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-bench-'));
  try {
    const started = process.hrtime.bigint();
    const app = new App({
      outdir,
      builtinCloudFormationValidation: full,
      context: { ...projectContext(), ...(full ? {} : { 'aws:cdk:bundling-stacks': [] }) },
    });
    buildPlatform(app, config, { guardrails: full });
    app.synth();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    let maxResources = 0;
    let maxTemplateBytes = 0;
    let stacks = 0;
    for (const file of fs.readdirSync(outdir).filter((f) => f.endsWith('.template.json'))) {
      const body = fs.readFileSync(path.join(outdir, file), 'utf8');
      const resources = Object.keys((JSON.parse(body) as { Resources?: object }).Resources ?? {}).length;
      maxResources = Math.max(maxResources, resources);
      maxTemplateBytes = Math.max(maxTemplateBytes, Buffer.byteLength(body));
      stacks += 1;
    }
    return { seconds, maxResources, maxTemplateBytes, stacks };
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

const configWith = (repos: number): PlatformConfig => (repos === 8 ? makeTestConfig() : makeTestConfig({ repoCount: repos }));
const round = (n: number, digits = 2) => Number(n.toFixed(digits));

export async function run(): Promise<BenchResult[]> {
  const full8 = synthOnce(configWith(8), true);
  const full64 = synthOnce(configWith(64), true);

  const plain = [8, 16, 32, 64].map((repos) => ({ repos, ...synthOnce(configWith(repos), false) }));
  const at = (repos: number) => plain.find((p) => p.repos === repos)!.seconds;
  const perRepoLow = (at(32) - at(8)) / 24;
  const perRepoHigh = (at(64) - at(32)) / 32;
  const growthRatio = perRepoHigh / perRepoLow;
  if (!(growthRatio < 1.5)) {
    process.stderr.write(`synth.bench: per-repo synthesis cost grew from ${perRepoLow.toFixed(3)} s (8→32) to ${perRepoHigh.toFixed(3)} s (32→64): not linear\n`);
  }

  return [
    { name: 'synth_seconds_8', value: round(full8.seconds), unit: 's' },
    { name: 'synth_seconds_64', value: round(full64.seconds), unit: 's' },
    { name: 'max_stack_resources_64', value: full64.maxResources, unit: 'resources' },
    { name: 'max_template_bytes_64', value: full64.maxTemplateBytes, unit: 'bytes' },
    { name: 'synth_full_seconds_per_repo', value: round((full64.seconds - full8.seconds) / 56, 3), unit: 's' },
    { name: 'synth_plain_seconds_per_repo', value: round((at(64) - at(8)) / 56, 3), unit: 's' },
    { name: 'synth_growth_ratio', value: round(growthRatio), unit: 'ratio' },
  ];
}
