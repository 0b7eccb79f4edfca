import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { EnvironmentName, PlatformConfig } from '../config/schema';
import { PlatformNames } from '../constructs/names';
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
 * assume (trusted only by the exact ARNs of the tooling account's deployer roles of this
 * environment), one per 16 repos.
 */
export class TargetStack extends Stack {
  /** The first deploy role (`<name>-deploy-<env>`). */
  readonly deployRole: TargetDeployRole;
  /** Every deploy role of the environment, in order (PlatformNames.deployRoleCount). */
  readonly deployRoles: readonly TargetDeployRole[];

  constructor(scope: Construct, id: string, props: TargetStackProps) {
    super(scope, id, {
      description: `dataops-cicd ${props.envName} target: the deploy role the ${props.config.name} pipelines assume`,
      ...props,
    });
    this.templateOptions.metadata = { DataOps: { StackKind: 'target', Environment: props.envName } satisfies DataOpsStackMetadata };
    const count = new PlatformNames(props.config).deployRoleCount();
    // the first keeps its construct id, so adding repos never replaces it
    this.deployRoles = Array.from(
      { length: count },
      (_, index) => new TargetDeployRole(this, index === 0 ? 'DeployRole' : `DeployRole${index + 1}`, { config: props.config, envName: props.envName, index }),
    );
    this.deployRole = this.deployRoles[0];
  }
}
