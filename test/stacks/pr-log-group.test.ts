import { execFile } from 'child_process';
import * as path from 'path';
import { promisify } from 'util';
import { CloudAssembly } from '../../tools/rehearsal/assembly';
import { accountAdmin, assumeRole, awsEnvironment, type AwsTarget, type Credentials } from '../../tools/rehearsal/aws';
import { enforceIam, provisionRoles } from '../../tools/rehearsal/iam';
import { Resolver } from '../../tools/rehearsal/intrinsics';
import { readRoles, type RoleModel } from '../../tools/rehearsal/model';
import { motoTargetOf } from '../helpers/rehearsal';
import { ROOT, startMoto, type LocalServer } from '../helpers/servers';
import { synthPlatform } from '../helpers/synth';

// Issue 11, item 5: PR builds run pull-request code, so their role must not reach the log group of the
// Package and Deploy builds, whose logs approvers trust. Played against moto with IAM enforcement,
// with the roles and policies exactly as synthesized. CloudWatch Logs is called with the AWS CLI of the
// emulators venv, as a build's own tools would (the project has no Logs SDK client).
jest.setTimeout(180_000);

/** Runs `aws logs <args>` as `credentials`; rejects with the CLI's error text. */
async function awsLogs(aws: AwsTarget, credentials: Credentials, ...args: string[]): Promise<void> {
  await promisify(execFile)(path.join(ROOT, '.venv', 'emulators', 'bin', 'aws'), ['logs', ...args], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...awsEnvironment(aws, credentials) } }).catch((e: { stderr?: string; message: string }) => {
    throw new Error(e.stderr?.trim() || e.message);
  });
}

describe('PR builds log to a group of their own', () => {
  let moto: LocalServer;
  let aws: AwsTarget;
  let roles: RoleModel[];
  let groups: { release: string; pr: string };
  let account: string;

  beforeAll(async () => {
    const { outdir, config } = synthPlatform();
    const assembly = CloudAssembly.read(outdir);
    const resolver = new Resolver(assembly);
    const repo = config.repos[0].name;
    const stack = assembly.stack(`DataOpsPipeline-${repo}`);
    account = stack.account;
    const logGroupOf = (id: string) => resolver.resource(stack, Object.keys(stack.resources).find((k) => stack.resources[k].Type === 'AWS::Logs::LogGroup' && k.startsWith(id))!).ref;
    groups = { release: logGroupOf('BuildLogs'), pr: logGroupOf('PrBuildLogs') };
    const all = [...readRoles(assembly, resolver).values()].filter((r) => r.stackId === stack.id);
    roles = [all.find((r) => r.logicalId.startsWith('PrValidation'))!, all.find((r) => /Package/.test(r.logicalId))!];
    moto = await startMoto();
    aws = await enforceIam(motoTargetOf(moto), account, [account]);
    await provisionRoles(aws, roles, new Map());
    const admin = await accountAdmin(aws, account);
    for (const g of Object.values(groups)) await awsLogs(aws, admin, 'create-log-group', '--log-group-name', g);
  });
  afterAll(async () => moto?.stop());

  const write = async (role: RoleModel, group: string, stream: string) => {
    const creds = await assumeRole(aws, role.arn, 'build');
    await awsLogs(aws, creds, 'create-log-stream', '--log-group-name', group, '--log-stream-name', stream);
    await awsLogs(aws, creds, 'put-log-events', '--log-group-name', group, '--log-stream-name', stream, '--log-events', JSON.stringify([{ timestamp: Date.now(), message: 'Package: release sha256 verified' }]));
  };

  it('synthesizes two groups, and the PR project logs to its own', () => {
    expect(groups.pr).not.toBe(groups.release);
    expect(roles.map((r) => r.logicalId)).toEqual([expect.stringMatching(/^PrValidation/), expect.stringMatching(/Package/)]);
  });

  it("refuses a PR build's write into the release builds' log group, naming the action and the stream", async () => {
    await expect(write(roles[0], groups.release, 'rehearsal-package/forged')).rejects.toThrow(new RegExp(`not authorized to perform: logs:CreateLogStream on resource: arn:aws:logs:[^:]+:${account}:log-group:${groups.release}:log-stream:rehearsal-package/forged`));
  });

  it('lets each build write its own group', async () => {
    await expect(write(roles[0], groups.pr, 'pr/1')).resolves.toBeUndefined();
    await expect(write(roles[1], groups.release, 'package/1')).resolves.toBeUndefined();
  });
});
