import * as fs from 'fs';
import * as path from 'path';
import { PROJECT_ROOT } from '../../lib/checks/validate/toolchain';
import { RehearsalError } from './errors';

/** The toolchain image's Dockerfile, whose ENV and WORKDIR the rehearsal's builds start from. */
export const TOOLCHAIN_DOCKERFILE = path.join(PROJECT_ROOT, 'buildspecs', 'toolchain', 'Dockerfile');

/** The toolchain image as this checkout stands in for it: its WORKDIR and the environment its ENV lines set. */
export interface ToolchainImage {
  /** WORKDIR of the image (where it holds this project), e.g. /opt/dataops. */
  readonly workdir: string;
  /** Maps a path inside the image to this checkout (WORKDIR → the project root); other values pass unchanged. */
  toLocal(value: string): string;
  /** The environment a build starts from: the host's PATH, HOME and locale, then the image's ENV lines. */
  environment(host?: NodeJS.ProcessEnv): Record<string, string>;
}

function splitAssignments(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const re = /([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push([m[1], m[2].startsWith('"') ? m[2].slice(1, -1).replace(/\\(.)/g, '$1') : m[2]]);
  return out;
}

/**
 * Reads the toolchain Dockerfile: the last WORKDIR and every `ENV K=V` line (continuations joined,
 * `${VAR}` expanded in order), so that a rehearsal build has the variables the image gives a CodeBuild
 * build, with the image's paths mapped to this checkout (the image holds this project at WORKDIR).
 */
export function readToolchainImage(dockerfile = TOOLCHAIN_DOCKERFILE, projectRoot = PROJECT_ROOT): ToolchainImage {
  let text: string;
  try {
    text = fs.readFileSync(dockerfile, 'utf8');
  } catch (e) {
    throw new RehearsalError(`the toolchain Dockerfile ${dockerfile} cannot be read (${(e as Error).message}); the rehearsal builds start from its ENV lines`, { cause: e });
  }
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  let workdir = '/';
  const env: Array<[string, string]> = [];
  for (const line of lines) {
    const m = /^\s*(WORKDIR|ENV)\s+(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === 'WORKDIR') workdir = m[2].trim();
    else env.push(...splitAssignments(m[2]));
  }
  const toLocal = (value: string): string => (value === workdir || value.startsWith(`${workdir}/`) ? path.join(projectRoot, value.slice(workdir.length)) : value);
  const mapPaths = (value: string): string => value.split(path.delimiter).map(toLocal).join(path.delimiter);
  return {
    workdir,
    toLocal,
    environment(host = process.env) {
      const out: Record<string, string> = {};
      for (const k of ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TMPDIR', 'USER', 'TZ']) if (host[k] !== undefined) out[k] = host[k] as string;
      for (const [k, raw] of env) out[k] = mapPaths(raw.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_m, a: string, b: string) => out[a ?? b] ?? ''));
      return out;
    },
  };
}
