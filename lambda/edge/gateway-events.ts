/**
 * The events the shared handler gets — API Gateway's two kinds and its own background tasks — and how to tell them apart.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { BackgroundTask, parseTask } from '../tasks';

/** A WebSocket API event (Lambda proxy). `$connect` adds headers and query string parameters. */
export interface WebSocketEvent {
  readonly requestContext: {
    readonly routeKey: string;
    readonly eventType: 'CONNECT' | 'MESSAGE' | 'DISCONNECT';
    readonly connectionId: string;
    readonly connectedAt: number;
    readonly requestTimeEpoch: number;
    readonly requestId?: string;
    readonly messageId?: string;
    readonly domainName: string;
    readonly stage: string;
    readonly apiId: string;
    readonly identity?: { readonly sourceIp?: string; readonly userAgent?: string };
    readonly disconnectStatusCode?: number;
    readonly disconnectReason?: string;
  };
  readonly body?: string | null;
  readonly isBase64Encoded?: boolean;
  readonly headers?: Record<string, string | undefined> | null;
  readonly queryStringParameters?: Record<string, string | undefined> | null;
}

/** An HTTP API event, payload format 2.0. */
export type HttpEvent = APIGatewayProxyEventV2;

export interface WebSocketResult {
  readonly statusCode: number;
  readonly body?: string;
  /** On `$connect` only: `Sec-WebSocket-Protocol` here is the subprotocol API Gateway accepts the upgrade with. */
  readonly headers?: Record<string, string>;
}
export type HttpResult = APIGatewayProxyStructuredResultV2;

export type ClassifiedEvent =
  | { kind: 'websocket'; event: WebSocketEvent }
  | { kind: 'http'; event: HttpEvent }
  | { kind: 'task'; event: BackgroundTask }
  | { kind: 'unknown' };

export function classifyEvent(event: unknown): ClassifiedEvent {
  const context = (event as { requestContext?: Record<string, unknown> } | null)?.requestContext;
  if (typeof context?.eventType === 'string' && typeof context.connectionId === 'string') {
    return { kind: 'websocket', event: event as WebSocketEvent };
  }
  if ((event as { version?: unknown } | null)?.version === '2.0' && typeof context?.http === 'object') {
    return { kind: 'http', event: event as HttpEvent };
  }
  // Background tasks come from this function invoking itself, never through API Gateway.
  const task = context ? undefined : parseTask(event);
  if (task) return { kind: 'task', event: task };
  return { kind: 'unknown' };
}

/** The body as text, decoding base64 when API Gateway encoded it. */
export function bodyText(event: { body?: string | null; isBase64Encoded?: boolean }): string {
  if (!event.body) return '';
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}
