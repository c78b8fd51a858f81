/** Real clients for end-to-end tests: `ws` sockets that queue what they receive, and fetch. */
import { WebSocket } from 'ws';

export class TestClient {
  readonly messages: string[] = [];
  /** Its connection and project, from `connected` (set by the e2e helper's `connect`). */
  connectionId?: string;
  projectId?: string;
  private waiters: (() => void)[] = [];
  closed?: { code: number; reason: string };

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      this.messages.push(data.toString('utf8'));
      this.notify();
    });
    socket.on('close', (code: number, reason: Buffer) => {
      this.closed = { code, reason: reason.toString() };
      this.notify();
    });
  }

  static open(url: string, options?: { headers?: Record<string, string> }): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, options);
      socket.once('open', () => resolve(new TestClient(socket)));
      socket.once('unexpected-response', (_req, res) =>
        reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { statusCode: res.statusCode })),
      );
      socket.once('error', reject);
    });
  }

  /**
   * Sends a message split into frames of at most `frameBytes` (API Gateway refuses frames over
   * 32 KB, but takes messages up to 128 KB in smaller frames).
   */
  sendInFrames(message: string | object, frameBytes = 32 * 1024): void {
    const bytes = Buffer.from(typeof message === 'string' ? message : JSON.stringify(message));
    for (let at = 0; at < bytes.length; at += frameBytes) {
      this.socket.send(bytes.subarray(at, at + frameBytes), { binary: false, fin: at + frameBytes >= bytes.length });
    }
  }

  send(message: string | object): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Waits for the next message matching `match` (JSON messages are parsed), consuming it. */
  async next<T = Record<string, unknown>>(match: (message: any) => boolean = () => true, timeoutMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.messages.findIndex((raw) => match(parse(raw)));
      if (index >= 0) return parse(this.messages.splice(index, 1)[0]) as T;
      if (this.closed) throw new Error(`closed (${this.closed.code}) while waiting; received ${JSON.stringify(this.messages)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; received ${JSON.stringify(this.messages)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Sends a frame and waits for the reply of the given type. */
  async request<T = Record<string, unknown>>(message: object | string, type: string): Promise<T> {
    this.send(message);
    return this.next<T>((m) => m?.type === type || m?.type === 'error');
  }

  /** Resolves when the socket is closed. */
  async waitClosed(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('not closed in time');
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    return this.closed;
  }

  close(): Promise<unknown> {
    if (this.closed) return Promise.resolve(this.closed);
    this.socket.close();
    return this.waitClosed();
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    waiters.forEach((wake) => wake());
  }
}

function parse(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}
