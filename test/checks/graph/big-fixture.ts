/**
 * Generates a large, realistic workspace for the bench and the robustness test: one dbt repo with
 * N models (sources → staging → intermediate → marts, columns with types, contracts, exposures,
 * cross-project refs to a project outside the known repos) and one Airflow repo with M DAG files
 * (sensors across DAGs, Dataset outlets and schedules, triggers, DAGs generated in loops with
 * run-time ids, sensors to DAGs outside the known repos, BashOperators running `dbt build --select
 * stg_<n>+` that the graph expands to every descendant model).
 */
import * as fs from 'fs';
import * as path from 'path';

export interface BigFixtureOptions {
  readonly models: number;
  readonly dags: number;
}

const TYPES = ['integer', 'varchar', 'numeric(18,2)', 'date', 'timestamp', 'boolean', 'bigint', 'varchar'];

function columns(prefix: string, n: number): Array<{ name: string; type: string }> {
  return Array.from({ length: n }, (_, i) => ({ name: i === 0 ? 'id' : `${prefix}_c${i}`, type: TYPES[i % TYPES.length] }));
}

/** Writes the dbt repo (with target/manifest.json in dbt's v12 layout) and the Airflow repo under `root`. */
export function writeBigFixture(root: string, opts: BigFixtureOptions): { dbt: string; airflow: string } {
  const dbtDir = path.join(root, 'big-dbt');
  const afDir = path.join(root, 'big-airflow');
  fs.mkdirSync(path.join(dbtDir, 'target'), { recursive: true });
  fs.mkdirSync(path.join(afDir, 'dags'), { recursive: true });
  fs.writeFileSync(path.join(dbtDir, 'dbt_project.yml'), 'name: big\nversion: "1.0.0"\nprofile: big\n');
  const project = 'big';
  const nodes: Record<string, unknown> = {};
  const sources: Record<string, unknown> = {};
  const exposures: Record<string, unknown> = {};
  const sourceCount = Math.max(1, Math.floor(opts.models / 100));
  const colsOf = new Map<string, Array<{ name: string; type: string }>>();
  for (let s = 0; s < sourceCount; s++) {
    const uid = `source.${project}.raw.t${s}`;
    const cols = columns(`s${s}`, 10);
    colsOf.set(uid, cols);
    sources[uid] = {
      database: 'analytics', schema: 'raw', name: `t${s}`, resource_type: 'source', package_name: project, path: 'models/sources.yml',
      original_file_path: 'models/sources.yml', unique_id: uid, fqn: [project, 'raw', `t${s}`], source_name: 'raw', source_description: '',
      loader: '', identifier: `t${s}`, relation_name: `"analytics"."raw"."t${s}"`,
      columns: Object.fromEntries(cols.map((c) => [c.name, { name: c.name, data_type: c.type, description: '', meta: {}, constraints: [], tags: [] }])),
      config: { enabled: true },
    };
  }
  const ids: string[] = [];
  for (let i = 0; i < opts.models; i++) {
    const layer = i < opts.models * 0.1 ? 'stg' : i < opts.models * 0.5 ? 'int' : 'fct';
    const name = `${layer}_${i}`;
    const uid = `model.${project}.${name}`;
    const deps: string[] = [];
    const refs: Array<{ name: string; package: string | null; version: null }> = [];
    const srcs: string[][] = [];
    let parentCols: Array<{ name: string; type: string }> = [];
    if (layer === 'stg') {
      const s = i % sourceCount;
      deps.push(`source.${project}.raw.t${s}`);
      srcs.push(['raw', `t${s}`]);
      parentCols = colsOf.get(`source.${project}.raw.t${s}`) ?? [];
    } else {
      const fanIn = 1 + (i % 3);
      for (let k = 0; k < fanIn; k++) {
        const p = ids[(i * 7919 + k * 104729) % ids.length];
        if (!deps.includes(p)) {
          deps.push(p);
          refs.push({ name: p.split('.')[2], package: null, version: null });
          parentCols = parentCols.concat(colsOf.get(p) ?? []);
        }
      }
      if (i % 250 === 0) {
        deps.push('model.finance.gl_entries');
        refs.push({ name: 'gl_entries', package: 'finance', version: null });
      }
    }
    const cols = columns(`m${i}`, 8);
    colsOf.set(uid, cols);
    const used = parentCols.slice(0, 6).map((c) => c.name);
    const rawCode = `select\n    ${[...used, ...cols.slice(1).map((c) => `null as ${c.name}`)].join(',\n    ')}\nfrom ${refs.map((r) => (r.package ? `{{ ref('${r.package}', '${r.name}') }}` : `{{ ref('${r.name}') }}`)).join(' join ') || `{{ source('${srcs[0]?.[0]}', '${srcs[0]?.[1]}') }}`}\n`;
    const contract = i % 20 === 0;
    nodes[uid] = {
      database: 'analytics', schema: layer, name, resource_type: 'model', package_name: project, path: `${layer}/${name}.sql`,
      original_file_path: `models/${layer}/${name}.sql`, unique_id: uid, fqn: [project, layer, name], alias: name,
      checksum: { name: 'sha256', checksum: `${i}` }, config: { enabled: true, materialized: 'view', contract: { enforced: contract, alias_types: true } },
      tags: [], description: '', meta: {}, patch_path: `${project}://models/${layer}/schema.yml`, relation_name: `"analytics"."${layer}"."${name}"`,
      columns: Object.fromEntries(cols.map((c) => [c.name, { name: c.name, data_type: c.type, description: '', meta: {}, constraints: [], tags: [] }])),
      raw_code: rawCode, language: 'sql', refs, sources: srcs, depends_on: { macros: [], nodes: deps },
      contract: { enforced: contract, alias_types: true, checksum: null }, access: 'protected', version: null,
    };
    ids.push(uid);
  }
  for (let e = 0; e < Math.max(1, Math.floor(opts.models / 50)); e++) {
    const uid = `exposure.${project}.dash_${e}`;
    exposures[uid] = {
      name: `dash_${e}`, resource_type: 'exposure', package_name: project, path: 'models/exposures.yml', original_file_path: 'models/exposures.yml',
      unique_id: uid, fqn: [project, `dash_${e}`], type: 'dashboard', owner: { email: 'bi@example.com' },
      depends_on: { macros: [], nodes: [ids[ids.length - 1 - e]] }, refs: [], sources: [],
    };
  }
  fs.writeFileSync(
    path.join(dbtDir, 'target', 'manifest.json'),
    JSON.stringify({
      metadata: { dbt_schema_version: 'https://schemas.getdbt.com/dbt/manifest/v12.json', dbt_version: '1.10.0', project_name: project, env: {} },
      nodes, sources, macros: {}, docs: {}, exposures, metrics: {}, groups: {}, selectors: {}, disabled: {}, parent_map: {}, child_map: {},
      group_map: {}, saved_queries: {}, semantic_models: {}, unit_tests: {},
    }),
  );
  for (let d = 0; d < opts.dags; d++) {
    const lines = [
      'from datetime import datetime',
      'from airflow import DAG',
      'from airflow.datasets import Dataset',
      'from airflow.operators.bash import BashOperator',
      'from airflow.operators.empty import EmptyOperator',
      'from airflow.sensors.external_task import ExternalTaskSensor',
      'from airflow.operators.trigger_dagrun import TriggerDagRunOperator',
      '',
    ];
    if (d % 50 === 49) {
      // a DAG factory: ids computed at run time
      lines.push('for region in ["us", "eu"]:', `    with DAG(dag_id=f"regional_${d}_{region}", schedule="@daily", start_date=datetime(2024, 1, 1), catchup=False) as dag:`, '        EmptyOperator(task_id=f"load_{region}")', '');
    } else {
      const schedule = d % 10 === 5 ? `[Dataset("s3://lake/d${d - 1}")]` : '"0 3 * * *"';
      lines.push(`with DAG(dag_id="dag_${d}", schedule=${schedule}, start_date=datetime(2024, 1, 1), catchup=False) as dag:`);
      for (let t = 0; t < 6; t++) lines.push(`    t${t} = EmptyOperator(task_id="task_${t}"${t === 5 ? `, outlets=[Dataset("s3://lake/d${d}")]` : ''})`);
      if (d > 0 && d % 50 !== 0) lines.push(`    wait = ExternalTaskSensor(task_id="wait_upstream", external_dag_id="dag_${d - 1}", external_task_id="task_5")`);
      if (d % 50 === 0) lines.push(`    wait_ext = ExternalTaskSensor(task_id="wait_external", external_dag_id="partner_feed_${d}", external_task_id="done")`);
      if (d % 10 === 2) lines.push(`    BashOperator(task_id="dbt_build", bash_command="cd /dbt && dbt build --select stg_${d % Math.max(1, Math.floor(opts.models * 0.1))}+ --target prod")`);
      if (d % 25 === 3) lines.push(`    TriggerDagRunOperator(task_id="trigger_next", trigger_dag_id="dag_${d + 1}")`);
      lines.push('    t0 >> t1 >> t2 >> t3 >> t4 >> t5', '');
    }
    fs.writeFileSync(path.join(afDir, 'dags', `dag_${d}.py`), lines.join('\n'));
  }
  return { dbt: dbtDir, airflow: afDir };
}
