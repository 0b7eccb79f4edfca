import { type IAspect, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import type { IConstruct } from 'constructs';
import { type Acknowledgement, acknowledge } from './acknowledge';
import { GRAPH_REGISTRY_PREFIX } from './graph-registry';

/**
 * Wildcard actions that aws-cdk-lib's grant methods write (`bucket.grantRead`, `key.grantDecrypt`,
 * `table.grantReadWriteData`, …). Each is a fixed action group of one service, acknowledged only
 * in statements whose resources are all named (no bare `*`).
 */
export const GRANT_WILDCARD_ACTIONS: Readonly<Record<string, string>> = {
  's3:GetObject*': 'aws-cdk-lib bucket grant: GetObject, GetObjectVersion, GetObjectTagging… on the named bucket only',
  's3:GetBucket*': 'aws-cdk-lib bucket grant: GetBucketLocation and the other bucket reads, on the named bucket only',
  's3:List*': 'aws-cdk-lib bucket grant: ListBucket and ListBucketVersions on the named bucket only',
  's3:DeleteObject*': 'aws-cdk-lib bucket grant (pipeline artifacts): DeleteObject and DeleteObjectVersion on the named artifact bucket only',
  's3:PutObject*': 'aws-cdk-lib bucket grant: PutObject, PutObjectRetention… on the named bucket only',
  's3:Abort*': 'aws-cdk-lib bucket grant: AbortMultipartUpload on the named bucket only',
  'kms:GenerateDataKey*': 'aws-cdk-lib key grant: GenerateDataKey and GenerateDataKeyWithoutPlaintext on the platform CMK only',
  'kms:ReEncrypt*': 'aws-cdk-lib key grant: ReEncryptFrom and ReEncryptTo on the platform CMK only',
};

/** Actions without resource-level permissions: a statement of only these must name Resource `*`. */
export const NO_RESOURCE_LEVEL_ACTIONS: Readonly<Record<string, string>> = {
  'ecr:GetAuthorizationToken': 'ECR login token',
  'xray:PutTraceSegments': 'X-Ray trace upload',
  'xray:PutTelemetryRecords': 'X-Ray telemetry upload',
  'codepipeline:GetJobDetails': 'CodePipeline job details of a Lambda invoke action',
  'codepipeline:PutJobSuccessResult': 'CodePipeline job result of a Lambda invoke action',
  'codepipeline:PutJobFailureResult': 'CodePipeline job result of a Lambda invoke action',
  'cloudwatch:PutMetricData': 'CloudWatch metric upload (limited by a cloudwatch:namespace condition)',
  'lambda:ListFunctions': 'function listing that aws-cdk-lib adds to a Lambda invoke action role',
};

/**
 * Wildcard resources that aws-cdk-lib writes for one named resource, and the platform's own
 * prefix grants of one named bucket, by the shape of the flattened ARN (as cdk-nag prints it).
 */
export const GRANT_WILDCARD_RESOURCES: ReadonlyArray<{ pattern: RegExp; reason: string }> = [
  { pattern: /^<[A-Za-z0-9]+\.Arn>\/\*$/, reason: 'aws-cdk-lib bucket grant: the objects of one bucket of this stack' },
  { pattern: /^arn:<AWS::Partition>:s3:::[a-z0-9.-]+\/\*$/, reason: 'aws-cdk-lib bucket grant: the objects of the named platform bucket' },
  { pattern: /^<[A-Za-z0-9]+\.Arn>\/index\/\*$/, reason: 'aws-cdk-lib table grant: the indexes of the ledger table (byTime)' },
  {
    pattern: /^arn:<AWS::Partition>:codebuild:[a-z0-9-]+:\d{12}:report-group\/<[A-Za-z0-9]+>-\*$/,
    reason: 'aws-cdk-lib CodeBuild project: the test report groups the project creates, named after the project',
  },
  {
    pattern: /^arn:<AWS::Partition>:logs:[a-z0-9-]+:\d{12}:log-group:\/aws\/codebuild\/<[A-Za-z0-9]+>:\*$/,
    reason: "aws-cdk-lib CodeBuild project: log streams of the project's own default log group",
  },
  {
    pattern: new RegExp(`^arn:aws:s3:::[a-z0-9.-]+/${GRAPH_REGISTRY_PREFIX}/\\*$`),
    reason: `the cross-repo graph registry: every repo's fragment (${GRAPH_REGISTRY_PREFIX}/<repo>.json) in the named artifact bucket, read by validation, packaging and deploys; a new repo adds a fragment without changing other stacks`,
  },
  {
    pattern: /^arn:aws:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9-]+:\*$/,
    reason: 'aws-cdk-lib Lambda invoke action: versions and aliases of the one named platform function',
  },
];

interface Statement {
  readonly Effect?: string;
  readonly Action?: string | string[];
  readonly Resource?: unknown;
}

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/**
 * The acknowledgements one policy document earns: the HIPAA inline-policy finding (aws-cdk-lib
 * writes every grant into the role's inline DefaultPolicy), each grant wildcard listed above, and
 * `Resource::*` only where every action of the statement lacks resource-level permissions.
 * Anything else stays a finding.
 */
export function grantAcknowledgements(document: { Statement?: Statement[] }, inline: boolean): Acknowledgement[] {
  const out = new Map<string, string>();
  if (inline) {
    out.set(
      'HIPAA.Security-IAMNoInlinePolicy',
      "aws-cdk-lib grant methods write this role's permissions inline (DefaultPolicy); the policy belongs to exactly one role created for one purpose and cannot be attached elsewhere",
    );
  }
  for (const st of document.Statement ?? []) {
    if (st.Effect !== 'Allow') continue;
    const actions = asArray(st.Action);
    const resources = asArray(st.Resource).map((r) => flattenCfnReference(r));
    const named = resources.every((r) => r !== '*');
    for (const a of actions) {
      if (a.includes('*') && named && GRANT_WILDCARD_ACTIONS[a]) out.set(`AwsSolutions-IAM5[Action::${a}]`, GRANT_WILDCARD_ACTIONS[a]);
    }
    for (const r of resources) {
      if (r === '*') {
        if (actions.length > 0 && actions.every((a) => NO_RESOURCE_LEVEL_ACTIONS[a])) {
          out.set('AwsSolutions-IAM5[Resource::*]', `no resource-level permission exists for ${actions.map((a) => `${a} (${NO_RESOURCE_LEVEL_ACTIONS[a]})`).join(', ')}`);
        }
        continue;
      }
      if (!r.includes('*')) continue;
      const known = GRANT_WILDCARD_RESOURCES.find((g) => g.pattern.test(r));
      if (known) out.set(`AwsSolutions-IAM5[Resource::${r}]`, known.reason);
    }
  }
  return [...out].map(([id, reason]) => ({ id, reason }));
}

/**
 * Acknowledges, on each IAM policy resource, the findings that {@link grantAcknowledgements}
 * accepts for its document. Runs as an aspect, so it sees every grant added after construction.
 */
export class GrantAcknowledgements implements IAspect {
  visit(node: IConstruct): void {
    if (node instanceof iam.CfnPolicy || node instanceof iam.CfnManagedPolicy) {
      const document = Stack.of(node).resolve(node.policyDocument) as { Statement?: Statement[] };
      const acks = grantAcknowledgements(document, node instanceof iam.CfnPolicy);
      if (acks.length > 0) acknowledge(node, ...acks);
    }
  }
}
