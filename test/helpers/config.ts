import * as fs from 'fs';
import { parse, stringify } from 'yaml';
import { DEFAULT_CONFIG_PATH, parseConfig } from '../../lib/config/loader';
import type { PlatformConfig } from '../../lib/config/schema';

/** The embedded default configuration as raw YAML data, for tests to change one thing at a time. */
export function defaultConfigData(): Record<string, any> {
  return parse(fs.readFileSync(DEFAULT_CONFIG_PATH, 'utf8')) as Record<string, any>;
}

/**
 * A validated configuration: the embedded default, optionally changed by `mutate`, or with
 * `repoCount` generated repos (for capacity tests: 64 repos and more).
 */
export function makeTestConfig(options: { mutate?: (raw: Record<string, any>) => void; repoCount?: number } = {}): PlatformConfig {
  const raw = defaultConfigData();
  if (options.repoCount !== undefined) {
    const templates = raw.repos as Array<Record<string, any>>;
    raw.repos = Array.from({ length: options.repoCount }, (_, i) => {
      const t = templates[i % templates.length];
      return { ...t, name: `${t.name}-${i}`, repository: `${t.repository}-${i}` };
    });
  }
  options.mutate?.(raw);
  return parseConfig(stringify(raw), 'test-config.yaml');
}

/** Parses YAML text and returns the ConfigError message, or fails when the text is accepted. */
export function configErrorOf(text: string): string {
  try {
    parseConfig(text, 'test-config.yaml');
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected the configuration to be refused, but it was accepted');
}
