import type { Command } from 'commander';
import { addConfigOption, addOutputOptions, writeOutput, type CommonOptions } from '../options';

/** `dataops cost`: the platform's monthly cost for a configuration, against its budget. */
export function registerCost(program: Command): void {
  const cmd = addConfigOption(program.command('cost').description('estimate the monthly cost of the platform for a configuration and compare it with monthlyBudgetUsd'));
  addOutputOptions(cmd, ['text', 'json'], 'text', 'the estimate (json: every line and every price with its source, in US dollars rounded to cents)')
    .option('--fail-over-budget', 'exit with status 1 when the estimate exceeds the budget')
    .addHelpText(
      'after',
      "\nVolumes and measured durations come from the configuration's optional `usage` block (docs/cost.md);\nprices are us-east-1 list prices, each named with its source page and date in lib/ops/cost/prices.ts.",
    )
    .action(async (opts: CommonOptions & { failOverBudget?: boolean }) => {
      const { loadPlatformConfig } = require('../../config/loader') as typeof import('../../config/loader');
      const { estimateMonthlyCost } = require('../../ops/cost/model') as typeof import('../../ops/cost/model');
      const { costEstimateJson, renderCostEstimate } = require('../../ops/cost/render') as typeof import('../../ops/cost/render');
      const estimate = estimateMonthlyCost(loadPlatformConfig(opts.config));
      writeOutput(opts.out, opts.format === 'json' ? costEstimateJson(estimate) : renderCostEstimate(estimate));
      if (opts.failOverBudget && !estimate.withinBudget) process.exitCode = 1;
    });
}
