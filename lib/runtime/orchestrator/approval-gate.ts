import type { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import type { EnvironmentName } from '../../config/schema';
import { approvalDecision, getPipelineExecution, type ApprovalDecision } from '../aws/codepipeline';
import type { ApprovalEvidence } from '../deployers/contract';
import { DeployError, DeployRefusedError } from '../deployers/errors';
import { STAGE_NAME_BY_ENV } from '../ledger/model';
import { separationOfDuties, type ApprovedRelease } from '../promote/separation-of-duties';

/**
 * Environment variable of the Deploy and Verify projects that names the repo's pipeline, so that
 * `dataops deploy` can read the execution's approval (it must equal PIPELINE_NAME_ENV in
 * lib/constructs/repo-pipeline.ts; a test checks).
 */
export const PIPELINE_NAME_ENV = 'DATAOPS_PIPELINE_NAME';

/** Name of the manual approval action that opens the Staging and Prod stages. */
export const APPROVAL_ACTION_NAME = 'Approve';

/** What the approval gate needs. */
export interface ApprovalGateInput {
  readonly env: EnvironmentName;
  /** The pipeline execution the deploy belongs to (PIPELINE_EXECUTION_ID). */
  readonly executionId: string;
  /** The repo's pipeline ($DATAOPS_PIPELINE_NAME); without it staging and prod are refused. */
  readonly pipelineName: string | undefined;
  /** The CodePipeline client of the tooling account (called only for staging and prod). */
  readonly codepipeline: () => CodePipelineClient;
  /** The release being deployed, whose commit's authors may not have given a prod approval. */
  readonly release: ApprovedRelease;
}

const errorName = (e: unknown): string => (e as { name?: string }).name ?? '';

/**
 * `dataops deploy`'s approval gate. Dev needs none (null). Staging and prod deploy only an execution
 * whose `Approve` action of its stage succeeded (ListActionExecutions filtered by the execution id,
 * the latest decision); a stage rollback execution (GetPipelineExecution: executionType ROLLBACK)
 * may instead carry the approval of the execution it rolls back to, whose release already passed
 * it. Anything else is refused (DeployRefusedError) naming the execution and the approval: no
 * pipeline name to check with, an execution the pipeline does not have, an approval that is
 * waiting, rejected or absent. A prod approval of the execution itself is also refused when it came
 * from an author of the release's commit, naming both (separationOfDuties; Promote checks the same,
 * this covers a Deploy project started by hand); a rollback's carried approval was checked when
 * the release it rolls back to was deployed.
 */
export async function requireApproval(input: ApprovalGateInput): Promise<ApprovalEvidence | null> {
  const { env, executionId } = input;
  if (env === 'dev') return null;
  const stageName = STAGE_NAME_BY_ENV[env];
  const approval = `${stageName}/${APPROVAL_ACTION_NAME}`;
  if (!input.pipelineName) {
    throw new DeployRefusedError(
      `${env} deploys only an execution whose approval ${approval} succeeded, and the approval of execution ${executionId} cannot be checked: ${PIPELINE_NAME_ENV} is not set; ` +
        `the ${stageName} Deploy project sets it to the repo's pipeline, and a deploy run by hand must set it too, with --execution-id naming an execution whose ${approval} succeeded`,
    );
  }
  const pipelineName = input.pipelineName;
  const client = input.codepipeline();
  const decisionOf = async (id: string): Promise<ApprovalDecision | null> => {
    try {
      return await approvalDecision(client, pipelineName, id, stageName, APPROVAL_ACTION_NAME);
    } catch (e) {
      if (errorName(e) === 'PipelineExecutionNotFoundException' || errorName(e) === 'ValidationException') {
        throw new DeployRefusedError(`execution ${id} is not an execution of pipeline ${pipelineName}, so it has no approval ${approval}; ${env} deploys only an approved execution of the repo's pipeline`, { cause: e });
      }
      if (errorName(e) === 'PipelineNotFoundException') {
        throw new DeployRefusedError(`pipeline ${pipelineName} (${PIPELINE_NAME_ENV}) does not exist, so the approval ${approval} of execution ${id} cannot be checked; set ${PIPELINE_NAME_ENV} to the repo's pipeline`, { cause: e });
      }
      throw new DeployError(`cannot read the approval ${approval} of execution ${id} in pipeline ${pipelineName} (ListActionExecutions): ${(e as Error).message}; the deployer role needs codepipeline:ListActionExecutions on the pipeline`, { cause: e });
    }
  };
  const evidence = (id: string, d: ApprovalDecision): ApprovalEvidence => ({ pipelineName, stageName, actionName: APPROVAL_ACTION_NAME, approvedExecutionId: id, approver: d.approver, summary: d.summary, at: d.at });

  const own = await decisionOf(executionId);
  if (own?.status === 'Succeeded') {
    const problem = separationOfDuties(env, own.approver, input.release, `${approval} of execution ${executionId}`);
    if (problem) throw new DeployRefusedError(problem.message);
    return evidence(executionId, own);
  }
  let execution;
  try {
    execution = await getPipelineExecution(client, pipelineName, executionId);
  } catch (e) {
    throw new DeployError(`cannot read execution ${executionId} of pipeline ${pipelineName} (GetPipelineExecution): ${(e as Error).message}; the deployer role needs codepipeline:GetPipelineExecution on the pipeline`, { cause: e });
  }
  const target = execution.executionType === 'ROLLBACK' ? execution.rollbackTargetExecutionId : null;
  if (target) {
    const theirs = await decisionOf(target);
    if (theirs?.status === 'Succeeded') return evidence(target, theirs);
  }
  const state = own ? `${own.status?.toLowerCase() ?? 'in an unknown state'}${own.status === 'Failed' && own.approver ? ` (rejected by ${own.approver})` : ''}` : 'not run';
  throw new DeployRefusedError(
    `execution ${executionId} of pipeline ${pipelineName} has not passed the approval ${approval}: it is ${state}${target ? `, and neither has the execution ${target} it rolls back to` : ''}; ` +
      `${env} is deployed only after an approver approves the release in CodePipeline`,
  );
}
