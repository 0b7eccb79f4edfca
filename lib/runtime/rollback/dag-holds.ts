import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { listDags, setPaused } from '../mwaa/airflow-commands';
import type { AirflowCli } from '../mwaa/cli-client';

/**
 * DAG pauses held per DAG (docs/rollback.md "Holds"): every run that pauses a DAG — a rollback's
 * data restore of any repo, a deploy — takes a hold on it, and the DAG is put back only when the last
 * holder lets go, to the paused state it had before the first holder paused it. One record per DAG
 * keeps its holders; every change of it is a conditional write, so two holders racing cannot lose a
 * hold, and a holder that crashes and retries finds itself in the record (no second prior recorded,
 * no other holder's hold released).
 *
 * The protocol, for one DAG:
 * - acquire: a free record (or none) is replaced by `{prior: <paused state now>, holders: {me}}`; a
 *   held one gets `me` added. Only after the write has landed is the DAG paused.
 * - release: `me` is removed; when others remain nothing else happens. The last holder first marks
 *   the record `releasing` (holders empty), then sets the DAG to `prior`, then frees the record.
 *   While a record is `releasing` nobody joins it: an acquirer waits, and takes the release over
 *   (finishing it) only when it is stale, i.e. its holder died mid-release.
 * A record is never deleted, only freed, and each write raises its generation, so a conditional
 * write can never match a record that was freed and taken again in between.
 */

/** Who holds a hold: `rollback:<repo>:<execution>` or `deploy:<repo>:<execution>`. */
export type HolderId = string;

/** The holder id of a run (one per kind, repo and pipeline execution: a retry of the run has the same id). */
export function holderId(kind: 'rollback' | 'deploy', repo: string, executionId: string): HolderId {
  return `${kind}:${repo}:${executionId}`;
}

const HoldRecordSchema = z.object({
  dagId: z.string(),
  generation: z.number().int().nonnegative(),
  prior: z.boolean().nullable(),
  holders: z.record(z.string(), z.object({ since: z.string() })),
  releasing: z.object({ holder: z.string(), since: z.string() }).nullable(),
});

/** One DAG's hold record. */
export type HoldRecord = z.infer<typeof HoldRecordSchema>;

/** A stored record and the tag a conditional write must match. */
export interface StoredHold {
  readonly record: HoldRecord;
  readonly etag: string;
}

/** Where hold records live; every write is conditional. */
export interface HoldStore {
  /** Where the record of `dagId` lives (for messages). */
  locationOf(dagId: string): string;
  read(dagId: string): Promise<StoredHold | null>;
  /**
   * Writes `record` only if the stored one still has `etag` (`null`: only if there is none).
   * @returns the new record's tag, or null when another writer got there first
   */
  write(record: HoldRecord, etag: string | null): Promise<string | null>;
}

/** Reads and sets DAGs' paused state in the environment. */
export interface PauseSwitch {
  /** Paused state of `dagId`; undefined when the environment does not list it. */
  pausedState(dagId: string): Promise<boolean | undefined>;
  /** @returns whether the DAG changed (false: it already was in that state) */
  setPaused(dagId: string, paused: boolean): Promise<boolean>;
}

/** Time, for waiting on another holder's release. */
export interface HoldClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const SYSTEM_CLOCK: HoldClock = { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };

/** Props of {@link DagHolds}. */
export interface DagHoldsProps {
  readonly store: HoldStore;
  readonly dags: PauseSwitch;
  /** @default the system clock */
  readonly clock?: HoldClock;
  /** How long an acquirer waits for another holder's release to finish. @default 120000 */
  readonly waitMs?: number;
  /** Pause between looks while waiting. @default 2000 */
  readonly pollMs?: number;
  /**
   * Whether a release in progress is stale (its holder died mid-release), so an acquirer may finish
   * it. @default older than `staleAfterMs`
   */
  readonly isStale?: (releasing: { readonly holder: HolderId; readonly since: string }) => boolean;
  /** Age of a release in progress after which it counts as abandoned. @default 600000 (10 minutes) */
  readonly staleAfterMs?: number;
}

/** What acquiring one DAG did. */
export interface Acquired {
  readonly dagId: string;
  /** False when the environment does not list the DAG: nothing is held. */
  readonly listed: boolean;
  /** Paused state before the first holder paused it. */
  readonly prior: boolean;
  /** True when this call paused it. */
  readonly changed: boolean;
  /** The other holders at the time of the write. */
  readonly others: readonly HolderId[];
}

/** What releasing one DAG did. */
export interface Released {
  readonly dagId: string;
  /** False when this holder held nothing on it (already released, or never taken). */
  readonly held: boolean;
  /** Paused state before the first holder paused it (null when nothing was held). */
  readonly prior: boolean | null;
  /** True when this call set the DAG back to `prior`. */
  readonly changed: boolean;
  /** Holders that still hold it (non-empty: the DAG stays paused for them). */
  readonly remaining: readonly HolderId[];
}

/** The hold protocol over a {@link HoldStore} and a {@link PauseSwitch}. */
export class DagHolds {
  private readonly clock: HoldClock;

  constructor(private readonly props: DagHoldsProps) {
    this.clock = props.clock ?? SYSTEM_CLOCK;
  }

  private stale(releasing: { readonly holder: HolderId; readonly since: string }): boolean {
    if (this.props.isStale) return this.props.isStale(releasing);
    return this.clock.now() - Date.parse(releasing.since) >= (this.props.staleAfterMs ?? 600_000);
  }

  private at(): string {
    return new Date(this.clock.now()).toISOString();
  }

  /** Takes `holder`'s hold on `dagId` (recording its prior state if it is the first), then pauses it. */
  async acquire(dagId: string, holder: HolderId): Promise<Acquired> {
    const started = this.clock.now();
    for (;;) {
      const cur = await this.props.store.read(dagId);
      const rec = cur?.record ?? null;
      if (rec?.releasing) {
        // Nobody joins a record whose last holder is putting the DAG back: its unpause could land after our pause.
        if (rec.releasing.holder === holder || this.stale(rec.releasing)) {
          await this.finishRelease(cur!, holder);
          continue;
        }
        if (this.clock.now() - started >= (this.props.waitMs ?? 120_000)) {
          throw new DagHoldError(
            `cannot hold DAG ${dagId} for ${holder}: ${rec.releasing.holder} has been putting it back since ${rec.releasing.since} (${this.props.store.locationOf(dagId)}); retry once that run finished, or after ${Math.round((this.props.staleAfterMs ?? 600_000) / 60_000)} minutes, when its release counts as abandoned and is finished by the next holder`,
          );
        }
        await this.clock.sleep(this.props.pollMs ?? 2000);
        continue;
      }
      let next: HoldRecord;
      let pausedNow: boolean | undefined;
      if (rec !== null && holder in rec.holders) {
        // A retry: our hold is recorded already; only the pause may be missing.
        return this.pauseHeld(dagId, rec, holder);
      }
      if (rec === null || Object.keys(rec.holders).length === 0) {
        const now = await this.props.dags.pausedState(dagId);
        if (now === undefined) return { dagId, listed: false, prior: false, changed: false, others: [] };
        pausedNow = now;
        next = { dagId, generation: (rec?.generation ?? 0) + 1, prior: now, holders: { [holder]: { since: this.at() } }, releasing: null };
      } else {
        next = { ...rec, generation: rec.generation + 1, holders: { ...rec.holders, [holder]: { since: this.at() } } };
      }
      if ((await this.props.store.write(next, cur?.etag ?? null)) !== null) return this.pauseHeld(dagId, next, holder, pausedNow);
    }
  }

  /**
   * Pauses a DAG we hold. `pausedNow` is its state read just before our hold landed, when we created
   * the hold; otherwise (a retry, or joining others) it is read now, since the DAG may be gone.
   */
  private async pauseHeld(dagId: string, rec: HoldRecord, holder: HolderId, pausedNow?: boolean): Promise<Acquired> {
    const others = Object.keys(rec.holders).filter((h) => h !== holder).sort();
    const now = pausedNow ?? (await this.props.dags.pausedState(dagId));
    if (now === undefined) return { dagId, listed: false, prior: rec.prior ?? false, changed: false, others };
    const changed = now ? false : await this.props.dags.setPaused(dagId, true);
    return { dagId, listed: true, prior: rec.prior ?? false, changed, others };
  }

  /**
   * Lets go of `holder`'s hold on `dagId`. The DAG is set back to its prior state only when no other
   * holder remains; a holder that holds nothing there changes nothing (a retry after its release).
   */
  async release(dagId: string, holder: HolderId): Promise<Released> {
    for (;;) {
      const cur = await this.props.store.read(dagId);
      const rec = cur?.record ?? null;
      if (rec?.releasing?.holder === holder) {
        // Our release was cut short (a retry): finish it, unless another run took it over meanwhile.
        const done = await this.finishRelease(cur!, holder);
        if (done) return done;
        continue;
      }
      if (rec === null || !(holder in rec.holders)) return { dagId, held: false, prior: null, changed: false, remaining: rec ? Object.keys(rec.holders).sort() : [] };
      const remaining = Object.fromEntries(Object.entries(rec.holders).filter(([h]) => h !== holder));
      if (Object.keys(remaining).length > 0) {
        if ((await this.props.store.write({ ...rec, generation: rec.generation + 1, holders: remaining }, cur!.etag)) !== null) {
          return { dagId, held: true, prior: rec.prior, changed: false, remaining: Object.keys(remaining).sort() };
        }
        continue;
      }
      const releasing: HoldRecord = { ...rec, generation: rec.generation + 1, holders: {}, releasing: { holder, since: this.at() } };
      const etag = await this.props.store.write(releasing, cur!.etag);
      if (etag !== null) {
        const done = await this.finishRelease({ record: releasing, etag }, holder, true);
        if (done) return done;
      }
    }
  }

  /**
   * The last holder's (or a taker-over's) release: set the DAG to its prior state, free the record.
   * Unless `cur` is the releasing record this call has just written, the release is claimed again
   * first (a conditional write): a record read earlier may have been taken over since, and only the
   * run whose claim landed last may touch the DAG.
   * @returns null when another run's claim got there first (the caller reads again)
   */
  private async finishRelease(cur: StoredHold, holder: HolderId, justClaimed = false): Promise<Released | null> {
    let claimed = cur;
    const rec = cur.record;
    if (!justClaimed) {
      const mine: HoldRecord = { ...rec, generation: rec.generation + 1, releasing: { holder, since: this.at() } };
      const etag = await this.props.store.write(mine, cur.etag);
      if (etag === null) return null;
      claimed = { record: mine, etag };
    }
    const prior = rec.prior;
    let changed = false;
    if (prior !== null) {
      const now = await this.props.dags.pausedState(rec.dagId);
      // A DAG whose file is gone meanwhile has nothing to put back.
      if (now !== undefined && now !== prior) changed = await this.props.dags.setPaused(rec.dagId, prior);
    }
    await this.props.store.write({ dagId: rec.dagId, generation: claimed.record.generation + 1, prior: null, holders: {}, releasing: null }, claimed.etag);
    return { dagId: rec.dagId, held: true, prior, changed, remaining: [] };
  }
}

/** Hold records in the environment's DAG bucket, `<dagS3Path>/.dataops/dag-holds/<dag id>.json`, written with S3 If-Match / If-None-Match. */
export class S3HoldStore implements HoldStore {
  constructor(private readonly props: { readonly s3: S3Client; readonly bucket: string; readonly dagS3Path?: string }) {}

  keyOf(dagId: string): string {
    return `${holdsPrefix(this.props.dagS3Path)}${dagId}.json`;
  }

  locationOf(dagId: string): string {
    return `s3://${this.props.bucket}/${this.keyOf(dagId)}`;
  }

  async read(dagId: string): Promise<StoredHold | null> {
    try {
      const out = await this.props.s3.send(new GetObjectCommand({ Bucket: this.props.bucket, Key: this.keyOf(dagId) }));
      const text = await out.Body!.transformToString();
      const parsed = HoldRecordSchema.safeParse(safeJson(text));
      if (!parsed.success) throw new DagHoldError(`the hold record ${this.locationOf(dagId)} is not a DAG hold record (${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}); restore its previous version from the bucket's version history`);
      return { record: parsed.data, etag: out.ETag ?? '' };
    } catch (e) {
      if (e instanceof DagHoldError) throw e;
      if (e instanceof NoSuchKey || (e as { name?: string }).name === 'NoSuchKey') return null;
      throw new DagHoldError(`cannot read the DAG hold record ${this.locationOf(dagId)}: ${(e as Error).message}; the DAG keeps its state until it can be read`, { cause: e });
    }
  }

  async write(record: HoldRecord, etag: string | null): Promise<string | null> {
    try {
      const out = await this.props.s3.send(
        new PutObjectCommand({
          Bucket: this.props.bucket,
          Key: this.keyOf(record.dagId),
          Body: JSON.stringify(record, null, 2),
          ContentType: 'application/json',
          ...(etag === null ? { IfNoneMatch: '*' } : { IfMatch: etag }),
        }),
      );
      return out.ETag ?? '';
    } catch (e) {
      const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      const name = (e as { name?: string }).name;
      // 412: the record changed since it was read; 409: a concurrent conditional write (S3 asks to retry).
      if (status === 412 || status === 409 || name === 'PreconditionFailed' || name === 'ConditionalRequestConflict') return null;
      // If-Match on a record that is gone (someone removed it by hand): a lost race too, read again.
      if (status === 404 || name === 'NoSuchKey') return null;
      throw new DagHoldError(`cannot write the DAG hold record ${this.locationOf(record.dagId)}: ${(e as Error).message}`, { cause: e });
    }
  }
}

/** The key prefix of the hold records: one environment runs every repo's DAGs, and a DAG id is unique in it. */
export function holdsPrefix(dagS3Path = 'dags'): string {
  return `${dagS3Path.replace(/\/+$/, '')}/.dataops/dag-holds/`;
}

/** The environment's DAGs through the MWAA CLI. */
export class AirflowPauseSwitch implements PauseSwitch {
  constructor(private readonly airflow: AirflowCli) {}

  async pausedState(dagId: string): Promise<boolean | undefined> {
    return (await listDags(this.airflow)).find((d) => d.dagId === dagId)?.paused;
  }

  async setPaused(dagId: string, paused: boolean): Promise<boolean> {
    return setPaused(this.airflow, dagId, paused);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A hold record could not be read or written, or another holder's release did not finish in time. */
export class DagHoldError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DagHoldError';
  }
}
