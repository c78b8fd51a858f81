/**
 * A stand-in for API Gateway's `@connections` API, for tests and the bench: answers signed
 * `POST`/`DELETE /{stage}/@connections/{id}` after an injected round-trip time, with scripted or
 * random 429s and 410s, and records what it was sent. Unsigned requests, or a path without the
 * stage, get 403 as on AWS.
 */
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type StandInAnswer = number | 'hang';

export interface StandInOptions {
  readonly stage?: string;
  /** Added before each answer. @default 0 */
  readonly rttMs?: number;
  /** Share of posts answered 429. @default 0 */
  readonly throttleRate?: number;
  /** Share of connection ids that are gone (410), decided once per id. @default 0 */
  readonly goneRate?: number;
  /** Keep each post's body (tests); the bench only counts. @default true */
  readonly keepBodies?: boolean;
  readonly random?: () => number;
}

export interface StandInCall {
  readonly method: string;
  readonly connectionId: string;
  readonly body?: string;
  readonly status: number | 'hang';
}

export class StandInConnections {
  /** Every request, in order of arrival. */
  readonly calls: StandInCall[] = [];
  /** Posts answered 2xx, per connection id. */
  readonly delivered = new Map<string, number>();
  /** When the last 2xx post was answered (epoch ms), 0 before any. */
  lastDeliveryAt = 0;
  /** 2xx posts that carried Pusher's frame (`{"event":…`) rather than the native envelope. */
  pusherFrames = 0;
  private readonly scripts = new Map<string, StandInAnswer[]>();
  private readonly gone = new Map<string, boolean>();
  private readonly server: Server;
  private readonly stage: string;
  private readonly random: () => number;

  constructor(private readonly options: StandInOptions = {}) {
    this.stage = options.stage ?? 'production';
    this.random = options.random ?? Math.random;
    this.server = createServer((req, res) => this.answer(req, res));
    this.server.keepAliveTimeout = 60_000;
  }

  async listen(port = 0): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    return this.url;
  }

  /** The management endpoint to give the handler: `http://127.0.0.1:{port}/{stage}`. */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/${this.stage}`;
  }

  /** The next answers for one connection, in order; then 200 (or the random rates). */
  script(connectionId: string, ...answers: StandInAnswer[]): void {
    this.scripts.set(connectionId, [...(this.scripts.get(connectionId) ?? []), ...answers]);
  }

  /** What each connection was sent, parsed, in order. */
  posted(): [string, unknown][] {
    return this.calls
      .filter((c) => c.method === 'POST' && c.status !== 'hang' && c.status < 300)
      .map((c) => [c.connectionId, JSON.parse(c.body ?? 'null')]);
  }

  /** Forgets what was sent, keeping scripts. */
  clearCalls(): void {
    this.calls.length = 0;
    this.delivered.clear();
    this.lastDeliveryAt = 0;
    this.pusherFrames = 0;
  }

  reset(): void {
    this.clearCalls();
    this.scripts.clear();
    this.gone.clear();
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const match = /^\/([^/]+)\/@connections\/([^/?]+)$/.exec(req.url ?? '');
      const signed = /^AWS4-HMAC-SHA256 Credential=/.test(req.headers.authorization ?? '') && req.headers['x-amz-date'];
      if (!match || match[1] !== this.stage || !signed) return this.reply(res, 403, { message: 'Forbidden' });
      const connectionId = decodeURIComponent(match[2]);
      const status = this.decide(connectionId, req.method ?? '');
      const body = req.method === 'POST' && this.options.keepBodies !== false ? Buffer.concat(chunks).toString('utf8') : undefined;
      this.calls.push({ method: req.method ?? '', connectionId, body, status });
      if (status === 'hang') return;
      if (req.method === 'POST' && status < 300) {
        this.delivered.set(connectionId, (this.delivered.get(connectionId) ?? 0) + 1);
        if (chunks[0]?.subarray(0, 9).toString('latin1') === '{"event":') this.pusherFrames++;
      }
      const rtt = this.options.rttMs ?? 0;
      const send = () => {
        if (req.method === 'POST' && status < 300) this.lastDeliveryAt = Date.now();
        this.reply(res, status, status < 300 ? undefined : { message: status === 410 ? 'Gone' : 'Too Many Requests' });
      };
      if (rtt > 0) setTimeout(send, rtt);
      else send();
    });
  }

  private decide(connectionId: string, method: string): StandInAnswer {
    const scripted = this.scripts.get(connectionId);
    if (scripted && scripted.length > 0) return scripted.shift()!;
    if (!this.gone.has(connectionId)) this.gone.set(connectionId, this.random() < (this.options.goneRate ?? 0));
    if (this.gone.get(connectionId)) return 410;
    if (method === 'POST' && this.random() < (this.options.throttleRate ?? 0)) return 429;
    return method === 'DELETE' ? 204 : 200;
  }

  private reply(res: ServerResponse, status: number, body?: object): void {
    res.writeHead(status, body ? { 'content-type': 'application/json' } : {});
    res.end(body ? JSON.stringify(body) : undefined);
  }
}
