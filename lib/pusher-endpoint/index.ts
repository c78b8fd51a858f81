/**
 * The Pusher endpoint: a CloudFront distribution in front of the WebSocket API whose viewer-request
 * function rewrites pusher-js's `/app/{key}` handshake to the stage (see viewer-request.js), so
 * pusher-js and Laravel Echo connect with only `wsHost` changed (and `wsPort`, `forceTLS`,
 * `enabledTransports`).
 */
import { Names, Stack, Token } from 'aws-cdk-lib';
import type { IWebSocketApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  AllowedMethods,
  CachePolicy,
  Distribution,
  Function as CloudFrontFunction,
  FunctionCode,
  FunctionEventType,
  FunctionRuntime,
  OriginProtocolPolicy,
  OriginRequestCookieBehavior,
  OriginRequestHeaderBehavior,
  OriginRequestPolicy,
  OriginRequestQueryStringBehavior,
  OriginSslPolicy,
  PriceClass,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { HttpOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { Construct } from 'constructs';
import { FORWARDED_HEADERS, viewerRequestCode } from './code';

export { CLOUDFRONT_FUNCTION_CODE_LIMIT_BYTES, FORWARDED_HEADERS, PUSHER_QUERY, viewerRequestCode } from './code';

/**
 * The Pusher endpoint's settings, as the construct's `pusherEndpoint` prop takes them.
 * @example
 * new RealtimeBroadcast(this, 'Rt', { pusherEndpoint: { priceClass: PriceClass.PRICE_CLASS_ALL } });
 */
export interface PusherEndpointOptions {
  /**
   * Which CloudFront edge locations serve it. Connections go on to the API's one region anyway, so
   * the cheapest class (North America, Europe and Israel) costs little latency elsewhere.
   * @default PriceClass.PRICE_CLASS_100
   */
  readonly priceClass?: PriceClass;
}

/** @example new PusherEndpoint(this, 'Pusher', { webSocketApi, stageName: 'production' }); */
export interface PusherEndpointProps extends PusherEndpointOptions {
  readonly webSocketApi: IWebSocketApi;
  /** The WebSocket API's stage, baked into the function's code. */
  readonly stageName: string;
}

/**
 * A CloudFront distribution for pusher-js: its viewer-request function rewrites `{wsPath}/app/{key}`
 * to the stage with `appKey` in the query string and refuses anything else itself; the origin is the
 * WebSocket API over HTTPS, sent the handshake's headers and query string but not the viewer's Host,
 * and nothing is cached.
 * @example
 * const pusher = new PusherEndpoint(this, 'Pusher', { webSocketApi, stageName: 'production' });
 * new CfnOutput(this, 'PusherHost', { value: pusher.host });
 */
export class PusherEndpoint extends Construct {
  readonly distribution: Distribution;
  readonly viewerRequestFunction: CloudFrontFunction;
  readonly originRequestPolicy: OriginRequestPolicy;
  /** pusher-js's `wsHost`: the distribution's domain (`d111111abcdef8.cloudfront.net`). */
  readonly host: string;

  constructor(scope: Construct, id: string, props: PusherEndpointProps) {
    super(scope, id);
    if (props.priceClass !== undefined && !Object.values(PriceClass).includes(props.priceClass)) {
      throw new Error(`RealtimeBroadcast: pusherEndpoint.priceClass must be one of ${Object.values(PriceClass).join(', ')}`);
    }
    this.viewerRequestFunction = new CloudFrontFunction(this, 'ViewerRequest', {
      code: FunctionCode.fromInline(viewerRequestCode(props.stageName)),
      runtime: FunctionRuntime.JS_2_0,
      comment: `pusher-js handshakes (/app/{key}) to the WebSocket stage`,
    });
    const stack = Stack.of(this);
    this.originRequestPolicy = new OriginRequestPolicy(this, 'OriginRequest', {
      // Policy names are one namespace per account: the CDK's default, from the construct path alone,
      // collides when the same stack is deployed in a second region.
      originRequestPolicyName: `${Names.uniqueResourceName(this, { maxLength: 100 })}-${stack.region}`,
      comment: 'The WebSocket handshake to API Gateway, without the viewer Host',
      headerBehavior: OriginRequestHeaderBehavior.allowList(...FORWARDED_HEADERS),
      queryStringBehavior: OriginRequestQueryStringBehavior.all(),
      cookieBehavior: OriginRequestCookieBehavior.none(),
    });
    const origin = new HttpOrigin(`${props.webSocketApi.apiId}.execute-api.${stack.region}.${stack.urlSuffix}`, {
      protocolPolicy: OriginProtocolPolicy.HTTPS_ONLY,
      originSslProtocols: [OriginSslPolicy.TLS_V1_2],
    });
    this.distribution = new Distribution(this, 'Distribution', {
      // At most 128 characters; a nested stack's name is a token, not known at synth.
      comment: Token.isUnresolved(stack.stackName) ? 'Pusher endpoint' : `Pusher endpoint of ${stack.stackName}`.slice(0, 128),
      priceClass: props.priceClass ?? PriceClass.PRICE_CLASS_100,
      defaultBehavior: {
        origin,
        // A WebSocket client cannot follow a redirect: ws:// is refused rather than redirected.
        viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: CachePolicy.CACHING_DISABLED,
        originRequestPolicy: this.originRequestPolicy,
        compress: false,
        functionAssociations: [{ function: this.viewerRequestFunction, eventType: FunctionEventType.VIEWER_REQUEST }],
      },
    });
    this.host = this.distribution.distributionDomainName;
  }
}
