import type { Check } from './check';
import { dagImportCheck } from './checks/airflow';
import { dbtCheck } from './checks/dbt';
import { dependencyGraphCheck } from './checks/graph';
import { pytestCheck, ruffCheck } from './checks/python';
import { sparkTestCheck } from './checks/spark';
import { sqlLintCheck } from './checks/sql';
import { terraformCheck } from './checks/terraform';

/** The validation checks, including the dependency-graph checks of lib/checks/graph, in no particular order (the runner orders them). */
export const VALIDATION_CHECKS: readonly Check[] = [ruffCheck, sqlLintCheck, terraformCheck, dagImportCheck, pytestCheck, dbtCheck, sparkTestCheck, dependencyGraphCheck];

const extra: Check[] = [];

/**
 * Adds checks from other modules (e.g. the dependency-graph checks of lib/checks/graph) to every
 * `dataops validate` run. Call at module load of the command that wires them in.
 */
export function registerCheck(check: Check): void {
  if (!extra.some((c) => c.name === check.name)) extra.push(check);
}

/** Every check a validate run considers: this module's and the registered ones. */
export function defaultChecks(): Check[] {
  return [...VALIDATION_CHECKS, ...extra];
}
