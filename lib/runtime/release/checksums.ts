import { createHash } from 'crypto';
import { ReleaseManifestSchema, type ReleaseManifest } from './manifest';

/** File name of the release manifest inside a release directory / artifact. */
export const RELEASE_MANIFEST_FILE = 'release-manifest.json';

/** sha256 of bytes, lowercase hex. */
export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The outcome of checking a release's files against its manifest. */
export type ReleaseCheck =
  | { readonly ok: true; readonly manifest: ReleaseManifest; readonly manifestSha256: string; readonly checksums: Record<string, string> }
  | { readonly ok: false; readonly manifest: ReleaseManifest | null; readonly manifestSha256: string | null; readonly problems: string[] };

/**
 * Checks a release: the manifest parses against the schema and every artifact it lists is present
 * with the recorded sha256 and size. Pure: `files` maps file name (relative to the release root) to bytes.
 */
export function checkRelease(files: ReadonlyMap<string, Uint8Array>): ReleaseCheck {
  const raw = files.get(RELEASE_MANIFEST_FILE);
  if (!raw) {
    return { ok: false, manifest: null, manifestSha256: null, problems: [`${RELEASE_MANIFEST_FILE} is missing from the release; the Package action must write it at the artifact root (dataops package --out DIR)`] };
  }
  const manifestSha256 = sha256Hex(raw);
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(raw).toString('utf8'));
  } catch (e) {
    return { ok: false, manifest: null, manifestSha256, problems: [`${RELEASE_MANIFEST_FILE} is not JSON (${(e as Error).message}); rebuild the release with dataops package`] };
  }
  const parsed = ReleaseManifestSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${RELEASE_MANIFEST_FILE} ${i.path.join('.') || '(root)'}: ${i.message}`);
    return { ok: false, manifest: null, manifestSha256, problems: [...problems, 'rebuild the release with a dataops package of the same schema version'] };
  }
  const manifest = parsed.data;
  const problems: string[] = [];
  const checksums: Record<string, string> = {};
  for (const a of manifest.artifacts) {
    const bytes = files.get(a.file);
    if (!bytes) {
      problems.push(`artifact ${a.file} (${a.kind}) listed in the manifest is missing from the release; the artifact was not passed between stages intact, re-run the Package stage`);
      continue;
    }
    const actual = sha256Hex(bytes);
    checksums[a.file] = actual;
    if (actual !== a.sha256) {
      problems.push(`artifact ${a.file} has sha256 ${actual} but the manifest records ${a.sha256}; the release was modified after packaging, re-run the Package stage`);
    } else if (bytes.byteLength !== a.bytes) {
      problems.push(`artifact ${a.file} has ${bytes.byteLength} bytes but the manifest records ${a.bytes}; re-run the Package stage`);
    }
  }
  if (problems.length > 0) return { ok: false, manifest, manifestSha256, problems };
  return { ok: true, manifest, manifestSha256, checksums };
}
