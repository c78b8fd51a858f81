/**
 * The longest rendering of synthesized values (what limits are measured on), and the synth-time
 * guard on the handler's environment that uses it.
 */
import { App, Stack } from 'aws-cdk-lib';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { createBroadcastFunction } from '../../lib/broadcast-function';
import { LAMBDA_ENVIRONMENT_LIMIT_BYTES, lambdaEnvironmentProblem, longestRendering, RenderContext } from '../../lib/deploy-limits';

const resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> = {
  Table: { Type: 'AWS::DynamoDB::Table' },
  Named: { Type: 'AWS::DynamoDB::Table', Properties: { TableName: 'orders' } },
  Fn: { Type: 'AWS::Lambda::Function' },
  Key: { Type: 'AWS::SecretsManager::Secret' },
  Stage: { Type: 'AWS::ApiGatewayV2::Stage', Properties: { StageName: 'live' } },
};
const context: RenderContext = { stackName: 'Shop', resource: (id) => resources[id] };
const render = (value: unknown) => longestRendering(value, context);

describe('longestRendering', () => {
  it('fills pseudo parameters with the longest region, partition and URL suffix', () => {
    expect(
      render({
        'Fn::Join': [
          '',
          [{ Ref: 'AWS::Partition' }, '|', { Ref: 'AWS::Region' }, '|', { Ref: 'AWS::URLSuffix' }, '|', { Ref: 'AWS::AccountId' }],
        ],
      }),
    ).toBe('aws-us-gov|ap-southeast-5|amazonaws.com.cn|123456789012');
  });

  it('gives generated names CloudFormation’s form, cut to the service’s limit, and keeps given names', () => {
    expect(render({ Ref: 'Table' })).toBe('Shop-Table-ABCDEFGHIJKLM');
    expect(render({ Ref: 'Named' })).toBe('orders');
    expect(render({ 'Fn::GetAtt': ['Table', 'Arn'] })).toBe(
      'arn:aws-us-gov:dynamodb:ap-southeast-5:123456789012:table/Shop-Table-ABCDEFGHIJKLM',
    );
    const long = longestRendering({ Ref: 'Fn' }, { ...context, stackName: 'S'.repeat(128) }) as string;
    expect(long).toHaveLength(64);
    expect(render({ Ref: 'Key' })).toBe('arn:aws-us-gov:secretsmanager:ap-southeast-5:123456789012:secret:Key-ABCDEFGHIJKL-ABCDEF');
    expect(render({ Ref: 'Stage' })).toBe('live');
  });

  it('substitutes Fn::Sub, takes the longer branch of Fn::If and drops AWS::NoValue', () => {
    expect(render({ 'Fn::Sub': ['${Table}/${Stage}/${X}/${!Literal}', { X: 'x' }] })).toBe('Shop-Table-ABCDEFGHIJKLM/live/x/${Literal}');
    expect(render({ 'Fn::If': ['C', 'short', 'longer one'] })).toBe('longer one');
    expect(render({ A: { Ref: 'AWS::NoValue' }, B: 'b' })).toEqual({ B: 'b' });
  });

  it('renders what it does not know as long as CloudFormation allows, so a limit errs towards refusing', () => {
    expect(render({ 'Fn::ImportValue': 'Elsewhere' })).toHaveLength(4096);
  });
});

describe('the handler environment guard', () => {
  const build = (environment: (stack: Stack) => Record<string, string>) => {
    // Bundling skipped: only the template matters here.
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Guarded');
    createBroadcastFunction(stack, 'Handler', { memorySize: 512, logRetention: RetentionDays.ONE_DAY, environment: environment(stack) });
    return () => app.synth();
  };

  it('passes an environment that fits once its references are filled in', () => {
    expect(
      build((stack) => ({ TABLE: new Table(stack, 'T', { partitionKey: { name: 'pk', type: AttributeType.STRING } }).tableName })),
    ).not.toThrow();
  });

  it('fails synth when the environment could exceed 4 KB once deployed, naming the largest variables and what to do', () => {
    const almost = 'x'.repeat(LAMBDA_ENVIRONMENT_LIMIT_BYTES - 30);
    // Short as written; the table's generated name pushes it over.
    expect(
      build((stack) => ({
        BIG: almost,
        TABLE: new Table(stack, 'T', { partitionKey: { name: 'pk', type: AttributeType.STRING } }).tableName,
      })),
    ).toThrow(
      /the function's environment can reach 4,\d{3} bytes once deployed, and Lambda refuses more than 4,096 \(the largest: BIG \(4069 bytes\), TABLE \(\d+ bytes\)\)\. Shorten the values/,
    );
  });

  it('counts each generated name at its longest, stack name included: one fits, thirty do not', () => {
    const stack = new Stack(new App(), 'S'.repeat(128));
    const table = new Table(stack, 'T', { partitionKey: { name: 'pk', type: AttributeType.STRING } });
    expect(lambdaEnvironmentProblem(stack, { TABLE: table.tableName })).toBeUndefined();
    expect(
      lambdaEnvironmentProblem(stack, Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`TABLE_${i}`, table.tableName]))),
    ).toMatch(/can reach [\d,]+ bytes/);
  });
});
