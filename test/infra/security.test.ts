/**
 * The stack's security properties: cdk-nag's AwsSolutions pack finds nothing unacknowledged, access
 * logs say who did what without query strings or headers, $connect has a throttle of its own, and
 * no secret value is in the template or its outputs.
 */
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { BroadcastStack } from '../../lib/broadcast-stack';
import { RealtimeBroadcast, RealtimeBroadcastProps } from '../../lib/realtime-broadcast';

const ENVIRONMENT = { account: '123456789012', region: 'eu-west-1' };

/** Synthesizes with cdk-nag; the error it throws lists the findings. */
function synthWithNag(build: (app: App) => void): void {
  const app = new App();
  build(app);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  app.synth();
}

const template = (props?: RealtimeBroadcastProps) =>
  Template.fromStack(new BroadcastStack(new App(), 'Test', { env: ENVIRONMENT, broadcast: props }));

describe('cdk-nag (AwsSolutions)', () => {
  it('finds nothing unacknowledged in the stack, with an environment or without one', () => {
    expect(() => synthWithNag((app) => new BroadcastStack(app, 'Test', { env: ENVIRONMENT }))).not.toThrow();
    expect(() => synthWithNag((app) => new BroadcastStack(app, 'Agnostic'))).not.toThrow();
  });

  it('finds nothing in the construct used in another app’s stack, whatever its id and stage', () => {
    expect(() =>
      synthWithNag(
        (app) =>
          new RealtimeBroadcast(new Stack(app, 'Theirs', { env: ENVIRONMENT }), 'Realtime', {
            stageName: 'live',
            setApiGatewayCloudWatchRole: false,
          }),
      ),
    ).not.toThrow();
  });

  it('still reports what it has not acknowledged', () => {
    expect(() =>
      synthWithNag((app) => {
        const stack = new BroadcastStack(app, 'Test', { env: ENVIRONMENT });
        new Bucket(stack, 'Unreviewed');
      }),
    ).toThrow(/AwsSolutions-S1/);
  });
});

describe('access logs', () => {
  const t = template();
  const stages = t.findResources('AWS::ApiGatewayV2::Stage');

  it('are on both stages, as JSON with request id, route, status and source IP', () => {
    const formats = Object.values(stages).map((stage) => JSON.parse(stage.Properties.AccessLogSettings.Format));
    expect(formats).toHaveLength(2);
    for (const format of formats) {
      expect(format).toMatchObject({
        requestId: '$context.requestId',
        routeKey: '$context.routeKey',
        status: '$context.status',
        sourceIp: '$context.identity.sourceIp',
      });
    }
    expect(formats).toContainEqual(expect.objectContaining({ connectionId: '$context.connectionId' }));
  });

  it('never log query strings or headers, where keys and tokens travel', () => {
    for (const stage of Object.values(stages)) {
      expect(stage.Properties.AccessLogSettings.Format).not.toMatch(/querystring|header|path|authorizer/i);
    }
  });

  it('are kept as long as the prop says', () => {
    const kept = template({ accessLogRetention: 7 as never });
    expect(Object.values(kept.findResources('AWS::Logs::LogGroup')).filter((g) => g.Properties.RetentionInDays === 7)).toHaveLength(2);
  });

  it('set API Gateway’s CloudWatch role, kept on deletion, unless told the account has one', () => {
    t.hasResource('AWS::ApiGateway::Account', { DeletionPolicy: 'Retain', Properties: { CloudWatchRoleArn: Match.anyValue() } });
    template({ setApiGatewayCloudWatchRole: false }).resourceCountIs('AWS::ApiGateway::Account', 0);
  });
});

describe('throttles and concurrency', () => {
  it('give $connect a throttle of its own, below the stage’s', () => {
    template().hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      RouteSettings: { $connect: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 50 } },
      DefaultRouteSettings: { ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 500 },
    });
    template({ connectThrottle: { rateLimit: 20, burstLimit: 10 } }).hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      RouteSettings: { $connect: { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 10 } },
    });
    expect(() => template({ connectThrottle: { rateLimit: 2000, burstLimit: 10 } })).toThrow(/connectThrottle may not exceed throttle/);
    template({ throttle: { rateLimit: 50, burstLimit: 20 } }).hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      RouteSettings: { $connect: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 20 } },
    });
  });

  it('reserve concurrency only when asked', () => {
    template({ reservedConcurrency: 50 }).hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 50 });
    template().hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: Match.absent() });
    expect(() => template({ reservedConcurrency: 0 })).toThrow(/reservedConcurrency must be a positive integer/);
  });
});

describe('secrets', () => {
  it('are never in the template or its outputs: only references to Secrets Manager', () => {
    const synthesized = template().toJSON();
    // A dynamic reference would put the secret's value into the deployed resource.
    expect(JSON.stringify(synthesized)).not.toMatch(/resolve:secretsmanager/);
    const outputs = JSON.stringify(synthesized.Outputs);
    expect(outputs).not.toMatch(/SealingSecret/);
    expect(outputs).not.toMatch(/SecretValue|GetAtt[^}]*Secret/);
  });
});
