import { AttachRolePolicyCommand, CreateAccessKeyCommand, CreatePolicyCommand, CreateRoleCommand, CreateUserCommand, IAMClient, PutRolePolicyCommand, PutUserPolicyCommand } from '@aws-sdk/client-iam';
import { accountAdmin, assumeRole, clientConfig, type AwsTarget } from './aws';
import { RehearsalError } from './errors';
import type { RoleModel } from './model';

/** Name of the administrator role the rehearsal creates in each account of the AWS stand-in to provision with. */
export const ADMIN_ROLE = 'dataops-rehearsal-admin';

const ALLOW_ALL = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] });
const TRUST_ANYONE = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: ['sts:AssumeRole', 'sts:TagSession'] }] });

const ignoreExists = (e: unknown): void => {
  if (!/EntityAlreadyExists/.test((e as Error).name)) throw e;
};

/**
 * Turns IAM enforcement on in a moto server of its own: creates an administrator role in every
 * account and an administrator user in `toolingAccount` while moto still lets calls through, then
 * switches enforcement on (moto's `POST /moto-api/reset-auth` with 0, the server-mode form of
 * INITIAL_NO_AUTH_ACTION_COUNT). From then on every call needs a known key and is allowed only by
 * the caller's policies. Returns the target with the administrator user's key.
 */
export async function enforceIam(target: AwsTarget, toolingAccount: string, accounts: readonly string[]): Promise<AwsTarget> {
  for (const account of new Set([toolingAccount, ...accounts])) {
    const iam = new IAMClient(clientConfig(target, await accountAdmin(target, account)));
    await iam.send(new CreateRoleCommand({ RoleName: ADMIN_ROLE, AssumeRolePolicyDocument: TRUST_ANYONE })).catch(ignoreExists);
    await iam.send(new PutRolePolicyCommand({ RoleName: ADMIN_ROLE, PolicyName: 'everything', PolicyDocument: ALLOW_ALL }));
    iam.destroy();
  }
  const iam = new IAMClient(clientConfig(target, await accountAdmin(target, toolingAccount)));
  await iam.send(new CreateUserCommand({ UserName: 'dataops-rehearsal' })).catch(ignoreExists);
  await iam.send(new PutUserPolicyCommand({ UserName: 'dataops-rehearsal', PolicyName: 'everything', PolicyDocument: ALLOW_ALL }));
  const key = await iam.send(new CreateAccessKeyCommand({ UserName: 'dataops-rehearsal' }));
  iam.destroy();
  if (!key.AccessKey?.AccessKeyId || !key.AccessKey.SecretAccessKey) throw new RehearsalError('moto returned no access key for the rehearsal user');
  const res = await fetch(`${target.endpoint}/moto-api/reset-auth`, { method: 'POST', body: '0' });
  if (!res.ok) throw new RehearsalError(`moto at ${target.endpoint} refused to turn IAM enforcement on (HTTP ${res.status}); the rehearsal needs a moto server of its own`);
  return { ...target, credentials: { accessKeyId: key.AccessKey.AccessKeyId, secretAccessKey: key.AccessKey.SecretAccessKey } };
}

/**
 * Statements as the stand-in can evaluate them. moto matches actions and resources but evaluates no
 * condition key of an identity policy (it treats every condition as met), so a Deny statement with a
 * condition would deny always: it is left out, and listed in the returned notes. Allow statements keep
 * their conditions (moto treats them as met: the rehearsal proves actions and resources, not conditions).
 */
export function evaluablePolicy(document: unknown): { document: string; notes: string[] } {
  const doc = (document ?? {}) as { Version?: string; Statement?: unknown };
  const statements = Array.isArray(doc.Statement) ? (doc.Statement as Array<Record<string, unknown>>) : doc.Statement ? [doc.Statement as Record<string, unknown>] : [];
  const notes: string[] = [];
  const kept = statements.filter((s) => {
    if (s.Effect === 'Deny' && s.Condition) {
      notes.push(`Deny ${JSON.stringify(s.Action ?? s.NotAction)} with condition ${JSON.stringify(s.Condition)} is not evaluated`);
      return false;
    }
    return true;
  });
  return { document: JSON.stringify({ Version: doc.Version ?? '2012-10-17', Statement: kept }), notes };
}

/** The service principals a role's trust policy names. */
export function trustedServices(role: RoleModel): string[] {
  const doc = (role.trustPolicy ?? {}) as { Statement?: Array<{ Effect?: string; Principal?: { Service?: string | string[] } }> };
  return (doc.Statement ?? []).filter((s) => s.Effect === 'Allow').flatMap((s) => [s.Principal?.Service ?? []].flat());
}

/**
 * Creates the roles in their accounts of the stand-in with the policies the templates give them:
 * inline policies (AWS::IAM::Policy and Policies) and customer-managed policies (AWS::IAM::ManagedPolicy)
 * attached. moto cannot evaluate service or account principals in a trust policy, so each role trusts
 * the rehearsal's administrator there; the rehearsal checks the synthesized trust itself before it
 * runs a build or function as the role ({@link assumeServiceRole}).
 */
export async function provisionRoles(target: AwsTarget, roles: readonly RoleModel[], managedPolicies: ReadonlyMap<string, unknown>): Promise<string[]> {
  const notes: string[] = [];
  const byAccount = new Map<string, RoleModel[]>();
  for (const r of roles) byAccount.set(r.account, [...(byAccount.get(r.account) ?? []), r]);
  for (const [account, list] of byAccount) {
    const iam = new IAMClient(clientConfig(target, await accountAdmin(target, account)));
    try {
      for (const r of list) {
        await iam.send(new CreateRoleCommand({ RoleName: r.name, AssumeRolePolicyDocument: TRUST_ANYONE, Description: `${r.stackId}/${r.logicalId}` })).catch(ignoreExists);
        for (const p of r.inlinePolicies) {
          const { document, notes: n } = evaluablePolicy(p.document);
          notes.push(...n.map((x) => `${r.name}/${p.name}: ${x}`));
          await iam.send(new PutRolePolicyCommand({ RoleName: r.name, PolicyName: p.name.slice(0, 128), PolicyDocument: document }));
        }
        for (const arn of r.managedPolicyArns) {
          const doc = managedPolicies.get(arn);
          if (doc === undefined) {
            notes.push(`${r.name}: managed policy ${arn} is not in the assembly and is not attached`);
            continue;
          }
          const { document, notes: n } = evaluablePolicy(doc);
          notes.push(...n.map((x) => `${arn}: ${x}`));
          await iam.send(new CreatePolicyCommand({ PolicyName: arn.split('/').pop(), PolicyDocument: document })).catch(ignoreExists);
          await iam.send(new AttachRolePolicyCommand({ RoleName: r.name, PolicyArn: arn }));
        }
      }
    } finally {
      iam.destroy();
    }
  }
  return notes;
}

/**
 * Credentials of a role as the service `service` (codebuild.amazonaws.com, lambda.amazonaws.com)
 * receives them. Fails, naming the role and its trusted principals, when the synthesized trust policy
 * does not let that service assume it.
 */
export async function assumeServiceRole(target: AwsTarget, role: RoleModel | undefined, roleArn: string, service: string, session: string) {
  if (!role) throw new RehearsalError(`role ${roleArn} is not defined in the cloud assembly; the rehearsal runs only roles the templates define`);
  const trusted = trustedServices(role);
  if (!trusted.includes(service)) {
    throw new RehearsalError(`role ${role.name} (${role.stackId}/${role.logicalId}) does not trust ${service}, which runs as it; its trust policy names ${trusted.join(', ') || 'no service'}`);
  }
  return assumeRole(target, roleArn, session);
}
