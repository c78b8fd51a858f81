/**
 * How long a synthesized value can get once CloudFormation fills in its references, for the
 * limits a deploy can break: Lambda's 4 KB environment and 20 KB resource policy, a dashboard's
 * 1 MB body, a name's length. Names CloudFormation generates (`{stack}-{logicalId}-{suffix}`),
 * ids and ARNs are only known after a deploy, so each reference is replaced by the longest value
 * it can take: the longest region, partition and URL suffix, generated names at their length.
 */
import { CfnResource, Stack, Token } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** Lambda refuses a function whose environment (all names and values, as JSON) is larger. */
export const LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4 * 1024;

/** What rendering needs to know about the template. */
export interface RenderContext {
  readonly stackName: string;
  /** A resource of the template by logical id: its type, and its properties when known. */
  resource(logicalId: string): { readonly Type: string; readonly Properties?: Record<string, unknown> } | undefined;
  readonly mappings?: Record<string, Record<string, Record<string, unknown>>>;
}

// The longest of each across AWS's partitions: ap-southeast-5, aws-us-gov, amazonaws.com.cn.
const REGION = 'ap-southeast-5';
const ACCOUNT = '123456789012';
const PARTITION = 'aws-us-gov';
const URL_SUFFIX = 'amazonaws.com.cn';
/** CloudFormation's random suffix on a generated name. */
const SUFFIX = 'ABCDEFGHIJKLM';

/** Generated-name limits of the types whose `Ref` is a name (CloudFormation cuts the name to fit). */
const NAME_LIMITS: Record<string, { property: string; max: number }> = {
  'AWS::DynamoDB::Table': { property: 'TableName', max: 255 },
  'AWS::Lambda::Function': { property: 'FunctionName', max: 64 },
  'AWS::IAM::Role': { property: 'RoleName', max: 64 },
  'AWS::IAM::Policy': { property: 'PolicyName', max: 128 },
  'AWS::Logs::LogGroup': { property: 'LogGroupName', max: 512 },
  'AWS::CloudWatch::Alarm': { property: 'AlarmName', max: 255 },
  'AWS::CloudWatch::CompositeAlarm': { property: 'AlarmName', max: 255 },
  'AWS::CloudWatch::Dashboard': { property: 'DashboardName', max: 255 },
  'AWS::Events::EventBus': { property: 'Name', max: 256 },
  'AWS::SNS::Topic': { property: 'TopicName', max: 256 },
  // A statement id, which Lambda limits to 100 characters.
  'AWS::Lambda::Permission': { property: '', max: 100 },
};

/**
 * The value with every intrinsic function replaced by the longest string (or list) it can become.
 * Unknown functions become a long placeholder, so a limit errs towards refusing.
 */
export function longestRendering(value: unknown, context: RenderContext): unknown {
  return new Renderer(context).value(value);
}

class Renderer {
  constructor(private readonly context: RenderContext) {}

  value(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.value(v)).filter((v) => v !== undefined);
    if (typeof value !== 'object' || value === null) return value;
    const entries = Object.entries(value);
    if (entries.length === 1 && (entries[0][0] === 'Ref' || entries[0][0].startsWith('Fn::')))
      return this.intrinsic(entries[0][0], entries[0][1]);
    return Object.fromEntries(entries.map(([k, v]) => [k, this.value(v)]).filter(([, v]) => v !== undefined));
  }

  private text(value: unknown): string {
    const rendered = this.value(value);
    return typeof rendered === 'string' ? rendered : JSON.stringify(rendered);
  }

  private intrinsic(name: string, args: unknown): unknown {
    // A list, but for `Ref`, `Fn::Base64`, `Fn::GetAZs`, `Fn::ToJsonString` and the string forms of `Fn::GetAtt` and `Fn::Sub`.
    const params = args as readonly unknown[];
    switch (name) {
      case 'Ref':
        return this.ref(String(args));
      case 'Fn::GetAtt': {
        const [id, attribute] = typeof args === 'string' ? [args.slice(0, args.indexOf('.')), args.slice(args.indexOf('.') + 1)] : params;
        return this.getAtt(String(id), this.text(attribute));
      }
      case 'Fn::Join': {
        const parts = this.value(params[1]);
        return (Array.isArray(parts) ? parts : [parts])
          .map((p) => (typeof p === 'string' ? p : JSON.stringify(p)))
          .join(params[0] as string);
      }
      case 'Fn::Sub': {
        const [text, variables]: readonly [unknown, Record<string, unknown>?] =
          typeof args === 'string' ? [args, {}] : (params as readonly [unknown, Record<string, unknown>?]);
        return String(text).replace(/\$\{([^}]*)\}/g, (_: string, variable: string) => {
          if (variable.startsWith('!')) return `\${${variable.slice(1)}}`;
          if (variables && variable in variables) return this.text(variables[variable]);
          const dot = variable.indexOf('.');
          return dot > 0 ? this.text(this.getAtt(variable.slice(0, dot), variable.slice(dot + 1))) : this.text(this.ref(variable));
        });
      }
      case 'Fn::Select': {
        const list = this.value(params[1]);
        return Array.isArray(list) ? list[Number(this.value(params[0]))] : list;
      }
      case 'Fn::Split':
        return this.text(params[1]).split(params[0] as string);
      case 'Fn::If': {
        const [a, b] = [this.value(params[1]), this.value(params[2])];
        return (JSON.stringify(a) ?? '').length >= (JSON.stringify(b) ?? '').length ? a : b;
      }
      case 'Fn::Base64':
        return Buffer.from(this.text(args)).toString('base64');
      case 'Fn::GetAZs':
        return [`${REGION}a`, `${REGION}b`, `${REGION}c`];
      case 'Fn::ToJsonString':
        return JSON.stringify(this.value(args));
      case 'Fn::Length':
        return 0;
      case 'Fn::FindInMap': {
        const map = this.context.mappings?.[String(params[0])];
        const top = map?.[this.text(params[1])];
        return top ? this.value(top[this.text(params[2])]) : 'X'.repeat(256);
      }
      default:
        // Fn::ImportValue and anything unknown: another stack's output, up to CloudFormation's 4 KB for one.
        return 'X'.repeat(4096);
    }
  }

  private generatedName(logicalId: string, max: number): string {
    return `${this.context.stackName}-${logicalId}-${SUFFIX}`.slice(0, max);
  }

  private ref(target: string): unknown {
    switch (target) {
      case 'AWS::Region':
        return REGION;
      case 'AWS::AccountId':
        return ACCOUNT;
      case 'AWS::Partition':
        return PARTITION;
      case 'AWS::URLSuffix':
        return URL_SUFFIX;
      case 'AWS::StackName':
        return this.context.stackName;
      case 'AWS::StackId':
        return `arn:${PARTITION}:cloudformation:${REGION}:${ACCOUNT}:stack/${this.context.stackName}/00000000-0000-0000-0000-000000000000`;
      case 'AWS::NoValue':
        return undefined;
      case 'AWS::NotificationARNs':
        return [];
    }
    const resource = this.context.resource(target);
    if (!resource) return 'X'.repeat(256); // a parameter
    const p = resource.Properties ?? {};
    const named = (type: string) => {
      const limit = NAME_LIMITS[type];
      const given = limit?.property ? p[limit.property] : undefined;
      return given !== undefined ? this.text(given) : this.generatedName(target, limit?.max ?? 255);
    };
    switch (resource.Type) {
      case 'AWS::SecretsManager::Secret':
        // Generated secret names are `{logicalId}-{12 characters}`; the ARN adds `-` and 6 more.
        return `arn:${PARTITION}:secretsmanager:${REGION}:${ACCOUNT}:secret:${p.Name !== undefined ? this.text(p.Name) : `${target}-${SUFFIX.slice(0, 12)}`}-ABCDEF`;
      case 'AWS::SNS::Topic':
        return `arn:${PARTITION}:sns:${REGION}:${ACCOUNT}:${named(resource.Type)}`;
      case 'AWS::ApiGatewayV2::Stage':
        return p.StageName !== undefined ? this.text(p.StageName) : 'X'.repeat(128);
      case 'AWS::ApiGatewayV2::Api':
      case 'AWS::ApiGatewayV2::Route':
      case 'AWS::ApiGatewayV2::Integration':
      case 'AWS::ApiGatewayV2::RouteResponse':
      case 'AWS::ApiGatewayV2::Deployment':
        return 'abcdef1234';
      default:
        return named(resource.Type);
    }
  }

  private getAtt(id: string, attribute: string): unknown {
    const resource = this.context.resource(id);
    const type = resource?.Type ?? '';
    const arn = (service: string, resourcePart: string, region = REGION) =>
      `arn:${PARTITION}:${service}:${region}:${ACCOUNT}:${resourcePart}`;
    const name = () => this.text(this.ref(id));
    switch (`${type}.${attribute}`) {
      case 'AWS::DynamoDB::Table.Arn':
        return arn('dynamodb', `table/${name()}`);
      case 'AWS::DynamoDB::Table.StreamArn':
        return arn('dynamodb', `table/${name()}/stream/2026-01-01T00:00:00.000`);
      case 'AWS::Lambda::Function.Arn':
        return arn('lambda', `function:${name()}`);
      case 'AWS::IAM::Role.Arn':
        return arn('iam', `role/${resource?.Properties?.Path ? this.text(resource.Properties.Path).replace(/^\//, '') : ''}${name()}`, '');
      case 'AWS::IAM::Role.RoleId':
        return 'AROAABCDEFGHIJKLMNOPQ';
      case 'AWS::Logs::LogGroup.Arn':
        return arn('logs', `log-group:${name()}:*`);
      case 'AWS::SNS::Topic.TopicArn':
      case 'AWS::SecretsManager::Secret.Id':
        return name();
      case 'AWS::SNS::Topic.TopicName':
        return this.generatedName(id, 256);
      case 'AWS::CloudWatch::Alarm.Arn':
      case 'AWS::CloudWatch::CompositeAlarm.Arn':
        return arn('cloudwatch', `alarm:${name()}`);
      case 'AWS::Events::EventBus.Arn':
        return arn('events', `event-bus/${name()}`);
      case 'AWS::Events::EventBus.Name':
        return name();
      case 'AWS::ApiGatewayV2::Api.ApiEndpoint':
        return `wss://abcdef1234.execute-api.${REGION}.${URL_SUFFIX}`;
      case 'AWS::ApiGatewayV2::Api.ApiId':
        return 'abcdef1234';
      case 'AWS::Lambda::Permission.Id':
        return this.generatedName(id, 100);
    }
    if (/Arn$/.test(attribute)) return arn(type.split('::')[1]?.toLowerCase() ?? 'x', this.generatedName(id, 255));
    return this.generatedName(id, 255);
  }
}

/**
 * Why a function's environment may not deploy, or undefined: measured at synth on the longest
 * values its references can take. The message names the largest variables.
 */
export function lambdaEnvironmentProblem(scope: IConstruct, variables: Readonly<Record<string, string>>): string | undefined {
  const stack = Stack.of(scope);
  const types = new Map<string, string>();
  for (const construct of stack.node.findAll()) {
    if (CfnResource.isCfnResource(construct)) types.set(stack.resolve(construct.logicalId) as string, construct.cfnResourceType);
  }
  const stackName = Token.isUnresolved(stack.stackName) ? 'X'.repeat(128) : stack.stackName;
  const rendered = longestRendering(stack.resolve(variables), {
    stackName,
    resource: (id) => (types.has(id) ? { Type: types.get(id)! } : undefined),
  }) as Record<string, string>;
  const bytes = Buffer.byteLength(JSON.stringify(rendered));
  if (bytes <= LAMBDA_ENVIRONMENT_LIMIT_BYTES) return undefined;
  const largest = Object.entries(rendered)
    .map(([name, value]) => [name, Buffer.byteLength(name) + Buffer.byteLength(String(value))] as const)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([name, size]) => `${name} (${size} bytes)`);
  return (
    `the function's environment can reach ${bytes.toLocaleString('en')} bytes once deployed, and Lambda refuses more than ` +
    `${LAMBDA_ENVIRONMENT_LIMIT_BYTES.toLocaleString('en')} (the largest: ${largest.join(', ')}). Shorten the values (a shorter stack ` +
    'or stage name), or move large settings into a file beside the bundle, as namespace defaults are.'
  );
}
