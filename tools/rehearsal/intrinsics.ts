import type { AssemblyStack, CloudAssembly, TemplateResource } from './assembly';
import { RehearsalError } from './errors';

/** What a resource resolves to: `Ref` and the `Arn` attribute (and any other attribute known). */
export interface PhysicalResource {
  readonly ref: string;
  readonly attributes: Readonly<Record<string, string>>;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * The physical name and ARN CloudFormation gives a resource: its explicit name property where the
 * template sets one, else `<stack>-<logicalId>` (lower case where the service wants it), as
 * CloudFormation generates names. Resources whose identity the rehearsal provisions (a KMS key id)
 * come from `overrides`.
 */
export function physicalResource(stack: AssemblyStack, logicalId: string, resource: TemplateResource, named: (v: unknown) => string | undefined): PhysicalResource {
  const p = resource.Properties ?? {};
  const { account, region } = stack;
  const generated = `${stack.id}-${logicalId}`;
  switch (resource.Type) {
    case 'AWS::IAM::Role': {
      const name = named(p.RoleName) ?? generated.slice(0, 64);
      const rolePath = named(p.Path) ?? '/';
      return { ref: name, attributes: { Arn: `arn:aws:iam::${account}:role${rolePath}${name}` } };
    }
    case 'AWS::IAM::ManagedPolicy': {
      const name = named(p.ManagedPolicyName) ?? generated.slice(0, 128);
      const arn = `arn:aws:iam::${account}:policy/${name}`;
      return { ref: arn, attributes: { PolicyArn: arn } };
    }
    case 'AWS::IAM::Policy':
      return { ref: named(p.PolicyName) ?? generated, attributes: {} };
    case 'AWS::CodeBuild::Project': {
      const name = named(p.Name) ?? generated;
      return { ref: name, attributes: { Arn: `arn:aws:codebuild:${region}:${account}:project/${name}` } };
    }
    case 'AWS::Logs::LogGroup': {
      const name = named(p.LogGroupName) ?? generated;
      return { ref: name, attributes: { Arn: `arn:aws:logs:${region}:${account}:log-group:${name}:*` } };
    }
    case 'AWS::CloudWatch::Alarm': {
      const name = named(p.AlarmName) ?? generated;
      return { ref: name, attributes: { Arn: `arn:aws:cloudwatch:${region}:${account}:alarm:${name}` } };
    }
    case 'AWS::S3::Bucket': {
      const name = named(p.BucketName) ?? generated.toLowerCase().slice(0, 63);
      return { ref: name, attributes: { Arn: `arn:aws:s3:::${name}`, DomainName: `${name}.s3.amazonaws.com`, RegionalDomainName: `${name}.s3.${region}.amazonaws.com` } };
    }
    case 'AWS::DynamoDB::Table': {
      const name = named(p.TableName) ?? generated;
      return { ref: name, attributes: { Arn: `arn:aws:dynamodb:${region}:${account}:table/${name}` } };
    }
    case 'AWS::Lambda::Function': {
      const name = named(p.FunctionName) ?? generated.slice(0, 64);
      return { ref: name, attributes: { Arn: `arn:aws:lambda:${region}:${account}:function:${name}` } };
    }
    case 'AWS::SNS::Topic': {
      const name = named(p.TopicName) ?? generated;
      const arn = `arn:aws:sns:${region}:${account}:${name}`;
      return { ref: arn, attributes: { TopicArn: arn, TopicName: name } };
    }
    case 'AWS::SQS::Queue': {
      const name = named(p.QueueName) ?? generated;
      return { ref: `https://sqs.${region}.amazonaws.com/${account}/${name}`, attributes: { Arn: `arn:aws:sqs:${region}:${account}:${name}`, QueueName: name } };
    }
    case 'AWS::ECR::Repository': {
      const name = named(p.RepositoryName) ?? generated.toLowerCase();
      return { ref: name, attributes: { Arn: `arn:aws:ecr:${region}:${account}:repository/${name}`, RepositoryUri: `${account}.dkr.ecr.${region}.amazonaws.com/${name}` } };
    }
    case 'AWS::KMS::Key': {
      // a stable stand-in key id; the environment that provisions the key passes the real one as an override
      const id = `00000000-0000-4000-8000-${Buffer.from(logicalId).toString('hex').padEnd(12, '0').slice(0, 12)}`;
      return { ref: id, attributes: { Arn: `arn:aws:kms:${region}:${account}:key/${id}`, KeyId: id } };
    }
    case 'AWS::Events::Rule': {
      const name = named(p.Name) ?? generated;
      return { ref: name, attributes: { Arn: `arn:aws:events:${region}:${account}:rule/${name}` } };
    }
    case 'AWS::CodePipeline::Pipeline':
      return { ref: named(p.Name) ?? generated, attributes: {} };
    default:
      return { ref: generated, attributes: {} };
  }
}

/**
 * Resolves the intrinsic functions a synthesized template uses (Ref, Fn::GetAtt, Fn::Join, Fn::Sub,
 * Fn::Select, Fn::Split, Fn::ImportValue and the pseudo parameters) to the values CloudFormation would
 * give them in the stack's account and region. An intrinsic it does not know fails, naming it.
 */
export class Resolver {
  private readonly cache = new Map<string, PhysicalResource>();

  constructor(
    private readonly assembly: CloudAssembly,
    private readonly overrides: ReadonlyMap<string, PhysicalResource> = new Map(),
  ) {}

  /** The physical resource of `logicalId` in `stack`. */
  resource(stack: AssemblyStack, logicalId: string): PhysicalResource {
    const key = `${stack.id}/${logicalId}`;
    const known = this.overrides.get(key) ?? this.cache.get(key);
    if (known) return known;
    const r = stack.resources[logicalId];
    if (!r) throw new RehearsalError(`stack ${stack.id} has no resource ${logicalId} (referenced by Ref or Fn::GetAtt); synthesize again with 'npx cdk synth'`);
    const physical = physicalResource(stack, logicalId, r, (v) => (v === undefined ? undefined : this.string(stack, v, `${logicalId} name`)));
    this.cache.set(key, physical);
    return physical;
  }

  /** Resolves `value` (any JSON) in `stack`. */
  value(stack: AssemblyStack, value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.value(stack, v));
    if (value === null || typeof value !== 'object') return value;
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) return this.intrinsic(stack, keys[0], obj[keys[0]]);
    return Object.fromEntries(keys.map((k) => [k, this.value(stack, obj[k])]));
  }

  /** Resolves `value` to a string; `what` names it in the error when it is not one. */
  string(stack: AssemblyStack, value: unknown, what: string): string {
    const v = this.value(stack, value);
    if (typeof v !== 'string') throw new RehearsalError(`${what} in stack ${stack.id} resolves to ${JSON.stringify(v)}, not a string`);
    return v;
  }

  private pseudo(stack: AssemblyStack, name: string): string | undefined {
    const values: Record<string, string> = {
      'AWS::AccountId': stack.account,
      'AWS::Region': stack.region,
      'AWS::Partition': 'aws',
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': stack.id,
      'AWS::StackId': `arn:aws:cloudformation:${stack.region}:${stack.account}:stack/${stack.id}/00000000-0000-0000-0000-000000000000`,
      'AWS::NoValue': '',
    };
    return values[name];
  }

  private intrinsic(stack: AssemblyStack, fn: string, arg: unknown): unknown {
    switch (fn) {
      case 'Ref': {
        const name = str(arg) ?? '';
        return this.pseudo(stack, name) ?? this.resource(stack, name).ref;
      }
      case 'Fn::GetAtt': {
        const [id, attr] = Array.isArray(arg) ? (arg as string[]) : String(arg).split('.');
        const physical = this.resource(stack, id);
        const v = physical.attributes[attr];
        if (v === undefined) throw new RehearsalError(`Fn::GetAtt ${id}.${attr} in stack ${stack.id}: the rehearsal does not know the ${attr} attribute of a ${stack.resources[id]?.Type}; add it to tools/rehearsal/intrinsics.ts`);
        return v;
      }
      case 'Fn::Join': {
        const [sep, parts] = arg as [string, unknown[]];
        return (this.value(stack, parts) as unknown[]).map(String).join(sep);
      }
      case 'Fn::Select': {
        const [index, list] = arg as [unknown, unknown];
        return (this.value(stack, list) as unknown[])[Number(this.value(stack, index))];
      }
      case 'Fn::Split': {
        const [sep, source] = arg as [string, unknown];
        return this.string(stack, source, 'Fn::Split source').split(sep);
      }
      case 'Fn::Sub': {
        const [template, vars] = Array.isArray(arg) ? (arg as [string, Record<string, unknown>]) : [arg as string, {}];
        return template.replace(/\$\{([^}!][^}]*)\}/g, (_m, name: string) => {
          if (name in vars) return String(this.value(stack, vars[name]));
          const pseudo = this.pseudo(stack, name);
          if (pseudo !== undefined) return pseudo;
          const [id, attr] = name.split('.');
          return attr ? String(this.intrinsic(stack, 'Fn::GetAtt', [id, attr])) : this.resource(stack, id).ref;
        });
      }
      case 'Fn::ImportValue': {
        const name = this.string(stack, arg, 'Fn::ImportValue name');
        const exported = this.assembly.exportOf(name);
        return this.value(exported.stack, exported.value);
      }
      default:
        throw new RehearsalError(`stack ${stack.id} uses the intrinsic ${fn}, which the rehearsal does not resolve; add it to tools/rehearsal/intrinsics.ts`);
    }
  }
}
