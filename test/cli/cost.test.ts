import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { stringify } from 'yaml';
import { defaultConfigData } from '../helpers/config';
import { helpOf, runDataops } from './run-command';

describe('dataops cost', () => {
  it('prints the monthly figure, the per-service breakdown and the budget verdict for the default config', async () => {
    // GIVEN no config option WHEN run THEN the default config's figure and every service are printed
    const r = await runDataops(['cost']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^Monthly cost of platform 'northstar' \(8 repos\): \$[\d,]+\.\d\d — within the \$18,000\.00 budget/);
    for (const s of ['CodePipeline', 'CodeBuild', 'Lambda', 'S3', 'DynamoDB', 'CloudTrail', 'KMS', 'CloudWatch', 'SNS', 'ECR', 'Snowflake']) {
      expect(r.stdout).toMatch(new RegExp(`^  ${s} +\\$`, 'm'));
    }
  });

  it('fails on --format other than text or json, naming both', async () => {
    const r = await runDataops(['cost', '--format', 'csv']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("--format 'csv' is not supported, expected text or json");
  });

  it('prints JSON with every amount in cents, lines that add up to the total, and every price with its source', async () => {
    // GIVEN the default config WHEN printed as JSON
    const r = await runDataops(['cost', '--format', 'json']);
    const json = JSON.parse(r.stdout) as {
      totalUsd: number;
      headroomUsd: number;
      byService: Record<string, number>;
      lines: Array<{ monthlyUsd: number }>;
      prices: Record<string, { usd: number; source: string }>;
    };
    // THEN no amount has more than two decimals, and the lines add up to the total to the cent
    const amounts = [...json.lines.map((l) => l.monthlyUsd), ...Object.values(json.byService), json.totalUsd, json.headroomUsd];
    expect(amounts.filter((x) => !/^-?\d+(\.\d{1,2})?$/.test(String(x)))).toEqual([]);
    expect(Math.round(json.lines.reduce((n, l) => n + l.monthlyUsd, 0) * 100)).toBe(Math.round(json.totalUsd * 100));
    // AND quantities and volumes carry no floating-point tail (at most six decimals)
    const full = JSON.parse(r.stdout) as { lines: Array<{ quantity: number }>; volumes: Record<string, number | Record<string, number>> };
    const quantities = [...full.lines.map((l) => l.quantity), ...Object.values(full.volumes).flatMap((v) => (typeof v === 'number' ? [v] : Object.values(v)))];
    expect(quantities.filter((x) => !/^\d+(\.\d{1,6})?$/.test(String(x)))).toEqual([]);
    // AND unit prices stay exact (Lambda on arm64)
    expect(json.prices.LAMBDA_GB_SECOND.usd).toBe(0.0000133334);
    expect(json.prices.CODEPIPELINE_V2_ACTION_MINUTE.source).toMatch(/CodePipeline pricing/);
  });

  it('writes the estimate to --out instead of standard output', async () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-cost-out-')), 'sub', 'cost.json');
    const r = await runDataops(['cost', '--format', 'json', '--out', out]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('');
    expect((JSON.parse(fs.readFileSync(out, 'utf8')) as { platform: string }).platform).toBe('northstar');
  });

  describe('with another config file', () => {
    let dir: string;
    beforeAll(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-cost-'));
      const raw = defaultConfigData();
      raw.monthlyBudgetUsd = 50;
      fs.writeFileSync(path.join(dir, 'small-budget.yaml'), stringify(raw));
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    it.each([['-c', 'config=PATH'], ['--config', 'PATH']])('reads it from %s %s and reports it over budget', async (flag, form) => {
      const file = path.join(dir, 'small-budget.yaml');
      const r = await runDataops(['cost', flag, form.replace('PATH', file)]);
      expect(r.stdout).toMatch(/OVER the \$50\.00 budget/);
      expect(r.exitCode).toBe(0);
    });

    it('fails with exit code 1 over budget when given --fail-over-budget', async () => {
      const r = await runDataops(['cost', '-c', path.join(dir, 'small-budget.yaml'), '--fail-over-budget']);
      expect(r.exitCode).toBe(1);
    });

    it('fails naming the file when the config does not exist', async () => {
      const r = await runDataops(['cost', '-c', path.join(dir, 'missing.yaml')]);
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toContain('missing.yaml');
    });
  });

  it('lists every option in --help', () => {
    const help = helpOf('cost');
    for (const o of ['-c, --config <path>', '--format <format>', '--out <file>', '--fail-over-budget', 'config=PATH', 'docs/cost.md']) expect(help).toContain(o);
  });
});
