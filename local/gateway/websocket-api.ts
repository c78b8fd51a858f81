/**
 * The local WebSocket API: runs `$connect` before accepting an upgrade, selects each frame's route
 * from the product's route declaration, sends route responses back, invokes `$disconnect` on
 * close, and closes connections at API Gateway's idle timeout and maximum duration.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { API_GATEWAY } from '../../lambda/contract/limits';
import { ROUTES_WITH_RESPONSE, selectWebSocketRoute, WebSocketRouteKey } from '../../lambda/contract/routes';
import { headersWithCase, multiValueHeadersWithCase, queryParameters, sourceIpOf, webSocketEvent } from './aws-shapes';
import { FrameWatch } from './frames';
import { refuseUpgrade, requestUrl } from './io';
import type { LocalLambda } from './lambda-runtime';
import { admit, TokenBucket, within } from './throttle';

/** API Gateway's WebSocket message limit (larger messages close the connection with 1009), the protocol's own. */
export const MAX_WEBSOCKET_MESSAGE_BYTES = API_GATEWAY.messageBytes;

/** `disconnectReason` when the close frame gives none, as API Gateway reports it. */
const CLOSE_REASONS: Record<number, string> = {
  1000: 'Connection Closed Normally',
  1001: 'Going away',
  1005: 'Client-side close frame status not set',
  1006: 'Connection closed abnormally',
};

export interface LiveConnection {
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
  /** The client sent what API Gateway refuses (a frame over 32 KB, a binary frame): nothing more is routed. */
  refused?: boolean;
  /** `$disconnect` has been sent (or skipped): never twice. */
  closed?: boolean;
}

export interface WebSocketApiOptions {
  readonly stage: string;
  /** `host:port` the API listens on, once it does: the events' `domainName`. */
  readonly address: () => string;
  /** API Gateway closes connections idle this long. @default 600000 (10 minutes) */
  readonly idleTimeoutMs?: number;
  /** API Gateway closes every connection this long after it opened. @default 7200000 (2 hours) */
  readonly maxConnectionMs?: number;
  /** The stage's throttle and the account's, shared with the HTTP API and `@connections`; undefined: none. */
  readonly stageBucket?: TokenBucket;
  readonly accountBucket?: TokenBucket;
  /** How long a route's integration may take. @default 29000 */
  readonly integrationTimeoutMs?: number;
}

export class WebSocketApi {
  readonly connections = new Map<string, LiveConnection>();
  /** The subprotocol each accepted upgrade's `$connect` answered with, if any. */
  private readonly acceptedProtocol = new WeakMap<IncomingMessage, string>();
  private readonly wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_WEBSOCKET_MESSAGE_BYTES,
    // As API Gateway: the upgrade carries the subprotocol `$connect` put in its response's
    // Sec-WebSocket-Protocol header, or none (and a browser that offered some then fails).
    handleProtocols: (_offered, req) => this.acceptedProtocol.get(req) ?? false,
  });

  constructor(
    private readonly lambda: LocalLambda,
    private readonly options: WebSocketApiOptions,
  ) {}

  /** The connection with this id if it is open: the only kind `@connections` can reach. */
  open(connectionId: string): (LiveConnection & { socket: WebSocket }) | undefined {
    const connection = this.connections.get(connectionId);
    return connection?.state === 'open' && connection.socket?.readyState === WebSocket.OPEN
      ? (connection as LiveConnection & { socket: WebSocket })
      : undefined;
  }

  async onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    // Checked before $connect runs, so a malformed handshake leaves nothing behind.
    const refused = this.checkHandshake(req);
    if (refused) {
      const body = { message: refused.message, ...(refused.hint !== undefined && { hint: refused.hint }) };
      return refuseUpgrade(socket, refused.status, JSON.stringify(body), refused.headers);
    }
    if (!admit([this.options.accountBucket, this.options.stageBucket]))
      return refuseUpgrade(socket, 429, JSON.stringify({ message: 'Too Many Requests' }));
    const url = requestUrl(req);
    // Connection ids look like AWS's: 16 base64 characters, often ending in '='.
    const id = randomId();
    const now = Date.now();
    const connection: LiveConnection = {
      id,
      connectedAt: now,
      lastActiveAt: now,
      sourceIp: sourceIpOf(req.socket.remoteAddress),
      userAgent: req.headers['user-agent'] ?? '',
      state: 'connecting',
    };
    this.connections.set(id, connection);
    const query = queryParameters(url.searchParams);
    // API Gateway adds these to what the client sent.
    const rawHeaders = [
      ...req.rawHeaders,
      'X-Amzn-Trace-Id',
      `Root=1-${Math.floor(now / 1000).toString(16)}-${randomBytes(12).toString('hex')}`,
      'X-Forwarded-For',
      connection.sourceIp,
      'X-Forwarded-Port',
      String(req.socket.localPort ?? ''),
      'X-Forwarded-Proto',
      'http',
    ];
    const event = {
      ...this.event(connection, '$connect', 'CONNECT', now),
      headers: headersWithCase(rawHeaders),
      multiValueHeaders: multiValueHeadersWithCase(rawHeaders),
      ...(query && { queryStringParameters: query.single, multiValueQueryStringParameters: query.multi }),
    };
    let statusCode: number;
    let body: string | undefined;
    try {
      const answer = await within(
        this.lambda.invoke(event),
        this.options.integrationTimeoutMs ?? API_GATEWAY.webSocketIntegrationTimeoutMs,
      );
      if (answer === 'timeout') throw new Error('timeout');
      const result = answer as { statusCode?: number; body?: string; headers?: Record<string, string> } | undefined;
      statusCode = result?.statusCode ?? 200;
      body = result?.body;
      const protocol = Object.entries(result?.headers ?? {}).find(([name]) => name.toLowerCase() === 'sec-websocket-protocol')?.[1];
      if (protocol) this.acceptedProtocol.set(req, protocol);
    } catch {
      // A $connect that throws or times out fails the handshake with 502, as on AWS.
      statusCode = 502;
      body = JSON.stringify({ message: 'Internal server error' });
    }
    if (statusCode < 200 || statusCode > 299) {
      this.connections.delete(id);
      return refuseUpgrade(socket, statusCode, body);
    }
    // From here the handler has stored a connection. If the client is gone before the socket
    // opens — while $connect ran, or in the moment before the upgrade completes, when `ws` just
    // destroys the socket — it is told of the departure, as API Gateway does, so nothing is left.
    socket.once('close', () => {
      if (connection.state !== 'open') void this.onClose(connection, 1006, '');
    });
    if (socket.destroyed || !socket.writable) {
      await this.onClose(connection, 1006, '');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onOpen(connection, ws, socket, head));
  }

  /** What is wrong with an upgrade request, as a refusal; undefined if it is a valid handshake to the stage. */
  private checkHandshake(
    req: IncomingMessage,
  ): { status: number; message: string; hint?: string; headers?: Record<string, string> } | undefined {
    const path = requestUrl(req).pathname.replace(/\/$/, '');
    if (path !== `/${this.options.stage}`) {
      // The hint is the local gateway's own: on AWS the answer is a bare 403.
      const hint = `WebSocket clients connect to the stage's path: ws://${this.options.address()}/${this.options.stage}`;
      return { status: 403, message: 'Forbidden', hint };
    }
    if (req.method !== 'GET') return { status: 405, message: 'Invalid HTTP method' };
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') return { status: 400, message: 'Invalid Upgrade header' };
    const key = req.headers['sec-websocket-key'] ?? '';
    if (!/^[+/0-9A-Za-z]{22}==$/.test(key)) return { status: 400, message: 'Missing or invalid Sec-WebSocket-Key header' };
    const version = req.headers['sec-websocket-version'];
    if (version !== '13' && version !== '8') {
      return { status: 400, message: 'Missing or invalid Sec-WebSocket-Version header', headers: { 'Sec-WebSocket-Version': '13, 8' } };
    }
    return undefined;
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

  /**
   * A connection held by a test itself, with no socket and no `$connect`: what `@connections` posts
   * to it is handed to `receive`. How the fault matrix gives a channel thousands of subscribers
   * without thousands of handshakes; everything up to the socket — signatures, IAM, throttles,
   * 410s — is the same.
   */
  attachListener(receive: (message: string) => void): string {
    const id = randomId();
    const now = Date.now();
    const detach = () => void this.connections.delete(id);
    const socket = { readyState: WebSocket.OPEN, send: (data: string) => receive(data), close: detach, terminate: detach };
    this.connections.set(id, {
      id,
      connectedAt: now,
      lastActiveAt: now,
      sourceIp: '127.0.0.1',
      userAgent: 'listener',
      state: 'open',
      skipDisconnect: true,
      socket: socket as unknown as WebSocket,
    });
    return id;
  }

  /**
   * Ends a connection as API Gateway's 2-hour limit does (1001, `$disconnect` after): for tests
   * that cannot wait two hours.
   */
  expire(connectionId: string): void {
    this.connections.get(connectionId)?.socket?.close(1001, 'Going away');
  }

  /** Closes every connection as API Gateway does when it goes away. */
  closeAll(): void {
    for (const connection of this.connections.values()) connection.socket?.close(1001, 'Going away');
  }

  terminate(): void {
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
  }

  private onOpen(connection: LiveConnection, ws: WebSocket, socket: Duplex, head: Buffer): void {
    connection.socket = ws;
    connection.state = 'open';
    this.resetIdleTimer(connection);
    const maxMs = this.options.maxConnectionMs ?? API_GATEWAY.maxConnectionMs;
    connection.lifetimeTimer = setTimeout(() => ws.close(1001, 'Going away'), maxMs);
    // Each frame over 32 KB closes the connection (1009) before `ws` can make a message of it:
    // this listener runs first.
    const frames = new FrameWatch(API_GATEWAY.frameBytes);
    const tooBig = () => {
      connection.refused = true;
      ws.close(1009, 'Message too big');
      setTimeout(() => ws.terminate(), 1000).unref();
    };
    if (frames.feed(head) !== undefined) tooBig();
    socket.prependListener('data', (chunk: Buffer) => {
      if (!connection.refused && frames.feed(chunk) !== undefined) tooBig();
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (connection.refused) return;
      // Without binary media types, API Gateway refuses binary frames (1003).
      if (isBinary) {
        connection.refused = true;
        ws.close(1003, 'Unsupported data');
        return;
      }
      void this.onMessage(connection, data.toString('utf8'));
    });
    ws.on('close', (code: number, reason: Buffer) => void this.onClose(connection, code, reason.toString()));
    ws.on('error', () => undefined);
  }

  private resetIdleTimer(connection: LiveConnection): void {
    const idleMs = this.options.idleTimeoutMs ?? API_GATEWAY.idleTimeoutMs;
    clearTimeout(connection.idleTimer);
    connection.idleTimer = setTimeout(() => connection.socket?.close(1001, 'Going away'), idleMs);
  }

  private async onMessage(connection: LiveConnection, body: string): Promise<void> {
    connection.lastActiveAt = Date.now();
    this.resetIdleTimer(connection);
    const routeKey = selectWebSocketRoute(body);
    const event = { ...this.event(connection, routeKey, 'MESSAGE', Date.now()), body, isBase64Encoded: false };
    const { requestId } = event.requestContext;
    let reply: string | undefined;
    try {
      if (!admit([this.options.accountBucket, this.options.stageBucket])) {
        reply = JSON.stringify({ message: 'Too Many Requests', connectionId: connection.id, requestId });
      } else {
        const result = await within(
          this.lambda.invoke(event),
          this.options.integrationTimeoutMs ?? API_GATEWAY.webSocketIntegrationTimeoutMs,
        );
        if (result === 'timeout') reply = JSON.stringify({ message: 'Endpoint request timed out', connectionId: connection.id, requestId });
        else if (ROUTES_WITH_RESPONSE.includes(routeKey) && typeof (result as { body?: unknown } | undefined)?.body === 'string') {
          reply = (result as { body: string }).body;
        }
      }
    } catch {
      // What API Gateway sends the caller when the integration fails.
      reply = JSON.stringify({ message: 'Internal server error', connectionId: connection.id, requestId: event.requestContext.requestId });
    }
    if (reply !== undefined && connection.socket?.readyState === WebSocket.OPEN) connection.socket.send(reply);
  }

  private async onClose(connection: LiveConnection, code: number, reason: string): Promise<void> {
    // Once per connection, whichever of the socket's and `ws`'s close events comes first.
    if (connection.closed) return;
    connection.closed = true;
    clearTimeout(connection.idleTimer);
    clearTimeout(connection.lifetimeTimer);
    this.connections.delete(connection.id);
    if (connection.skipDisconnect) return;
    const event = this.event(connection, '$disconnect', 'DISCONNECT', Date.now());
    const disconnect = {
      ...event,
      requestContext: { ...event.requestContext, disconnectStatusCode: code, disconnectReason: reason || (CLOSE_REASONS[code] ?? '') },
    };
    await this.lambda.invoke(disconnect).catch(() => undefined);
  }

  private event(connection: LiveConnection, routeKey: WebSocketRouteKey, eventType: 'CONNECT' | 'MESSAGE' | 'DISCONNECT', now: number) {
    return webSocketEvent(connection, routeKey, eventType, now, { domainName: this.options.address(), stage: this.options.stage });
  }
}

const randomId = (): string => randomBytes(11).toString('base64');
