import type { AssetKind } from '../../config/schema';
import type { Finding } from '../findings';
import type { RepoLayout } from './repo-config';
import type { Scope } from './scope';
import type { Toolchain } from './toolchain';

/** What one check decided to look at, and why (part of every report). */
export interface Selection {
  readonly check: string;
  readonly kind: AssetKind;
  /** Assets or files the check ran on; `['*']` for everything. */
  readonly assets: readonly string[];
  readonly reason: string;
}

/** A check that did not run, and why. */
export interface Skip {
  readonly check: string;
  readonly kind: AssetKind;
  readonly reason: string;
}

/** The result of one check. */
export interface CheckResult {
  readonly findings: readonly Finding[];
  /** Present when the check ran. */
  readonly selection?: Selection;
  /** Present when the check decided there was nothing to do. */
  readonly skip?: Skip;
}

/** Everything a check may use: the repo, the change scope, the tools and a scratch folder. */
export interface CheckContext {
  readonly repo: RepoLayout;
  readonly scope: Scope;
  readonly tools: Toolchain;
  /** A folder only this run writes to (reports, dbt target path, databases). */
  readonly workDir: string;
  /** Terraform plan JSON (`terraform show -json`) to analyse, when the build has one. */
  readonly terraformPlan?: string;
  /** dbt state to compare and defer to (a folder with the base manifest.json). @default - built from the base revision */
  readonly dbtState?: string;
  /** Runs `fn` once per key for the whole run and shares its promise (e.g. `dbt deps`). */
  once<T>(key: string, fn: () => Promise<T>): Promise<T>;
  /** Progress line for people watching the run (stderr); never parsed. */
  log(message: string): void;
}

/**
 * One validation check. `dataops validate`, the PR buildspec and the Validate stage run the same
 * list; another module adds checks by implementing this interface (see `defaultChecks`).
 */
export interface Check {
  /** Stable name, used in reports and JUnit test suites. */
  readonly name: string;
  /** Asset kinds the check belongs to; the check runs when the repo has one of them. */
  readonly kinds: readonly AssetKind[];
  /** Checks sharing a group run one after another (they write the same files). */
  readonly group?: string;
  /** Lower runs earlier: fast static checks first so their findings arrive first. @default 50 */
  readonly order?: number;
  /** True when the check applies to the repo at all (beyond its kinds). @default - always */
  applies?(ctx: CheckContext): boolean;
  run(ctx: CheckContext): Promise<CheckResult>;
}
