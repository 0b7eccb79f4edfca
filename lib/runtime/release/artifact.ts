import { unzipSync } from 'fflate';

/** Raised when a CodePipeline artifact is not the zip the Package action writes. */
export class ArtifactFormatError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ArtifactFormatError';
  }
}

/**
 * Files of a CodePipeline S3 artifact (a zip), by path. A release may sit at the root or under one
 * top-level `release/` directory; both give names relative to the release root.
 */
export function unzipArtifact(zip: Uint8Array, what: string): Map<string, Uint8Array> {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(zip);
  } catch (e) {
    throw new ArtifactFormatError(`${what} is not a zip archive (${(e as Error).message}); CodePipeline S3 artifacts are zips, check the Package action's output artifact`, { cause: e });
  }
  const files = new Map<string, Uint8Array>();
  for (const [name, bytes] of Object.entries(entries)) {
    if (name.endsWith('/')) continue;
    files.set(name.startsWith('release/') ? name.slice('release/'.length) : name, bytes);
  }
  return files;
}
