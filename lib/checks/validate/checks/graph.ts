import { runGraphChecks } from '../../graph';
import type { Check, CheckContext, CheckResult } from '../check';

/**
 * The dependency-graph checks of lib/checks/graph (broken refs, breaking column and contract
 * changes with their downstream consumers, DAG references, duplicate DAG ids, catch-up hazards,
 * source drift) on the repo, compared with the base when there is one. Other repos' graph fragments
 * come from DATAOPS_GRAPH_REGISTRY (a folder or s3://bucket/prefix) when it is set.
 */
export const dependencyGraphCheck: Check = {
  name: 'dependency-graph',
  kinds: ['dbt', 'airflow', 'spark', 'terraform', 'python', 'sql'],
  order: 15,
  async run(ctx: CheckContext): Promise<CheckResult> {
    const findings = await runGraphChecks({
      // named as the platform names it, so the registry's fragment of this same repo (published by its
      // last Package build) is replaced by the checkout, not counted as another repo
      repos: [`${ctx.repo.name}=${ctx.repo.root}`],
      base: ctx.scope.base,
      registry: process.env.DATAOPS_GRAPH_REGISTRY || undefined,
    });
    const kind = ctx.repo.kinds[0] ?? 'python';
    return { findings, selection: { check: 'dependency-graph', kind, assets: ['*'], reason: `${ctx.scope.base ? `compared with ${ctx.scope.base}` : 'no base'}; the graph is always checked whole` } };
  },
};
