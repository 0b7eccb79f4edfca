import * as fs from 'fs';
import * as path from 'path';
import Ajv, { type ErrorObject } from 'ajv';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { PROJECT_ROOT } from '../validate/toolchain';

/** The JSON schema written from the CodeBuild build-spec reference. */
export const BUILDSPEC_SCHEMA_PATH = path.join(PROJECT_ROOT, 'buildspecs', 'schema', 'buildspec.schema.json');

/** Raised when a buildspec is not valid YAML or does not match the schema; lists every problem. */
export class BuildspecError extends Error {
  readonly problems: readonly string[];
  constructor(message: string, problems: readonly string[] = [], options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BuildspecError';
    this.problems = problems;
  }
}

const yesNo = z.union([z.enum(['yes', 'no']), z.boolean()]).optional();
const globs = z.union([z.string(), z.array(z.string())]).optional();
const PhaseSchema = z.object({
  'run-as': z.string().optional(),
  'on-failure': z.string().optional(),
  commands: z.array(z.string()).default([]),
  finally: z.array(z.string()).optional(),
});

/** A buildspec after schema validation, typed for the local runner. */
export const BuildspecSchema = z.object({
  version: z.union([z.number(), z.string()]),
  env: z
    .object({
      shell: z.string().optional(),
      variables: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
      'parameter-store': z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
      'secrets-manager': z.record(z.string(), z.string()).optional(),
      'exported-variables': z.array(z.string()).optional(),
    })
    .optional(),
  phases: z.object({ install: PhaseSchema.optional(), pre_build: PhaseSchema.optional(), build: PhaseSchema.optional(), post_build: PhaseSchema.optional() }),
  reports: z.record(z.string(), z.object({ files: globs, 'base-directory': z.string().optional(), 'discard-paths': yesNo, 'file-format': z.string().optional() })).optional(),
  artifacts: z.object({ files: globs, name: z.string().optional(), 'base-directory': z.string().optional(), 'discard-paths': yesNo, 'exclude-paths': globs }).optional(),
});
export type Buildspec = z.output<typeof BuildspecSchema>;

let validator: ReturnType<Ajv['compile']> | undefined;
function compiled(): ReturnType<Ajv['compile']> {
  if (!validator) {
    const ajv = new Ajv({ allErrors: true, strict: false });
    validator = ajv.compile(JSON.parse(fs.readFileSync(BUILDSPEC_SCHEMA_PATH, 'utf8')) as object);
  }
  return validator;
}

function describe(e: ErrorObject): string {
  const at = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : '(root)';
  if (e.keyword === 'additionalProperties') return `${at}: unknown key '${String(e.params.additionalProperty)}'`;
  if (e.keyword === 'enum') return `${at}: ${e.message} (${(e.params.allowedValues as unknown[]).join(', ')})`;
  return `${at}: ${e.message ?? e.keyword}`;
}

/**
 * Parses and validates buildspec YAML against the schema.
 * @throws BuildspecError naming the file and every problem (YAML path), with how to fix it
 */
export function parseBuildspec(text: string, file: string): Buildspec {
  const doc = parseDocument(text);
  if (doc.errors.length) {
    throw new BuildspecError(`${file}: not valid YAML: ${doc.errors[0].message}; fix the syntax`, doc.errors.map((e) => e.message));
  }
  const data: unknown = doc.toJS();
  const validate = compiled();
  if (!validate(data)) {
    const problems = [...new Set((validate.errors ?? []).filter((e) => e.keyword !== 'if' && e.keyword !== 'allOf').map(describe))];
    throw new BuildspecError(`${file}: does not match the CodeBuild buildspec schema: ${problems.join('; ')}; see buildspecs/schema/buildspec.schema.json`, problems);
  }
  return BuildspecSchema.parse(data);
}

/** Reads and validates a buildspec file. @throws BuildspecError */
export function loadBuildspec(file: string): Buildspec {
  return parseBuildspec(fs.readFileSync(file, 'utf8'), file);
}
