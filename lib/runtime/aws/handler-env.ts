import { z } from 'zod';
import { HANDLER_ENV } from '../ledger/table';

/** Raised when a handler's environment lacks a variable the tooling stack must set. */
export class HandlerEnvError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HandlerEnvError';
  }
}

/** Reads a required environment variable of a handler. */
export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const v = env[name];
  if (!v) throw new HandlerEnvError(`environment variable ${name} is not set; the tooling stack sets it on the function (lib/runtime/ledger/table.ts HANDLER_ENV)`);
  return v;
}

/** The repo → pipeline name map in HANDLER_ENV.pipelines. */
export function pipelinesFromEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const raw = requireEnv(HANDLER_ENV.pipelines, env);
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    throw new HandlerEnvError(`${HANDLER_ENV.pipelines} is not JSON; set it to {"<repo>":"<pipeline name>",...}`, { cause: e });
  }
  const r = z.record(z.string(), z.string().min(1)).safeParse(json);
  if (!r.success) throw new HandlerEnvError(`${HANDLER_ENV.pipelines} must map repo names to pipeline names, got ${raw}`);
  return r.data;
}

/** The logging a runtime service needs; Powertools' Logger fits, tests pass a silent one. */
export interface RuntimeLog {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}
