/**
 * The Pusher endpoint under `npm start`, on a port of its own as CloudFront's is a domain of its own:
 * each request runs the very CloudFront Function the construct deploys (lib/pusher-endpoint, the same
 * stage baked in) in CloudFront's sandbox (function-runtime.ts). A response the function generates is
 * answered here; a request it passes goes on to the local WebSocket API as CloudFront sends it to
 * API Gateway: its URI and query string as rewritten, only the headers of the origin request policy
 * (never the viewer's Host: the origin's own instead), `X-Forwarded-For` with the viewer's address;
 * an upgrade is then piped both ways at the TCP level.
 */
import { randomBytes } from 'node:crypto';
import { createServer, IncomingMessage, request as httpRequest, Server, ServerResponse, STATUS_CODES } from 'node:http';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { FORWARDED_HEADERS, VIEWER_REQUEST_FILE, viewerRequestCode } from '../../lib/pusher-endpoint/code';
import { close, listen } from '../gateway/io';
import { CloudFrontFunction, FunctionOutcome, GeneratedResponse, queryString, ViewerRequest, viewerRequestEvent } from './function-runtime';

export interface LocalPusherEndpointOptions {
  /** The WebSocket API's stage, baked into the function as the construct bakes it. */
  readonly stage: string;
  /** Where the local WebSocket API listens: the origin. Read per request (it may listen after this is built). */
  readonly origin: () => { readonly host: string; readonly port: number };
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0 (any free port) */
  readonly port?: number;
  /** The function's `console.log` lines (CloudWatch Logs on AWS). */
  readonly log?: (line: string) => void;
  /** Why the function, or passing a request on, failed: a 502 or 503 to the viewer. */
  readonly onError?: (error: Error) => void;
}

/** A fixed distribution id, shaped as CloudFront's. */
const DISTRIBUTION_ID = 'E1OCALPUSHER0';

export class LocalPusherEndpoint {
  /** The function as this endpoint runs it. */
  readonly function: CloudFrontFunction;
  private readonly server: Server;
  /** Viewers' and the origin's sockets, ended on stop. */
  private readonly sockets = new Set<Duplex>();
  private address = '';

  constructor(private readonly options: LocalPusherEndpointOptions) {
    this.function = new CloudFrontFunction(viewerRequestCode(options.stage), VIEWER_REQUEST_FILE, { log: options.log });
    this.server = createServer((req, res) => void this.onRequest(req, res).catch((error: unknown) => this.failed(res, error)));
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => socket.destroy());
      this.track(socket);
      void this.onUpgrade(req, socket, head).catch((error: unknown) => {
        this.options.onError?.(error as Error);
        socket.destroy();
      });
    });
  }

  /** Starts listening. Rejects with a one-line message if the port is taken. */
  async listen(): Promise<void> {
    this.address = await listen(this.server, this.options.port ?? 0, this.options.host ?? '127.0.0.1', 'PUSHER_PORT');
  }

  /** `ws://host:port`: pusher-js's `wsHost` and `wsPort`. */
  get url(): string {
    return `ws://${this.address}`;
  }

  get port(): number {
    return Number(this.address.slice(this.address.lastIndexOf(':') + 1));
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.server.closeAllConnections();
    await close(this.server);
  }

  private async outcome(req: IncomingMessage): Promise<{ outcome: FunctionOutcome; requestId: string; viewerIp: string }> {
    const requestId = randomBytes(42).toString('base64url');
    const event = viewerRequestEvent(req, { distributionDomainName: this.address, distributionId: DISTRIBUTION_ID, requestId });
    const outcome = await this.function.run(event);
    if (outcome.kind === 'error') this.options.onError?.(new Error(`The Pusher endpoint's function: ${outcome.error}: ${outcome.reason}`));
    return { outcome, requestId, viewerIp: event.viewer.ip };
  }

  private async onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const { outcome, requestId, viewerIp } = await this.outcome(req);
    if (outcome.kind !== 'request') {
      const { statusCode, statusDescription, headers, body } = answerFor(outcome, requestId);
      const lines = [...headers, ['Content-Length', String(body.length)], ['Connection', 'close']].map(
        ([name, value]) => `${name}: ${value}\r\n`,
      );
      socket.end(Buffer.concat([Buffer.from(`HTTP/1.1 ${statusCode} ${statusDescription}\r\n${lines.join('')}\r\n`), body]));
      return;
    }
    const origin = this.options.origin();
    const upstream = this.track(connect(origin.port, origin.host));
    let connected = false;
    upstream.on('error', (error) => {
      if (connected || socket.destroyed) socket.destroy();
      // CloudFront answers 502 when it cannot reach the origin.
      else {
        this.options.onError?.(error);
        socket.end(`HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nX-Cache: Error from cloudfront\r\nConnection: close\r\n\r\n`);
      }
    });
    upstream.on('close', () => socket.destroy());
    socket.on('close', () => upstream.destroy());
    upstream.on('connect', () => {
      connected = true;
      const lines = originHeaders(outcome.request, { origin, viewerIp, requestId, upgrade: true }).map(
        ([name, value]) => `${name}: ${value}\r\n`,
      );
      upstream.write(`GET ${originTarget(outcome.request)} HTTP/1.1\r\n${lines.join('')}\r\n`);
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
  }

  /** A request that is not an upgrade: answered by the function, or passed to the origin as one HTTP request. */
  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { outcome, requestId, viewerIp } = await this.outcome(req);
    if (outcome.kind !== 'request') {
      const { statusCode, statusDescription, headers, body } = answerFor(outcome, requestId);
      res.writeHead(statusCode, statusDescription, [...headers.flat(), 'Content-Length', String(body.length)]).end(body);
      return;
    }
    const origin = this.options.origin();
    const headers = originHeaders(outcome.request, { origin, viewerIp, requestId, upgrade: false });
    const forwarded = httpRequest({ host: origin.host, port: origin.port, method: 'GET', path: originTarget(outcome.request) });
    // Header by header: a repeated one stays repeated.
    for (const [name, value] of headers) forwarded.appendHeader(name, value);
    forwarded.on('response', (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
      answer.pipe(res);
    });
    forwarded.on('error', (error) => this.failed(res, error));
    forwarded.end();
  }

  private failed(res: ServerResponse, error: unknown): void {
    this.options.onError?.(error as Error);
    if (!res.headersSent) res.writeHead(502, { 'X-Cache': 'Error from cloudfront' }).end();
    else res.destroy();
  }

  private track<T extends Duplex>(socket: T): T {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    return socket;
  }
}

/** The path and query string the origin is asked for. */
const originTarget = (request: ViewerRequest): string => {
  const query = queryString(request.querystring);
  return query ? `${request.uri}?${query}` : request.uri;
};

/**
 * The headers of the origin request: the policy's, from the request the function returned; the
 * origin's own Host; and what CloudFront adds. (The WebSocket API adds its own X-Forwarded-For entry.)
 */
function originHeaders(
  request: ViewerRequest,
  {
    origin,
    viewerIp,
    requestId,
    upgrade,
  }: { origin: { host: string; port: number }; viewerIp: string; requestId: string; upgrade: boolean },
): [string, string][] {
  const headers: [string, string][] = [['Host', `${origin.host}:${origin.port}`]];
  for (const name of FORWARDED_HEADERS) {
    const given = request.headers[name.toLowerCase()];
    for (const { value } of given?.multiValue ?? (given ? [given] : [])) headers.push([name, value]);
  }
  if (!request.headers['user-agent']) headers.push(['User-Agent', 'Amazon CloudFront']);
  if (upgrade) headers.push(['Upgrade', 'websocket'], ['Connection', 'Upgrade']);
  headers.push(
    ['X-Forwarded-For', viewerIp],
    ['Via', `1.1 ${requestId.slice(0, 32)}.cloudfront.net (CloudFront)`],
    ['X-Amz-Cf-Id', requestId],
  );
  return headers;
}

/** The HTTP answer for a generated response or a failed function, with the headers CloudFront adds. */
function answerFor(
  outcome: Exclude<FunctionOutcome, { kind: 'request' }>,
  requestId: string,
): GeneratedResponse & { statusDescription: string } {
  const added: [string, string][] = [
    ['Server', 'CloudFront'],
    ['X-Cache', outcome.kind === 'response' ? 'FunctionGeneratedResponse from cloudfront' : 'Error from cloudfront'],
    ['X-Amz-Cf-Id', requestId],
  ];
  if (outcome.kind === 'response') {
    const { response } = outcome;
    return {
      ...response,
      statusDescription: response.statusDescription ?? STATUS_CODES[response.statusCode] ?? '',
      headers: [...response.headers, ...added],
    };
  }
  // CloudFront answers with an error page; here, JSON that says why (the hint is the local stack's own).
  const body = Buffer.from(
    JSON.stringify({ message: outcome.error, hint: `The Pusher endpoint's CloudFront Function: ${outcome.reason}` }),
  );
  return {
    statusCode: outcome.statusCode,
    statusDescription: STATUS_CODES[outcome.statusCode] ?? '',
    headers: [['Content-Type', 'application/json'], ...added],
    body,
  };
}
