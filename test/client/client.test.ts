/**
 * The TypeScript client and publisher end to end, in Node against the local stack: messages,
 * requests with their answers, a server restart survived with every message of a history channel
 * exactly once, token refresh, and the move to a new connection before API Gateway's limit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { ChannelMessage, ClientOptions, RealtimeClient, SocketFactory, State } from '../../client/src';
import { createPublisher, PublishError } from '../../client/src/publisher';
import { signClientToken } from '../../lambda/auth/tokens';
import { LocalStack, startLocalStack } from '../../local/stack';
import { waitFor } from '../helpers/e2e';

const KEY = 'client-test-master-key';
const NAMESPACES = JSON.stringify({ chat: { history: { size: 1000, ttlSeconds: 3600 } } });
const open = (stack: LocalStack, options: ClientOptions = {}) =>
  new RealtimeClient(stack.webSocketUrl, {
    WebSocket: WebSocket as unknown as SocketFactory,
    backoff: { initialMs: 50, maxMs: 500 },
    ...options,
  });

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const connected = (client: RealtimeClient) => waitFor(() => client.state === 'connected', 10_000);

describe('RealtimeClient', () => {
  let stack: LocalStack;
  const clients: RealtimeClient[] = [];
  beforeAll(async () => {
    stack = await startLocalStack({ accessKey: KEY, settings: { NAMESPACES }, lifecycleEventsFile: false });
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(() => stack.stop());

  it('subscribes, receives, publishes, and answers history requests, each answer to its own request', async () => {
    const client = open(stack);
    clients.push(client);
    const received: ChannelMessage[] = [];
    const room = client.subscribe('chat:c1');
    room.on('message', (m) => received.push(m));
    await connected(client);
    await new Promise<void>((resolve) => room.on('subscribed', () => resolve()));
    const publisher = createPublisher({ url: stack.httpUrl, key: KEY });
    const answer = await publisher.publish('chat:c1', 'hello', { n: 1 });
    expect(answer).toMatchObject({ success: true, sent: 1, offset: 1 });
    const mine = await client.publish('chat:c1', 'from-client', { n: 2 });
    expect(mine).toMatchObject({ sent: 1, offset: 2 });
    await waitFor(() => received.length === 2);
    expect(received.map((m) => [m.event, m.offset])).toEqual([
      ['hello', 1],
      ['from-client', 2],
    ]);
    // Two requests in flight at once: each gets its own answer.
    const [history, other] = await Promise.all([client.history('chat:c1', { since: 0 }), client.history('chat:c1', { since: 1 })]);
    expect(history.messages.map((m) => m.offset)).toEqual([1, 2]);
    expect(other.messages.map((m) => m.offset)).toEqual([2]);
    await expect(client.presence('chat:c1')).rejects.toMatchObject({ code: 'presence_not_enabled' });
  });

  it('publishes batches with an idempotency key on each message, and does not retry what cannot succeed', async () => {
    const publisher = createPublisher({ url: stack.httpUrl, key: KEY });
    const results = await publisher.publishBatch([
      { channel: 'a', event: 'e' },
      { channel: '$bad', event: 'e' },
    ]);
    expect(results).toMatchObject([{ id: expect.any(String) }, { code: 'reserved_channel' }]);
    const wrong = createPublisher({ url: stack.httpUrl, key: 'wrong' });
    await expect(wrong.publish('a', 'e')).rejects.toEqual(new PublishError(401, undefined, 'Unauthorized'));
    const repeated = await publisher.publish('a', 'e', null, { idempotencyKey: 'same' });
    expect(await publisher.publish('a', 'e', null, { idempotencyKey: 'same' })).toMatchObject({ id: repeated.id });
  });

  it('gets a new token before connecting when the last was refused, and after a dropped connection when it is about to expire', async () => {
    const created = await (
      await fetch(`${stack.httpUrl}/api-keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}` },
        body: JSON.stringify({ projectId: 'tok' }),
      })
    ).json();
    const projectKey = { apiKey: created.data.apiKey, keyPrefix: created.data.keyPrefix };
    const tokens = ['not-a-token'];
    let calls = 0;
    const client = open(stack, {
      getToken: async () => {
        calls++;
        // A refused token first; then tokens that expire within a minute, so every connect needs a new one.
        return tokens.shift() ?? signClientToken({ sub: `u${calls}` }, projectKey, 30);
      },
    });
    clients.push(client);
    let welcome: Record<string, unknown> | undefined;
    client.on('system', (m) => (welcome = m));
    await connected(client);
    expect(calls).toBe(2);
    await waitFor(() => welcome !== undefined);
    stack.gateway.dropWithoutDisconnect(welcome!.clientId as string);
    await waitFor(() => calls === 3, 10_000);
    await connected(client);
  });

  it('moves to a new connection before the server’s limit without losing or repeating a message', async () => {
    const short = await startLocalStack({ accessKey: KEY, maxConnectionMs: 1500, lifecycleEventsFile: false });
    try {
      const client = open(short, { maxConnectionMs: 700 });
      clients.push(client);
      const states: State[] = [];
      client.on('state', (s) => states.push(s));
      const got: number[] = [];
      client.subscribe('plain').on('message', (m) => got.push((m.data as { n: number }).n));
      await connected(client);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const publisher = createPublisher({ url: short.httpUrl, key: KEY });
      for (let n = 1; n <= 40; n++) {
        await publisher.publish('plain', 'tick', { n });
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await waitFor(() => got.length >= 40, 5000);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(got).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      // Replaced at least twice in those 2 seconds, never reconnecting from nothing.
      expect(states).not.toContain('reconnecting');
    } finally {
      await short.stop();
    }
  });
});

describe('RealtimeClient across a restart of the server', () => {
  it('reconnects by itself and, on a history channel, ends with every message exactly once', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'client-restart-'));
    const ports = { httpPort: await freePort(), wsPort: await freePort() };
    const options = { accessKey: KEY, dataDir, ...ports, settings: { NAMESPACES }, lifecycleEventsFile: false as const };
    let stack = await startLocalStack(options);
    const client = open(stack);
    try {
      const got: number[] = [];
      client.subscribe('chat:live').on('message', (m) => got.push((m.data as { n: number }).n));
      await connected(client);
      await new Promise((resolve) => setTimeout(resolve, 200));
      // The publisher retries through the restart (connection refused is retried), with idempotency keys.
      const publisher = createPublisher({ url: stack.httpUrl, key: KEY, attempts: 30, backoff: { initialMs: 50, maxMs: 300 } });
      let restarted = false;
      for (let n = 1; n <= 60; n++) {
        if (n === 25) {
          await stack.stop();
          // The client sees its connection drop; a while later the server is back, with its store.
          setTimeout(() => {
            void startLocalStack(options).then((next) => {
              stack = next;
              restarted = true;
            });
          }, 700);
        }
        await publisher.publish('chat:live', 'tick', { n });
      }
      expect(restarted).toBe(true);
      await waitFor(() => got.length >= 60, 15_000).catch(() => {
        throw new Error(`received ${got.length} of 60: ${JSON.stringify(got)}`);
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(got).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    } finally {
      client.close();
      await stack.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('RealtimeClient on Node without a global WebSocket', () => {
  it('uses the ws package by itself', async () => {
    const stack = await startLocalStack({ accessKey: KEY, lifecycleEventsFile: false });
    const had = (globalThis as { WebSocket?: unknown }).WebSocket;
    delete (globalThis as { WebSocket?: unknown }).WebSocket;
    const client = new RealtimeClient(stack.webSocketUrl);
    try {
      await connected(client);
    } finally {
      client.close();
      if (had) (globalThis as { WebSocket?: unknown }).WebSocket = had;
      await stack.stop();
    }
  });
});
