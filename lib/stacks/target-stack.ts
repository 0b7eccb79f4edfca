import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { EnvironmentName, PlatformConfig } from '../config/schema';
import { TargetDeployRole } from '../constructs/target-deploy-role';

/** Properties of a {@link TargetStack}. */
export interface TargetStackProps extends StackProps {
  /** Validated platform configuration. */
  readonly config: PlatformConfig;
  /** The environment (dev, staging or prod) whose account this stack is deployed to. */
  readonly envName: EnvironmentName;
}

/** Template metadata that marks a stack's kind and environment for the project's Guard rules. */
export interface DataOpsStackMetadata {
  readonly StackKind: 'tooling' | 'pipeline' | 'target';
  readonly Environment?: EnvironmentName;
}

/**
 * `DataOpsTarget-<env>`, deployed to an environment account: the deploy role that the pipelines
 * assume (trusted only by the tooling account's deployer roles of this environment).
 */
export class TargetStack extends Stack {
  /** The deploy role. */
  readonly deployRole: TargetDeployRole;

  constructor(scope: Construct, id: string, props: TargetStackProps) {
    super(scope, id, {
      description: `dataops-cicd ${props.envName} target: the deploy role the ${props.config.name} pipelines assume`,
      ...props,
    });
    this.templateOptions.metadata = { DataOps: { StackKind: 'target', Environment: props.envName } satisfies DataOpsStackMetadata };
    this.deployRole = new TargetDeployRole(this, 'DeployRole', { config: props.config, envName: props.envName });
  }
}
