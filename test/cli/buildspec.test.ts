import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runDataops } from './run-command';

describe('dataops buildspec validate', () => {
  const ROOT = path.resolve(__dirname, '..', '..');
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-buildspec-'));
    fs.writeFileSync(path.join(dir, 'bad.yml'), 'version: 0.2\nphases:\n  build:\n    commandz: [make]\n');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("passes the project's own buildspecs", async () => {
    const r = await runDataops(['buildspec', 'validate']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`${path.join(ROOT, 'buildspecs', 'deploy.yml')}: valid\n`);
  });

  it('fails with exit 1 on an invalid buildspec, naming the file and the problem, as JSON in --out', async () => {
    // GIVEN one invalid and one valid buildspec WHEN validated as JSON into a file
    const bad = path.join(dir, 'bad.yml');
    const good = path.join(ROOT, 'buildspecs', 'deploy.yml');
    const out = path.join(dir, 'out', 'result.json');
    const r = await runDataops(['buildspec', 'validate', '--format', 'json', '--out', out, bad, good]);
    // THEN the exit code is 1, nothing is on stdout, and the file lists both with the problem of the bad one
    expect({ exitCode: r.exitCode, stdout: r.stdout }).toEqual({ exitCode: 1, stdout: '' });
    expect(JSON.parse(fs.readFileSync(out, 'utf8'))).toEqual([
      { file: bad, valid: false, problem: expect.stringMatching(/bad\.yml: does not match the CodeBuild buildspec schema: .*unknown key 'commandz'/) },
      { file: good, valid: true },
    ]);
  });
});
