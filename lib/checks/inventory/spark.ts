import * as fs from 'fs';
import * as path from 'path';
import YAML, { isMap, isSeq, LineCounter, type Node as YamlNode } from 'yaml';
import { z } from 'zod';
import { listFiles } from './files';
import type { InventoryProblem, SparkIo, SparkJob } from './types';

/** File names of a Spark job descriptor, kept next to the job's code (docs/spark-descriptor.md). */
export const SPARK_DESCRIPTOR_NAMES = new Set(['job.yaml', 'job.yml']);

const IoObjectSchema = z
  .object({
    table: z.string().min(1).optional(),
    path: z.string().min(1).optional(),
    dbt: z.string().min(1).optional(),
    columns: z.array(z.string().min(1)).default([]),
    description: z.string().optional(),
  })
  .strict()
  .refine((io) => [io.table, io.path, io.dbt].filter((v) => v !== undefined).length === 1, {
    message: 'give exactly one of table, path or dbt',
  });

/**
 * An input or output: the full form, or a URI shorthand. `snowflake://db/schema/table` (or
 * `table://db/schema/table`) is a table; any other URI (`s3://…`) is a path.
 */
const IoSchema = z.union([
  z
    .string()
    .regex(/^[a-z][a-z0-9+.-]*:\/\/./i, 'a shorthand input/output must be a URI such as s3://bucket/path or snowflake://db/schema/table')
    .transform((uri) => {
      const m = /^(?:snowflake|table):\/\/(.+)$/i.exec(uri);
      return m
        ? { table: m[1].replace(/\/+$/, '').split('/').join('.'), path: undefined, dbt: undefined, columns: [] as string[] }
        : { table: undefined, path: uri, dbt: undefined, columns: [] as string[] };
    }),
  IoObjectSchema,
]);

/** The descriptor's schema: what a Spark job reads and writes. */
export const SparkDescriptorSchema = z
  .object({
    kind: z.literal('spark-job').optional(),
    name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'use letters, digits, _ . -'),
    description: z.string().optional(),
    entrypoint: z.string().optional(),
    inputs: z.array(IoSchema).default([]),
    outputs: z.array(IoSchema).default([]),
  })
  .strict();
export type SparkDescriptor = z.infer<typeof SparkDescriptorSchema>;

function ioLines(doc: YAML.Document, key: 'inputs' | 'outputs', lc: LineCounter): Array<number | null> {
  const seq = doc.get(key, true) as YamlNode | undefined;
  if (!seq || !isSeq(seq)) return [];
  return seq.items.map((item) => {
    const r = isMap(item) ? item.range : undefined;
    return r ? lc.linePos(r[0]).line : null;
  });
}

/** Parses one descriptor; returns the job or a problem naming the file, line and fix. */
export function parseSparkDescriptor(text: string, file: string): SparkJob | InventoryProblem {
  const lc = new LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter: lc });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    return { kind: 'spark', file, line: e.linePos?.[0].line ?? null, message: `not valid YAML: ${e.message.split('\n')[0]}`, severity: 'error' };
  }
  const raw: unknown = doc.toJS();
  const looksLikeJob =
    typeof raw === 'object' && raw !== null &&
    ((raw as { kind?: unknown }).kind === 'spark-job' ||
      ((raw as { kind?: unknown }).kind === undefined && ('inputs' in raw || 'outputs' in raw)));
  if (!looksLikeJob) {
    // A job.yaml of another tool: Spark descriptors say `kind: spark-job` (or have inputs/outputs and no kind).
    return { kind: 'spark', file, line: null, message: `skipped: not a Spark job descriptor (no 'kind: spark-job', no inputs or outputs)`, severity: 'info' };
  }
  const parsed = SparkDescriptorSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue.path.join('.');
    return {
      kind: 'spark',
      file,
      line: null,
      message: `invalid Spark job descriptor: ${at ? `${at}: ` : ''}${issue.message}; see docs/spark-descriptor.md`,
      severity: 'error',
    };
  }
  const d = parsed.data;
  const toIo = (key: 'inputs' | 'outputs'): SparkIo[] => {
    const lines = ioLines(doc, key, lc);
    return d[key].map((io, i) => ({
      table: io.table?.toLowerCase() ?? null,
      path: io.path ?? null,
      dbt: io.dbt ?? null,
      columns: io.columns.map((c) => c.toLowerCase()),
      line: lines[i] ?? null,
    }));
  };
  return { name: d.name, file, entrypoint: d.entrypoint ?? null, inputs: toIo('inputs'), outputs: toIo('outputs') };
}

/** Reads every Spark job descriptor in a repo. */
export function sparkInventory(repoRoot: string): { jobs: SparkJob[]; problems: InventoryProblem[] } {
  const jobs: SparkJob[] = [];
  const problems: InventoryProblem[] = [];
  for (const rel of listFiles(repoRoot, (name) => SPARK_DESCRIPTOR_NAMES.has(name))) {
    const r = parseSparkDescriptor(fs.readFileSync(path.join(repoRoot, rel), 'utf8'), rel);
    if ('kind' in r && 'severity' in r) problems.push(r);
    else jobs.push(r);
  }
  return { jobs, problems };
}
