import * as fs from 'fs';
import * as path from 'path';
import { parse as parseHcl } from '@cdktf/hcl2json';
import { z } from 'zod';
import type { Finding } from '../../findings';
import { analysePlan, parsePlanJson, PlanFormatError, ResourceLocator } from '../../terraform/plan';
import type { Check, CheckContext, CheckResult } from '../check';
import { changedUnder } from '../scope';
import { lastLine } from './pytest';

const TF_FILE = /\.(tf|tfvars|hcl)$/;

function tfFiles(dir: string, root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const abs = path.join(d, e.name);
      if (e.isDirectory()) walk(abs);
      else if (e.name.endsWith('.tf')) out.push(path.relative(root, abs));
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out.sort();
}

/** Finds `resource "TYPE" "NAME"` in the module's .tf files. */
export function resourceLocator(root: string, files: readonly string[]): ResourceLocator {
  return (type, name) => {
    const re = new RegExp(`^\\s*resource\\s+"${type}"\\s+"${name}"`);
    for (const f of files) {
      const lines = fs.readFileSync(path.join(root, f), 'utf8').split('\n');
      const i = lines.findIndex((l) => re.test(l));
      if (i >= 0) return { file: f, line: i + 1 };
    }
    return undefined;
  };
}

/** HCL syntax errors as findings, from the HCL parser that Terraform itself uses (compiled to WebAssembly). */
async function hclParseFindings(root: string, files: readonly string[]): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const f of files) {
    try {
      await parseHcl(f, fs.readFileSync(path.join(root, f), 'utf8'));
    } catch (err) {
      const msg = String((err as Error).message ?? err);
      const m = /\[?([^\s:[]+):(\d+),(\d+)(?:-[\d,]+)?: ([^\]]+)\]?/.exec(msg);
      findings.push({ code: 'TF_PARSE_ERROR', severity: 'error', asset: `terraform:${f}`, file: f, line: m ? Number(m[2]) : undefined, message: `HCL does not parse: ${m ? m[4].trim() : msg}` });
    }
  }
  return findings;
}

const CheckovReport = z.object({
  results: z.object({
    failed_checks: z
      .array(z.object({ check_id: z.string(), check_name: z.string(), resource: z.string(), file_path: z.string(), file_line_range: z.array(z.number()) }))
      .default([]),
    parsing_errors: z.array(z.string()).optional(),
  }),
});

/**
 * Terraform: `terraform fmt -check`, HCL parse, checkov, and the analysis of the speculative plan
 * (JSON) that blocks destroy or replace of protected stateful resources.
 */
export const terraformCheck: Check = {
  name: 'terraform',
  kinds: ['terraform'],
  order: 25,
  async run(ctx: CheckContext): Promise<CheckResult> {
    const dir = ctx.repo.paths.terraform ?? '.';
    const abs = path.resolve(ctx.repo.root, dir);
    const files = tfFiles(abs, ctx.repo.root);
    const changed = changedUnder(ctx.scope, dir, (f) => TF_FILE.test(f));
    const staticChecks = ctx.scope.full || changed.length > 0;
    if (!staticChecks && !ctx.terraformPlan) {
      return { findings: [], skip: { check: 'terraform', kind: 'terraform', reason: 'no Terraform file changed and no plan given' } };
    }
    const findings: Finding[] = [];
    if (staticChecks) {
      const parse = await hclParseFindings(ctx.repo.root, files);
      findings.push(...parse);
      if (ctx.tools.has('terraform', 'terraform')) {
        const tf = ctx.tools.resolve('terraform', 'terraform');
        const res = await ctx.tools.run(tf, ['fmt', '-check', '-list=true', '-recursive', '-no-color', '.'], { cwd: abs, env: { TF_CLI_CONFIG_FILE: '/dev/null' } });
        if (res.code !== 0 && parse.length === 0) {
          const listed = res.stdout.split('\n').map((l) => l.trim()).filter((l) => l.endsWith('.tf') || l.endsWith('.tfvars'));
          for (const f of listed) {
            const file = path.relative(ctx.repo.root, path.join(abs, f));
            findings.push({ code: 'TF_FMT', severity: 'error', asset: `terraform:${file}`, file, message: `not in canonical format; run 'terraform fmt ${file}'` });
          }
          if (listed.length === 0) findings.push({ code: 'TF_FMT', severity: 'error', asset: `terraform:${dir}`, message: `terraform fmt -check failed: ${lastLine(res.stderr)}` });
        }
      } else {
        findings.push({ code: 'VAL_TOOL_MISSING', severity: 'warning', asset: `terraform:${dir}`, message: "terraform is not installed, so 'terraform fmt -check' did not run; run 'bash buildspecs/toolchain/ensure.sh terraform' (it links the pinned terraform from PATH or builds it with Go) or use the toolchain image" });
      }
      if (parse.length === 0) findings.push(...(await checkovFindings(ctx, abs)));
    }
    if (ctx.terraformPlan) {
      try {
        const plan = parsePlanJson(fs.readFileSync(ctx.terraformPlan, 'utf8'), ctx.terraformPlan);
        findings.push(
          ...analysePlan(plan, {
            protectedTypes: ctx.repo.protectedResourceTypes,
            planFile: path.isAbsolute(ctx.terraformPlan) ? path.relative(ctx.repo.root, ctx.terraformPlan) : ctx.terraformPlan,
            locate: resourceLocator(ctx.repo.root, files),
          }),
        );
      } catch (err) {
        if (!(err instanceof PlanFormatError) && (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        findings.push({ code: 'TF_PLAN_INVALID', severity: 'error', asset: `terraform:${dir}`, message: (err as Error).message });
      }
    }
    const assets = staticChecks ? (ctx.scope.full ? ['*'] : changed) : [];
    return { findings, selection: { check: 'terraform', kind: 'terraform', assets: ctx.terraformPlan ? [...assets, `plan:${path.basename(ctx.terraformPlan)}`] : assets, reason: ctx.scope.reason } };
  },
};

async function checkovFindings(ctx: CheckContext, abs: string): Promise<Finding[]> {
  const checkov = ctx.tools.resolve('terraform', 'checkov');
  const res = await ctx.tools.run(checkov, ['-d', '.', '--framework', 'terraform', '-o', 'json', '--quiet', '--compact', '--skip-download'], {
    cwd: abs,
    env: { BC_SKIP_MAPPING: 'TRUE', CHECKOV_NO_OUTPUT_COLOR: 'TRUE' },
  });
  let raw: unknown;
  try {
    raw = JSON.parse(res.stdout);
  } catch {
    return [{ code: 'VAL_CHECK_ERROR', severity: 'error', asset: 'terraform:checkov', message: `checkov failed (exit ${res.code}): ${lastLine(res.stderr || res.stdout)}` }];
  }
  const reports = (Array.isArray(raw) ? raw : [raw]).filter((r) => typeof r === 'object' && r !== null && 'results' in r);
  const findings: Finding[] = [];
  for (const r of reports) {
    const report = CheckovReport.parse(r);
    for (const c of report.results.failed_checks) {
      const file = path.relative(ctx.repo.root, path.join(abs, c.file_path.replace(/^\//, '')));
      findings.push({ code: 'TF_CHECKOV', severity: 'error', asset: `terraform:${c.resource}`, file, line: c.file_line_range[0], message: `${c.check_id} ${c.check_name}` });
    }
  }
  return findings;
}
