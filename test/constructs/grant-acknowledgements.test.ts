import { grantAcknowledgements } from '../../lib/constructs/grant-acknowledgements';

const ids = (doc: Parameters<typeof grantAcknowledgements>[0], inline = false) => grantAcknowledgements(doc, inline).map((a) => a.id).sort();
const allow = (Action: string | string[], Resource: unknown) => ({ Statement: [{ Effect: 'Allow', Action, Resource }] });

describe('grantAcknowledgements', () => {
  it.each([
    ['a CDK bucket grant on one bucket', allow(['s3:GetObject*', 's3:GetBucket*', 's3:List*'], [{ 'Fn::GetAtt': ['Bucket1', 'Arn'] }, { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Bucket1', 'Arn'] }, '/*']] }]), [
      'AwsSolutions-IAM5[Action::s3:GetBucket*]',
      'AwsSolutions-IAM5[Action::s3:GetObject*]',
      'AwsSolutions-IAM5[Action::s3:List*]',
      'AwsSolutions-IAM5[Resource::<Bucket1.Arn>/*]',
    ]],
    ['a CDK key grant', allow(['kms:Decrypt', 'kms:GenerateDataKey*'], { 'Fn::ImportValue': 'Tooling:KeyArn' }), ['AwsSolutions-IAM5[Action::kms:GenerateDataKey*]']],
    ['the ECR login', allow('ecr:GetAuthorizationToken', '*'), ['AwsSolutions-IAM5[Resource::*]']],
    ['the ledger table indexes', allow('dynamodb:Query', [{ 'Fn::Join': ['', [{ 'Fn::GetAtt': ['LedgerTable9343E4AA', 'Arn'] }, '/index/*']] }]), [
      'AwsSolutions-IAM5[Resource::<LedgerTable9343E4AA.Arn>/index/*]',
    ]],
    ['the graph registry of the artifact bucket', allow('s3:GetObject', 'arn:aws:s3:::northstar-artifacts-111111111111-us-east-1/graph/*'), [
      'AwsSolutions-IAM5[Resource::arn:aws:s3:::northstar-artifacts-111111111111-us-east-1/graph/*]',
    ]],
  ])('acknowledges %s', (_label, doc, expected) => {
    expect(ids(doc)).toEqual(expected);
  });

  it.each([
    ['a grant wildcard on every resource', allow('s3:GetObject*', '*')],
    ['an unknown wildcard action', allow('s3:*', 'arn:aws:s3:::bucket')],
    ['Resource * for an action that has resource-level permissions', allow(['ecr:GetAuthorizationToken', 's3:GetObject'], '*')],
    ['an unknown wildcard resource', allow('s3:GetObject', 'arn:aws:s3:::*')],
    ['Action *', allow('*', 'arn:aws:s3:::bucket/key')],
    ['a prefix of the artifact bucket other than graph/', allow('s3:GetObject', 'arn:aws:s3:::northstar-artifacts-111111111111-us-east-1/releases/*')],
    ['a wildcard below graph/', allow('s3:GetObject', 'arn:aws:s3:::northstar-artifacts-111111111111-us-east-1/graph/*/*')],
  ])('fails to acknowledge %s', (_label, doc) => {
    expect(ids(doc)).toEqual([]);
  });

  it('ignores Deny statements', () => {
    expect(ids({ Statement: [{ Effect: 'Deny', Action: 's3:GetObject*', Resource: '*' }] })).toEqual([]);
  });

  it('acknowledges the HIPAA inline-policy finding only for inline policies', () => {
    expect(ids({ Statement: [] }, true)).toEqual(['HIPAA.Security-IAMNoInlinePolicy']);
    expect(ids({ Statement: [] }, false)).toEqual([]);
  });
});
