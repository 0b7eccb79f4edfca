import type { Command } from 'commander';
import { CONFIG_OPTION_HELP, loadPlatformConfig } from '../../config/loader';
import { estimateMonthlyCost } from '../../ops/cost/model';
import { ALL_PRICES } from '../../ops/cost/prices';
import { renderCostEstimate } from '../../ops/cost/render';

/** `dataops cost`: the platform's monthly cost for a configuration, against its budget. */
export function registerCost(program: Command): void {
  program
    .command('cost')
    .description('estimate the monthly cost of the platform for a configuration and compare it with monthlyBudgetUsd')
    .option('-c, --config <path>', CONFIG_OPTION_HELP)
    .option('--json', 'print the estimate, every line and every price with its source as JSON')
    .option('--fail-over-budget', 'exit with status 1 when the estimate exceeds the budget')
    .addHelpText(
      'after',
      '\nVolumes and measured durations come from the configuration\'s optional `usage` block (docs/cost.md);\nprices are us-east-1 list prices, each named with its source page and date in lib/ops/cost/prices.ts.',
    )
    .action((opts: { config?: string; json?: boolean; failOverBudget?: boolean }) => {
      const estimate = estimateMonthlyCost(loadPlatformConfig(opts.config));
      if (opts.json) process.stdout.write(`${JSON.stringify({ ...estimate, prices: ALL_PRICES }, null, 2)}\n`);
      else process.stdout.write(renderCostEstimate(estimate));
      if (opts.failOverBudget && !estimate.withinBudget) process.exitCode = 1;
    });
}
