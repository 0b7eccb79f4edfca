import * as fs from 'fs';
import * as path from 'path';

/** Folders never scanned: tooling, caches, build outputs and installed packages. */
export const SKIP_DIRS = new Set([
  '.git', '.venv', 'venv', 'env', 'node_modules', 'dbt_packages', 'dbt_modules', 'target', 'logs', '__pycache__',
  'site-packages', '.terraform', '.tox', '.mypy_cache', '.pytest_cache', '.ruff_cache', 'cdk.out', '.cache', 'build', 'dist',
]);

/** Lists files under `root` (relative, `/`-separated) whose name passes `accept`, skipping SKIP_DIRS. */
export function listFiles(root: string, accept: (name: string, rel: string) => boolean, maxDepth = 12): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string, depth: number): void => {
    if (depth > maxDepth) return;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name)) walk(path.join(dir, e.name), r, depth + 1);
      } else if (e.isFile() && accept(e.name, r)) {
        out.push(r);
      }
    }
  };
  walk(root, '', 0);
  return out.sort();
}

/** 1-based line of the first line matching `re` in `text`, or null. */
export function lineOf(text: string, re: RegExp): number | null {
  const m = re.exec(text);
  return m ? text.slice(0, m.index).split('\n').length : null;
}
