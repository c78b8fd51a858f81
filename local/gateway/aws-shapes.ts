/**
 * What API Gateway's events and answers look like: the Lambda proxy events of a WebSocket API and
 * of an HTTP API (payload format 2.0), their headers, query strings and timestamps, and the way an
 * HTTP API maps a handler's result to a response.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { WebSocketRouteKey } from '../../lambda/contract/routes';

export const API_ID = 'local';
/** The account and region the local stack pretends to be in (ARNs, events). */
export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_REGION = 'us-east-1';

/** A new request id, shaped like API Gateway's. */
export const newRequestId = (): string => randomBytes(12).toString('base64');

/** What a WebSocket event says about the connection it is from. */
export interface ConnectionFacts {
  readonly id: string;
  readonly connectedAt: number;
  readonly sourceIp: string;
  readonly userAgent: string;
}

/** A WebSocket API event's common part: `$connect` adds headers and query, MESSAGE a body, `$disconnect` its status. */
export function webSocketEvent(
  connection: ConnectionFacts,
  routeKey: WebSocketRouteKey,
  eventType: 'CONNECT' | 'MESSAGE' | 'DISCONNECT',
  now: number,
  where: { domainName: string; stage: string },
) {
  const requestId = newRequestId();
  return {
    requestContext: {
      routeKey,
      eventType,
      messageId: eventType === 'MESSAGE' ? newRequestId() : undefined,
      messageDirection: 'IN',
      connectionId: connection.id,
      connectedAt: connection.connectedAt,
      requestTimeEpoch: now,
      requestTime: clfTime(now),
      requestId,
      extendedRequestId: requestId,
      domainName: where.domainName,
      stage: where.stage,
      apiId: API_ID,
      identity: { sourceIp: connection.sourceIp, userAgent: connection.userAgent },
    },
    isBase64Encoded: false,
  };
}

/** An HTTP API event, payload format 2.0. */
export function httpEvent(request: {
  method: string;
  url: URL;
  httpVersion: string;
  headers: IncomingHttpHeaders;
  sourceIp: string;
  routeKey: string;
  pathParameters?: Record<string, string>;
  body: Buffer;
  domainName: string;
  now: number;
}) {
  const { url, body, now, routeKey } = request;
  const headers = joinedHeaders(request.headers);
  const query = queryParameters(url.searchParams);
  const textual = isTextual(headers['content-type']);
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    ...(headers.cookie && { cookies: headers.cookie.split(/;\s*/) }),
    headers,
    ...(query && { queryStringParameters: query.joined }),
    ...(request.pathParameters && { pathParameters: request.pathParameters }),
    requestContext: {
      accountId: LOCAL_ACCOUNT,
      apiId: API_ID,
      domainName: headers.host ?? request.domainName,
      domainPrefix: (headers.host ?? 'localhost').split('.')[0],
      http: {
        method: request.method,
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: newRequestId(),
      routeKey,
      stage: '$default',
      time: clfTime(now),
      timeEpoch: now,
    },
    ...(body.length > 0 && { body: body.toString(textual ? 'utf8' : 'base64') }),
    isBase64Encoded: body.length > 0 && !textual,
  };
}

/** The HTTP API's response mapping for payload format 2.0. */
export function writeHttpResult(res: ServerResponse, result: unknown): void {
  const structured = typeof result === 'object' && result !== null && 'statusCode' in result;
  if (!structured) {
    // A value without statusCode is taken as the JSON body of a 200.
    const body = typeof result === 'string' ? result : JSON.stringify(result ?? null);
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    return;
  }
  const r = result as {
    statusCode: number;
    headers?: Record<string, string>;
    body?: string;
    isBase64Encoded?: boolean;
    cookies?: string[];
  };
  const headers: Record<string, string | string[]> = { ...(r.headers ?? {}) };
  if (r.cookies?.length) headers['set-cookie'] = r.cookies;
  const body = r.body === undefined ? undefined : r.isBase64Encoded ? Buffer.from(r.body, 'base64') : r.body;
  res.writeHead(r.statusCode, headers).end(body);
}

/** An AWS service error: its type in `x-amzn-ErrorType`, `{message}` in the body. */
/** An AWS error answer; a `hint` (the local gateway's own, never AWS's) says what the caller likely meant. */
export function awsError(res: ServerResponse, status: number, type: string, message: string | null, hint?: string): void {
  res
    .writeHead(status, { 'content-type': 'application/json', 'x-amzn-ErrorType': type })
    .end(JSON.stringify(hint === undefined ? { message } : { message, hint }));
}

export function queryParameters(params: URLSearchParams) {
  const keys = [...new Set(params.keys())];
  if (keys.length === 0) return undefined;
  return {
    // WebSocket events keep the last value; HTTP API v2 joins repeats with commas.
    single: Object.fromEntries(keys.map((k) => [k, params.getAll(k).at(-1)!])),
    multi: Object.fromEntries(keys.map((k) => [k, params.getAll(k)])),
    joined: Object.fromEntries(keys.map((k) => [k, params.getAll(k).join(',')])),
  };
}

/** HTTP API v2 headers: names lowercased, repeated values joined with commas. */
function joinedHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(',') : (value ?? '')]));
}

/** WebSocket `$connect` headers keep the client's capitalisation. */
export function headersWithCase(raw: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) headers[raw[i]] = raw[i + 1];
  return headers;
}

export function multiValueHeadersWithCase(raw: string[]): Record<string, string[]> {
  const headers: Record<string, string[]> = {};
  for (let i = 0; i < raw.length; i += 2) (headers[raw[i]] ??= []).push(raw[i + 1]);
  return headers;
}

/**
 * An HTTP API passes text bodies as they are and base64-encodes the rest: anything but `text/*`,
 * JSON, XML and JavaScript, including form-encoded bodies (what `curl -d` sends) and bodies with
 * no content type.
 */
function isTextual(contentType: string | undefined): boolean {
  if (!contentType) return false;
  return /^(text\/|application\/(json|.*\+json|xml|.*\+xml|javascript))/i.test(contentType);
}

/** `21/Nov/2026:22:38:01 +0000`, API Gateway's requestTime format. */
function clfTime(epochMs: number): string {
  const d = new Date(epochMs);
  const month = d.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getUTCDate())}/${month}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/** The client's address as API Gateway reports it: IPv4 without the IPv6 mapping prefix. */
export const sourceIpOf = (remoteAddress: string | undefined): string => remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1';
