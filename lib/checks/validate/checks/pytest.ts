import * as fs from 'fs';
import * as path from 'path';
import { z } from 'zod';
import type { Finding } from '../../findings';
import type { CheckContext } from '../check';
import { PROJECT_ROOT } from '../toolchain';

const PytestReport = z.object({
  exitstatus: z.number(),
  failures: z.array(
    z.object({ nodeid: z.string(), file: z.string(), line: z.number().nullable().optional(), message: z.string(), when: z.string() }),
  ),
});

/** Options of {@link runPytest}. */
export interface PytestRun {
  readonly venv: string;
  /** Test paths relative to the repo root. */
  readonly paths: readonly string[];
  readonly code: string;
  readonly assetPrefix: string;
  readonly env?: Readonly<Record<string, string>>;
  /** Tag for the output file name, unique per check. */
  readonly tag: string;
}

/**
 * Runs the repo's pytest suite with the findings plugin (buildspecs/helpers/pytest_findings.py) and
 * turns each failed test or collection error into a finding at the test's file and line.
 */
export async function runPytest(ctx: CheckContext, run: PytestRun): Promise<Finding[]> {
  const python = ctx.tools.resolve(run.venv, 'python');
  const out = path.join(ctx.workDir, `pytest-${run.tag}.json`);
  const helpers = path.join(PROJECT_ROOT, 'buildspecs', 'helpers');
  const res = await ctx.tools.run(
    python,
    ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', '-p', 'pytest_findings', '--rootdir', ctx.repo.root, ...run.paths],
    {
      cwd: ctx.repo.root,
      env: {
        PYTHONPATH: [helpers, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
        PYTHONDONTWRITEBYTECODE: '1',
        DATAOPS_PYTEST_FINDINGS: out,
        ...run.env,
      },
    },
  );
  // Exit 5: no tests were collected; that is not a failure of the change.
  if (res.code === 5) return [];
  if (!fs.existsSync(out)) {
    return [{ code: run.code, severity: 'error', asset: `${run.assetPrefix}:${run.paths.join(',')}`, message: `pytest did not run (exit ${res.code}): ${lastLine(res.stderr || res.stdout)}` }];
  }
  const report = PytestReport.parse(JSON.parse(fs.readFileSync(out, 'utf8')));
  const findings: Finding[] = report.failures.map((f) => ({
    code: run.code,
    severity: 'error',
    asset: `${run.assetPrefix}:${f.nodeid}`,
    file: f.file,
    line: f.line ?? undefined,
    message: `${f.when === 'collect' ? 'test module does not import' : 'test failed'}: ${f.nodeid}: ${f.message}`,
  }));
  if (findings.length === 0 && res.code !== 0) {
    findings.push({ code: run.code, severity: 'error', asset: `${run.assetPrefix}:${run.paths.join(',')}`, message: `pytest exited ${res.code}: ${lastLine(res.stdout || res.stderr)}` });
  }
  return findings;
}

/** Last non-empty line of a tool's output, for messages. */
export function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? '(no output)';
}
