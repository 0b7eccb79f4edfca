import { z } from 'zod';
import { ASSET_KINDS } from '../../config/schema';

/**
 * Version of the release manifest format that `dataops package` writes; bump on any incompatible
 * change (docs/release-manifest.md). 2 added `commitAuthors`; readers accept 1 and 2.
 */
export const RELEASE_MANIFEST_SCHEMA_VERSION = 2;

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, { error: 'must be a lowercase hex sha256 digest' });

/** Release version: `<yyyymmdd>.<build>+<sha>`. */
export const RELEASE_VERSION_PATTERN = /^(\d{8})\.(\d+)\+([0-9a-f]{7,40})$/;

/** One deployable asset of a release. */
export const ReleaseAssetSchema = z.strictObject({
  kind: z.enum(ASSET_KINDS),
  /** Stable id within the repo, e.g. `airflow:dags/claims_daily.py` or `dbt:model.core.stg_claims`. */
  id: z.string().min(1),
  /** Path relative to the repo root. */
  path: z.string().min(1),
  sha256,
  bytes: z.int().nonnegative(),
});

/** A DAG in the release's inventory. */
export const DagEntrySchema = z.strictObject({
  dagId: z.string().min(1),
  file: z.string().min(1),
  schedule: z.string().nullable(),
  startDate: z.string().nullable(),
  catchup: z.boolean().nullable(),
});

/** A Spark job image, referenced by digest only. */
export const SparkImageSchema = z.strictObject({
  job: z.string().min(1),
  repository: z.string().min(1),
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/, { error: 'must be an image digest sha256:<64 hex>' }),
});

/** One tarball of the release (one per asset kind). */
export const ReleaseArtifactSchema = z.strictObject({
  kind: z.enum(ASSET_KINDS),
  file: z.string().min(1),
  sha256,
  bytes: z.int().nonnegative(),
});

/** A person named by the packaged commit: its git author, or a `Co-authored-by:` trailer. */
export const CommitAuthorSchema = z.strictObject({
  name: z.string(),
  email: z.string(),
});

const manifestFields = {
  repo: z.string().min(1),
  version: z.string().regex(RELEASE_VERSION_PATTERN, { error: 'must be <yyyymmdd>.<build>+<sha>' }),
  gitSha: z.string().regex(/^[0-9a-f]{7,40}$/),
  buildId: z.string().min(1),
  createdAt: z.iso.datetime(),
  assets: z.array(ReleaseAssetSchema),
  artifacts: z.array(ReleaseArtifactSchema),
  dbt: z.strictObject({ manifestSha256: sha256, modelsToRebuild: z.array(z.string()) }).nullable(),
  dags: z.array(DagEntrySchema),
  sparkImages: z.array(SparkImageSchema),
  terraform: z.strictObject({ tarballSha256: sha256, allowDestroy: z.array(z.string()) }).nullable(),
};

/** Schema 1: releases packaged before the manifest recorded the commit's authors. */
const ReleaseManifestV1Schema = z.strictObject({ schemaVersion: z.literal(1), ...manifestFields });

/** Schema 2: adds the commit's authors, which a prod approval may not come from (docs/decisions.md). */
const ReleaseManifestV2Schema = z.strictObject({
  schemaVersion: z.literal(2),
  ...manifestFields,
  /** The packaged commit's git author, then its `Co-authored-by:` trailers; empty when the repo has no git history. */
  commitAuthors: z.array(CommitAuthorSchema),
});

/** The unit of promotion and of audit, in any schema version readers accept. */
export const ReleaseManifestSchema = z.discriminatedUnion('schemaVersion', [ReleaseManifestV1Schema, ReleaseManifestV2Schema], {
  error: (i) =>
    i.code === 'invalid_union' && i.note === 'No matching discriminator'
      ? `schemaVersion ${JSON.stringify((i.input as { schemaVersion?: unknown } | null)?.schemaVersion)} is not one this dataops reads (1, 2)`
      : undefined,
});

/** The commit's authors a release records; null for a release of schema 1, which recorded none. */
export function recordedCommitAuthors(m: ReleaseManifest): readonly CommitAuthor[] | null {
  return m.schemaVersion === 2 ? m.commitAuthors : null;
}

export type ReleaseAsset = z.output<typeof ReleaseAssetSchema>;
export type ReleaseManifest = z.output<typeof ReleaseManifestSchema>;
export type DagEntry = z.output<typeof DagEntrySchema>;
export type SparkImage = z.output<typeof SparkImageSchema>;
export type ReleaseArtifact = z.output<typeof ReleaseArtifactSchema>;
export type CommitAuthor = z.output<typeof CommitAuthorSchema>;
