import { z } from 'zod';
import type { Finding } from '../findings';

/** The parts of `terraform show -json PLAN` (format 1.x) that the plan analysis reads. */
export const PlanJsonSchema = z.object({
  format_version: z.string(),
  resource_changes: z
    .array(
      z.object({
        address: z.string(),
        mode: z.string().optional(),
        type: z.string(),
        name: z.string(),
        module_address: z.string().optional(),
        change: z.object({ actions: z.array(z.string()) }),
        action_reason: z.string().optional(),
      }),
    )
    .default([]),
});
export type PlanJson = z.output<typeof PlanJsonSchema>;

/** Raised when a plan file is not `terraform show -json` output. */
export class PlanFormatError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PlanFormatError';
  }
}

/** Parses plan JSON text. @throws PlanFormatError naming the file and the first problem */
export function parsePlanJson(text: string, file: string): PlanJson {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new PlanFormatError(`${file}: not JSON (${(cause as Error).message}); pass the output of 'terraform show -json PLANFILE'`, { cause });
  }
  const res = PlanJsonSchema.safeParse(raw);
  if (!res.success) {
    const i = res.error.issues[0];
    throw new PlanFormatError(`${file}: ${i.path.join('.') || '(root)'}: ${i.message}; pass the output of 'terraform show -json PLANFILE'`);
  }
  return res.data;
}

/** Where a resource is declared, for placing findings at the .tf line (optional). */
export type ResourceLocator = (type: string, name: string) => { file: string; line: number } | undefined;

/** Options of {@link analysePlan}. */
export interface PlanAnalysisOptions {
  /** Resource types whose destroy or replace blocks the change. */
  readonly protectedTypes: readonly string[];
  /** Addresses the release explicitly allows to be destroyed or replaced. @default none */
  readonly allowed?: readonly string[];
  /** Plan file path for findings without a .tf location. */
  readonly planFile: string;
  readonly locate?: ResourceLocator;
}

/**
 * Blocks plans that delete (TF_PROTECTED_DESTROY) or replace (TF_PROTECTED_REPLACE) a resource of a
 * protected type, unless the release names its address in `allowed`. Destroys of other types are
 * reported as warnings so that reviewers see them.
 */
export function analysePlan(plan: PlanJson, opts: PlanAnalysisOptions): Finding[] {
  const findings: Finding[] = [];
  const allowed = new Set(opts.allowed ?? []);
  for (const rc of plan.resource_changes) {
    if (rc.mode === 'data') continue;
    const actions = rc.change.actions;
    const deletes = actions.includes('delete');
    if (!deletes) continue;
    const replace = actions.includes('create');
    const isProtected = opts.protectedTypes.includes(rc.type);
    const loc = opts.locate?.(rc.type, rc.name);
    const where = loc ? { file: loc.file, line: loc.line } : { file: opts.planFile };
    const verb = replace ? `replaces (${actions.join(', ')}${rc.action_reason ? `; ${rc.action_reason}` : ''})` : 'destroys';
    if (isProtected && !allowed.has(rc.address)) {
      findings.push({
        code: replace ? 'TF_PROTECTED_REPLACE' : 'TF_PROTECTED_DESTROY',
        severity: 'error',
        asset: `terraform:${rc.address}`,
        ...where,
        message: `the plan ${verb} ${rc.address}, a protected ${rc.type}; its data would be lost. Keep the resource (or use a moved block), or allow it explicitly in the release`,
      });
    } else {
      findings.push({
        code: 'TF_DESTROY',
        severity: isProtected ? 'info' : 'warning',
        asset: `terraform:${rc.address}`,
        ...where,
        message: `the plan ${verb} ${rc.address}${isProtected ? ' (protected, allowed by the release)' : ''}`,
      });
    }
  }
  return findings;
}
