import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CloudAssembly } from '../../../tools/rehearsal/assembly';
import { RehearsalError } from '../../../tools/rehearsal/errors';
import { Resolver } from '../../../tools/rehearsal/intrinsics';
import { readPipeline } from '../../../tools/rehearsal/model';
import { resolveVariables } from '../../../tools/rehearsal/variables';

// Bad input to the rehearsal fails at once, naming it: a cloud assembly that cannot be read, a repo
// not in it, an action type or intrinsic the rehearsal does not know, a variable no action produced.

interface Action {
  Name: string;
  ActionTypeId: { Category: string; Owner: string; Provider: string; Version: string };
  Configuration?: Record<string, unknown>;
  RunOrder?: number;
}

/** A cloud assembly of one pipeline stack (repo `orders`) whose single stage holds `actions`. */
function writeAssembly(actions: Action[], extraResources: Record<string, unknown> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rehearsal-assembly-'));
  const template = {
    Resources: {
      Role: { Type: 'AWS::IAM::Role', Properties: { RoleName: 'pipeline-role', AssumeRolePolicyDocument: { Statement: [{ Effect: 'Allow', Principal: { Service: 'codepipeline.amazonaws.com' }, Action: 'sts:AssumeRole' }] } } },
      Pipeline: {
        Type: 'AWS::CodePipeline::Pipeline',
        Properties: {
          Name: 'acme-orders',
          RoleArn: { 'Fn::GetAtt': ['Role', 'Arn'] },
          ArtifactStore: { Type: 'S3', Location: 'acme-artifacts' },
          Stages: [{ Name: 'Only', Actions: actions }],
        },
      },
      ...extraResources,
    },
  };
  fs.writeFileSync(path.join(dir, 'DataOpsPipeline-orders.template.json'), JSON.stringify(template));
  fs.writeFileSync(
    path.join(dir, 'manifest.json'),
    JSON.stringify({ version: '55.0.0', artifacts: { 'DataOpsPipeline-orders': { type: 'aws:cloudformation:stack', environment: 'aws://111111111111/us-east-1', properties: { templateFile: 'DataOpsPipeline-orders.template.json' } } } }),
  );
  return dir;
}

const approval: Action = { Name: 'Approve', ActionTypeId: { Category: 'Approval', Owner: 'AWS', Provider: 'Manual', Version: '1' }, Configuration: { CustomData: 'ship it' } };

describe('the rehearsal reads the cloud assembly cdk synth wrote', () => {
  it('reads a pipeline: stages, actions and the pipeline role resolved from Fn::GetAtt', () => {
    // GIVEN an assembly with one approval action
    const dir = writeAssembly([approval]);
    // WHEN the pipeline of repo orders is read
    const p = readPipeline(CloudAssembly.read(dir), 'orders');
    // THEN its name, role and action come from the template, intrinsics resolved
    expect(p).toMatchObject({ name: 'acme-orders', roleArn: 'arn:aws:iam::111111111111:role/pipeline-role', artifactBucket: 'acme-artifacts', account: '111111111111' });
    expect(p.stages[0].actions).toEqual([expect.objectContaining({ name: 'Approve', type: 'Approval/Manual', runOrder: 1, configuration: { CustomData: 'ship it' } })]);
  });

  it('fails naming the folder and the fix when the assembly cannot be read', () => {
    // WHEN the folder holds no manifest.json
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rehearsal-empty-'));
    // THEN the error names the file and says to synthesize
    expect(() => CloudAssembly.read(dir)).toThrow(`cloud assembly manifest ${dir}/manifest.json cannot be read (ENOENT: no such file or directory, open '${dir}/manifest.json'); run 'npx cdk synth' first, or pass --assembly with the folder cdk synth wrote`);
  });

  it('fails naming the file when a template is not JSON', () => {
    const dir = writeAssembly([approval]);
    fs.writeFileSync(path.join(dir, 'DataOpsPipeline-orders.template.json'), '{ not json');
    expect(() => CloudAssembly.read(dir)).toThrow(/template of stack DataOpsPipeline-orders .*DataOpsPipeline-orders\.template\.json is not JSON/);
  });

  it('fails naming the repo and the repos the assembly has when the repo has no pipeline in it', () => {
    const dir = writeAssembly([approval]);
    expect(() => readPipeline(CloudAssembly.read(dir), 'payments')).toThrow(new RehearsalError(`repo 'payments' has no pipeline in the cloud assembly ${dir} (no stack DataOpsPipeline-payments); its repos are orders: pass one of them, or synthesize the configuration that has payments`));
  });

  it('fails naming the action and its type when the rehearsal does not run that action type', () => {
    // GIVEN an S3 deploy action, which the platform's pipelines never use
    const dir = writeAssembly([approval, { Name: 'Publish', ActionTypeId: { Category: 'Deploy', Owner: 'AWS', Provider: 'S3', Version: '1' }, RunOrder: 2 }]);
    // THEN reading the pipeline fails before anything runs
    expect(() => readPipeline(CloudAssembly.read(dir), 'orders')).toThrow(/action Only\/Publish of DataOpsPipeline-orders is of type Deploy\/S3, which the rehearsal does not run \(it runs Source\/CodeStarSourceConnection, Build\/CodeBuild, Invoke\/Lambda, Approval\/Manual\)/);
  });

  it('fails naming the intrinsic it cannot resolve', () => {
    const dir = writeAssembly([{ ...approval, Configuration: { CustomData: { 'Fn::Base64': 'x' } } }]);
    expect(() => readPipeline(CloudAssembly.read(dir), 'orders')).toThrow(/uses the intrinsic Fn::Base64, which the rehearsal does not resolve/);
  });

  it('resolves Fn::Sub, Fn::Join and Fn::ImportValue as CloudFormation would', () => {
    const dir = writeAssembly([approval], { Bucket: { Type: 'AWS::S3::Bucket', Properties: { BucketName: 'acme-logs' } } });
    const assembly = CloudAssembly.read(dir);
    const stack = assembly.stack('DataOpsPipeline-orders');
    const r = new Resolver(assembly);
    expect(r.value(stack, { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${Bucket}/x-${AWS::AccountId}' })).toBe('arn:aws:s3:::acme-logs/x-111111111111');
    expect(r.value(stack, { 'Fn::Join': ['/', [{ 'Fn::GetAtt': ['Bucket', 'Arn'] }, 'k']] })).toBe('arn:aws:s3:::acme-logs/k');
    expect(() => r.value(stack, { 'Fn::ImportValue': 'nope' })).toThrow(/no stack of the cloud assembly .* exports 'nope'/);
  });
});

describe('pipeline variables', () => {
  it('resolves #{Namespace.Variable} from what earlier actions produced', () => {
    const vars = new Map<string, Record<string, string>>([['Package', { RELEASE_VERSION: '20261203.1+abc1234' }], ['codepipeline', { PipelineExecutionId: 'e-1' }]]);
    expect(resolveVariables('release #{Package.RELEASE_VERSION} in #{codepipeline.PipelineExecutionId}', vars, 'action A')).toBe('release 20261203.1+abc1234 in e-1');
  });

  it('fails naming the variable and the known ones when no earlier action produced it', () => {
    const vars = new Map([['codepipeline', { PipelineExecutionId: 'e-1' }]]);
    expect(() => resolveVariables('#{Package.RELEASE_VERSION}', vars, 'action Staging/Approve')).toThrow(
      new RehearsalError('action Staging/Approve uses #{Package.RELEASE_VERSION}, which no earlier action of the execution produced (known: codepipeline.PipelineExecutionId)'),
    );
  });
});
