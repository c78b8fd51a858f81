/**
 * End to end: the real handler behind the local gateway, with dynalite, driven by real
 * WebSocket clients and real HTTP requests — every README flow and every bad input.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { LocalStack } from '../../local/stack';
import { LOCAL_AWS, LOCAL_TABLES } from '../../local/store';
import { postJson, TestClient } from '../helpers/clients';
import { useLocalStack, waitFor } from '../helpers/e2e';

const KEY = 'e2e-access-key-0123456789abcdef0123';
const e2e = useLocalStack({ accessKey: KEY });
const { subscriber, broadcast, handlerErrors } = e2e;
let stack: LocalStack;
let documents: DynamoDBDocumentClient;

beforeAll(() => {
  stack = e2e.stack();
  documents = DynamoDBDocumentClient.from(new DynamoDBClient({ ...LOCAL_AWS, endpoint: stack.dynamoEndpoint }));
});
afterAll(() => {
  documents.destroy();
  // The handler must never throw to API Gateway.
  expect(handlerErrors).toEqual([]);
});

/** Opens a connection and takes its `connected` system message, so tests see only what follows. */
const connect = async (query = ''): Promise<TestClient> => (await e2e.connect(query)).client;

describe('README flows', () => {
  it('subscribe answers connection_id first, then subscription_succeeded', async () => {
    const client = await connect();
    client.send({ action: 'subscribe', channel: 'admin' });
    expect(await client.next()).toEqual({
      kind: 'reply',
      type: 'connection_id',
      connection_id: expect.stringMatching(/=$/),
      socket_id: expect.stringMatching(/^\d+\.\d+$/),
    });
    expect(await client.next()).toEqual({ kind: 'reply', type: 'subscription_succeeded', channel: 'admin' });
    client.send({ action: 'subscribe', channel: 'logs:thread-123' });
    expect(await client.next()).toEqual({ kind: 'reply', type: 'subscription_succeeded', channel: 'logs:thread-123' });
  });

  it('POST /broadcast reaches every subscriber with channel, event, data, id and timestamp', async () => {
    const a = await subscriber('news');
    const b = await subscriber('news');
    const bystander = await subscriber('other');
    const response = await broadcast({ channel: 'news', event: 'admin_event', data: { hello: 'world' } });
    expect(response.status).toBe(200);
    expect(response.json).toEqual({
      success: true,
      channel: 'news',
      event: 'admin_event',
      id: expect.any(String),
      sent: 2,
      failed: 0,
      stale: 0,
    });
    const expected = {
      kind: 'message',
      id: response.json.id,
      timestamp: expect.any(String),
      channel: 'news',
      event: 'admin_event',
      data: { hello: 'world' },
    };
    expect(await a.client.next()).toEqual(expected);
    expect(await b.client.next()).toEqual(expected);
    await e2e.barrier(bystander);
    expect(bystander.client.messages).toEqual([]);
  });

  it('send over WebSocket reaches subscribers, the sender too, marked with from', async () => {
    const sender = await subscriber('chat');
    const other = await subscriber('chat');
    sender.client.send({ action: 'send', channel: 'chat', event: 'admin_event', data: { text: 'hi' } });
    const message = {
      kind: 'message',
      id: expect.any(String),
      timestamp: expect.any(String),
      channel: 'chat',
      event: 'admin_event',
      data: { text: 'hi' },
      from: sender.id,
    };
    expect(await other.client.next()).toEqual(message);
    expect(await sender.client.next((m) => m.event === 'admin_event')).toEqual(message);
    expect(await sender.client.next((m) => m.type === 'send_success')).toEqual({
      kind: 'reply',
      type: 'send_success',
      channel: 'chat',
      id: expect.any(String),
      sent: 2,
      failed: 0,
      stale: 0,
    });
  });

  it('send to a connectionId reaches only that connection', async () => {
    const sender = await subscriber('dm');
    const target = await subscriber('dm');
    const reply = await sender.client.request(
      { action: 'send', connectionId: target.id, event: 'private_message', data: { secret: 1 } },
      'send_success',
    );
    expect(reply).toMatchObject({ kind: 'reply', type: 'send_success', connectionId: target.id, sent: 1, failed: 0 });
    expect(await target.client.next()).toEqual({
      kind: 'message',
      id: expect.any(String),
      timestamp: expect.any(String),
      event: 'private_message',
      data: { secret: 1 },
      from: sender.id,
    });
    expect(sender.client.messages).toEqual([]);
  });

  it('POST /broadcast with connectionId reaches that connection', async () => {
    const target = await subscriber('dm-http');
    const response = await broadcast({ connectionId: target.id, event: 'private_message', data: 2 });
    expect(response.json).toMatchObject({ success: true, connectionId: target.id, sent: 1 });
    expect(await target.client.next()).toMatchObject({ event: 'private_message', data: 2 });
  });

  it('unsubscribe confirms and stops delivery', async () => {
    const { client } = await subscriber('quiet');
    expect(await client.request({ action: 'unsubscribe', channel: 'quiet' }, 'unsubscribe_succeeded')).toEqual({
      kind: 'reply',
      type: 'unsubscribe_succeeded',
      channel: 'quiet',
    });
    expect((await broadcast({ channel: 'quiet', event: 'e' })).json).toMatchObject({ sent: 0 });
  });

  it('answers both forms of ping', async () => {
    const client = await connect();
    expect(await client.request({ action: 'ping' }, 'pong')).toEqual({ kind: 'reply', type: 'pong' });
    client.send('ping');
    expect(await client.next()).toBe('pong');
  });

  it('GET /health answers without a key', async () => {
    const response = await fetch(`${stack.httpUrl}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('closing the socket removes the connection and its subscriptions', async () => {
    const { client, id } = await subscriber('leaving');
    await client.close();
    await waitFor(async () => !(await connectionItem(id)) && !(await subscriptionItem('leaving', id)));
    expect((await broadcast({ channel: 'leaving', event: 'e' })).json).toMatchObject({ sent: 0, stale: 0 });
  });
});

describe('authorization', () => {
  it.each([
    ['a wrong key', { Authorization: 'Bearer wrong' }],
    ['no key', {}],
    ['the key without Bearer', { Authorization: KEY }],
  ])('refuses %s with 401', async (_, headers) => {
    const response = await postJson(`${stack.httpUrl}/broadcast`, { channel: 'admin', event: 'e' }, headers);
    expect(response.status).toBe(401);
    expect(response.json).toMatchObject({ success: false, error: 'Unauthorized', code: 'unauthorized' });
  });
});

describe('bad input over WebSocket', () => {
  it.each<[string, string, string | object]>([
    ['invalid JSON', 'invalid_json', '{"action":'],
    ['an unknown action', 'unknown_action', { action: 'dance' }],
    ['no action', 'invalid_message', { channel: 'x' }],
    ['a missing channel', 'invalid_channel', { action: 'subscribe' }],
    ['a bad channel name', 'invalid_channel', { action: 'subscribe', channel: 'white space' }],
    ['a channel over 128 characters', 'invalid_channel', { action: 'subscribe', channel: 'c'.repeat(129) }],
    ['a reserved channel', 'reserved_channel', { action: 'subscribe', channel: '$internal' }],
    ['a send without event', 'invalid_message', { action: 'send', channel: 'x' }],
    ['a send with no target', 'invalid_message', { action: 'send', event: 'e' }],
    ['a send to an unknown connection', 'connection_not_found', { action: 'send', connectionId: 'bm9ib2R5aGVyZQ=', event: 'e' }],
    [
      'data nested 5,000 levels deep',
      'invalid_message',
      `{"action":"send","channel":"x","event":"e","data":${'['.repeat(5000)}${']'.repeat(5000)}}`,
    ],
    [
      'a message too large with its envelope',
      'payload_too_large',
      { action: 'send', channel: 'x', event: 'e', data: 'x'.repeat(128 * 1024 - 100) },
    ],
  ])('answers %s with %s and keeps the connection open', async (_, code, frame) => {
    const client = await connect();
    // In frames of 32 KB, as API Gateway requires of messages over that.
    client.sendInFrames(frame);
    expect(await client.next()).toEqual({ kind: 'reply', type: 'error', code, message: expect.any(String) });
    expect(await client.request({ action: 'ping' }, 'pong')).toEqual({ kind: 'reply', type: 'pong' });
  });

  it('closes a connection that sends a message over 128 KB with 1009, as API Gateway does, even in small frames', async () => {
    const client = await connect();
    client.sendInFrames('x'.repeat(128 * 1024 + 1));
    expect((await client.waitClosed()).code).toBe(1009);
  });

  it('closes a connection that sends one frame over 32 KB with 1009 (a browser sending a 40 KB message), as API Gateway does', async () => {
    const client = await connect();
    client.send({ action: 'send', channel: 'x', event: 'e', data: 'x'.repeat(40 * 1024) });
    expect((await client.waitClosed()).code).toBe(1009);
  });

  it('refuses a connection with a malformed projectId', async () => {
    await expect(TestClient.open(`${stack.webSocketUrl}?projectId=not%20valid`)).rejects.toMatchObject({ statusCode: 400 });
  });
});

describe('bad input over HTTP', () => {
  it.each<[string, number, string, string | object]>([
    ['invalid JSON', 400, 'invalid_json', '{"channel":'],
    ['a JSON array', 400, 'invalid_message', '[]'],
    ['a missing event', 400, 'invalid_message', { channel: 'a' }],
    ['a bad channel', 400, 'invalid_channel', { channel: 'a b', event: 'e' }],
    ['a reserved channel', 400, 'reserved_channel', { channel: '$a', event: 'e' }],
    ['both channel and connectionId', 400, 'invalid_message', { channel: 'a', connectionId: 'bm9ib2R5aGVyZQ=', event: 'e' }],
    ['an unknown connection', 404, 'connection_not_found', { connectionId: 'bm9ib2R5aGVyZQ=', event: 'e' }],
    ['data nested 5,000 levels deep', 400, 'invalid_message', `{"channel":"a","event":"e","data":${'['.repeat(5000)}${']'.repeat(5000)}}`],
    ['a body over 128 KB', 413, 'payload_too_large', { channel: 'a', event: 'e', data: 'x'.repeat(129 * 1024) }],
  ])('answers %s with %s %s', async (_, status, code, body) => {
    const response = await broadcast(body);
    expect(response.status).toBe(status);
    expect(response.json).toMatchObject({ success: false, error: expect.any(String), code });
  });

  it.each(['/nope', '//', '/broadcast/extra/more'])('answers the unknown path %s with 404 and a code, never 500', async (path) => {
    const response = await fetch(`${stack.httpUrl}${path}`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ success: false, code: 'not_found', error: expect.stringContaining('No route GET') });
  });
});

describe('stale connections', () => {
  it('purges a connection dropped without $disconnect on the next broadcast', async () => {
    const live = await subscriber('lossy');
    const lost = await subscriber('lossy');
    stack.gateway.dropWithoutDisconnect(lost.id);
    await lost.client.waitClosed();
    expect(await connectionItem(lost.id)).toBeDefined();

    const first = await broadcast({ channel: 'lossy', event: 'e' });
    expect(first.json).toMatchObject({ sent: 1, failed: 0, stale: 1 });
    expect(await connectionItem(lost.id)).toBeUndefined();
    const second = await broadcast({ channel: 'lossy', event: 'e' });
    expect(second.json).toMatchObject({ sent: 1, stale: 0 });
    expect(await live.client.next()).toMatchObject({ event: 'e' });
  });

  it('lets the local TTL stand-in delete items past their expiry', async () => {
    const { id } = await subscriber('ttl');
    expect(await stack.sweepExpired(Date.now())).toBe(0);
    expect(await stack.sweepExpired(Date.now() + 3 * 60 * 60 * 1000)).toBeGreaterThanOrEqual(2);
    expect(await connectionItem(id)).toBeUndefined();
  });
});

describe('fan-out at scale', () => {
  it('delivers 20 broadcasts to 50 clients, every message exactly once', async () => {
    const subscribers: { client: TestClient; id: string }[] = [];
    for (let i = 0; i < 50; i++) subscribers.push(await subscriber('crowd'));
    const responses = await Promise.all(Array.from({ length: 20 }, (_, n) => broadcast({ channel: 'crowd', event: 'tick', data: { n } })));
    for (const response of responses) expect(response.json).toMatchObject({ sent: 50, failed: 0, stale: 0 });
    const ids = responses.map((response) => response.json.id).sort();
    expect(new Set(ids).size).toBe(20);
    await waitFor(async () => subscribers.every(({ client }) => client.messages.length >= 20), 10_000);
    await e2e.barrier(...subscribers);
    for (const { client } of subscribers) {
      const received = client.messages.map((raw) => JSON.parse(raw));
      expect(received.map((m) => m.id).sort()).toEqual(ids);
      expect(received.map((m) => m.data.n).sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, n) => n));
    }
  }, 60_000);
});

async function connectionItem(connectionId: string) {
  const { Item } = await documents.send(new GetCommand({ TableName: LOCAL_TABLES.connections.name, Key: { connectionId } }));
  return Item;
}

async function subscriptionItem(channel: string, connectionId: string) {
  const { Item } = await documents.send(
    new GetCommand({ TableName: LOCAL_TABLES.subscriptions.name, Key: { pk: `default#${channel}`, sk: connectionId } }),
  );
  return Item;
}
