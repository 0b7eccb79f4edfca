import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { EnvironmentName, PlatformConfig } from '../../lib/config/schema';
import { buildPlatform, type Platform, projectContext } from '../../lib/stacks/platform';
import { makeTestConfig } from './config';

/** How to build a test platform. */
export interface SynthOptions {
  /** The configuration. @default the embedded default */
  readonly config?: PlatformConfig;
  /** Run cdk-nag and the Guard rules (slow: about a minute for the default config). @default false */
  readonly guardrails?: boolean;
  /** Bundle the Lambda handlers with esbuild. @default false (tests of templates do not need the code) */
  readonly bundle?: boolean;
}

/** A synthesized test platform. */
export interface SynthesizedPlatform {
  readonly app: App;
  readonly platform: Platform;
  readonly config: PlatformConfig;
  /** Directory of the cloud assembly (templates, validation-report.json). */
  readonly outdir: string;
}

const cache = new Map<string, SynthesizedPlatform>();

/** Synthesis failed (for example a guardrail violation); the assembly directory holds the report. */
export class PlatformSynthError extends Error {
  constructor(
    message: string,
    readonly outdir: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PlatformSynthError';
  }
}

/**
 * Builds the platform into a fresh App with the project's cdk.json context (what `cdk synth`
 * uses) and synthesizes it once; later calls with the same options return the same assembly.
 * Synthesis errors (a guardrail violation) are thrown as {@link PlatformSynthError}.
 */
export function synthPlatform(options: SynthOptions = {}): SynthesizedPlatform {
  const config = options.config ?? makeTestConfig();
  const key = JSON.stringify([config.name, config.repos.length, options.guardrails ?? false, options.bundle ?? false, options.config ? 'custom' : 'default']);
  const cached = options.config ? undefined : cache.get(key);
  if (cached) return cached;
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-synth-'));
  const app = new App({
    outdir,
    builtinCloudFormationValidation: options.guardrails ?? false,
    context: { ...projectContext(), ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }) },
  });
  const platform = buildPlatform(app, config, { guardrails: options.guardrails ?? false });
  try {
    app.synth();
  } catch (cause) {
    throw new PlatformSynthError(`synthesis failed, see ${outdir}/validation-report.json: ${(cause as Error).message}`, outdir, { cause });
  }
  const result = { app, platform, config, outdir };
  if (!options.config) cache.set(key, result);
  return result;
}

/** Template of the tooling stack of the default platform. */
export function synthToolingStack(options: SynthOptions = {}): Template {
  return Template.fromStack(synthPlatform(options).platform.tooling);
}

/** Template of a repo's pipeline stack (the first configured repo by default). */
export function synthPipelineStack(repo?: string, options: SynthOptions = {}): Template {
  const { platform, config } = synthPlatform(options);
  const name = repo ?? config.repos[0].name;
  const stack = platform.pipelines[name];
  if (!stack) throw new Error(`no pipeline stack for repo '${name}'; configured repos: ${Object.keys(platform.pipelines).join(', ')}`);
  return Template.fromStack(stack);
}

/** Template of an environment's target stack. */
export function synthTargetStack(env: EnvironmentName, options: SynthOptions = {}): Template {
  return Template.fromStack(synthPlatform(options).platform.targets[env]);
}

/** The JSON body of every template of a synthesized platform, by stack id. */
export function templatesOf(synth: SynthesizedPlatform): Record<string, { resources: number; bytes: number }> {
  const out: Record<string, { resources: number; bytes: number }> = {};
  for (const stack of synth.app.node.children) {
    const file = path.join(synth.outdir, `${stack.node.id}.template.json`);
    if (!fs.existsSync(file)) continue;
    const body = fs.readFileSync(file, 'utf8');
    const json = JSON.parse(body) as { Resources?: Record<string, unknown> };
    out[stack.node.id] = { resources: Object.keys(json.Resources ?? {}).length, bytes: Buffer.byteLength(body) };
  }
  return out;
}
