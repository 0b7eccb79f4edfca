import * as fs from 'fs';
import * as path from 'path';
import { PlatformSynthError, synthPlatform } from '../helpers/synth';

interface Report {
  pluginReports: Array<{ pluginName: string; violations: Array<{ ruleName: string; severity: string; violatingConstructs: Array<{ constructPath: string }> }> }>;
}

describe('guardrails on the default configuration', () => {
  let report: Report;
  let synthError: unknown;
  // GIVEN the embedded default configuration with cdk-nag (HIPAA Security, AWS Solutions) and the
  // project's Guard rules, synthesized once (about a minute on two cores)
  beforeAll(() => {
    let dir: string;
    try {
      dir = synthPlatform({ guardrails: true }).outdir;
    } catch (e) {
      if (!(e instanceof PlatformSynthError)) throw e;
      synthError = e;
      dir = e.outdir;
    }
    report = JSON.parse(fs.readFileSync(path.join(dir, 'validation-report.json'), 'utf8')) as Report;
  }, 600_000);

  it('synthesizes without a validation failure', () => {
    expect(synthError).toBeUndefined();
  });

  it('leaves zero unacknowledged errors in validation-report.json', () => {
    // THEN no plugin reports an error that was not acknowledged (acknowledged findings are not reported)
    const errors = report.pluginReports.flatMap((p) =>
      p.violations.filter((v) => v.severity === 'error').map((v) => `${p.pluginName} ${v.ruleName}: ${v.violatingConstructs.map((c) => c.constructPath).join(', ')}`),
    );
    expect(errors).toEqual([]);
  });

  it('leaves zero unacknowledged warnings as well', () => {
    const warnings = report.pluginReports.flatMap((p) => p.violations.filter((v) => v.severity === 'warning').map((v) => `${p.pluginName} ${v.ruleName}`));
    expect(warnings).toEqual([]);
  });
});
