/**
 * A local API Gateway: a WebSocket API, its `@connections` management API and an HTTP API, each
 * turning traffic into the events API Gateway sends a Lambda proxy integration, and the handler's
 * results back into what API Gateway would answer. The routes come from `lambda/contract/routes.ts`,
 * the declaration the CDK construct deploys.
 *
 * websocket-api.ts, management-api.ts and http-api.ts are the three APIs; aws-shapes.ts the events
 * and answers; lambda-runtime.ts the invocations; this file puts them on two servers.
 */
import { createServer, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { HttpApi } from './http-api';
import { close, listen, refuseUpgrade, sendJson } from './io';
import { LocalHandler, LocalLambda, LocalLambdaOptions, Sandbox } from './lambda-runtime';
import { ManagementApi, ManagementAuthorizer, SignatureCheck } from './management-api';
import { ThrottleLimits, TokenBucket } from './throttle';
import { WebSocketApi } from './websocket-api';
import { API_GATEWAY } from '../../lambda/contract/limits';

export type { ThrottleLimits } from './throttle';
export type { FailedInvocation, LocalContext, LocalHandler, LocalLambdaOptions, RunningInvocation, Sandbox } from './lambda-runtime';
export type { ManagementAuthorizer } from './management-api';
export { MAX_HTTP_BODY_BYTES } from './http-api';

export interface GatewayOptions {
  /** The function: sandboxes of it (each with credentials of its own), or one handler every invocation shares. */
  readonly handler: LocalHandler | { readonly sandbox: () => Sandbox };
  /** The function's timeout, concurrency and asynchronous invocation settings. */
  readonly lambda?: Omit<LocalLambdaOptions, 'onError'>;
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
  /**
   * Throttles, as on AWS: each API's stage (default: the construct's, 1,000/s with bursts of 500)
   * and the account's budget shared by both APIs and `@connections` (10,000/s, bursts of 5,000).
   * `false` turns one off.
   */
  readonly throttle?: { readonly stage?: ThrottleLimits | false; readonly account?: ThrottleLimits | false };
  /** Integration timeouts, shortened by tests. @default 29000 for WebSocket routes, 30000 for HTTP */
  readonly integrationTimeoutMs?: { readonly webSocket?: number; readonly http?: number };
  /** IAM for `@connections`: the local stack checks the handler role's policy here. @default none (every signed call allowed) */
  readonly authorizeManagement?: ManagementAuthorizer;
  /** Checks `@connections` signatures; without one, only their shape is. */
  readonly checkSignature?: SignatureCheck;
}

export class LocalGateway {
  /** The function's runtime: what runs each invocation (tests kill one in the middle through it). */
  readonly lambda: LocalLambda;
  private readonly webSocket: WebSocketApi;
  /** The WebSocket API and its `@connections` API share a server, as they share a host on AWS. */
  private readonly wsServer: Server;
  private readonly httpServer: Server;
  private readonly stage: string;
  /** `host:port` of each server, kept once listening (a closed server no longer knows it). */
  private wsAddress = '';
  private httpAddress = '';

  constructor(private readonly options: GatewayOptions) {
    this.stage = options.stage ?? 'production';
    const runtime = { ...options.lambda, onError: options.onHandlerError };
    const { handler } = options;
    this.lambda = typeof handler === 'function' ? LocalLambda.sharing(handler, runtime) : new LocalLambda(handler.sandbox, runtime);
    const limits = (setting: ThrottleLimits | false | undefined, fallback: ThrottleLimits) =>
      setting === false ? undefined : new TokenBucket(setting ?? fallback);
    const accountBucket = limits(options.throttle?.account, API_GATEWAY.accountThrottle);
    this.webSocket = new WebSocketApi(this.lambda, {
      stage: this.stage,
      address: () => this.wsAddress,
      idleTimeoutMs: options.idleTimeoutMs,
      maxConnectionMs: options.maxConnectionMs,
      accountBucket,
      stageBucket: limits(options.throttle?.stage, API_GATEWAY.stageThrottle),
      integrationTimeoutMs: options.integrationTimeoutMs?.webSocket,
    });
    // Hints for the wrong port are the local gateway's own (on AWS the two APIs have different hosts).
    const management = new ManagementApi(
      this.webSocket,
      this.stage,
      accountBucket,
      options.authorizeManagement,
      options.checkSignature,
      () => `This is the WebSocket API's port: connect a WebSocket client to ${this.webSocketUrl}; the HTTP API is ${this.httpUrl}`,
    );
    const http = new HttpApi(this.lambda, () => this.httpAddress, {
      accountBucket,
      stageBucket: limits(options.throttle?.stage, API_GATEWAY.stageThrottle),
      integrationTimeoutMs: options.integrationTimeoutMs?.http,
    });
    // A bug here must answer 500, never take the whole local stack down.
    const guard = (res: ServerResponse) => (error: unknown) => {
      this.options.onHandlerError?.(error);
      if (!res.headersSent) sendJson(res, 500, { message: 'Internal Server Error' });
    };
    this.wsServer = createServer((req, res) => void management.handle(req, res).catch(guard(res)));
    this.wsServer.on('upgrade', (req, socket: Duplex, head: Buffer) => {
      // From the first moment: a client that resets the connection at any point must never
      // become an unhandled 'error' that stops the process.
      socket.on('error', () => socket.destroy());
      void this.webSocket.onUpgrade(req, socket, head).catch(() => refuseUpgrade(socket, 500));
    });
    this.httpServer = createServer((req, res) => void http.handle(req, res).catch(guard(res)));
    // A WebSocket client on the HTTP API's port: refused as the HTTP API would (no such route), with a hint.
    this.httpServer.on('upgrade', (_req, socket: Duplex) => {
      socket.on('error', () => socket.destroy());
      const hint = `This is the HTTP API's port: WebSocket clients connect to ${this.webSocketUrl}`;
      refuseUpgrade(socket, 404, JSON.stringify({ message: 'Not Found', hint }));
    });
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

  /** Drops a connection the way a lost network does, without `$disconnect`. */
  dropWithoutDisconnect(connectionId: string): void {
    this.webSocket.dropWithoutDisconnect(connectionId);
  }

  /** Ends a connection as the 2-hour limit does (see the WebSocket API's). */
  expire(connectionId: string): void {
    this.webSocket.expire(connectionId);
  }

  /** A connection with no socket, for tests: what `@connections` posts to it goes to `receive` (see WebSocketApi). */
  attachListener(receive: (message: string) => void): string {
    return this.webSocket.attachListener(receive);
  }

  /** An asynchronous (`Event`) invocation of the handler: how it runs its background tasks. */
  invokeAsync(event: unknown): void {
    this.lambda.invokeAsync(event);
  }

  /** Resolves once no invocation is in flight: every message they posted has been written to its socket. */
  settled(): Promise<void> {
    return this.lambda.settled();
  }

  async stop(): Promise<void> {
    this.webSocket.closeAll();
    // The $disconnects run, and what they start; nothing failed is retried any more.
    this.lambda.stopRetrying();
    await this.lambda.settled();
    this.webSocket.terminate();
    this.httpServer.closeAllConnections();
    this.wsServer.closeAllConnections();
    await Promise.all([close(this.httpServer), close(this.wsServer)]);
    await this.lambda.settled();
    this.lambda.stop();
  }
}
