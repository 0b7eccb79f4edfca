import * as fs from 'fs';
import * as path from 'path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { parse } from 'yaml';
import { PlatformNames } from '../../lib/constructs/names';
import { PROJECT_ROOT } from '../../lib/constructs/platform-function';
import { makeTestConfig } from '../helpers/config';
import { synthPlatform } from '../helpers/synth';

describe('toolchain image build (DataOpsTooling)', () => {
  const config = makeTestConfig();
  const names = new PlatformNames(config);

  it('builds in a privileged, KMS-encrypted project that logs to a KMS log group and pushes the configured tag', () => {
    // GIVEN the default platform
    const template = Template.fromStack(synthPlatform().platform.tooling);
    // THEN the project runs Docker (privileged), encrypts with the platform key and knows where to push
    template.hasResourceProperties('AWS::CodeBuild::Project', {
      Name: names.toolchainImageProjectName(),
      Source: Match.objectLike({ Type: 'S3' }),
      EncryptionKey: Match.anyValue(),
      LogsConfig: { CloudWatchLogs: Match.objectLike({ Status: 'ENABLED', GroupName: Match.anyValue() }) },
      Environment: Match.objectLike({
        PrivilegedMode: true,
        EnvironmentVariables: Match.arrayWith([
          Match.objectLike({ Name: 'IMAGE_REPOSITORY_NAME', Value: Match.anyValue() }),
          { Name: 'IMAGE_TAG', Type: 'PLAINTEXT', Value: config.ci.toolchainImageTag },
        ]),
      }),
    });
    // AND its role may push only to the toolchain repository
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as Array<{ Properties: { PolicyDocument: { Statement: Array<{ Action: string | string[]; Resource: unknown }> } } }>;
    const pushes = policies.flatMap((p) => p.Properties.PolicyDocument.Statement).filter((s) => [s.Action].flat().includes('ecr:PutImage'));
    expect(pushes).toHaveLength(1);
    expect(JSON.stringify(pushes[0].Resource)).toMatch(/ToolchainRepository/);
  });

  it('ships a buildspec that builds buildspecs/toolchain/Dockerfile and pushes <repository>:<tag>', () => {
    const spec = parse(fs.readFileSync(path.join(PROJECT_ROOT, 'buildspecs', 'toolchain-image.yml'), 'utf8')) as { phases: Record<string, { commands: string[] }> };
    const commands = Object.values(spec.phases).flatMap((p) => p.commands).join('\n');
    expect(commands).toContain('docker build -f buildspecs/toolchain/Dockerfile');
    expect(commands).toContain('docker push "$IMAGE_REPOSITORY_URI:$IMAGE_TAG"');
    // AND it refuses an existing tag instead of overwriting it
    expect(commands).toMatch(/describe-images .*imageTag="\$IMAGE_TAG"[\s\S]*exit 3/);
  });
});
