import * as fs from 'fs';
import * as path from 'path';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../../../lib/config/loader';
import { makeTestConfig } from '../../helpers/config';
import { COST_SERVICES, CostInputError, estimateMonthlyCost, type CostEstimate } from '../../../lib/ops/cost/model';
import { ALL_PRICES, CODEBUILD_MINUTE } from '../../../lib/ops/cost/prices';
import { renderCostEstimate } from '../../../lib/ops/cost/render';
import { monitoringAlarmCount } from '../../../lib/ops/metrics';

const ROOT = path.resolve(__dirname, '..', '..', '..');
/** The exact (unrounded) amount of the lines of a service whose item starts with `itemStart`. */
const lineUsd = (e: CostEstimate, service: string, itemStart: string) =>
  e.lines.filter((l) => l.service === service && l.item.startsWith(itemStart)).reduce((n, l) => n + l.quantity * l.price.usd, 0);
const isCents = (x: number) => Math.abs(x * 100 - Math.round(x * 100)) < 1e-6;
const serviceUsd = (e: CostEstimate, service: (typeof COST_SERVICES)[number]) =>
  e.lines.filter((l) => l.service === service).reduce((n, l) => n + l.monthlyUsd, 0);

describe('estimateMonthlyCost', () => {
  const base = estimateMonthlyCost(makeTestConfig());

  it('covers every service the issue names with a non-zero cost on the default config', () => {
    // GIVEN the embedded default (Northstar) WHEN estimated THEN every service has a line and a cost
    for (const s of COST_SERVICES) expect(serviceUsd(base, s)).toBeGreaterThan(0);
  });

  it('adds up to the cent: the total is the sum of the rounded lines and of the per-service figures', () => {
    const sumLines = base.lines.reduce((n, l) => n + l.monthlyUsd, 0);
    expect(base.totalUsd).toBeCloseTo(sumLines, 9);
    expect(Object.values(base.byService).reduce((n, v) => n + v, 0)).toBeCloseTo(base.totalUsd, 9);
    // each line is quantity × unit price rounded to cents
    for (const l of base.lines) expect(l.monthlyUsd).toBe(Math.round(l.quantity * l.price.usd * 100) / 100);
  });

  it('gives every dollar amount in cents: lines, services, total, headroom', () => {
    // GIVEN the default config WHEN estimated THEN no amount has more than two decimals
    const amounts = [...base.lines.map((l) => l.monthlyUsd), ...Object.values(base.byService), base.totalUsd, base.headroomUsd];
    expect(amounts.filter((x) => !isCents(x))).toEqual([]);
  });

  it('prices Lambda as arm64, the architecture its functions run on', () => {
    // GIVEN the platform functions' architecture in the construct WHEN the Lambda compute line is priced
    const construct = fs.readFileSync(path.join(ROOT, 'lib', 'constructs', 'platform-function.ts'), 'utf8');
    expect(construct).toContain('lambda.Architecture.ARM_64');
    const compute = base.lines.find((l) => l.service === 'Lambda' && l.item === 'compute');
    // THEN it uses the Arm GB-second price of the Lambda pricing page
    expect(compute?.price).toBe(ALL_PRICES.LAMBDA_GB_SECOND);
    expect(compute?.price.usd).toBe(0.0000133334);
    expect(compute?.price.unit).toMatch(/arm64/);
  });

  it('keeps the default config inside the Northstar budget and under the $3K aim', () => {
    expect(base.budgetUsd).toBe(18000);
    expect(base.withinBudget).toBe(true);
    expect(base.totalUsd).toBeLessThan(3000);
    expect(base.headroomUsd).toBeCloseTo(18000 - base.totalUsd, 2);
  });

  it('derives the monthly volumes from the usage block (40 PRs/day, 12 prod deploys/day, 22 days)', () => {
    expect(base.volumes.prBuilds).toBe(40 * 2 * 22);
    expect(base.volumes.prodDeployments).toBe(12 * 22);
    expect(base.volumes.pipelineExecutions).toBe(16 * 22);
    expect(base.volumes.rollbacks).toBeCloseTo(12 * 22 * 0.02, 9);
  });

  // Each row changes one input and names the lines that must scale by the factor, and one that must not move.
  it.each([
    { change: 'prsPerDay doubled', mutate: (r: any) => (r.usage = { prsPerDay: 80 }), scaled: [['CodeBuild', 'PR validation'], ['Snowflake', 'CI warehouse']], factor: 2, fixed: ['CodeBuild', 'Package'] },
    { change: 'activeDaysPerMonth halved', mutate: (r: any) => (r.usage = { activeDaysPerMonth: 11 }), scaled: [['CodePipeline', 'V2'], ['CodeBuild', 'Deploy']], factor: 0.5, fixed: ['CloudWatch', 'dashboard'] },
    { change: 'compute type LARGE', mutate: (r: any) => (r.ci.computeType = 'BUILD_GENERAL1_LARGE'), scaled: [['CodeBuild', 'PR validation'], ['CodeBuild', 'Package']], factor: 2, fixed: ['CodeBuild', 'toolchain'] },
    { change: 'compute type SMALL', mutate: (r: any) => (r.ci.computeType = 'BUILD_GENERAL1_SMALL'), scaled: [['CodeBuild', 'Deploy']], factor: 0.5, fixed: ['CodePipeline', 'V2'] },
    { change: 'Snowflake Standard edition', mutate: (r: any) => (r.usage = { snowflakeEdition: 'standard' }), scaled: [['Snowflake', 'CI'], ['Snowflake', 'deploy']], factor: 0.5, fixed: ['CodeBuild', 'PR validation'] },
    { change: 'Snowflake SMALL warehouse', mutate: (r: any) => (r.usage = { snowflakeWarehouseSize: 'SMALL' }), scaled: [['Snowflake', 'CI']], factor: 2, fixed: ['S3', 'GET'] },
    { change: 'artifact retention doubled', mutate: (r: any) => (r.usage = { artifactRetentionDays: 730 }), scaled: [['S3', 'artifact bucket']], factor: 2, fixed: ['S3', 'audit bucket'] },
  ])('scales the right lines when $change', ({ mutate, scaled, factor, fixed }) => {
    // GIVEN the default config with one change WHEN estimated
    const e = estimateMonthlyCost(makeTestConfig({ mutate }));
    // THEN the dependent lines scale by the factor and an unrelated line stays put
    for (const [service, item] of scaled) expect(lineUsd(e, service, item)).toBeCloseTo(lineUsd(base, service, item) * factor, 6);
    expect(lineUsd(e, fixed[0], fixed[1])).toBeCloseTo(lineUsd(base, fixed[0], fixed[1]), 9);
  });

  it('bills a PR build for its slowest affected check, rounded up to whole minutes', () => {
    // GIVEN one dbt repo whose checks take 4.2 min and 1 min overhead WHEN estimated
    const e = estimateMonthlyCost(
      makeTestConfig({
        mutate: (r) => {
          r.repos = [r.repos[3]];
          r.usage = { checkMinutes: { dbt: 4.2, sql: 2 }, prsPerDay: 1, prBuildsPerPr: 1, activeDaysPerMonth: 10 };
        },
      }),
    );
    // THEN each of the 10 builds is billed ceil(4.2 + 1) = 6 minutes
    const pr = e.lines.find((l) => l.item.startsWith('PR validation'))!;
    expect(pr.quantity).toBeCloseTo(60, 9);
    expect(pr.price).toBe(CODEBUILD_MINUTE.BUILD_GENERAL1_MEDIUM);
  });

  it('charges no Snowflake credits when no repo holds dbt models', () => {
    const e = estimateMonthlyCost(makeTestConfig({ mutate: (r) => (r.repos = r.repos.filter((x: any) => !x.kinds.includes('dbt'))) }));
    expect(serviceUsd(e, 'Snowflake')).toBe(0);
  });

  it('counts the monitoring construct\'s alarms and a bake alarm per repo, and grows with the repo count', () => {
    const e64 = estimateMonthlyCost(makeTestConfig({ repoCount: 64 }));
    const alarms = (e: CostEstimate) => e.lines.find((l) => l.item === 'alarms')!.quantity;
    expect(alarms(base)).toBe(monitoringAlarmCount(8) + 8);
    expect(alarms(e64)).toBe(monitoringAlarmCount(64) + 64);
    expect(e64.totalUsd).toBeGreaterThan(base.totalUsd);
  });

  it('reports a config over its budget as over, with negative headroom', () => {
    const e = estimateMonthlyCost(makeTestConfig({ mutate: (r) => (r.monthlyBudgetUsd = 100) }));
    expect(e.withinBudget).toBe(false);
    expect(e.headroomUsd).toBeLessThan(0);
    expect(renderCostEstimate(e)).toMatch(/OVER the \$100\.00 budget/);
  });

  it('fails when more releases reach prod than pipeline executions start, naming both fields and the fix', () => {
    // GIVEN 20 prod deploys a day but only 10 executions WHEN estimated THEN a CostInputError names both
    const config = makeTestConfig({ mutate: (r) => (r.usage = { prodDeploysPerDay: 20, pipelineExecutionsPerDay: 10 }) });
    expect(() => estimateMonthlyCost(config)).toThrow(CostInputError);
    expect(() => estimateMonthlyCost(config)).toThrow(/usage\.prodDeploysPerDay \(20\) exceeds usage\.pipelineExecutionsPerDay \(10\).*raise pipelineExecutionsPerDay/);
  });
});

describe('prices', () => {
  it.each(Object.entries(ALL_PRICES))('%s has a positive price, a unit, a named source page and a date', (_name, p) => {
    expect(p.usd).toBeGreaterThan(0);
    expect(p.unit.length).toBeGreaterThan(0);
    expect(p.source).toMatch(/pricing|Pricing/);
    expect(p.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('are all listed in docs/cost.md with the same value', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs', 'cost.md'), 'utf8');
    for (const [name, p] of Object.entries(ALL_PRICES)) {
      // a row `| \`NAME\` | USD | unit | source |`
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${name}\``));
      const documented = row ? Number(row.split('|')[2].trim().replace(/^\$/, '')) : NaN;
      expect({ name, documented }).toEqual({ name, documented: p.usd });
    }
  });
});

describe('README and docs/cost.md', () => {
  const doc = () => fs.readFileSync(path.join(ROOT, 'docs', 'cost.md'), 'utf8');
  const defaultEstimate = () => estimateMonthlyCost(loadConfig(DEFAULT_CONFIG_PATH));

  it("docs/cost.md shows, as the default config's figure, what `dataops cost` prints for it", () => {
    // GIVEN the block under "The default config's figure" WHEN compared with the rendered estimate THEN they are the same text
    const section = doc().split("## The default config's figure")[1] ?? '';
    const block = /```\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block).toBe(renderCostEstimate(defaultEstimate()));
  });

  it("docs/cost.md's shares of a service are the ones the estimate gives", () => {
    // GIVEN every 'Service … (NN.N %)' after the block WHEN compared with the estimate's shares THEN they agree to the printed decimal
    const prose = doc().split("## The default config's figure")[1].split('```')[2];
    const e = defaultEstimate();
    const said = [...prose.matchAll(new RegExp(`(${COST_SERVICES.join('|')})\\b[^()]*?\\((\\d+(?:\\.\\d)?) %\\)`, 'g'))].map((m) => [m[1], m[2]]);
    expect(said.length).toBeGreaterThan(0);
    const actual = said.map(([service, pct]) => [service, ((e.byService[service as (typeof COST_SERVICES)[number]] / e.totalUsd) * 100).toFixed(pct.includes('.') ? 1 : 0)]);
    expect(said).toEqual(actual);
  });

  it.each(['README.md', 'docs/cost.md'])('%s shows the monthly figure the model computes for the default config', (file) => {
    const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
    const figure = `$${estimateMonthlyCost(makeTestConfig()).totalUsd.toLocaleString('en-US', { minimumFractionDigits: 2 })}`;
    expect(text).toContain(`**${figure} a month`);
  });
});
