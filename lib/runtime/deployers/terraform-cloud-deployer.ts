import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { terraformWorkspaceName, type PlatformConfig } from '../../config/schema';
import { STAGE_NAME_BY_ENV } from '../ledger/model';
import { FINAL_STATUSES, type CostEstimateInfo, type PolicyCheckInfo, type ResourceChange, type RunInfo, type TerraformCloudClient } from '../terraform-cloud/client';
import type { ApplyResult, ApprovalEvidence, DeployContext, Deployer } from './contract';
import { DeployError, DeployRefusedError } from './errors';
import { sha256Hex } from './release-files';
import * as fs from 'fs';
import * as path from 'path';

/** Props of {@link TerraformCloudDeployer}. */
export interface TerraformCloudDeployerProps {
  readonly tfc: TerraformCloudClient;
  /** S3 client of the tooling account, for the artifact bucket. */
  readonly s3: S3Client;
  /** Artifact bucket where configuration tarballs are kept for rollback. */
  readonly artifactBucket: string;
  /** Resource types a plan may not destroy or replace unless the release allows it. */
  readonly protectedResourceTypes: readonly string[];
  /** Pause between two polls of a run. @default 5000 */
  readonly pollMs?: number;
  /** Longest wait for a plan or an apply. @default 1800000 (30 minutes) */
  readonly runTimeoutMs?: number;
}

/** The protected resource types for one repo: the repo's own list if it has one, else the platform's. */
export function protectedResourceTypesFor(config: PlatformConfig, repo: string): string[] {
  return config.repos.find((r) => r.name === repo)?.protectedResourceTypes ?? config.protectedResourceTypes;
}

/** What the environment's workspace last applied from this platform. */
export interface TerraformState {
  readonly workspaceId: string;
  readonly applied: AppliedPointer | null;
  /**
   * Why the workspace no longer holds the state that `applied` left (an apply that errored after
   * changing resources, or a run from outside the platform saved a newer state); null when it does,
   * or when the pointer predates the recorded serial.
   */
  readonly drift: string | null;
}

/** The record kept in the artifact bucket of the configuration a workspace last applied. */
export interface AppliedPointer {
  readonly tarballSha256: string;
  readonly tarballKey: string;
  readonly runId: string;
  readonly releaseVersion: string;
  /** Serial of the workspace's current state version once the run had applied (null: no state). Absent in pointers written before it was recorded. */
  readonly stateSerial?: number | null;
}

const AppliedPointerSchema = z.object({ tarballSha256: z.string(), tarballKey: z.string(), runId: z.string(), releaseVersion: z.string(), stateSerial: z.number().int().nullable().optional() });

/** Whether to run, and with what. */
export interface TerraformPlan {
  readonly workspaceId: string;
  readonly action: 'none' | 'run';
  readonly tarballSha256: string | null;
  readonly allowDestroy: readonly string[];
  /** What the workspace had applied before. */
  readonly previous: TerraformPrevious;
  /** Why the configuration runs again although the workspace last applied it ({@link TerraformState.drift}). */
  readonly drift: string | null;
}

/** The configuration applied before; null when the platform never applied one. */
export interface TerraformPrevious {
  readonly applied: AppliedPointer | null;
}

/** Changes of a plan that destroy or replace a protected resource and the release does not allow. */
export function blockedChanges(changes: readonly ResourceChange[], protectedTypes: readonly string[], allowDestroy: readonly string[]): ResourceChange[] {
  const prot = new Set(protectedTypes);
  const allowed = new Set(allowDestroy);
  return changes.filter((c) => c.actions.includes('delete') && prot.has(c.type) && !allowed.has(c.address) && !allowed.has(c.type));
}

/** Terraform's plan summary: a replace counts as one add and one destroy, as `terraform plan` prints it. */
export interface PlanSummary {
  readonly add: number;
  readonly change: number;
  readonly destroy: number;
}

/** Counts a plan's resource changes the way Terraform's "Plan: N to add, N to change, N to destroy" does. */
export function planSummary(changes: readonly ResourceChange[]): PlanSummary {
  let add = 0;
  let change = 0;
  let destroy = 0;
  for (const c of changes) {
    if (c.actions.includes('create')) add++;
    if (c.actions.includes('delete')) destroy++;
    if (c.actions.includes('update')) change++;
  }
  return { add, change, destroy };
}

/** One line for the log and the ledger: the plan summary and the cost estimate. */
export function describePlan(summary: PlanSummary, cost: CostEstimateInfo | null): string {
  const plan = `${summary.add} to add, ${summary.change} to change, ${summary.destroy} to destroy`;
  if (!cost) return `${plan}; no cost estimate (cost estimation is off for the organization)`;
  if (cost.status !== 'finished') return `${plan}; cost estimate ${cost.status}${cost.errorMessage ? `: ${cost.errorMessage}` : ''}`;
  const delta = Number(cost.deltaMonthlyCost ?? '0');
  const sign = delta < 0 ? '-' : '+';
  return (
    `${plan}; cost estimate $${cost.proposedMonthlyCost ?? '?'}/month (${sign}$${Math.abs(delta).toFixed(2)} from $${cost.priorMonthlyCost ?? '?'})` +
    `, ${cost.matchedResourcesCount ?? '?'} of ${cost.resourcesCount ?? '?'} resources estimated`
  );
}

/** Marker in an approval's comment that overrides soft-mandatory policies: `tfc-override: <policy>[, <policy> …]`. */
export const TFC_OVERRIDE_MARKER = 'tfc-override:';

/** The policies an approval's comment overrides: every `tfc-override: a, b` in it (names as Sentinel gives them, or without the policy set). */
export function overridesIn(summary: string | null | undefined): string[] {
  const out: string[] = [];
  for (const m of (summary ?? '').matchAll(/tfc-override:\s*([^\n;]*)/gi)) out.push(...m[1].split(/[\s,]+/).filter(Boolean));
  return [...new Set(out)];
}

function overrideCovers(names: readonly string[], policy: string): boolean {
  return names.some((n) => n === policy || policy.endsWith(`/${n}`));
}

/** The failing, non-advisory policies of a check, or the check itself when its result names none. */
function failingPolicies(check: PolicyCheckInfo): string[] {
  const named = check.policies.filter((p) => !p.passed && !p.advisory).map((p) => p.name);
  return named.length > 0 ? named : [`policy check ${check.id}`];
}

/** What to do with a planned run's policy checks. */
export type PolicyDecision =
  | { readonly action: 'apply' }
  | { readonly action: 'override'; readonly checks: readonly PolicyCheckInfo[]; readonly policies: readonly string[]; readonly approval: ApprovalEvidence }
  | { readonly action: 'refuse'; readonly hard: boolean; readonly policies: readonly string[]; readonly message: string };

/** Where a run is, for messages. */
export interface RunPlace {
  readonly runId: string;
  /** `<organization>/<workspace>`. */
  readonly workspace: string;
  readonly env: 'dev' | 'staging' | 'prod';
}

/**
 * Pure: whether a run whose policy checks are `checks` may be applied. Every hard-mandatory policy must
 * pass (a hard failure or an errored check is refused, never applied); a soft-mandatory failure is
 * applied only when `approval` names an approver and its comment overrides every failed policy
 * (`tfc-override: <policy>`); advisory failures never block.
 */
export function decidePolicies(checks: readonly PolicyCheckInfo[], approval: ApprovalEvidence | null | undefined, where: RunPlace): PolicyDecision {
  const hard = checks.filter((c) => c.status === 'hard_failed' || c.status === 'errored');
  if (hard.length > 0) {
    const policies = hard.flatMap(failingPolicies);
    const errored = hard.filter((c) => c.status === 'errored').map((c) => c.id);
    return {
      action: 'refuse',
      hard: true,
      policies,
      message:
        `terraform run ${where.runId} in ${where.workspace} ${errored.length === hard.length ? `could not evaluate its policies (policy check ${errored.join(', ')} errored)` : `failed hard-mandatory policy ${policies.join(', ')}`}; ` +
        'it was not applied and a hard-mandatory policy cannot be overridden: change the configuration so that the policy passes (read the policy check in Terraform Cloud)',
    };
  }
  const unsettled = checks.filter((c) => !['passed', 'soft_failed', 'overridden'].includes(c.status));
  if (unsettled.length > 0) {
    return {
      action: 'refuse',
      hard: true,
      policies: unsettled.map((c) => `policy check ${c.id}`),
      message: `terraform run ${where.runId} in ${where.workspace} has policy checks that did not pass (${unsettled.map((c) => `${c.id} ${c.status}`).join(', ')}); it was not applied, look at them in Terraform Cloud`,
    };
  }
  const soft = checks.filter((c) => c.status === 'soft_failed');
  if (soft.length === 0) return { action: 'apply' };
  const policies = [...new Set(soft.flatMap(failingPolicies))];
  const overridden = overridesIn(approval?.summary);
  const missing = policies.filter((p) => !overrideCovers(overridden, p));
  const names = policies.map((p) => p.replace(/^.*\//, '')).join(', ');
  const how =
    where.env === 'dev'
      ? 'dev has no approval, so nobody can override it there: change the configuration, or make the policy advisory for dev workspaces'
      : `to apply it anyway, an approver of ${where.env} approves the release with the comment '${TFC_OVERRIDE_MARKER} ${names}' (retry the ${STAGE_NAME_BY_ENV[where.env]} stage with all actions, or run the release again)`;
  if (!approval?.approver || missing.length > 0) {
    const said = approval?.approver ? `; the approval by ${approval.approver} overrides ${overridden.length > 0 ? overridden.join(', ') : 'no policy'}` : '';
    return {
      action: 'refuse',
      hard: false,
      policies,
      message: `terraform run ${where.runId} in ${where.workspace} failed soft-mandatory policy ${policies.join(', ')}${said}; the run was discarded. ${how}`,
    };
  }
  const closed = soft.filter((c) => !c.overridable);
  if (closed.length > 0) {
    return {
      action: 'refuse',
      hard: false,
      policies,
      message:
        `terraform run ${where.runId} in ${where.workspace}: ${approval.approver} overrode ${policies.join(', ')}, but the Terraform Cloud token may not override policy check ${closed.map((c) => c.id).join(', ')}; ` +
        "the run was discarded. Give the token's team the permission to manage policy overrides, then retry",
    };
  }
  return { action: 'override', checks: soft, policies, approval };
}

/**
 * Terraform Cloud deployer: in the repo's own workspace of the environment
 * (terraformWorkspaceName), uploads the release's configuration tarball as a configuration version,
 * creates a run (no auto-apply), waits for the plan, its cost estimate and policy checks, records
 * the plan summary and the cost, refuses plans that destroy or replace resources of protected types
 * unless the release's `terraform.allowDestroy` names the address or type, obeys the policy checks
 * (decidePolicies), and applies only a run that is confirmable. The tarball is kept in the
 * artifact bucket (`terraform/<repo>/<sha256>.tar.gz`) with a pointer per environment
 * (`terraform/<repo>/<env>/applied.json`), so a rollback re-applies the previous configuration and a
 * second deploy of the same release does nothing.
 */
export class TerraformCloudDeployer implements Deployer<TerraformState, TerraformPlan, TerraformPrevious> {
  readonly kind = 'terraform' as const;

  constructor(private readonly props: TerraformCloudDeployerProps) {}

  private pointerKey(ctx: DeployContext): string {
    return `terraform/${ctx.repo}/${ctx.env}/applied.json`;
  }

  private tarballKey(ctx: DeployContext, sha: string): string {
    return `terraform/${ctx.repo}/${sha}.tar.gz`;
  }

  private workspace(ctx: DeployContext): string {
    return terraformWorkspaceName(ctx.environment, ctx.repo, ctx.env);
  }

  /** `<organization>/<workspace>`, for messages. */
  private where(ctx: DeployContext): string {
    return `${ctx.environment.terraformCloud.organization}/${this.workspace(ctx)}`;
  }

  /** The serial of the workspace's current state version (null: none yet), recorded with the applied pointer. */
  private async stateSerial(workspaceId: string): Promise<number | null> {
    return (await this.props.tfc.currentStateVersion(workspaceId))?.serial ?? null;
  }

  async readCurrent(ctx: DeployContext): Promise<TerraformState> {
    const workspaceId = await this.props.tfc.workspaceId(ctx.environment.terraformCloud.organization, this.workspace(ctx));
    let applied: AppliedPointer | null = null;
    try {
      const out = await this.props.s3.send(new GetObjectCommand({ Bucket: this.props.artifactBucket, Key: this.pointerKey(ctx) }));
      applied = AppliedPointerSchema.parse(JSON.parse(await out.Body!.transformToString()));
    } catch (e) {
      if ((e as Error).name !== 'NoSuchKey') throw new DeployError(`cannot read s3://${this.props.artifactBucket}/${this.pointerKey(ctx)}: ${(e as Error).message}`, { cause: e });
    }
    if (applied) {
      // The pointer is written after a successful apply; trust it only if the run really applied.
      const run = await this.props.tfc.run(applied.runId);
      if (run.status !== 'applied' && run.status !== 'planned_and_finished') applied = null;
    }
    let drift: string | null = null;
    if (applied && applied.stateSerial !== undefined) {
      // A run that errored while applying saves the resources it changed: the workspace then holds neither configuration.
      const sv = await this.props.tfc.currentStateVersion(workspaceId);
      if ((sv?.serial ?? null) !== applied.stateSerial) {
        drift =
          `workspace ${this.where(ctx)} holds ${sv ? `state serial ${sv.serial}${sv.runId ? ` saved by run ${sv.runId}` : ''}` : 'no state (or the token may not read its state versions)'}, ` +
          `not serial ${applied.stateSerial ?? 'none'} that run ${applied.runId} of release ${applied.releaseVersion} left`;
      }
    }
    return { workspaceId, applied, drift };
  }

  plan(current: TerraformState, ctx: DeployContext): TerraformPlan {
    const tf = ctx.release.terraform;
    const base = { workspaceId: current.workspaceId, previous: this.previousOf(current), drift: current.drift };
    if (!tf || (current.applied?.tarballSha256 === tf.tarballSha256 && current.drift === null)) {
      return { ...base, action: 'none', tarballSha256: tf?.tarballSha256 ?? null, allowDestroy: tf?.allowDestroy ?? [], drift: null };
    }
    return { ...base, action: 'run', tarballSha256: tf.tarballSha256, allowDestroy: tf.allowDestroy };
  }

  private releaseTarball(ctx: DeployContext, sha: string): Buffer {
    const artifact = ctx.release.artifacts.find((a) => a.kind === 'terraform' && a.sha256 === sha);
    if (!artifact) throw new DeployError(`release ${ctx.release.version} has no terraform artifact with sha256 ${sha}; the manifest's terraform.tarballSha256 must be the sha256 of its terraform tarball`);
    const bytes = fs.readFileSync(path.join(ctx.releaseDir, artifact.file));
    if (sha256Hex(bytes) !== sha) throw new DeployError(`release artifact ${artifact.file} does not have sha256 ${sha}; it was changed after packaging, re-run the pipeline from Package`);
    return bytes;
  }

  private async sleep(): Promise<void> {
    await new Promise((r) => setTimeout(r, this.props.pollMs ?? 5_000));
  }

  private async waitFor(runId: string, done: (run: RunInfo) => boolean, what: string): Promise<RunInfo> {
    const deadline = Date.now() + (this.props.runTimeoutMs ?? 1_800_000);
    for (;;) {
      const run = await this.props.tfc.run(runId);
      if (done(run)) return run;
      if (Date.now() > deadline) throw new DeployError(`run ${runId} is still ${run.status} after waiting for ${what}; look at it in Terraform Cloud, it was neither applied nor discarded`);
      await this.sleep();
    }
  }

  private async record(ctx: DeployContext, step: string, target: string, result: 'succeeded' | 'refused' | 'failed', message: string, details: Record<string, unknown>): Promise<void> {
    await ctx.record?.({ assetKind: 'terraform', step, target, result, message, details });
  }

  /** Uploads `tarball`, plans, checks protected resources and policies, applies; returns the run id and writes. */
  private async runConfiguration(ctx: DeployContext, workspaceId: string, tarball: Buffer, message: string, allowDestroy: readonly string[]): Promise<{ runId: string; writes: number }> {
    const { tfc } = this.props;
    const where = this.where(ctx);
    let writes = 0;
    const cv = await tfc.createConfigurationVersion(workspaceId);
    await tfc.upload(cv.uploadUrl, tarball);
    writes++;
    const deadline = Date.now() + (this.props.runTimeoutMs ?? 1_800_000);
    for (let status = await tfc.configurationVersionStatus(cv.id); status !== 'uploaded'; status = await tfc.configurationVersionStatus(cv.id)) {
      if (status === 'errored' || Date.now() > deadline) throw new DeployError(`configuration version ${cv.id} is ${status}, not uploaded; check the tarball in Terraform Cloud`);
      await this.sleep();
    }
    const run = await tfc.createRun(workspaceId, cv.id, message);
    writes++;
    ctx.log(`terraform: run ${run.id} created in ${where}`);
    // Settled: confirmable (plan, cost estimate and policy checks done), waiting for a policy override, or ended.
    const final = FINAL_STATUSES as readonly string[];
    let settled = await this.waitFor(run.id, (r) => r.confirmable || r.status === 'policy_override' || final.includes(r.status), 'the plan and its policy checks');
    if (settled.status === 'planned_and_finished') return { runId: run.id, writes };
    const place: RunPlace = { runId: run.id, workspace: where, env: ctx.env };
    let checks = settled.policyCheckIds.length > 0 ? await tfc.policyChecks(run.id) : [];
    // never decide on a check that has not run yet, even if the run reads as confirmable meanwhile
    while (checks.some((c) => c.status === 'pending' || c.status === 'queued') && !final.includes(settled.status) && Date.now() < deadline) {
      await this.sleep();
      settled = await tfc.run(run.id);
      checks = await tfc.policyChecks(run.id);
    }
    if (final.includes(settled.status)) {
      const decision = decidePolicies(checks, ctx.approval, place);
      if (decision.action === 'refuse') {
        await this.record(ctx, 'terraform-policy', run.id, 'refused', decision.message, { workspace: where, runId: run.id, status: settled.status, policies: decision.policies });
        throw new DeployRefusedError(decision.message);
      }
      throw new DeployError(`run ${run.id} ended ${settled.status} before it could be applied; read its plan log in Terraform Cloud`);
    }
    if (!settled.planId) throw new DeployError(`run ${run.id} has no plan`);
    const changes = await tfc.planChanges(settled.planId);
    const summary = planSummary(changes);
    const cost = settled.costEstimateId ? await tfc.costEstimate(settled.costEstimateId) : null;
    const described = describePlan(summary, cost);
    ctx.log(`terraform: plan of run ${run.id} in ${where}: ${described}`);
    await this.record(ctx, 'terraform-plan', run.id, 'succeeded', `plan of run ${run.id} in ${where}: ${described}`, {
      workspace: where,
      runId: run.id,
      ...summary,
      costEstimate: cost && { status: cost.status, proposedMonthlyCost: cost.proposedMonthlyCost, priorMonthlyCost: cost.priorMonthlyCost, deltaMonthlyCost: cost.deltaMonthlyCost },
      policyChecks: checks.map((c) => ({ id: c.id, status: c.status, failed: c.policies.filter((p) => !p.passed).map((p) => p.name) })),
    });
    const blocked = blockedChanges(changes, this.props.protectedResourceTypes, allowDestroy);
    if (blocked.length > 0) {
      await tfc.discard(run.id, `dataops: refused, destroys protected resources ${blocked.map((b) => b.address).join(', ')}`);
      throw new DeployRefusedError(
        `terraform plan of run ${run.id} would ${blocked.map((b) => `${b.actions.includes('create') ? 'replace' : 'destroy'} ${b.address}`).join(', ')} (protected types ${[...new Set(blocked.map((b) => b.type))].join(', ')}); the run was discarded. If this is intended, list the addresses under terraform.allowDestroy of the release`,
      );
    }
    const decision = decidePolicies(checks, ctx.approval, place);
    if (decision.action === 'refuse') {
      await tfc.discard(run.id, `dataops: refused, ${decision.hard ? 'hard' : 'soft'}-mandatory policy ${decision.policies.join(', ')} failed`);
      await this.record(ctx, 'terraform-policy', run.id, 'refused', decision.message, { workspace: where, runId: run.id, policies: decision.policies });
      throw new DeployRefusedError(decision.message);
    }
    let applyComment = `dataops: ${message}`;
    if (decision.action === 'override') {
      const { approval } = decision;
      for (const check of decision.checks) {
        await tfc.overridePolicyCheck(check.id);
        writes++;
      }
      const line = `policy ${decision.policies.join(', ')} of run ${run.id} in ${where} overridden for ${approval.approver} (approval ${approval.stageName}/${approval.actionName} of execution ${approval.approvedExecutionId} at ${approval.at ?? 'an unknown time'})`;
      ctx.log(`terraform: ${line}`);
      await this.record(ctx, 'policy-override', run.id, 'succeeded', line, {
        workspace: where,
        runId: run.id,
        policyChecks: decision.checks.map((c) => c.id),
        policies: decision.policies,
        approver: approval.approver,
        approvalSummary: approval.summary,
        approvedExecutionId: approval.approvedExecutionId,
        approvalAt: approval.at,
      });
      applyComment += `; soft-mandatory policy ${decision.policies.join(', ')} overridden for ${approval.approver}`;
    }
    const ready = settled.confirmable ? settled : await this.waitFor(run.id, (r) => r.confirmable || final.includes(r.status), 'the run to become confirmable');
    if (!ready.confirmable) throw new DeployError(`run ${run.id} is ${ready.status}, not confirmable; it was not applied, look at it in Terraform Cloud`);
    await tfc.apply(run.id, applyComment);
    writes++;
    const applied = await this.waitFor(run.id, (r) => final.includes(r.status), 'the apply');
    if (applied.status !== 'applied') {
      const sv = await tfc.currentStateVersion(workspaceId);
      const partial =
        sv?.runId === run.id
          ? `; it changed resources before it stopped (Terraform saved them as state serial ${sv.serial}), so ${where} now holds part of this configuration: the next deploy, or the stage rollback, plans over that state`
          : '';
      throw new DeployError(`run ${run.id} ended ${applied.status}, not applied${partial}; read its apply log in Terraform Cloud`);
    }
    return { runId: run.id, writes };
  }

  private async keepTarball(ctx: DeployContext, sha: string, tarball: Buffer): Promise<number> {
    const Key = this.tarballKey(ctx, sha);
    try {
      await this.props.s3.send(new HeadObjectCommand({ Bucket: this.props.artifactBucket, Key }));
      return 0;
    } catch (e) {
      if ((e as Error).name !== 'NotFound' && (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 404) throw e;
    }
    await this.props.s3.send(new PutObjectCommand({ Bucket: this.props.artifactBucket, Key, Body: tarball, Metadata: { sha256: sha } }));
    return 1;
  }

  private async writePointer(ctx: DeployContext, p: AppliedPointer): Promise<void> {
    await this.props.s3.send(new PutObjectCommand({ Bucket: this.props.artifactBucket, Key: this.pointerKey(ctx), Body: JSON.stringify(p, null, 2), ContentType: 'application/json' }));
  }

  async apply(plan: TerraformPlan, ctx: DeployContext): Promise<ApplyResult<TerraformPrevious>> {
    const { previous } = plan;
    if (plan.action === 'none' || plan.tarballSha256 === null) {
      return { writes: 0, previous, summary: 'terraform: the workspace already runs this configuration' };
    }
    if (plan.drift) ctx.log(`terraform: ${plan.drift}; running configuration ${plan.tarballSha256.slice(0, 12)} again`);
    const tarball = this.releaseTarball(ctx, plan.tarballSha256);
    let writes = await this.keepTarball(ctx, plan.tarballSha256, tarball);
    const run = await this.runConfiguration(ctx, plan.workspaceId, tarball, `release ${ctx.release.version} of ${ctx.repo} to ${ctx.env}`, plan.allowDestroy);
    writes += run.writes;
    await this.writePointer(ctx, {
      tarballSha256: plan.tarballSha256,
      tarballKey: this.tarballKey(ctx, plan.tarballSha256),
      runId: run.runId,
      releaseVersion: ctx.release.version,
      stateSerial: await this.stateSerial(plan.workspaceId),
    });
    writes++;
    const summary = `terraform: run ${run.runId} applied configuration ${plan.tarballSha256.slice(0, 12)}`;
    ctx.log(summary);
    return { writes, previous, summary };
  }

  /** The configuration the workspace last applied from this platform. */
  previousOf(current: TerraformState): TerraformPrevious {
    return { applied: current.applied };
  }

  async verify(ctx: DeployContext): Promise<{ ok: boolean; problems: string[] }> {
    const tf = ctx.release.terraform;
    if (!tf) return { ok: true, problems: [] };
    const current = await this.readCurrent(ctx);
    if (current.applied?.tarballSha256 === tf.tarballSha256) return current.drift ? { ok: false, problems: [current.drift] } : { ok: true, problems: [] };
    return { ok: false, problems: [`workspace ${this.workspace(ctx)} last applied ${current.applied?.tarballSha256 ?? 'nothing from this platform'}, not configuration ${tf.tarballSha256} of release ${ctx.release.version}`] };
  }

  async restore(previous: TerraformPrevious, ctx: DeployContext): Promise<ApplyResult<TerraformPrevious>> {
    const current = await this.readCurrent(ctx);
    const before = { applied: current.applied };
    if (!previous.applied) {
      return { writes: 0, previous: before, summary: 'terraform: nothing was applied before this release; destroying its resources is a decision for a person, nothing was done' };
    }
    if (current.applied?.tarballSha256 === previous.applied.tarballSha256 && current.drift === null) return { writes: 0, previous: before, summary: 'terraform: the workspace already runs the previous configuration' };
    if (current.drift) ctx.log(`terraform: ${current.drift}`);
    const out = await this.props.s3.send(new GetObjectCommand({ Bucket: this.props.artifactBucket, Key: previous.applied.tarballKey }));
    const tarball = Buffer.from(await out.Body!.transformToByteArray());
    if (sha256Hex(tarball) !== previous.applied.tarballSha256) throw new DeployError(`kept tarball s3://${this.props.artifactBucket}/${previous.applied.tarballKey} does not have sha256 ${previous.applied.tarballSha256}; restore from its earlier S3 version`);
    const run = await this.runConfiguration(ctx, current.workspaceId, tarball, `rollback of ${ctx.repo} in ${ctx.env} to release ${previous.applied.releaseVersion}`, []);
    await this.writePointer(ctx, { ...previous.applied, runId: run.runId, stateSerial: await this.stateSerial(current.workspaceId) });
    const summary = `terraform: run ${run.runId} re-applied the configuration of release ${previous.applied.releaseVersion}`;
    ctx.log(summary);
    return { writes: run.writes + 1, previous: before, summary };
  }
}
