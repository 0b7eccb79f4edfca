/**
 * `npm run bench`: runs every bench/*.bench.ts module and prints one JSON object per line,
 * {"name": …, "value": …, "unit": …}. A module exports `run(): Promise<BenchResult[]>`.
 * `npm run bench -- NAME` runs only bench/NAME.bench.ts.
 */
import * as fs from 'fs';
import * as path from 'path';

export interface BenchResult {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const files = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.ts'))
    .filter((f) => only.length === 0 || only.includes(f.replace(/\.bench\.ts$/, '')))
    .sort();
  let failed = false;
  for (const file of files) {
    try {
      const mod = (await import(path.join(__dirname, file))) as { run: () => Promise<BenchResult[]> };
      for (const r of await mod.run()) process.stdout.write(`${JSON.stringify(r)}\n`);
    } catch (err) {
      failed = true;
      process.stderr.write(`bench ${file} failed: ${(err as Error).stack ?? String(err)}\n`);
    }
  }
  if (failed) process.exitCode = 1;
}

void main();
