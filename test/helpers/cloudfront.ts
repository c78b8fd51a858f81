/** A CloudFront viewer-request event as CloudFront hands a function one, with the request given. */
import type { ViewerRequestEvent } from '../../local/cloudfront/function-runtime';

export function viewerEvent(request: ViewerRequestEvent['request']): ViewerRequestEvent {
  return {
    version: '1.0',
    context: {
      distributionDomainName: 'd111111abcdef8.cloudfront.net',
      distributionId: 'EDFDVBD6EXAMPLE',
      eventType: 'viewer-request',
      requestId: 'r1',
    },
    viewer: { ip: '203.0.113.5' },
    request,
  };
}
