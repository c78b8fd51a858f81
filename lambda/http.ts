/**
 * The HTTP API's routes, as a lookup table from API Gateway route key to a small function.
 */
import type { AccessKeyVerifier } from './auth';
import { bearerToken } from './auth';
import { bodyText, HttpEvent, HttpResult } from './events';
import { broadcastRequest, byteLength, DEFAULT_PROJECT_ID, ErrorCode, Failure, HTTP_STATUS, MAX_MESSAGE_BYTES, parseMessage } from './protocol';
import type { Publisher } from './publish';
import type { HttpRouteKey } from './routes';

export interface HttpDependencies {
  readonly publisher: Publisher;
  readonly verifier: AccessKeyVerifier;
}

type Route = (event: HttpEvent, deps: HttpDependencies) => Promise<HttpResult>;

export const jsonResponse = (statusCode: number, body: object): HttpResult => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

export const errorResponse = (failure: Failure): HttpResult =>
  jsonResponse(HTTP_STATUS[failure.code], { error: failure.message, code: failure.code });

export const UNAUTHORIZED: Failure = { code: ErrorCode.unauthorized, message: 'Unauthorized' };

const health: Route = async () => jsonResponse(200, { status: 'ok' });

const broadcast: Route = async (event, { publisher, verifier }) => {
  if (!(await verifier.verify(bearerToken(event.headers?.authorization)))) return errorResponse(UNAUTHORIZED);
  const text = bodyText(event);
  // Anything larger cannot be delivered over WebSocket, so refuse it before parsing.
  if (byteLength(text) > MAX_MESSAGE_BYTES) {
    return errorResponse({ code: ErrorCode.payloadTooLarge, message: `Body is over ${MAX_MESSAGE_BYTES} bytes` });
  }
  const request = parseMessage(broadcastRequest, text);
  if (!request.ok) return errorResponse(request.error);
  const { channel, connectionId, event: name, data } = request.value;
  const message = { event: name, data };
  const result = channel
    ? await publisher.toChannel(DEFAULT_PROJECT_ID, channel, message)
    : await publisher.toConnection(DEFAULT_PROJECT_ID, connectionId!, message);
  if (!result.ok) return errorResponse(result.error);
  return jsonResponse(200, { success: true, ...(channel ? { channel } : { connectionId }), event: name, ...result.value });
};

export const HTTP_ROUTES: Record<HttpRouteKey, Route> = {
  'POST /broadcast': broadcast,
  'GET /health': health,
};
