import type { Finding } from '../../findings';
import type { CheckContext } from '../context';
import { dbtKey, finding } from './util';

/** Project part of a unique_id: `model.core.x` → `core`. */
function projectOf(uid: string): string {
  return uid.split('.')[1] ?? '';
}

/**
 * DBT_REF_MISSING: a ref or source() to a node that no known repo defines. Nodes that resolve
 * through installed packages are not findings; refs into a project that no known repo builds are
 * "outside the known repos" (a warning, an error with --strict).
 */
export function checkDbtRefs(ctx: CheckContext): Finding[] {
  const out: Finding[] = [];
  const g = ctx.graph;
  for (const inv of g.inventories.values()) {
    for (const p of inv.dbt) {
      const installed = new Set(p.packages);
      for (const n of p.nodes) {
        if (n.package !== p.name) continue;
        for (const dep of n.dependsOn) {
          if (!/^(model|seed|snapshot|source)\./.test(dep)) continue;
          if (g.resolveDbt(dep)) continue;
          const project = projectOf(dep);
          const ownerRepo = g.dbtProjectRepo.get(project);
          const known = ownerRepo !== undefined || installed.has(project) || project === p.name;
          // A consumer in another repo is reported when the change to a local repo broke it.
          if (!ctx.local.has(inv.repo) && !(ownerRepo && ctx.local.has(ownerRepo))) continue;
          const name = dep.split('.').slice(2).join('.');
          const ref = n.refs.find((r) => r.name === dep.split('.').pop() && (r.package === null || r.package === project));
          const what = dep.startsWith('source.') ? `source('${dep.split('.').slice(2).join("', '")}')` : `ref(${project !== p.name ? `'${project}', ` : ''}'${name}')`;
          const key = dbtKey(inv.repo, n.id);
          const downstream = g.downstream([key]);
          if (known) {
            const existedBefore = ctx.baseGraph?.resolveDbt(dep);
            out.push(
              finding({
                code: 'DBT_REF_MISSING',
                severity: 'error',
                asset: `dbt:${n.id}`,
                repo: inv.repo,
                file: n.file,
                line: ref?.line ?? null,
                message: `${n.kind} ${n.name} uses ${what}, but ${dep} does not exist${ownerRepo ? ` in repo ${ownerRepo} (project ${project})` : ''}${existedBefore ? '; it existed at the base ref, so this change removed or renamed it' : ''}; restore it or update the ${dep.startsWith('source.') ? 'source' : 'ref'}`,
                downstream,
              }),
            );
          } else {
            out.push(
              finding({
                code: 'DBT_REF_MISSING',
                severity: ctx.strict ? 'error' : 'warning',
                asset: `dbt:${n.id}`,
                repo: inv.repo,
                file: n.file,
                line: ref?.line ?? null,
                message: `${n.kind} ${n.name} uses ${what} from project '${project}', which is outside the known repos; pass that repo with --repos or publish its fragment to the registry to check it`,
                downstream,
              }),
            );
          }
        }
      }
    }
  }
  return out;
}
