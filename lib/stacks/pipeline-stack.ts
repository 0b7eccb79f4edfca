import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { PlatformConfig, RepoConfig } from '../config/schema';
import { encryptedLogGroup } from '../constructs/encrypted-log-group';
import { PrValidation } from '../constructs/pr-validation';
import { RepoPipeline } from '../constructs/repo-pipeline';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { importSharedServices } from '../constructs/shared-services';
import type { DataOpsStackMetadata } from './target-stack';

/** Properties of a {@link PipelineStack}. */
export interface PipelineStackProps extends StackProps {
  /** Validated platform configuration. */
  readonly config: PlatformConfig;
  /** The repo this stack releases. */
  readonly repo: RepoConfig;
  /** The platform CMK of the tooling stack (same account and region); other services are referenced by name. */
  readonly encryptionKey: kms.IKey;
}

/**
 * `DataOpsPipeline-<repo>`, in the tooling account: the repo's release pipeline, its CodeBuild
 * projects and deployer roles, its prod bake alarm, and its PR-validation project.
 */
export class PipelineStack extends Stack {
  /** The release pipeline. */
  readonly repoPipeline: RepoPipeline;
  /** The PR-validation project. */
  readonly prValidation: PrValidation;

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, { description: `dataops-cicd pipeline of ${props.repo.repository}`, ...props });
    this.templateOptions.metadata = { DataOps: { StackKind: 'pipeline' } satisfies DataOpsStackMetadata };
    const shared = importSharedServices(this, props.config, props.encryptionKey);
    const logGroup = encryptedLogGroup(this, 'BuildLogs', { encryptionKey: props.encryptionKey });
    this.repoPipeline = new RepoPipeline(this, 'Release', { config: props.config, repo: props.repo, shared, logGroup });
    // PR builds run pull-request code: they log to a group of their own, so that nothing a PR runs can
    // write into the Package and Deploy logs that approvers are told to trust (issue 11, item 5)
    const prLogGroup = encryptedLogGroup(this, 'PrBuildLogs', { encryptionKey: props.encryptionKey });
    this.prValidation = new PrValidation(this, 'PrValidation', { config: props.config, repo: props.repo, shared, logGroup: prLogGroup });
  }
}
