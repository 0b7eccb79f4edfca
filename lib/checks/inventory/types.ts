import { z } from 'zod';

/**
 * The inventory of one repo: every asset the dependency graph knows about, with where it is
 * declared and what it reads and writes. It is also the fragment a repo's main pipeline publishes
 * to the registry, so its JSON shape is versioned (`schema`) and validated when read back.
 */

/** A column as dbt declares it. `dataType` is null when the YAML does not say. */
export const ColumnSchema = z.object({
  name: z.string(),
  dataType: z.string().nullable(),
});
export type Column = z.infer<typeof ColumnSchema>;

/** dbt resource types the graph keeps (tests, analyses, macros are left out). */
export const DBT_KINDS = ['model', 'source', 'seed', 'snapshot', 'exposure'] as const;
export type DbtKind = (typeof DBT_KINDS)[number];

/** A ref as written in SQL: `ref('name')`, or the two-argument cross-project `ref('project', 'name')`. */
export const DbtRefSchema = z.object({
  name: z.string(),
  package: z.string().nullable(),
  version: z.union([z.string(), z.number()]).nullable(),
  /** Line of the ref in the model's SQL, when found. */
  line: z.number().nullable(),
});
export type DbtRef = z.infer<typeof DbtRefSchema>;

/** One dbt node from a manifest, reduced to what the checks need. */
export const DbtNodeSchema = z.object({
  /** dbt unique_id, e.g. `model.core.stg_claims` or `source.core.raw.claims`. */
  id: z.string(),
  kind: z.enum(DBT_KINDS),
  name: z.string(),
  /** package_name: the dbt project that defines it (the root project or an installed package). */
  package: z.string(),
  /** Declaring file relative to the repo root (the YAML for sources and exposures, the SQL otherwise). */
  file: z.string(),
  /** Where the columns are declared (the properties YAML), relative to the repo root. */
  patchFile: z.string().nullable(),
  /** Lowercased `database.schema.identifier` for relations; null for exposures. */
  relation: z.string().nullable(),
  columns: z.array(ColumnSchema),
  dependsOn: z.array(z.string()),
  refs: z.array(DbtRefSchema),
  /** `source('a', 'b')` calls as [source_name, table_name]. */
  sourceRefs: z.array(z.tuple([z.string(), z.string()])),
  contractEnforced: z.boolean(),
  access: z.string().nullable(),
  version: z.union([z.string(), z.number()]).nullable(),
  checksum: z.string().nullable(),
  /** Lowercased identifiers that appear in the node's SQL, for column-use detection. */
  identifiers: z.array(z.string()),
  /** The SQL selects `*` from something, so it uses every column of its parents. */
  selectStar: z.boolean(),
});
export type DbtNode = z.infer<typeof DbtNodeSchema>;

/** One dbt project, from its manifest.json. */
export const DbtProjectSchema = z.object({
  /** Root project name (manifest metadata.project_name). */
  name: z.string(),
  /** manifest.json relative to the repo root. */
  manifestFile: z.string(),
  schemaVersion: z.string(),
  dbtVersion: z.string().nullable(),
  /** Only nodes of the root project, plus nodes of installed packages that the root uses. */
  nodes: z.array(DbtNodeSchema),
  /** Names of installed packages (package_name values other than the root project). */
  packages: z.array(z.string()),
  /** Project names that dependencies.yml declares for cross-project refs (dbt Mesh). */
  projectDependencies: z.array(z.string()),
});
export type DbtProject = z.infer<typeof DbtProjectSchema>;

/** A value that the static reader either resolved or reports as computed at run time. */
export const ResolvedStringSchema = z.object({
  value: z.string().nullable(),
  /** Source text of the expression when `value` is null (never guessed). */
  expr: z.string().nullable(),
});
export type ResolvedString = z.infer<typeof ResolvedStringSchema>;

/** A Dataset/Asset schedule condition: `&` (and) / `|` (or) over URIs. */
export type DatasetCondition =
  | { readonly op: 'uri'; readonly uri: string | null; readonly expr: string | null }
  | { readonly op: 'and' | 'or'; readonly items: readonly DatasetCondition[] };
export const DatasetConditionSchema: z.ZodType<DatasetCondition> = z.lazy(() =>
  z.union([
    z.object({ op: z.literal('uri'), uri: z.string().nullable(), expr: z.string().nullable() }),
    z.object({ op: z.enum(['and', 'or']), items: z.array(DatasetConditionSchema) }),
  ]),
);

/** dbt verbs the inventory records (`dbt <verb> --select ...`). */
export const DBT_VERBS = ['run', 'build', 'test', 'seed', 'snapshot'] as const;

/**
 * A dbt command a task runs, read from the string literals of its bash_command or a pod's
 * cmds/arguments (or returned by a simple helper function of the repo). A selector's `value` is a
 * model name or dotted fqn with optional `+`/`n+` graph operators; anything else (tag:/path:/state:
 * methods, wildcards, Jinja, run-time values, no `--select` at all) has value null and its text in `expr`.
 */
export const AirflowDbtRunSchema = z.object({
  /** null when the verb is computed at run time (`verbExpr` holds its text). */
  verb: z.enum(DBT_VERBS).nullable(),
  verbExpr: z.string().nullable(),
  select: z.array(ResolvedStringSchema),
  exclude: z.array(ResolvedStringSchema),
  line: z.number(),
});
export type AirflowDbtRun = z.infer<typeof AirflowDbtRunSchema>;

export const AirflowTaskSchema = z.object({
  id: ResolvedStringSchema,
  operator: z.string(),
  line: z.number(),
  /** dbt commands the task runs; absent when it runs none (and in fragments published before). */
  dbt: z.array(AirflowDbtRunSchema).optional(),
});

/** ExternalTaskSensor / ExternalTaskMarker / TriggerDagRunOperator reference to another DAG. */
export const AirflowRefSchema = z.object({
  kind: z.enum(['sensor', 'marker', 'trigger']),
  operator: z.string(),
  /** task_id of the referencing task. */
  taskId: z.string().nullable(),
  dagId: ResolvedStringSchema,
  /** external_task_id / external_task_ids / external_task_group_id; empty for a whole-DAG reference. */
  taskIds: z.array(ResolvedStringSchema),
  line: z.number(),
});
export type AirflowRef = z.infer<typeof AirflowRefSchema>;

export const AirflowOutletSchema = z.object({
  uri: z.string().nullable(),
  expr: z.string().nullable(),
  taskId: z.string().nullable(),
  line: z.number(),
});

export const AirflowScheduleSchema = z.object({
  /** cron / preset / timedelta / none / datasets / timetable / unresolved / unset */
  kind: z.enum(['cron', 'preset', 'timedelta', 'none', 'datasets', 'timetable', 'unresolved', 'unset']),
  /** The schedule's source text (cron string, preset, expression). */
  text: z.string().nullable(),
  datasets: DatasetConditionSchema.nullable(),
  /** Argument that set it: schedule, schedule_interval or timetable. */
  arg: z.string().nullable(),
});
export type AirflowSchedule = z.infer<typeof AirflowScheduleSchema>;

export const AirflowDagSchema = z.object({
  id: ResolvedStringSchema,
  /** How it was declared: `with DAG(...)`, a bare `DAG(...)` call, or the `@dag` decorator. */
  declaredBy: z.enum(['with', 'call', 'decorator']),
  file: z.string(),
  line: z.number(),
  tasks: z.array(AirflowTaskSchema),
  /** True when some task ids could not be resolved statically (loops, computed ids). */
  hasUnresolvedTasks: z.boolean(),
  refs: z.array(AirflowRefSchema),
  outlets: z.array(AirflowOutletSchema),
  schedule: AirflowScheduleSchema,
  /** ISO date when start_date is a literal date/datetime (or days_ago(n), relative to `generatedAt`). */
  startDate: z.object({
    iso: z.string().nullable(),
    expr: z.string().nullable(),
    setIn: z.enum(['dag', 'default_args', 'none']),
  }),
  catchup: z.object({
    value: z.boolean().nullable(),
    expr: z.string().nullable(),
    /** `dag` argument; `default_args` only (which Airflow ignores for catchup); or not set. */
    setIn: z.enum(['dag', 'default_args', 'none']),
    line: z.number().nullable(),
  }),
});
export type AirflowDag = z.infer<typeof AirflowDagSchema>;

/** A Spark job's declared input or output: a table (possibly a dbt model) or a storage path. */
export const SparkIoSchema = z.object({
  table: z.string().nullable(),
  path: z.string().nullable(),
  /** dbt node a table input names directly: `project.model` or a unique_id. */
  dbt: z.string().nullable(),
  /** Columns the job reads (inputs) or writes (outputs); empty means all. */
  columns: z.array(z.string()),
  line: z.number().nullable(),
});
export type SparkIo = z.infer<typeof SparkIoSchema>;

export const SparkJobSchema = z.object({
  name: z.string(),
  /** The descriptor (job.yaml) relative to the repo root. */
  file: z.string(),
  entrypoint: z.string().nullable(),
  inputs: z.array(SparkIoSchema),
  outputs: z.array(SparkIoSchema),
});
export type SparkJob = z.infer<typeof SparkJobSchema>;

export const TerraformItemSchema = z.object({
  /** `aws_s3_bucket.raw`, `data.aws_iam_policy_document.x` or `module.vpc`. */
  address: z.string(),
  kind: z.enum(['resource', 'data', 'module']),
  type: z.string().nullable(),
  file: z.string(),
  line: z.number().nullable(),
  /** Module source, for modules. */
  source: z.string().nullable(),
  /** Literal names that link it to other assets: S3 bucket names, table names. */
  names: z.array(z.string()),
});
export type TerraformItem = z.infer<typeof TerraformItemSchema>;

/** Something the inventory could not read; reported as a finding, never a crash. */
export const InventoryProblemSchema = z.object({
  kind: z.enum(['dbt', 'airflow', 'spark', 'terraform']),
  file: z.string(),
  line: z.number().nullable(),
  message: z.string(),
  /** error: the input is broken; info: something was skipped (e.g. no manifest built yet). */
  severity: z.enum(['error', 'warning', 'info']),
});
export type InventoryProblem = z.infer<typeof InventoryProblemSchema>;

export const INVENTORY_SCHEMA = 'dataops.inventory/v1';

export const RepoInventorySchema = z.object({
  schema: z.literal(INVENTORY_SCHEMA),
  repo: z.string(),
  commit: z.string().nullable(),
  generatedAt: z.string(),
  dbt: z.array(DbtProjectSchema),
  airflow: z.array(AirflowDagSchema),
  spark: z.array(SparkJobSchema),
  terraform: z.array(TerraformItemSchema),
  problems: z.array(InventoryProblemSchema),
});
/** Everything one repo declares; also the fragment published to the registry. */
export type RepoInventory = z.infer<typeof RepoInventorySchema>;

/** Errors reading an inventory input that cannot be skipped (unreadable manifest, bad descriptor). */
export class InventoryError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InventoryError';
  }
}
