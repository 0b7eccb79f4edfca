import { RepoInventorySchema, type RepoInventory } from '../../inventory/types';

/**
 * Where each repo's main pipeline publishes its inventory fragment, and where PR checks read the
 * other repos' fragments from: a folder locally (`--registry DIR`), S3 in AWS (`s3://bucket/prefix`).
 * One fragment per repo, `<repo>.json`, replaced on each publish.
 */
export interface FragmentRegistry {
  /** Human-readable location, for messages. */
  readonly location: string;
  /** Every fragment in the registry. */
  list(): Promise<RepoInventory[]>;
  /** One repo's fragment, or undefined. */
  get(repo: string): Promise<RepoInventory | undefined>;
  /** Publishes (replaces) a repo's fragment. */
  publish(fragment: RepoInventory): Promise<void>;
}

/** A registry that cannot be read or holds a fragment that is not valid. */
export class RegistryError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RegistryError';
  }
}

/** File name of a repo's fragment. Repo names are config names (letters, digits, - _ .). */
export function fragmentName(repo: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(repo)) {
    throw new RegistryError(`repo name '${repo}' cannot name a registry fragment; use letters, digits, '-', '_' or '.'`);
  }
  return `${repo}.json`;
}

/** Parses and validates a fragment's JSON text. */
export function parseFragment(text: string, where: string): RepoInventory {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new RegistryError(`${where}: fragment is not valid JSON; republish it from the repo's main pipeline ('dataops graph --publish')`, { cause });
  }
  const r = RepoInventorySchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new RegistryError(`${where}: not a dataops inventory fragment (${i.path.join('.') || 'root'}: ${i.message}); republish it with this version of dataops`);
  }
  return r.data;
}
