import * as fs from 'fs';
import * as path from 'path';
import type { RepoInventory } from '../../inventory/types';
import { fragmentName, parseFragment, RegistryError, type FragmentRegistry } from './registry';

/** A registry in a local folder (`--registry DIR`): one `<repo>.json` per repo. */
export class DirRegistry implements FragmentRegistry {
  readonly location: string;

  constructor(private readonly dir: string) {
    this.location = path.resolve(dir);
  }

  async list(): Promise<RepoInventory[]> {
    if (!fs.existsSync(this.dir)) return [];
    const names = fs.readdirSync(this.dir).filter((f) => f.endsWith('.json')).sort();
    return names.map((f) => parseFragment(fs.readFileSync(path.join(this.dir, f), 'utf8'), path.join(this.location, f)));
  }

  async get(repo: string): Promise<RepoInventory | undefined> {
    const file = path.join(this.dir, fragmentName(repo));
    if (!fs.existsSync(file)) return undefined;
    return parseFragment(fs.readFileSync(file, 'utf8'), file);
  }

  async publish(fragment: RepoInventory): Promise<void> {
    try {
      fs.mkdirSync(this.dir, { recursive: true });
      const file = path.join(this.dir, fragmentName(fragment.repo));
      const tmp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify(fragment));
      fs.renameSync(tmp, file);
    } catch (cause) {
      if (cause instanceof RegistryError) throw cause;
      throw new RegistryError(`cannot write fragment of repo ${fragment.repo} to ${this.location}: ${(cause as Error).message}`, { cause });
    }
  }
}
