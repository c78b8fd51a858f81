/**
 * A local API Gateway: a WebSocket API, its `@connections` management API and an HTTP API, each
 * turning traffic into the events API Gateway sends a Lambda proxy integration, and the handler's
 * results back into what API Gateway would answer. The routes come from `lambda/routes.ts`, the
 * declaration the CDK construct deploys.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, IncomingHttpHeaders, IncomingMessage, Server, ServerResponse, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { MAX_MESSAGE_BYTES } from '../lambda/contract/limits';
import { matchHttpRoute, ROUTES_WITH_RESPONSE, selectWebSocketRoute, WebSocketRouteKey } from '../lambda/contract/routes';

/** The function behind the APIs: the same signature as a Lambda handler. */
export type LocalHandler = (event: unknown, context: LocalContext) => Promise<unknown>;

export interface LocalContext {
  readonly awsRequestId: string;
  readonly functionName: string;
  getRemainingTimeInMillis(): number;
}

export interface GatewayOptions {
  readonly handler: LocalHandler;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0 (any free port) */
  readonly httpPort?: number;
  /** @default 0 (any free port) */
  readonly wsPort?: number;
  /** @default 'production' */
  readonly stage?: string;
  /** API Gateway closes connections idle this long. @default 600000 (10 minutes) */
  readonly idleTimeoutMs?: number;
  /** API Gateway closes every connection this long after it opened. @default 7200000 (2 hours) */
  readonly maxConnectionMs?: number;
  /** Called with each failure the handler threw, which API Gateway would log. */
  readonly onHandlerError?: (error: unknown) => void;
}

/** API Gateway's WebSocket message limit (larger messages close the connection with 1009), the protocol's own. */
const MAX_WEBSOCKET_MESSAGE_BYTES = MAX_MESSAGE_BYTES;
/** API Gateway's HTTP API payload limit. */
export const MAX_HTTP_BODY_BYTES = 10 * 1024 * 1024;
const API_ID = 'local';
const INTEGRATION_TIMEOUT_MS = 29_000;

interface LiveConnection {
  readonly id: string;
  readonly connectedAt: number;
  lastActiveAt: number;
  readonly sourceIp: string;
  readonly userAgent: string;
  /** `connecting` while `$connect` runs: posts to it get 410, as on AWS. */
  state: 'connecting' | 'open';
  socket?: WebSocket;
  /** Set when a test drops the connection the way a lost network does: no `$disconnect`. */
  skipDisconnect?: boolean;
  /** Closes the connection after the idle timeout; restarted by each client message. */
  idleTimer?: NodeJS.Timeout;
  /** Closes the connection at its maximum duration. */
  lifetimeTimer?: NodeJS.Timeout;
}

export class LocalGateway {
  private readonly connections = new Map<string, LiveConnection>();
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_WEBSOCKET_MESSAGE_BYTES });
  private readonly wsServer: Server;
  private readonly httpServer: Server;
  private readonly stage: string;
  private readonly pending = new Set<Promise<unknown>>();
  /** `host:port` of each server, kept once listening (a closed server no longer knows it). */
  private wsAddress = '';
  private httpAddress = '';

  constructor(private readonly options: GatewayOptions) {
    this.stage = options.stage ?? 'production';
    // A bug here must answer 500, never take the whole local stack down.
    const guard = (res: ServerResponse) => (error: unknown) => {
      this.options.onHandlerError?.(error);
      if (!res.headersSent) sendJson(res, 500, { message: 'Internal Server Error' });
    };
    this.wsServer = createServer((req, res) => void this.onManagementRequest(req, res).catch(guard(res)));
    this.wsServer.on('upgrade', (req, socket, head) =>
      void this.onUpgrade(req, socket, head).catch(() => refuseUpgrade(socket, 500)),
    );
    this.httpServer = createServer((req, res) => void this.onHttpRequest(req, res).catch(guard(res)));
  }

  /** Starts both servers. Rejects with a one-line message if a port is taken. */
  async listen(): Promise<void> {
    const host = this.options.host ?? '127.0.0.1';
    this.httpAddress = await listen(this.httpServer, this.options.httpPort ?? 0, host, 'HTTP_PORT');
    try {
      this.wsAddress = await listen(this.wsServer, this.options.wsPort ?? 0, host, 'WS_PORT');
    } catch (error) {
      await close(this.httpServer);
      throw error;
    }
  }

  get webSocketUrl(): string {
    return `ws://${this.wsAddress}/${this.stage}`;
  }

  get httpUrl(): string {
    return `http://${this.httpAddress}`;
  }

  /** What the construct passes the handler as the stage's callback URL. */
  get managementEndpoint(): string {
    return `http://${this.wsAddress}/${this.stage}`;
  }

  /**
   * Drops a connection the way a lost network does: the socket goes, and `$disconnect` is not
   * invoked (on AWS it is best effort). For tests of stale-connection clean-up.
   */
  dropWithoutDisconnect(connectionId: string): void {
    const connection = this.connections.get(connectionId);
    if (!connection) return;
    connection.skipDisconnect = true;
    connection.socket?.terminate();
  }

  async stop(): Promise<void> {
    for (const connection of this.connections.values()) connection.socket?.close(1001, 'Going away');
    await Promise.allSettled([...this.pending]);
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
    this.httpServer.closeAllConnections();
    this.wsServer.closeAllConnections();
    await Promise.all([close(this.httpServer), close(this.wsServer)]);
    await Promise.allSettled([...this.pending]);
  }

  // ---- WebSocket API ---------------------------------------------------------------------------

  private async onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/' && url.pathname.replace(/\/$/, '') !== `/${this.stage}`) {
      return refuseUpgrade(socket, 403, JSON.stringify({ message: 'Forbidden' }));
    }
    // Connection ids look like AWS's: 16 base64 characters, often ending in '='.
    const id = randomBytes(11).toString('base64');
    const now = Date.now();
    const connection: LiveConnection = {
      id,
      connectedAt: now,
      lastActiveAt: now,
      sourceIp: req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1',
      userAgent: req.headers['user-agent'] ?? '',
      state: 'connecting',
    };
    this.connections.set(id, connection);
    const query = queryParameters(url.searchParams);
    const event = {
      ...this.webSocketEvent(connection, '$connect', 'CONNECT', now),
      headers: headersWithCase(req.rawHeaders),
      multiValueHeaders: multiValueHeadersWithCase(req.rawHeaders),
      ...(query && { queryStringParameters: query.single, multiValueQueryStringParameters: query.multi }),
    };
    let statusCode = 500;
    let body: string | undefined;
    try {
      const result = (await this.invoke(event)) as { statusCode?: number; body?: string } | undefined;
      statusCode = result?.statusCode ?? 200;
      body = result?.body;
    } catch {
      body = JSON.stringify({ message: 'Internal server error' });
    }
    if (statusCode < 200 || statusCode > 299 || socket.destroyed) {
      this.connections.delete(id);
      return refuseUpgrade(socket, statusCode, body);
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onOpen(connection, ws));
  }

  private onOpen(connection: LiveConnection, ws: WebSocket): void {
    connection.socket = ws;
    connection.state = 'open';
    this.resetIdleTimer(connection);
    const maxMs = this.options.maxConnectionMs ?? 2 * 60 * 60 * 1000;
    connection.lifetimeTimer = setTimeout(() => ws.close(1001, 'Going away'), maxMs);
    ws.on('message', (data: Buffer) => void this.onMessage(connection, data.toString('utf8')));
    ws.on('close', (code: number, reason: Buffer) => void this.onClose(connection, code, reason.toString()));
    ws.on('error', () => undefined);
  }

  private resetIdleTimer(connection: LiveConnection): void {
    const idleMs = this.options.idleTimeoutMs ?? 10 * 60 * 1000;
    clearTimeout(connection.idleTimer);
    connection.idleTimer = setTimeout(() => connection.socket?.close(1001, 'Going away'), idleMs);
  }

  private async onMessage(connection: LiveConnection, body: string): Promise<void> {
    connection.lastActiveAt = Date.now();
    this.resetIdleTimer(connection);
    const routeKey = selectWebSocketRoute(body);
    const event = { ...this.webSocketEvent(connection, routeKey, 'MESSAGE', Date.now()), body, isBase64Encoded: false };
    let reply: string | undefined;
    try {
      const result = (await this.invoke(event)) as { body?: unknown } | undefined;
      if (ROUTES_WITH_RESPONSE.includes(routeKey) && typeof result?.body === 'string') reply = result.body;
    } catch {
      // What API Gateway sends the caller when the integration fails.
      reply = JSON.stringify({ message: 'Internal server error', connectionId: connection.id, requestId: event.requestContext.requestId });
    }
    if (reply !== undefined && connection.socket?.readyState === WebSocket.OPEN) connection.socket.send(reply);
  }

  private async onClose(connection: LiveConnection, code: number, reason: string): Promise<void> {
    clearTimeout(connection.idleTimer);
    clearTimeout(connection.lifetimeTimer);
    this.connections.delete(connection.id);
    if (connection.skipDisconnect) return;
    const event = this.webSocketEvent(connection, '$disconnect', 'DISCONNECT', Date.now());
    const disconnect = {
      ...event,
      requestContext: { ...event.requestContext, disconnectStatusCode: code, disconnectReason: reason },
    };
    await this.invoke(disconnect).catch(() => undefined);
  }

  private webSocketEvent(connection: LiveConnection, routeKey: WebSocketRouteKey, eventType: string, now: number) {
    const host = this.wsAddress;
    const requestId = randomBytes(12).toString('base64');
    return {
      requestContext: {
        routeKey,
        eventType,
        messageId: eventType === 'MESSAGE' ? randomBytes(12).toString('base64') : undefined,
        messageDirection: 'IN',
        connectionId: connection.id,
        connectedAt: connection.connectedAt,
        requestTimeEpoch: now,
        requestTime: clfTime(now),
        requestId,
        extendedRequestId: requestId,
        domainName: host,
        stage: this.stage,
        apiId: API_ID,
        identity: { sourceIp: connection.sourceIp, userAgent: connection.userAgent },
      },
      isBase64Encoded: false,
    };
  }

  // ---- @connections management API -------------------------------------------------------------

  private async onManagementRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const match = new RegExp(`^/(?:${escapeRegExp(this.stage)}/)?@connections/([^/]+)$`).exec(url.pathname);
    if (!match) return awsError(res, 403, 'ForbiddenException', 'Forbidden');
    let id: string;
    try {
      id = decodeURIComponent(match[1]);
    } catch {
      return awsError(res, 410, 'GoneException', null);
    }
    const connection = this.connections.get(id);
    const open = connection?.state === 'open' && connection.socket?.readyState === WebSocket.OPEN ? connection : undefined;
    switch (req.method) {
      case 'POST': {
        const body = await readBody(req, MAX_WEBSOCKET_MESSAGE_BYTES + 1);
        if (!open) return awsError(res, 410, 'GoneException', null);
        if (body.length > MAX_WEBSOCKET_MESSAGE_BYTES) {
          return awsError(res, 413, 'PayloadTooLargeException', 'Request entity too large');
        }
        open.socket!.send(body.toString('utf8'));
        res.writeHead(200).end();
        return;
      }
      case 'GET':
        if (!open) return awsError(res, 410, 'GoneException', null);
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            connectedAt: new Date(open.connectedAt).toISOString(),
            lastActiveAt: new Date(open.lastActiveAt).toISOString(),
            identity: { sourceIp: open.sourceIp, userAgent: open.userAgent },
          }),
        );
        return;
      case 'DELETE':
        if (!open) return awsError(res, 410, 'GoneException', null);
        // Closing fires the socket's close handler, which invokes $disconnect.
        open.socket!.close(1000, '');
        res.writeHead(204).end();
        return;
      default:
        return awsError(res, 403, 'ForbiddenException', 'Forbidden');
    }
  }

  // ---- HTTP API (payload format 2.0) -----------------------------------------------------------

  private async onHttpRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const route = matchHttpRoute(method, url.pathname);
    if (!route) return sendJson(res, 404, { message: 'Not Found' });
    const { routeKey, pathParameters } = route;
    const raw = await readBody(req, MAX_HTTP_BODY_BYTES + 1);
    if (raw.length > MAX_HTTP_BODY_BYTES) return sendJson(res, 413, { message: 'Request Entity Too Large' });
    const now = Date.now();
    const headers = joinedHeaders(req.headers);
    const query = queryParameters(url.searchParams);
    const textual = isTextual(headers['content-type']);
    const requestId = randomBytes(12).toString('base64');
    const event = {
      version: '2.0',
      routeKey,
      rawPath: url.pathname,
      rawQueryString: url.search.replace(/^\?/, ''),
      ...(headers.cookie && { cookies: headers.cookie.split(/;\s*/) }),
      headers,
      ...(query && { queryStringParameters: query.joined }),
      ...(pathParameters && { pathParameters }),
      requestContext: {
        accountId: '000000000000',
        apiId: API_ID,
        domainName: headers.host ?? this.httpAddress,
        domainPrefix: (headers.host ?? 'localhost').split('.')[0],
        http: {
          method,
          path: url.pathname,
          protocol: `HTTP/${req.httpVersion}`,
          sourceIp: req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1',
          userAgent: headers['user-agent'] ?? '',
        },
        requestId,
        routeKey,
        stage: '$default',
        time: clfTime(now),
        timeEpoch: now,
      },
      ...(raw.length > 0 && { body: raw.toString(textual ? 'utf8' : 'base64') }),
      isBase64Encoded: raw.length > 0 && !textual,
    };
    let result: unknown;
    try {
      result = await this.invoke(event);
    } catch {
      return sendJson(res, 500, { message: 'Internal Server Error' });
    }
    writeHttpResult(res, result);
  }

  // ---- shared ----------------------------------------------------------------------------------

  /** An asynchronous (`Event`) invocation: queued, not awaited, errors reported like any other. */
  invokeAsync(event: unknown): void {
    setImmediate(() => void this.invoke(event).catch(() => undefined));
  }

  /** Invokes the handler like a warm Lambda: a fresh context, concurrent with other invocations. */
  private invoke(event: unknown): Promise<unknown> {
    const deadline = Date.now() + INTEGRATION_TIMEOUT_MS;
    const context: LocalContext = {
      awsRequestId: randomUUID(),
      functionName: 'realtime-broadcast-local',
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    const run = Promise.resolve()
      .then(() => this.options.handler(event, context))
      .catch((error: unknown) => {
        this.options.onHandlerError?.(error);
        throw error;
      });
    this.pending.add(run);
    void run.catch(() => undefined).finally(() => this.pending.delete(run));
    return run;
  }
}

/** The HTTP API's response mapping for payload format 2.0. */
function writeHttpResult(res: ServerResponse, result: unknown): void {
  const structured = typeof result === 'object' && result !== null && 'statusCode' in result;
  if (!structured) {
    // A value without statusCode is taken as the JSON body of a 200.
    const body = typeof result === 'string' ? result : JSON.stringify(result ?? null);
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    return;
  }
  const r = result as { statusCode: number; headers?: Record<string, string>; body?: string; isBase64Encoded?: boolean; cookies?: string[] };
  const headers: Record<string, string | string[]> = { ...(r.headers ?? {}) };
  if (r.cookies?.length) headers['set-cookie'] = r.cookies;
  const body = r.body === undefined ? undefined : r.isBase64Encoded ? Buffer.from(r.body, 'base64') : r.body;
  res.writeHead(r.statusCode, headers).end(body);
}

function awsError(res: ServerResponse, status: number, type: string, message: string | null): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-ErrorType': type }).end(JSON.stringify({ message }));
}

function sendJson(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function refuseUpgrade(socket: Duplex, status: number, body = ''): void {
  if (socket.destroyed) return;
  const text = body ?? '';
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
}

/** Reads a body, stopping at `limit` bytes so an oversize one cannot exhaust memory. */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      req.resume();
      return Buffer.alloc(limit);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function queryParameters(params: URLSearchParams) {
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
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(',') : (value ?? '')]),
  );
}

/** WebSocket `$connect` headers keep the client's capitalisation. */
function headersWithCase(raw: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) headers[raw[i]] = raw[i + 1];
  return headers;
}

function multiValueHeadersWithCase(raw: string[]): Record<string, string[]> {
  const headers: Record<string, string[]> = {};
  for (let i = 0; i < raw.length; i += 2) (headers[raw[i]] ??= []).push(raw[i + 1]);
  return headers;
}

/** API Gateway passes text bodies as they are and base64-encodes the rest. */
function isTextual(contentType: string | undefined): boolean {
  if (!contentType) return true;
  return /^(text\/|application\/(json|.*\+json|x-www-form-urlencoded|xml|.*\+xml|javascript))/i.test(contentType);
}

/** `21/Nov/2026:22:38:01 +0000`, API Gateway's requestTime format. */
function clfTime(epochMs: number): string {
  const d = new Date(epochMs);
  const month = d.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getUTCDate())}/${month}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Listens, resolving with `host:port`. */
function listen(server: Server, port: number, host: string, setting: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`Port ${port} on ${host} is already in use; set ${setting} to another port`)
          : error,
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const { address, port: bound } = server.address() as AddressInfo;
      resolve(`${address.includes(':') ? `[${address}]` : address}:${bound}`);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
