/** Event factories shaped like API Gateway's, built on the JSON fixtures and overridden per test. */
import type { HttpEvent, WebSocketEvent } from '../../lambda/edge/gateway-events';
import { selectWebSocketRoute } from '../../lambda/contract/routes';
import connectFixture from '../fixtures/websocket-connect.json';
import messageFixture from '../fixtures/websocket-message.json';
import httpFixture from '../fixtures/http-broadcast.json';

let counter = 0;
/** A fresh AWS-looking connection id (`L0SM9cOFvHcCIhw=` style). */
export const newConnectionId = (): string => Buffer.from(`conn-${++counter}-${Math.random()}`).toString('base64').slice(0, 15) + '=';

export function connectEvent(connectionId: string, query?: Record<string, string>): WebSocketEvent {
  return {
    ...connectFixture,
    requestContext: { ...connectFixture.requestContext, connectionId, eventType: 'CONNECT', connectedAt: Date.now() },
    ...(query && { queryStringParameters: query }),
  };
}

export function disconnectEvent(connectionId: string): WebSocketEvent {
  return {
    requestContext: {
      ...messageFixture.requestContext,
      routeKey: '$disconnect',
      eventType: 'DISCONNECT',
      connectionId,
      disconnectStatusCode: 1000,
      disconnectReason: '',
    },
    isBase64Encoded: false,
  };
}

/** A MESSAGE event; the route key is the one API Gateway would select, unless given. */
export function messageEvent(connectionId: string, body: string | object, routeKey?: string): WebSocketEvent {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return {
    ...messageFixture,
    requestContext: {
      ...messageFixture.requestContext,
      routeKey: routeKey ?? selectWebSocketRoute(text),
      connectionId,
      eventType: 'MESSAGE',
    },
    body: text,
  };
}

export function httpEvent(
  overrides: {
    routeKey?: string;
    body?: string | object;
    authorization?: string | null;
    isBase64Encoded?: boolean;
    pathParameters?: Record<string, string>;
    queryStringParameters?: Record<string, string>;
  } = {},
): HttpEvent {
  const routeKey = overrides.routeKey ?? 'POST /broadcast';
  const [method, path] = routeKey.split(' ');
  const headers: Record<string, string> = { ...httpFixture.headers };
  if (overrides.authorization === null) delete headers.authorization;
  else if (overrides.authorization !== undefined) headers.authorization = overrides.authorization;
  const body =
    overrides.body === undefined ? httpFixture.body : typeof overrides.body === 'string' ? overrides.body : JSON.stringify(overrides.body);
  return {
    ...httpFixture,
    routeKey,
    rawPath: path,
    headers,
    requestContext: { ...httpFixture.requestContext, routeKey, http: { ...httpFixture.requestContext.http, method, path } },
    body,
    isBase64Encoded: overrides.isBase64Encoded ?? false,
    ...(overrides.pathParameters && { pathParameters: overrides.pathParameters }),
    ...(overrides.queryStringParameters && { queryStringParameters: overrides.queryStringParameters }),
  };
}
