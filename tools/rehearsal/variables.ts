import { RehearsalError } from './errors';

/** Variables of one pipeline execution, by namespace (`codepipeline`, `SourceVariables`, `Package`, …). */
export type ExecutionVariables = Map<string, Record<string, string>>;

/**
 * Resolves `#{Namespace.Variable}` in an action's configuration value, as CodePipeline does before
 * it runs the action. A variable no earlier action produced fails the action, naming it.
 */
export function resolveVariables(value: string, variables: ExecutionVariables, where: string): string {
  return value.replace(/#\{([A-Za-z0-9@\-_]+)\.([A-Za-z0-9@\-_]+)\}/g, (_m, ns: string, name: string) => {
    const v = variables.get(ns)?.[name];
    if (v === undefined) {
      const known = [...variables.entries()].flatMap(([n, vars]) => Object.keys(vars).map((k) => `${n}.${k}`));
      throw new RehearsalError(`${where} uses #{${ns}.${name}}, which no earlier action of the execution produced (known: ${known.join(', ') || 'none'})`);
    }
    return v;
  });
}
