import * as fs from 'fs';
import * as path from 'path';

/** A CodeBuild-style file pattern (`**` any folders, `*` within a name) as a regular expression. */
export function globToRegExp(pattern: string): RegExp {
  let re = '';
  const p = pattern.replace(/^\.\//, '');
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '*' && p[i + 1] === '*') {
      const slash = p[i + 2] === '/';
      re += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Files under `base` (relative paths, sorted) that match any of `patterns` and none of `exclude`. */
export function matchFiles(base: string, patterns: readonly string[], exclude: readonly string[] = []): string[] {
  const inc = patterns.map(globToRegExp);
  const exc = exclude.map(globToRegExp);
  const out: string[] = [];
  const walk = (dir: string, rel: string) => {
    if (!fs.existsSync(dir)) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (e.name === '.git') continue;
        walk(path.join(dir, e.name), r);
      } else if (inc.some((x) => x.test(r)) && !exc.some((x) => x.test(r))) out.push(r);
    }
  };
  walk(base, '');
  return out.sort();
}
