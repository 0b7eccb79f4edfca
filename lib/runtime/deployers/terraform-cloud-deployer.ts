import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import type { PlatformConfig } from '../../config/schema';
import { FINAL_STATUSES, PLANNED_STATUSES, type ResourceChange, type TerraformCloudClient } from '../terraform-cloud/client';
import type { ApplyResult, DeployContext, Deployer } from './contract';
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
}

/** The record kept in the artifact bucket of the configuration a workspace last applied. */
export interface AppliedPointer {
  readonly tarballSha256: string;
  readonly tarballKey: string;
  readonly runId: string;
  readonly releaseVersion: string;
}

const AppliedPointerSchema = z.object({ tarballSha256: z.string(), tarballKey: z.string(), runId: z.string(), releaseVersion: z.string() });

/** Whether to run, and with what. */
export interface TerraformPlan {
  readonly workspaceId: string;
  readonly action: 'none' | 'run';
  readonly tarballSha256: string | null;
  readonly allowDestroy: readonly string[];
  /** What the workspace had applied before. */
  readonly previous: TerraformPrevious;
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

/**
 * Terraform Cloud deployer: for each environment's workspace, uploads the release's configuration
 * tarball as a configuration version, creates a run (no auto-apply), waits for the plan, refuses
 * plans that destroy or replace resources of protected types unless the release's
 * `terraform.allowDestroy` names the address or type, then applies. The tarball is kept in the
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

  async readCurrent(ctx: DeployContext): Promise<TerraformState> {
    const { organization, workspace } = ctx.environment.terraformCloud;
    const workspaceId = await this.props.tfc.workspaceId(organization, workspace);
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
    return { workspaceId, applied };
  }

  plan(current: TerraformState, ctx: DeployContext): TerraformPlan {
    const tf = ctx.release.terraform;
    if (!tf || current.applied?.tarballSha256 === tf.tarballSha256) {
      return { workspaceId: current.workspaceId, action: 'none', tarballSha256: tf?.tarballSha256 ?? null, allowDestroy: tf?.allowDestroy ?? [], previous: this.previousOf(current) };
    }
    return { workspaceId: current.workspaceId, action: 'run', tarballSha256: tf.tarballSha256, allowDestroy: tf.allowDestroy, previous: this.previousOf(current) };
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

  private async waitFor(runId: string, done: (status: string) => boolean, what: string): Promise<string> {
    const deadline = Date.now() + (this.props.runTimeoutMs ?? 1_800_000);
    for (;;) {
      const run = await this.props.tfc.run(runId);
      if (done(run.status)) return run.status;
      if (Date.now() > deadline) throw new DeployError(`run ${runId} is still ${run.status} after waiting for ${what}; look at it in Terraform Cloud, it was neither applied nor discarded`);
      await this.sleep();
    }
  }

  /** Uploads `tarball`, plans, checks protected resources, applies; returns the run id and writes. */
  private async runConfiguration(ctx: DeployContext, workspaceId: string, tarball: Buffer, message: string, allowDestroy: readonly string[]): Promise<{ runId: string; writes: number }> {
    const { tfc } = this.props;
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
    ctx.log(`terraform: run ${run.id} created in ${ctx.environment.terraformCloud.organization}/${ctx.environment.terraformCloud.workspace}`);
    const planned = await this.waitFor(run.id, (s) => (PLANNED_STATUSES as readonly string[]).includes(s) || (FINAL_STATUSES as readonly string[]).includes(s), 'the plan');
    if (planned === 'planned_and_finished') return { runId: run.id, writes };
    if (planned !== 'planned' && !(PLANNED_STATUSES as readonly string[]).includes(planned)) throw new DeployError(`run ${run.id} ended ${planned} before it could be applied; read its plan log in Terraform Cloud`);
    const info = await tfc.run(run.id);
    if (!info.planId) throw new DeployError(`run ${run.id} has no plan`);
    const blocked = blockedChanges(await tfc.planChanges(info.planId), this.props.protectedResourceTypes, allowDestroy);
    if (blocked.length > 0) {
      await tfc.discard(run.id, `dataops: refused, destroys protected resources ${blocked.map((b) => b.address).join(', ')}`);
      throw new DeployRefusedError(
        `terraform plan of run ${run.id} would ${blocked.map((b) => `${b.actions.includes('create') ? 'replace' : 'destroy'} ${b.address}`).join(', ')} (protected types ${[...new Set(blocked.map((b) => b.type))].join(', ')}); the run was discarded. If this is intended, list the addresses under terraform.allowDestroy of the release`,
      );
    }
    await tfc.apply(run.id, `dataops: ${message}`);
    writes++;
    const final = await this.waitFor(run.id, (s) => (FINAL_STATUSES as readonly string[]).includes(s), 'the apply');
    if (final !== 'applied') throw new DeployError(`run ${run.id} ended ${final}, not applied; read its apply log in Terraform Cloud`);
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
    const tarball = this.releaseTarball(ctx, plan.tarballSha256);
    let writes = await this.keepTarball(ctx, plan.tarballSha256, tarball);
    const run = await this.runConfiguration(ctx, plan.workspaceId, tarball, `release ${ctx.release.version} of ${ctx.repo} to ${ctx.env}`, plan.allowDestroy);
    writes += run.writes;
    await this.writePointer(ctx, { tarballSha256: plan.tarballSha256, tarballKey: this.tarballKey(ctx, plan.tarballSha256), runId: run.runId, releaseVersion: ctx.release.version });
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
    if (current.applied?.tarballSha256 === tf.tarballSha256) return { ok: true, problems: [] };
    return { ok: false, problems: [`workspace ${ctx.environment.terraformCloud.workspace} last applied ${current.applied?.tarballSha256 ?? 'nothing from this platform'}, not configuration ${tf.tarballSha256} of release ${ctx.release.version}`] };
  }

  async restore(previous: TerraformPrevious, ctx: DeployContext): Promise<ApplyResult<TerraformPrevious>> {
    const current = await this.readCurrent(ctx);
    const before = { applied: current.applied };
    if (!previous.applied) {
      return { writes: 0, previous: before, summary: 'terraform: nothing was applied before this release; destroying its resources is a decision for a person, nothing was done' };
    }
    if (current.applied?.tarballSha256 === previous.applied.tarballSha256) return { writes: 0, previous: before, summary: 'terraform: the workspace already runs the previous configuration' };
    const out = await this.props.s3.send(new GetObjectCommand({ Bucket: this.props.artifactBucket, Key: previous.applied.tarballKey }));
    const tarball = Buffer.from(await out.Body!.transformToByteArray());
    if (sha256Hex(tarball) !== previous.applied.tarballSha256) throw new DeployError(`kept tarball s3://${this.props.artifactBucket}/${previous.applied.tarballKey} does not have sha256 ${previous.applied.tarballSha256}; restore from its earlier S3 version`);
    const run = await this.runConfiguration(ctx, current.workspaceId, tarball, `rollback of ${ctx.repo} in ${ctx.env} to release ${previous.applied.releaseVersion}`, []);
    await this.writePointer(ctx, { ...previous.applied, runId: run.runId });
    const summary = `terraform: run ${run.runId} re-applied the configuration of release ${previous.applied.releaseVersion}`;
    ctx.log(summary);
    return { writes: run.writes + 1, previous: before, summary };
  }
}
