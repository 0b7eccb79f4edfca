import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { checkRelease, RELEASE_MANIFEST_FILE } from '../../../lib/runtime/release/checksums';
import { RELEASE_MANIFEST_SCHEMA_VERSION, recordedCommitAuthors } from '../../../lib/runtime/release/manifest';
import { packageRelease, readCommitAuthors } from '../../../lib/runtime/release/package';
import { releaseFiles } from '../helpers/release-fixture';

const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `authors-${name}-`));
const AUTHOR = { GIT_AUTHOR_NAME: 'Alice Author', GIT_AUTHOR_EMAIL: 'alice@northstar.health', GIT_COMMITTER_NAME: 'GitHub', GIT_COMMITTER_EMAIL: 'noreply@github.com' };

/** A git repo with one Python file, committed by AUTHOR with `message`. */
function gitRepo(message: string): { dir: string; sha: string } {
  const dir = tmp('repo');
  fs.writeFileSync(path.join(dir, 'dataops.yaml'), 'kinds: [python]\n');
  fs.writeFileSync(path.join(dir, 'job.py'), 'print(1)\n');
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, env: { ...process.env, ...AUTHOR }, encoding: 'utf8' }).trim();
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', message);
  return { dir, sha: git('rev-parse', 'HEAD') };
}

describe('the commit authors a release records (manifest schema 2)', () => {
  it("records the packaged commit's git author, then its Co-authored-by trailers, each once, and not the committer", async () => {
    // GIVEN a squash-merged commit with two co-author trailers, one repeating the author
    const { dir, sha } = gitRepo('Add claims job\n\nCo-authored-by: Bob Builder <12345+bob@users.noreply.github.com>\nCo-authored-by: Alice A. <ALICE@northstar.health>\n');
    // WHEN it is packaged
    const out = tmp('out');
    const r = await packageRelease({ repoDir: dir, outDir: out, buildId: '7', sha });
    // THEN the manifest is schema 2 and names the author and the other co-author
    expect(r.manifest.schemaVersion).toBe(RELEASE_MANIFEST_SCHEMA_VERSION);
    expect(recordedCommitAuthors(r.manifest)).toEqual([
      { name: 'Alice Author', email: 'alice@northstar.health' },
      { name: 'Bob Builder', email: '12345+bob@users.noreply.github.com' },
    ]);
    // AND the release checks out as written
    const files = new Map(fs.readdirSync(out).map((f) => [f, fs.readFileSync(path.join(out, f))]));
    expect(checkRelease(files)).toMatchObject({ ok: true, manifest: { commitAuthors: r.manifest.schemaVersion === 2 ? r.manifest.commitAuthors : [] } });
    expect(JSON.parse(files.get(RELEASE_MANIFEST_FILE)!.toString()).commitAuthors).toHaveLength(2);
  });

  it('records no author for a folder without git history (a local package with --created-at)', async () => {
    const dir = tmp('plain');
    fs.writeFileSync(path.join(dir, 'dataops.yaml'), 'kinds: [python]\n');
    fs.writeFileSync(path.join(dir, 'job.py'), 'print(1)\n');
    const r = await packageRelease({ repoDir: dir, outDir: tmp('out'), buildId: '7', sha: 'abc1234def5678', createdAt: '2026-03-02T09:15:00Z' });
    expect(recordedCommitAuthors(r.manifest)).toEqual([]);
    expect(readCommitAuthors(dir, 'abc1234def5678')).toEqual([]);
  });

  it('still reads a schema-1 release, which records no authors', () => {
    // GIVEN a release packaged before schema 2 WHEN it is checked THEN it is valid, with no authors recorded
    const check = checkRelease(releaseFiles().files);
    expect(check.ok).toBe(true);
    expect(check.ok && recordedCommitAuthors(check.manifest)).toBeNull();
  });

  it('fails a schema-2 release without commitAuthors, and a schema it does not know, naming the field', () => {
    const withoutAuthors = checkRelease(releaseFiles({ tamper: (m) => ({ ...m, schemaVersion: 2 }) as typeof m }).files);
    expect(withoutAuthors).toMatchObject({ ok: false, problems: [expect.stringMatching(/^release-manifest\.json commitAuthors: /), expect.any(String)] });
    const future = checkRelease(releaseFiles({ tamper: (m) => ({ ...m, schemaVersion: 3 }) as unknown as typeof m }).files);
    expect(future).toMatchObject({ ok: false, problems: [expect.stringMatching(/schemaVersion 3 is not one this dataops reads \(1, 2\)/), expect.any(String)] });
  });
});
