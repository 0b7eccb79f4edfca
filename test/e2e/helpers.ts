import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runBuildspec, type BuildspecRunResult } from '../../lib/checks/buildspec/runner';
import { PROJECT_ROOT } from '../../lib/checks/validate/toolchain';

/** Folders that tools create inside a sample repo and that a copy must not carry. */
const GENERATED = new Set(['target', 'dbt_packages', 'logs', '__pycache__', '.pytest_cache', '.ruff_cache', 'reports', 'spark-warehouse', '.terraform', 'package-lock.yml']);

/** The JSON report of `dataops validate` as the PR buildspec writes it (reports/validate.json). */
export interface ValidateJson {
  findings: Array<{ code: string; severity: string; asset: string; file: string | null; line: number | null; message: string }>;
  selected: Array<{ check: string; kind: string; assets: string[]; reason: string }>;
  skipped: Array<{ check: string; kind: string; reason: string }>;
  durationMs: number;
  passed: boolean;
}

const gitEnv = { GIT_AUTHOR_NAME: 'e2e', GIT_AUTHOR_EMAIL: 'e2e@example.org', GIT_COMMITTER_NAME: 'e2e', GIT_COMMITTER_EMAIL: 'e2e@example.org' };
function git(dir: string, args: string[]): string {
  return execFileSync('git', args, { cwd: dir, env: { ...process.env, ...gitEnv }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A temporary git repo holding a copy of examples/NAME, committed on main as the PR base. */
export class SampleRepo {
  readonly dir: string;

  constructor(example: string) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `dataops-e2e-${example}-`));
    fs.cpSync(path.join(PROJECT_ROOT, 'examples', example), this.dir, {
      recursive: true,
      filter: (src) => !GENERATED.has(path.basename(src)) && !src.endsWith('.duckdb'),
    });
    git(this.dir, ['init', '-q', '-b', 'main']);
    git(this.dir, ['add', '-A']);
    git(this.dir, ['commit', '-q', '-m', 'base']);
    git(this.dir, ['checkout', '-q', '-b', 'pr']);
  }

  /** Edits one file (which must change) and commits the edit on the PR branch. */
  change(file: string, edit: (text: string) => string): this {
    const abs = path.join(this.dir, file);
    const before = fs.existsSync(abs) ? fs.readFileSync(abs, 'utf8') : '';
    const after = edit(before);
    if (after === before) throw new Error(`the edit of ${file} changed nothing; the fault would not be injected`);
    fs.writeFileSync(abs, after);
    git(this.dir, ['add', '-A']);
    git(this.dir, ['commit', '-q', '-m', `change ${file}`]);
    return this;
  }

  /** Runs the real buildspecs/pr-validate.yml on the repo against main and returns the build and its JSON report. */
  async prValidate(env: Record<string, string> = {}): Promise<{ build: BuildspecRunResult; report: ValidateJson }> {
    return this.runBuildspec('pr-validate.yml', { BASE_REF: 'main', ...env }, 'reports/validate.json');
  }

  /** Runs one of the project's buildspecs on the repo and reads the JSON report it wrote. */
  async runBuildspec(name: string, env: Record<string, string>, reportFile: string): Promise<{ build: BuildspecRunResult; report: ValidateJson }> {
    fs.rmSync(path.join(this.dir, 'reports'), { recursive: true, force: true });
    const build = await runBuildspec({ file: path.join(PROJECT_ROOT, 'buildspecs', name), srcDir: this.dir, env });
    const file = path.join(this.dir, reportFile);
    if (!fs.existsSync(file)) throw new Error(`the build wrote no ${reportFile}; build log:\n${build.log.slice(-3000)}`);
    return { build, report: JSON.parse(fs.readFileSync(file, 'utf8')) as ValidateJson };
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** code@file:line of each error or warning (info findings are notes, not failures), for exact comparisons. */
export function locations(report: ValidateJson): string[] {
  return report.findings.filter((f) => f.severity !== 'info').map((f) => `${f.code}@${f.file ?? f.asset}${f.line ? `:${f.line}` : ''}`);
}

/** Writes a Terraform plan JSON fixture into the repo and returns its path. */
export function writePlan(repo: SampleRepo, name: string, changes: Array<{ type: string; name: string; actions: string[] }>): string {
  const file = path.join(repo.dir, '..', `${path.basename(repo.dir)}-${name}.plan.json`);
  fs.writeFileSync(
    file,
    JSON.stringify({
      format_version: '1.2',
      terraform_version: '1.11.4',
      resource_changes: changes.map((c) => ({ address: `${c.type}.${c.name}`, mode: 'managed', type: c.type, name: c.name, provider_name: 'registry.terraform.io/hashicorp/aws', change: { actions: c.actions, before: {}, after: {} } })),
    }),
  );
  return file;
}
