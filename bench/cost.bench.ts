/** `npm run bench -- cost`: the monthly cost model's figure for the embedded default configuration. */
import type { BenchResult } from './run';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../lib/config/loader';
import { estimateMonthlyCost } from '../lib/ops/cost/model';

export async function run(): Promise<BenchResult[]> {
  const estimate = estimateMonthlyCost(loadConfig(DEFAULT_CONFIG_PATH));
  return [{ name: 'cost_monthly_usd_default', value: estimate.totalUsd, unit: 'USD/month' }];
}
