/**
 * The local HTTP API: matches the product's route declaration, turns the request into a payload
 * format 2.0 event, and the handler's result into the response, within API Gateway's body limit.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { API_GATEWAY } from '../../lambda/contract/limits';
import { matchHttpRoute } from '../../lambda/contract/routes';
import { httpEvent, sourceIpOf, writeHttpResult } from './aws-shapes';
import { readBody, sendJson, requestUrl } from './io';
import type { LocalLambda } from './lambda-runtime';
import { admit, TokenBucket, within } from './throttle';

/** API Gateway's HTTP API payload limit. */
export const MAX_HTTP_BODY_BYTES = API_GATEWAY.httpBodyBytes;

export class HttpApi {
  constructor(
    private readonly lambda: LocalLambda,
    /** `host:port` the API listens on, once it does. */
    private readonly address: () => string,
    private readonly limits: { stageBucket?: TokenBucket; accountBucket?: TokenBucket; integrationTimeoutMs?: number } = {},
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = requestUrl(req);
    const method = req.method ?? 'GET';
    const route = matchHttpRoute(method, url.pathname);
    const body = await readBody(req, MAX_HTTP_BODY_BYTES + 1);
    if (body.length > MAX_HTTP_BODY_BYTES) return sendJson(res, 413, { message: 'Request Entity Too Large' });
    if (!admit([this.limits.accountBucket, this.limits.stageBucket])) return sendJson(res, 429, { message: 'Too Many Requests' });
    const event = httpEvent({
      method,
      url,
      httpVersion: req.httpVersion,
      headers: req.headers,
      sourceIp: sourceIpOf(req.socket.remoteAddress),
      routeKey: route.routeKey,
      pathParameters: route.pathParameters,
      body,
      domainName: this.address(),
      now: Date.now(),
    });
    let result: unknown;
    try {
      result = await within(this.lambda.invoke(event), this.limits.integrationTimeoutMs ?? API_GATEWAY.httpIntegrationTimeoutMs);
    } catch {
      return sendJson(res, 500, { message: 'Internal Server Error' });
    }
    // The integration took too long: API Gateway answers for it (the function keeps running).
    if (result === 'timeout') return sendJson(res, 503, { message: 'Service Unavailable' });
    writeHttpResult(res, result);
  }
}
