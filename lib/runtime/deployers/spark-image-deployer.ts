import { DescribeImagesCommand, type ECRClient } from '@aws-sdk/client-ecr';
import { DeleteParameterCommand, GetParametersByPathCommand, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { ApplyResult, DeployContext, Deployer } from './contract';
import { DeployError, mapLimit } from './errors';

/** Props of {@link SparkImageDeployer}. */
export interface SparkImageDeployerProps {
  readonly ssm: SSMClient;
  readonly ecr: ECRClient;
}

/** The environment's image pointers of one repo: job → image reference (`…@sha256:…`). */
export interface SparkState {
  readonly pointers: Readonly<Record<string, string>>;
}

/** One pointer to move. */
export interface PointerMove {
  readonly job: string;
  readonly parameter: string;
  /** ECR repository name in the environment. */
  readonly repositoryName: string;
  readonly digest: string;
  /** Value before the move; null when the parameter did not exist. */
  readonly from: string | null;
}

/** Pointers to move and pointers of jobs the release no longer has. */
export interface SparkPlan {
  readonly moves: readonly PointerMove[];
  readonly removes: ReadonlyArray<{ readonly job: string; readonly parameter: string; readonly from: string }>;
}

/** job → pointer value before the deploy (null: there was none). */
export interface SparkPrevious {
  readonly pointers: Readonly<Record<string, string | null>>;
}

const DIGEST_REF = /^(?<registry>[^/]+)\/(?<repository>.+)@(?<digest>sha256:[0-9a-f]{64})$/;

/**
 * Spark/EMR deployer: every Spark job of a release runs an image referenced by digest. Each
 * environment has one SSM parameter per job, `<ssmParameterPath>/<repo>/spark/<job>/image`, whose
 * value is the full image reference `<registry>/<ecrRepositoryPrefix>/<repository>@sha256:…`.
 * A pointer moves only after ECR DescribeImages confirms the digest is in the environment's
 * repository; deploy and rollback only move pointers, images are never rebuilt or retagged.
 */
export class SparkImageDeployer implements Deployer<SparkState, SparkPlan, SparkPrevious> {
  readonly kind = 'spark' as const;

  constructor(private readonly props: SparkImageDeployerProps) {}

  private base(ctx: DeployContext): string {
    return `${ctx.environment.ssmParameterPath}/${ctx.repo}/spark/`;
  }

  /** The SSM parameter name of a job's image pointer. */
  parameterOf(job: string, ctx: DeployContext): string {
    if (!/^[A-Za-z0-9_.-]+$/.test(job)) throw new DeployError(`spark job name '${job}' cannot be part of an SSM parameter name; use letters, digits, _ . -`);
    return `${this.base(ctx)}${job}/image`;
  }

  /** The environment's ECR repository that holds a release image. */
  repositoryOf(repository: string, ctx: DeployContext): string {
    const prefix = ctx.environment.ecrRepositoryPrefix;
    return repository.startsWith(`${prefix}/`) ? repository : `${prefix}/${repository}`;
  }

  async readCurrent(ctx: DeployContext): Promise<SparkState> {
    const pointers: Record<string, string> = {};
    let token: string | undefined;
    const base = this.base(ctx);
    try {
      do {
        const page = await this.props.ssm.send(new GetParametersByPathCommand({ Path: base.replace(/\/$/, ''), Recursive: true, NextToken: token }));
        for (const p of page.Parameters ?? []) {
          const m = p.Name && p.Value !== undefined ? /^(.+)\/image$/.exec(p.Name.slice(base.length)) : null;
          if (m && !m[1].includes('/')) pointers[m[1]] = p.Value!;
        }
        token = page.NextToken;
      } while (token);
    } catch (cause) {
      throw new DeployError(`cannot read the image pointers under ${base}: ${(cause as Error).message}; check that the deploy role may ssm:GetParametersByPath on ${ctx.environment.ssmParameterPath}`, { cause });
    }
    return { pointers };
  }

  plan(current: SparkState, ctx: DeployContext): SparkPlan {
    const moves: PointerMove[] = [];
    const inRelease = new Set<string>();
    for (const img of ctx.release.sparkImages) {
      inRelease.add(img.job);
      const repositoryName = this.repositoryOf(img.repository, ctx);
      const from = current.pointers[img.job] ?? null;
      const m = from ? DIGEST_REF.exec(from) : null;
      if (m?.groups?.digest === img.digest && m.groups.repository === repositoryName) continue;
      moves.push({ job: img.job, parameter: this.parameterOf(img.job, ctx), repositoryName, digest: img.digest, from });
    }
    const removes = Object.entries(current.pointers)
      .filter(([job]) => !inRelease.has(job))
      .map(([job, from]) => ({ job, parameter: this.parameterOf(job, ctx), from }));
    return { moves: moves.sort((a, b) => a.job.localeCompare(b.job)), removes: removes.sort((a, b) => a.job.localeCompare(b.job)) };
  }

  /** Confirms the digest is in the repository and returns the image reference for it. */
  private async imageRef(repositoryName: string, digest: string): Promise<string> {
    let out;
    try {
      out = await this.props.ecr.send(new DescribeImagesCommand({ repositoryName, imageIds: [{ imageDigest: digest }] }));
    } catch (cause) {
      throw new DeployError(`image ${repositoryName}@${digest} is not in ECR (${(cause as Error).name}: ${(cause as Error).message}); push the release image to the environment's repository before deploying, the pointer was not moved`, { cause });
    }
    const found = out.imageDetails?.find((d) => d.imageDigest === digest);
    if (!found?.registryId) throw new DeployError(`ECR did not report image ${repositoryName}@${digest}; push it before deploying, the pointer was not moved`);
    const region = await this.props.ecr.config.region();
    return `${found.registryId}.dkr.ecr.${region}.amazonaws.com/${repositoryName}@${digest}`;
  }

  private async put(parameter: string, value: string): Promise<void> {
    try {
      await this.props.ssm.send(new PutParameterCommand({ Name: parameter, Value: value, Type: 'String', Overwrite: true }));
    } catch (cause) {
      throw new DeployError(`cannot move pointer ${parameter} to ${value}: ${(cause as Error).message}; check that the deploy role may ssm:PutParameter on it`, { cause });
    }
  }

  private async remove(parameter: string): Promise<void> {
    try {
      await this.props.ssm.send(new DeleteParameterCommand({ Name: parameter }));
    } catch (cause) {
      if ((cause as Error).name === 'ParameterNotFound') return;
      throw new DeployError(`cannot delete pointer ${parameter}: ${(cause as Error).message}`, { cause });
    }
  }

  async apply(plan: SparkPlan, ctx: DeployContext): Promise<ApplyResult<SparkPrevious>> {
    // Check every image first, so a missing image moves no pointer at all.
    const refs = await mapLimit(plan.moves, 8, (m) => this.imageRef(m.repositoryName, m.digest));
    await mapLimit(plan.moves, 8, (m, i) => this.put(m.parameter, refs[i]));
    await mapLimit(plan.removes, 8, (r) => this.remove(r.parameter));
    const previous = this.previousOf({ pointers: {} }, plan);
    const summary = `spark: ${plan.moves.length} pointer(s) moved, ${plan.removes.length} removed under ${this.base(ctx)}`;
    ctx.log(summary);
    return { writes: plan.moves.length + plan.removes.length, previous, summary };
  }

  /** The pointers the plan moves or removes, with their values before. */
  previousOf(_current: SparkState, plan: SparkPlan): SparkPrevious {
    const pointers: Record<string, string | null> = {};
    for (const m of plan.moves) pointers[m.job] = m.from;
    for (const r of plan.removes) pointers[r.job] = r.from;
    return { pointers };
  }

  async verify(ctx: DeployContext): Promise<{ ok: boolean; problems: string[] }> {
    const current = await this.readCurrent(ctx);
    const problems: string[] = [];
    for (const img of ctx.release.sparkImages) {
      const value = current.pointers[img.job];
      const m = value ? DIGEST_REF.exec(value) : null;
      if (!m?.groups || m.groups.digest !== img.digest) {
        problems.push(`${this.parameterOf(img.job, ctx)} is ${value ?? 'missing'}, expected digest ${img.digest}`);
        continue;
      }
      try {
        await this.imageRef(m.groups.repository, img.digest);
      } catch (e) {
        problems.push((e as Error).message);
      }
    }
    return { ok: problems.length === 0, problems };
  }

  async restore(previous: SparkPrevious, ctx: DeployContext): Promise<ApplyResult<SparkPrevious>> {
    const current = await this.readCurrent(ctx);
    const before: Record<string, string | null> = {};
    let writes = 0;
    for (const [job, value] of Object.entries(previous.pointers).sort(([a], [b]) => a.localeCompare(b))) {
      const now = current.pointers[job] ?? null;
      if (now === value) continue;
      before[job] = now;
      const parameter = this.parameterOf(job, ctx);
      if (value === null) {
        await this.remove(parameter);
      } else {
        const m = DIGEST_REF.exec(value);
        if (!m?.groups) throw new DeployError(`recorded pointer ${parameter}=${value} is not an image reference by digest; restore it by hand`);
        await this.imageRef(m.groups.repository, m.groups.digest);
        await this.put(parameter, value);
      }
      writes++;
    }
    const summary = `spark: ${writes} pointer(s) put back under ${this.base(ctx)}`;
    ctx.log(summary);
    return { writes, previous: { pointers: before }, summary };
  }
}
