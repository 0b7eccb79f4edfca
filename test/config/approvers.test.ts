import * as fs from 'fs';
import * as path from 'path';
import { stringify } from 'yaml';
import { parseConfig } from '../../lib/config/loader';
import { configErrorOf, defaultConfigData } from '../helpers/config';

const CONFIG_DIR = path.join(__dirname, '..', '..', 'config');

/** The default configuration as YAML text with one change to its approvers. */
function withApprovers(mutate: (approvers: { staging: unknown[]; prod: unknown[] }) => void): string {
  const raw = defaultConfigData();
  mutate(raw.approvers);
  return stringify(raw);
}

describe('approvers: separation of duties (issue 11, item 8)', () => {
  it('fails when the staging group also approves prod, naming both lists, the shared entry and the fix', () => {
    // GIVEN the default (staging: data-engineering-leads) WHEN prod adds the staging group
    const message = configErrorOf(withApprovers((a) => a.prod.push({ iamGroup: 'data-engineering-leads' })));
    // THEN one problem, at the prod entry, names the entry, both list positions and what to do
    expect(message).toContain('1 problem');
    expect(message).toMatch(
      /approvers\.prod\[2\] \(line \d+\): approver \{ iamGroup: data-engineering-leads \} is in both approvers\.staging\[0\] and approvers\.prod\[2\]; staging and prod need different approvers \(separation of duties: whoever approves a release into staging must not also approve it into prod\), so give prod its own IAM group, permission set or name, or remove it from approvers\.staging/,
    );
  });

  it.each<[string, (a: { staging: unknown[]; prod: unknown[] }) => void, RegExp]>([
    ['an IAM group written in another case (IAM group names are case-insensitive)', (a) => (a.staging = [{ iamGroup: 'Data-Platform-Owners' }]), /approvers\.prod\[0\] .*approver \{ iamGroup: data-platform-owners \} is in both approvers\.staging\[0\] and approvers\.prod\[0\]/],
    ['the same Identity Center permission set', (a) => ((a.staging = [{ identityCenterPermissionSet: 'DataOpsApprover' }]), (a.prod = [{ identityCenterPermissionSet: 'DataOpsApprover' }])), /approver \{ identityCenterPermissionSet: DataOpsApprover \} is in both approvers\.staging\[0\] and approvers\.prod\[0\]/],
    ['the same display name, spaced differently', (a) => ((a.staging = ['Head of  Data']), (a.prod = ['Chief Data Officer', 'head of data'])), /approvers\.prod\[1\] .*approver 'head of data' is in both approvers\.staging\[0\] and approvers\.prod\[1\]/],
  ])('fails on %s in both lists', (_what, mutate, expected) => {
    expect(configErrorOf(withApprovers(mutate))).toMatch(expected);
  });

  it('lists every shared entry in the one error', () => {
    // GIVEN prod approvers that are exactly the staging ones
    const message = configErrorOf(withApprovers((a) => (a.staging = [...a.prod])));
    // THEN both prod entries are named
    expect(message).toContain('2 problems');
    expect(message).toMatch(/approvers\.prod\[0\] .*data-platform-owners/);
    expect(message).toMatch(/approvers\.prod\[1\] .*clinical-data-stewards/);
  });

  it.each<[string, (a: { staging: unknown[]; prod: unknown[] }) => void]>([
    ['different IAM groups (the default)', () => undefined],
    ['a group and a permission set of the same name (different principals)', (a) => ((a.staging = [{ iamGroup: 'DataOpsApprover' }]), (a.prod = [{ identityCenterPermissionSet: 'DataOpsApprover' }]))],
  ])('accepts %s', (_what, mutate) => {
    expect(() => parseConfig(withApprovers(mutate), 'x.yaml')).not.toThrow();
  });

  it.each(fs.readdirSync(CONFIG_DIR).filter((f) => f.endsWith('.yaml')).map((f) => [f]))('keeps config/%s valid under the rule', (file) => {
    expect(() => parseConfig(fs.readFileSync(path.join(CONFIG_DIR, file), 'utf8'), file)).not.toThrow();
  });
});
