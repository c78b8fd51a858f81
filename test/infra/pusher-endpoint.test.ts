/**
 * The Pusher endpoint in the template: a CloudFront distribution in front of the WebSocket API, its
 * viewer-request function (the file `npm start` runs, the stage baked in), an origin request policy
 * that forwards the handshake but not the viewer's Host, no caching, the outputs to paste; on or off
 * by prop and by context; nothing unacknowledged from cdk-nag.
 */
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { CachePolicy, PriceClass } from 'aws-cdk-lib/aws-cloudfront';
import { AwsSolutionsChecks } from 'cdk-nag';
import { BroadcastStack } from '../../lib/broadcast-stack';
import { readContextSettings } from '../../lib/context-settings';
import { viewerRequestCode } from '../../lib/pusher-endpoint/code';
import { RealtimeBroadcast, RealtimeBroadcastProps } from '../../lib/realtime-broadcast';

const ENVIRONMENT = { account: '123456789012', region: 'eu-west-1' };
// Bundling skipped: only the template is read.
const app = () => new App({ context: { 'aws:cdk:bundling-stacks': [] } });

function synth(props?: RealtimeBroadcastProps) {
  const stack = new BroadcastStack(app(), 'Test', { env: ENVIRONMENT, broadcast: props });
  return { stack, template: Template.fromStack(stack) };
}

const { stack, template } = synth({ pusherEndpoint: true, stageName: 'live' });
const logicalId = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
const distribution = () => Object.values(template.findResources('AWS::CloudFront::Distribution'))[0].Properties.DistributionConfig;

describe('off (the default)', () => {
  it('adds no CloudFront resource and no Pusher output', () => {
    const off = synth();
    for (const type of ['AWS::CloudFront::Distribution', 'AWS::CloudFront::Function', 'AWS::CloudFront::OriginRequestPolicy']) {
      off.template.resourceCountIs(type, 0);
    }
    expect(Object.keys(off.template.toJSON().Outputs).filter((name) => /Pusher|Echo/.test(name))).toEqual([]);
    expect(off.stack.broadcast.pusherEndpoint).toBeUndefined();
    expect(off.stack.broadcast.pusherHost).toBeUndefined();
  });

  it('stays off with pusherEndpoint: false', () => {
    synth({ pusherEndpoint: false }).template.resourceCountIs('AWS::CloudFront::Distribution', 0);
  });
});

describe('on', () => {
  it('puts one distribution in front of the WebSocket API’s own domain, over HTTPS only', () => {
    template.resourceCountIs('AWS::CloudFront::Distribution', 1);
    expect(distribution().Origins).toEqual([
      {
        Id: expect.any(String),
        DomainName: {
          'Fn::Join': ['', [{ Ref: logicalId(stack.broadcast.webSocketApi) }, '.execute-api.eu-west-1.', { Ref: 'AWS::URLSuffix' }]],
        },
        CustomOriginConfig: { OriginProtocolPolicy: 'https-only', OriginSSLProtocols: ['TLSv1.2'] },
      },
    ]);
  });

  it('runs the function on viewer request, caches nothing, takes GET over HTTPS only, at the cheapest price class', () => {
    const functionId = logicalId(stack.broadcast.pusherEndpoint!.viewerRequestFunction);
    expect(distribution()).toMatchObject({
      Enabled: true,
      PriceClass: 'PriceClass_100',
      DefaultCacheBehavior: {
        ViewerProtocolPolicy: 'https-only',
        AllowedMethods: ['GET', 'HEAD'],
        CachePolicyId: CachePolicy.CACHING_DISABLED.cachePolicyId,
        OriginRequestPolicyId: { Ref: logicalId(stack.broadcast.pusherEndpoint!.originRequestPolicy) },
        FunctionAssociations: [{ EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [functionId, 'FunctionARN'] } }],
      },
    });
  });

  it('deploys the function file with the stage baked in, on cloudfront-js-2.0, published', () => {
    template.hasResourceProperties('AWS::CloudFront::Function', {
      AutoPublish: true,
      FunctionCode: viewerRequestCode('live'),
      FunctionConfig: Match.objectLike({ Runtime: 'cloudfront-js-2.0' }),
    });
  });

  it('forwards the handshake’s headers and every query parameter to API Gateway, but not the viewer’s Host or cookies', () => {
    const [policy] = Object.values(template.findResources('AWS::CloudFront::OriginRequestPolicy'));
    const config = policy.Properties.OriginRequestPolicyConfig;
    expect(config.HeadersConfig.HeaderBehavior).toBe('whitelist');
    expect(config.HeadersConfig.Headers).toEqual(
      expect.arrayContaining(['Sec-WebSocket-Key', 'Sec-WebSocket-Version', 'Sec-WebSocket-Protocol', 'Sec-WebSocket-Extensions']),
    );
    expect(config.HeadersConfig.Headers.map((h: string) => h.toLowerCase())).not.toContain('host');
    expect(config.QueryStringsConfig).toEqual({ QueryStringBehavior: 'all' });
    expect(config.CookiesConfig).toEqual({ CookieBehavior: 'none' });
  });

  it('names its origin request policy per region: policy names are one namespace per account', () => {
    const [policy] = Object.values(template.findResources('AWS::CloudFront::OriginRequestPolicy'));
    expect(policy.Properties.OriginRequestPolicyConfig.Name).toMatch(/^[A-Za-z0-9]{1,100}-eu-west-1$/);
    const agnostic = Template.fromStack(new BroadcastStack(app(), 'Agnostic', { broadcast: { pusherEndpoint: true } }));
    const [other] = Object.values(agnostic.findResources('AWS::CloudFront::OriginRequestPolicy'));
    expect(other.Properties.OriginRequestPolicyConfig.Name).toEqual({ 'Fn::Join': ['', [expect.any(String), { Ref: 'AWS::Region' }]] });
  });

  it('takes another price class', () => {
    const { template: all } = synth({ pusherEndpoint: { priceClass: PriceClass.PRICE_CLASS_ALL } });
    expect(Object.values(all.findResources('AWS::CloudFront::Distribution'))[0].Properties.DistributionConfig.PriceClass).toBe(
      'PriceClass_All',
    );
  });

  it('exposes the distribution and the host', () => {
    expect(stack.broadcast.pusherEndpoint!.distribution.node.id).toBe('Distribution');
    expect(stack.resolve(stack.broadcast.pusherHost)).toEqual({
      'Fn::GetAtt': [logicalId(stack.broadcast.pusherEndpoint!.distribution), 'DomainName'],
    });
  });
});

describe('the outputs', () => {
  const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
  /** An output with the distribution's domain filled in. */
  const rendered = (name: string): string => {
    const value = outputs[name].Value as { 'Fn::Join': [string, unknown[]] } | { 'Fn::GetAtt': unknown };
    const host = 'd111111abcdef8.cloudfront.net';
    if ('Fn::GetAtt' in value) return host;
    return value['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : host)).join('');
  };
  /** The options a pasted configuration passes, by running it against a stand-in constructor. */
  const pasted = (code: string, name: string) => {
    let received: unknown[] = [];
    const constructor = function (...args: unknown[]) {
      received = args;
    };
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the output is code to paste: run it as a user would
    new Function(name, `new ${name}${code.slice(code.indexOf('('))};`)(constructor);
    return received;
  };
  const expected = {
    wsHost: 'd111111abcdef8.cloudfront.net',
    wsPort: 443,
    wssPort: 443,
    forceTLS: true,
    enabledTransports: ['ws', 'wss'],
    cluster: expect.any(String),
  };

  it('give the host for wsHost', () => {
    expect(rendered('PusherHost')).toBe('d111111abcdef8.cloudfront.net');
  });

  it('give a pusher-js configuration that runs as pasted', () => {
    expect(pasted(rendered('PusherJsConfig'), 'Pusher')).toEqual(['<app key>', expected]);
  });

  it('give a Laravel Echo configuration that runs as pasted', () => {
    expect(pasted(rendered('LaravelEchoConfig'), 'Echo')).toEqual([{ broadcaster: 'pusher', key: '<app key>', ...expected }]);
  });
});

describe('the pusherEndpoint context setting', () => {
  const settingsOf = (context: Record<string, unknown>) => readContextSettings(new App({ context }).node);

  it.each([
    ['true', true],
    [true, true],
    ['false', false],
  ])('%p turns it on: %p', (value, on) => {
    const settings = settingsOf({ pusherEndpoint: value });
    expect(settings.broadcast.pusherEndpoint).toBe(on);
    const { template: t } = synth(settings.broadcast);
    t.resourceCountIs('AWS::CloudFront::Distribution', on ? 1 : 0);
  });

  it('refuses anything but true or false, and a misspelling', () => {
    expect(() => settingsOf({ pusherEndpoint: 'yes' })).toThrow('Context setting pusherEndpoint must be true or false, got "yes"');
    expect(() => settingsOf({ pusherendpoint: 'true' })).toThrow(/Unknown context key pusherendpoint \(did you mean pusherEndpoint\?\)/);
  });
});

describe('bad props', () => {
  it('fail at synth with a sentence', () => {
    expect(() => synth({ pusherEndpoint: { priceClass: 'PriceClass_1000' as PriceClass } })).toThrow(
      /pusherEndpoint.priceClass must be one of/,
    );
    expect(() => synth({ pusherEndpoint: 'yes' as never })).toThrow(/pusherEndpoint is true, false, or its settings/);
  });
});

describe('cdk-nag (AwsSolutions) with the endpoint on', () => {
  const synthWithNag = (build: (app: App) => void) => {
    const a = app();
    build(a);
    Validations.of(a).addPlugins(new AwsSolutionsChecks(a));
    a.synth();
  };

  it('finds nothing unacknowledged, in the stack with an environment or without, and in another app’s stack', () => {
    expect(() =>
      synthWithNag((a) => new BroadcastStack(a, 'Test', { env: ENVIRONMENT, broadcast: { pusherEndpoint: true } })),
    ).not.toThrow();
    expect(() => synthWithNag((a) => new BroadcastStack(a, 'Agnostic', { broadcast: { pusherEndpoint: true } }))).not.toThrow();
    expect(() =>
      synthWithNag(
        (a) =>
          new RealtimeBroadcast(new Stack(a, 'Theirs', { env: ENVIRONMENT }), 'Realtime', {
            stageName: 'live',
            setApiGatewayCloudWatchRole: false,
            pusherEndpoint: { priceClass: PriceClass.PRICE_CLASS_ALL },
          }),
      ),
    ).not.toThrow();
  });
});
