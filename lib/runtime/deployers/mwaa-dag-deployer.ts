import { GetObjectCommand, ListObjectsV2Command, NoSuchKey, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { listDagParses, listDags, listImportErrors, type ListedDag } from '../mwaa/airflow-commands';
import type { AirflowCli } from '../mwaa/cli-client';
import { dagFolderPrefix, dagPackageName } from '../mwaa/dag-package';
import { assessParse, type ParseAssessment } from '../mwaa/parse-freshness';
import { AirflowPauseSwitch, DagHolds, holderId, S3HoldStore } from '../rollback/dag-holds';
import type { ApplyResult, DeployContext, Deployer } from './contract';
import { DeployError } from './errors';
import { readReleaseAssets, sha256Hex } from './release-files';
import {
  applyObjectSet,
  deleteObject,
  planObjectSet,
  planRestore,
  putObject,
  readObjectSet,
  restoreObjectSet,
  type DesiredObject,
  type ObjectSet,
  type ObjectSetPlan,
} from './s3-object-set';

/** Props of {@link MwaaDagDeployer}. */
export interface MwaaDagDeployerProps {
  /** S3 client of the environment's account (deploy role credentials). */
  readonly s3: S3Client;
  /** Airflow CLI of the environment (normally a {@link MwaaCliClient}). */
  readonly airflow: AirflowCli;
  /** Folder of the repo's DAG files relative to the repo root (the repo's `paths.airflow`). @default dags */
  readonly sourceRoot?: string;
  /** Key prefix of the DAG folder in the bucket (the MWAA environment's DagS3Path). @default dags */
  readonly dagS3Path?: string;
  /** Where the Airflow workers see the DAG folder (MWAA: /usr/local/airflow/dags). @default /usr/local/airflow/dags */
  readonly workerDagsFolder?: string;
  /**
   * How long `verify` waits for the environment to parse the files of the release (MWAA: S3 sync,
   * then min_file_process_interval, and dag_dir_list_interval for new files). @default 600000 (10 minutes)
   */
  readonly parseWaitMs?: number;
  /** Pause between two checks while waiting for parsing. @default 15000 */
  readonly parsePollMs?: number;
  /**
   * How long after an object's S3 LastModified the environment's containers may still hold the
   * previous file: a parse counts only when it is later than LastModified + 1 s + this.
   * @default 30000 (MWAA syncs the DAG folder from S3 about every 30 seconds)
   */
  readonly syncLagMs?: number;
  /** Time source and sleep of `verify`'s wait. @default - the system clock and setTimeout */
  readonly clock?: Clock;
}

/** A clock `verify` waits with (injectable so that tests need not wait). */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

const SYSTEM_CLOCK: Clock = { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };

/** What the environment holds for one repo: its DAG objects and the DAGs parsed from them. */
export interface MwaaState {
  readonly bucket: string;
  readonly prefix: string;
  readonly objects: ObjectSet;
  /** The repo's DAGs as Airflow lists them, with the paused state they had before any deploy. */
  readonly dags: ReadonlyArray<ListedDag & { readonly key: string | null }>;
  /** Paused states a deploy that did not finish recorded before pausing (crash recovery). */
  readonly pendingRestore: Readonly<Record<string, boolean>> | null;
}

/** A DAG to pause during the sync, with the state to restore after it. */
export interface PauseStep {
  readonly dagId: string;
  readonly restoreTo: boolean;
  readonly currentlyPaused: boolean;
}

/** Uploads, deletes and the DAGs to pause around them. */
export interface MwaaPlan {
  readonly bucket: string;
  readonly objects: ObjectSetPlan;
  readonly pause: readonly PauseStep[];
  readonly markerPresent: boolean;
  /** The state before the deploy, as `apply` records it. */
  readonly previous: MwaaPrevious;
}

/** Enough to put the repo's DAG folder back byte for byte, with each DAG's paused state. */
export interface MwaaPrevious {
  readonly bucket: string;
  readonly prefix: string;
  readonly objects: ObjectSet;
  readonly paused: Readonly<Record<string, boolean>>;
}

const MARKER_DIR = '.dataops/';
const MarkerSchema = z.object({ paused: z.record(z.string(), z.boolean()) });

/**
 * Airflow/MWAA deployer: syncs the repo's DAG files to `<dagS3Path>/<repo>/` of the environment's
 * DAG bucket (upload changed, delete removed, compared by the sha256 kept in object metadata),
 * pausing the DAGs whose files change for the length of the sync and restoring each one's paused
 * state after. It never clears task instances and never triggers runs.
 *
 * Before pausing it writes the DAGs' paused states to `<prefix>.dataops/paused-by-deploy.json`, so
 * a deploy that dies between pause and restore is finished by the next run instead of leaving
 * DAGs paused for good. Airflow does not parse that file (it is not Python).
 */
export class MwaaDagDeployer implements Deployer<MwaaState, MwaaPlan, MwaaPrevious> {
  readonly kind = 'airflow' as const;

  constructor(private readonly props: MwaaDagDeployerProps) {
    const bad = [
      ['parseWaitMs', props.parseWaitMs, 0],
      ['parsePollMs', props.parsePollMs, 1],
      ['syncLagMs', props.syncLagMs, 0],
    ].filter(([, v, min]) => v !== undefined && !(Number.isFinite(v) && (v as number) >= (min as number)));
    if (bad.length > 0) {
      throw new DeployError(`MwaaDagDeployer: ${bad.map(([name, v, min]) => `${name} is ${v}, expected a number of milliseconds >= ${min}`).join('; ')}; fix the deployer props`);
    }
  }

  private prefix(ctx: DeployContext): string {
    return dagFolderPrefix(ctx.repo, this.props.dagS3Path);
  }

  private markerKey(ctx: DeployContext): string {
    return `${this.prefix(ctx)}${MARKER_DIR}paused-by-deploy.json`;
  }

  /** The object key a release asset is deployed to. */
  keyOf(assetPath: string, ctx: DeployContext): string {
    const root = (this.props.sourceRoot ?? 'dags').replace(/^\.\/?/, '').replace(/\/+$/, '');
    const rel = root === '' ? assetPath : assetPath.startsWith(`${root}/`) ? assetPath.slice(root.length + 1) : null;
    if (rel === null) throw new DeployError(`airflow asset ${assetPath} is outside the repo's DAG folder '${root}'; set paths.airflow of repo ${ctx.repo} to the folder that holds its DAGs`);
    return `${this.prefix(ctx)}${rel}`;
  }

  private desired(ctx: DeployContext): DesiredObject[] {
    return ctx.release.assets.filter((a) => a.kind === 'airflow').map((a) => ({ key: this.keyOf(a.path, ctx), sha256: a.sha256 }));
  }

  private async readMarker(ctx: DeployContext): Promise<Record<string, boolean> | null> {
    try {
      const out = await this.props.s3.send(new GetObjectCommand({ Bucket: ctx.environment.mwaa.dagBucket, Key: this.markerKey(ctx) }));
      return MarkerSchema.parse(JSON.parse(await out.Body!.transformToString())).paused;
    } catch (e) {
      if (e instanceof NoSuchKey || (e as { name?: string }).name === 'NoSuchKey') return null;
      throw new DeployError(`cannot read the pause marker s3://${ctx.environment.mwaa.dagBucket}/${this.markerKey(ctx)}: ${(e as Error).message}`, { cause: e });
    }
  }

  private async repoDags(ctx: DeployContext): Promise<Array<ListedDag & { key: string | null }>> {
    const prefix = this.prefix(ctx);
    return (await listDags(this.props.airflow))
      .map((d) => ({ ...d, rel: this.repoRelative(d.fileloc, ctx) }))
      .filter((d) => d.rel !== null)
      .map(({ rel, ...d }) => ({ ...d, key: `${prefix}${rel}` }));
  }

  /** A worker file path relative to the repo's folder, or null when the file is not the repo's. */
  private repoRelative(workerPath: string, ctx: DeployContext): string | null {
    const root = this.workerRoot(ctx);
    return workerPath.startsWith(root) ? workerPath.slice(root.length) : null;
  }

  /** The repo's DAG folder as the Airflow workers see it, ending in `/`. */
  private workerRoot(ctx: DeployContext): string {
    return `${(this.props.workerDagsFolder ?? '/usr/local/airflow/dags').replace(/\/+$/, '')}/${dagPackageName(ctx.repo)}/`;
  }

  async readCurrent(ctx: DeployContext): Promise<MwaaState> {
    const bucket = ctx.environment.mwaa.dagBucket;
    const prefix = this.prefix(ctx);
    const [objects, dags, pendingRestore] = await Promise.all([
      readObjectSet(this.props.s3, bucket, prefix, (k) => k.startsWith(`${prefix}${MARKER_DIR}`)),
      this.repoDags(ctx),
      this.readMarker(ctx),
    ]);
    return { bucket, prefix, objects, dags, pendingRestore };
  }

  plan(current: MwaaState, ctx: DeployContext): MwaaPlan {
    const objects = planObjectSet(current.objects, this.desired(ctx));
    const touched = new Set([...objects.uploads.map((u) => u.key), ...objects.deletes]);
    const pending = current.pendingRestore ?? {};
    const pause = new Map<string, PauseStep>();
    for (const [dagId, restoreTo] of Object.entries(pending)) {
      const d = current.dags.find((x) => x.dagId === dagId);
      pause.set(dagId, { dagId, restoreTo, currentlyPaused: d?.paused ?? true });
    }
    for (const d of current.dags) {
      if (d.key !== null && touched.has(d.key) && !pause.has(d.dagId)) pause.set(d.dagId, { dagId: d.dagId, restoreTo: d.paused, currentlyPaused: d.paused });
    }
    return {
      bucket: current.bucket,
      objects,
      pause: [...pause.values()].sort((a, b) => a.dagId.localeCompare(b.dagId)),
      markerPresent: current.pendingRestore !== null,
      previous: this.previousOf(current),
    };
  }

  /**
   * Holds the given DAGs (docs/rollback.md "Holds": a rollback of another repo may hold them too),
   * runs `sync`, for a deploy (`parseBeforeUnpause`) waits until the environment has parsed the
   * release's files when a held DAG is to be unpaused (bounded by `parseWaitMs`; an import error or the
   * timeout fails the deploy with the DAGs still held), then lets go; a DAG goes back to its state from before the first pause only when no
   * other run holds it. Returns the writes.
   */
  private async aroundPaused(ctx: DeployContext, bucket: string, steps: readonly PauseStep[], markerPresent: boolean, sync: () => Promise<number>, parseBeforeUnpause: boolean): Promise<number> {
    let writes = 0;
    const holds = new DagHolds({ store: new S3HoldStore({ s3: this.props.s3, bucket, ...(this.props.dagS3Path ? { dagS3Path: this.props.dagS3Path } : {}) }), dags: new AirflowPauseSwitch(this.props.airflow) });
    // One deploy of a repo per environment runs at a time (the ledger lock); the next one finishes a crashed one's holds.
    const holder = holderId('deploy', ctx.repo, ctx.env);
    // Every DAG whose file changes is held, paused or not: unheld, a paused one could be unpaused mid-sync by the
    // release of a rollback that held it (found by the model in test/runtime/rollback/dag-holds-model.ts).
    const held = steps;
    const pausing = held.length > 0;
    if (pausing && !markerPresent) {
      const paused = Object.fromEntries(steps.map((s) => [s.dagId, s.restoreTo]));
      const body = Buffer.from(JSON.stringify({ paused }, null, 2));
      await putObject(this.props.s3, bucket, { key: this.markerKey(ctx), sha256: sha256Hex(body) }, body);
      writes++;
    }
    for (const s of held) {
      const a = await holds.acquire(s.dagId, holder);
      if (!a.changed) continue;
      ctx.log(`pausing DAG ${s.dagId} while its file changes`);
      writes++;
    }
    const synced = await sync();
    writes += synced;
    // A DAG goes back to unpaused only once the scheduler has parsed the new files without an import
    // error: unpaused earlier, it could run the previous file's tasks, or a half-synced folder's.
    const unpausing = held.filter((s) => !s.restoreTo);
    if (parseBeforeUnpause && synced > 0 && unpausing.length > 0) {
      ctx.log(`airflow: waiting for ${ctx.env}'s scheduler to parse the release before unpausing ${unpausing.map((s) => s.dagId).join(', ')}`);
      const parsed = await this.awaitParse(ctx);
      if (!parsed.ok) {
        throw new DeployError(
          `${ctx.env}'s scheduler did not parse release ${ctx.release.version} of ${ctx.repo} cleanly, so ${unpausing.map((s) => s.dagId).join(', ')} stay paused (held by this deploy; the next deploy or rollback of ${ctx.repo} to ${ctx.env} puts them back as they were): ${parsed.problems.slice(0, 3).join('; ')}${parsed.problems.length > 3 ? ` (and ${parsed.problems.length - 3} more)` : ''}`,
        );
      }
    }
    for (const s of held) {
      const r = await holds.release(s.dagId, holder);
      if (r.remaining.length > 0) ctx.log(`DAG ${s.dagId} stays paused: ${r.remaining.join(', ')} still hold it`);
      if (!r.changed) continue;
      ctx.log(`${r.prior ? 'pausing' : 'unpausing'} DAG ${s.dagId} (its state before the deploy)`);
      writes++;
    }
    if (pausing || markerPresent) {
      await deleteObject(this.props.s3, bucket, this.markerKey(ctx));
      writes++;
    }
    return writes;
  }

  async apply(plan: MwaaPlan, ctx: DeployContext): Promise<ApplyResult<MwaaPrevious>> {
    const previous = plan.previous;
    const bodies = new Map<string, Buffer>();
    if (plan.objects.uploads.length > 0) {
      for (const a of await readReleaseAssets(ctx.release, ctx.releaseDir, 'airflow')) bodies.set(this.keyOf(a.path, ctx), a.body);
    }
    const writes = await this.aroundPaused(ctx, plan.bucket, plan.pause, plan.markerPresent, () =>
      applyObjectSet(this.props.s3, plan.bucket, plan.objects, (o) => {
        const b = bodies.get(o.key);
        if (!b) throw new DeployError(`no bytes for ${o.key} in release ${ctx.release.version}; re-package the release`);
        return b;
      }),
      true,
    );
    const summary = `airflow: ${plan.objects.uploads.length} uploaded, ${plan.objects.deletes.length} deleted under s3://${plan.bucket}/${this.prefix(ctx)}, ${plan.pause.length} DAG(s) paused during the sync`;
    ctx.log(summary);
    return { writes, previous, summary };
  }

  /** The repo's DAG objects and each DAG's paused state before any change (the crash marker wins). */
  previousOf(state: MwaaState): MwaaPrevious {
    const paused: Record<string, boolean> = {};
    for (const d of state.dags) paused[d.dagId] = d.paused;
    for (const [dagId, p] of Object.entries(state.pendingRestore ?? {})) paused[dagId] = p;
    return { bucket: state.bucket, prefix: state.prefix, objects: state.objects, paused };
  }

  /**
   * Checks that the DAG folder holds exactly the release and that the environment has parsed it:
   * waits (bounded by `parseWaitMs`) until every DAG file is parsed after its upload (and after
   * any change of the repo's other files), the DAGs of deleted files are gone and each release DAG
   * is listed from its file; fails at once on an import error of a file parsed after its upload.
   */
  async verify(ctx: DeployContext): Promise<{ ok: boolean; problems: string[] }> {
    return this.awaitParse(ctx);
  }

  /** The wait of {@link verify}: until the environment parsed the release's files cleanly, an import error, or `parseWaitMs`. */
  private async awaitParse(ctx: DeployContext): Promise<{ ok: boolean; problems: string[] }> {
    const clock = this.props.clock ?? SYSTEM_CLOCK;
    const waitMs = this.props.parseWaitMs ?? 600_000;
    const started = clock.now();
    for (let look = 0; ; look++) {
      const assessment = await this.parseState(ctx, clock.now());
      const errors = assessment.importErrors.map((e) => `import error in ${this.workerPath(e.file, ctx)}: ${e.error.trim().split('\n').slice(-1)[0]}`);
      // The objects' hashes (a HEAD each) are read on the first look and again before passing, not on every poll.
      const contentProblems = look === 0 || (errors.length === 0 && assessment.pending.length === 0) ? await this.contentProblems(ctx) : [];
      if (contentProblems.length > 0 || errors.length > 0) return { ok: false, problems: [...contentProblems, ...errors] };
      if (assessment.pending.length === 0) return { ok: true, problems: [] };
      const now = clock.now();
      const waited = now - started;
      if (waited >= waitMs) {
        const secs = Math.round(waited / 1000);
        return {
          ok: false,
          problems: assessment.pending.map(
            (p) =>
              `${this.workerPath(p.file, ctx)} (s3://${ctx.environment.mwaa.dagBucket}/${this.prefix(ctx)}${p.file}) is not re-parsed by the environment after waiting ${secs}s: ${p.reasons.join('; ')}; ` +
              `check the scheduler of MWAA environment ${ctx.environment.mwaa.environmentName} (its health and the DAG processor logs), then run the verification again`,
          ),
        };
      }
      ctx.log(`airflow: waiting for the environment to parse ${assessment.pending.length} file(s) (${assessment.pending.map((p) => p.file).join(', ')}), ${Math.round(waited / 1000)}s of ${Math.round(waitMs / 1000)}s`);
      await clock.sleep(Math.min(this.props.parsePollMs ?? 15_000, waitMs - waited));
    }
  }

  private workerPath(rel: string, ctx: DeployContext): string {
    return `${this.workerRoot(ctx)}${rel}`;
  }

  /** The repo's objects that differ from the release (by the sha256 in their metadata). */
  private async contentProblems(ctx: DeployContext): Promise<string[]> {
    const bucket = ctx.environment.mwaa.dagBucket;
    const prefix = this.prefix(ctx);
    const plan = planObjectSet(await readObjectSet(this.props.s3, bucket, prefix, (k) => k.startsWith(`${prefix}${MARKER_DIR}`)), this.desired(ctx));
    return [
      ...plan.uploads.map((u) => `s3://${bucket}/${u.key} does not hold sha256 ${u.sha256} of release ${ctx.release.version}`),
      ...plan.deletes.map((d) => `s3://${bucket}/${d} is not in release ${ctx.release.version}`),
    ];
  }

  /** One look at S3 and the environment: how far parsing got. */
  private async parseState(ctx: DeployContext, now: number): Promise<ParseAssessment> {
    const prefix = this.prefix(ctx);
    const [times, dags, importErrors] = await Promise.all([
      this.lastModified(ctx.environment.mwaa.dagBucket, prefix, (k) => k.startsWith(`${prefix}${MARKER_DIR}`)),
      listDagParses(this.props.airflow),
      listImportErrors(this.props.airflow),
    ]);
    const expected = new Map<string, string[]>();
    for (const d of ctx.release.dags) {
      let key: string;
      try {
        key = this.keyOf(d.file, ctx);
      } catch {
        continue; // a DAG outside the Airflow folder is not deployed by this deployer
      }
      const rel = key.slice(prefix.length);
      expected.set(rel, [...(expected.get(rel) ?? []), d.dagId]);
    }
    const errors = new Map<string, string>();
    for (const e of importErrors) {
      const rel = this.repoRelative(e.filepath, ctx);
      if (rel !== null) errors.set(rel, e.error);
    }
    return assessParse({
      objects: new Map([...times].map(([k, t]) => [k.slice(prefix.length), t])),
      expected,
      listed: dags.map((d) => ({ dagId: d.dagId, file: this.repoRelative(d.fileloc, ctx), lastParsedTime: d.lastParsedTime })),
      importErrors: errors,
      now,
      syncLagMs: this.props.syncLagMs ?? 30_000,
    });
  }

  /** S3 LastModified of every object under `prefix`. */
  private async lastModified(bucket: string, prefix: string, ignore: (key: string) => boolean): Promise<Map<string, Date>> {
    const out = new Map<string, Date>();
    let token: string | undefined;
    try {
      do {
        const page = await this.props.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        for (const o of page.Contents ?? []) if (o.Key && o.LastModified && !ignore(o.Key)) out.set(o.Key, o.LastModified);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (cause) {
      throw new DeployError(`cannot list s3://${bucket}/${prefix}: ${(cause as Error).message}; check that the bucket exists and the deploy role may s3:ListBucket on it`, { cause });
    }
    return out;
  }

  async restore(previous: MwaaPrevious, ctx: DeployContext): Promise<ApplyResult<MwaaPrevious>> {
    const current = await this.readCurrent(ctx);
    if (current.bucket !== previous.bucket || current.prefix !== previous.prefix) {
      throw new DeployError(`the recorded previous state is for s3://${previous.bucket}/${previous.prefix} but this environment deploys to s3://${current.bucket}/${current.prefix}; restore with the record of this environment`);
    }
    const restorePlan = planRestore(current.objects, previous.objects);
    const touched = new Set([...restorePlan.copies.map((c) => c.key), ...restorePlan.deletes]);
    const steps: PauseStep[] = [];
    const pending = current.pendingRestore ?? {};
    for (const d of current.dags) {
      // A DAG whose file changes is paused for the restore and then put back to the state it had
      // before the failed deploy (the marker), or to its current state: a person who paused a DAG
      // since keeps it paused.
      if ((d.key !== null && touched.has(d.key)) || d.dagId in pending) steps.push({ dagId: d.dagId, restoreTo: pending[d.dagId] ?? d.paused, currentlyPaused: d.paused });
    }
    const writes = await this.aroundPaused(ctx, current.bucket, steps, current.pendingRestore !== null, () => restoreObjectSet(this.props.s3, current.bucket, current.objects, previous.objects), false);
    const summary = `airflow: restored ${restorePlan.copies.length} object(s), deleted ${restorePlan.deletes.length} under s3://${current.bucket}/${current.prefix}`;
    ctx.log(summary);
    return { writes, previous: this.previousOf(current), summary };
  }
}
