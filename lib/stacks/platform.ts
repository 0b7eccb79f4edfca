import * as fs from 'fs';
import * as path from 'path';
import { type App, Aspects, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, HIPAASecurityChecks } from 'cdk-nag';
import { ENVIRONMENT_NAMES, type EnvironmentName, type PlatformConfig } from '../config/schema';
import { GrantAcknowledgements } from '../constructs/grant-acknowledgements';
import { projectPolicyPlugin } from '../policies';
import { PipelineStack } from './pipeline-stack';
import { TargetStack } from './target-stack';
import { ToolingStack } from './tooling-stack';

/** Context key of the feature flag that turns validation-plugin violations into synthesis errors. */
export const VALIDATE_AGAINST_DEFAULT_RULES = '@aws-cdk/core:validateAgainstDefaultRules';

/**
 * The feature flags and context of cdk.json, for apps built outside the CDK CLI (tests, bench):
 * `new App({ context: projectContext() })` synthesizes exactly what `cdk synth` does.
 */
export function projectContext(): Record<string, unknown> {
  const file = path.join(__dirname, '..', '..', 'cdk.json');
  const json: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
  const context = typeof json === 'object' && json !== null && 'context' in json ? json.context : undefined;
  if (typeof context !== 'object' || context === null) throw new Error(`${file}: expected a "context" object; restore it from git`);
  return { ...(context as Record<string, unknown>) };
}

/** Options of {@link buildPlatform}. */
export interface PlatformOptions {
  /**
   * Register cdk-nag (HIPAA Security and AWS Solutions) and the project's Guard rules on the app.
   * @default true
   */
  readonly guardrails?: boolean;
}

/** The stacks of one platform. */
export interface Platform {
  /** `DataOpsTooling`. */
  readonly tooling: ToolingStack;
  /** `DataOpsPipeline-<repo>`, by repo name. */
  readonly pipelines: Readonly<Record<string, PipelineStack>>;
  /** `DataOpsTarget-<env>`, by environment. */
  readonly targets: Readonly<Record<EnvironmentName, TargetStack>>;
}

/** Stack id of a repo's pipeline stack. */
export function pipelineStackId(repo: string): string {
  return `DataOpsPipeline-${repo}`;
}

/** Stack id of an environment's target stack. */
export function targetStackId(env: EnvironmentName): string {
  return `DataOpsTarget-${env}`;
}

/**
 * Builds every stack of the platform from a validated configuration into `app`: the tooling stack,
 * one pipeline stack per repo and one target stack per environment, and registers the guardrails.
 * Call it on a fresh App (it sets a feature flag, which needs an app without children).
 */
export function buildPlatform(app: App, config: PlatformConfig, options: PlatformOptions = {}): Platform {
  if (app.node.children.length === 0) app.node.setContext(VALIDATE_AGAINST_DEFAULT_RULES, true);

  const toolingEnv = { account: config.toolingAccount, region: config.region };
  const tooling = new ToolingStack(app, 'DataOpsTooling', { env: toolingEnv, config });

  const pipelines: Record<string, PipelineStack> = {};
  for (const repo of config.repos) {
    const stack = new PipelineStack(app, pipelineStackId(repo.name), { env: toolingEnv, config, repo, encryptionKey: tooling.key });
    stack.addStackDependency(tooling);
    pipelines[repo.name] = stack;
  }

  const targets = {} as Record<EnvironmentName, TargetStack>;
  for (const env of ENVIRONMENT_NAMES) {
    targets[env] = new TargetStack(app, targetStackId(env), {
      env: { account: config.environments[env].account, region: config.region },
      config,
      envName: env,
    });
  }

  if (options.guardrails ?? true) {
    Aspects.of(app).add(new GrantAcknowledgements());
    Validations.of(app).addPlugins(new HIPAASecurityChecks(app), new AwsSolutionsChecks(app), projectPolicyPlugin(config));
  }
  return { tooling, pipelines, targets };
}
