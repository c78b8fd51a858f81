import {
  ApiGatewayManagementApiClient,
  ApiGatewayManagementApiServiceException,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { mockClient } from 'aws-sdk-client-mock';
import { ManagementApiDelivery } from '../../../lambda/adapters/management-api-delivery';
import { StaticKeySource } from '../../../lambda/adapters/key-sources';
import { createHandler, Handler } from '../../../lambda/edge/app';
import { startTestStore, TestStore } from '../../helpers/dynamo';
import { connectEvent, disconnectEvent, httpEvent, messageEvent, newConnectionId } from '../../helpers/gateway-events';

const api = mockClient(ApiGatewayManagementApiClient);
const KEY = 'test-access-key';
const NOW = Date.parse('2026-11-21T22:38:01.000Z');

let db: TestStore;
let handler: Handler;
let ids = 0;
const invoked: unknown[] = [];

beforeAll(async () => {
  db = await startTestStore();
  handler = createHandler({
    connections: db.connections,
    subscriptions: db.subscriptions,
    apiKeys: db.apiKeys,
    usage: db.usage,
    retained: db.retained,
    invoker: { invoke: async (task) => void invoked.push(task) },
    requireApiKey: false,
    delivery: new ManagementApiDelivery(new ApiGatewayManagementApiClient({ region: 'us-east-1' }), { sleep: async () => undefined }),
    keys: new StaticKeySource(KEY),
    fanoutConcurrency: 8,
    newId: () => `msg-${++ids}`,
    now: () => NOW,
  });
});
afterAll(() => db.stop());
beforeEach(() => {
  api.reset();
  api.on(PostToConnectionCommand).resolves({});
});

/** Messages posted through the Management API, as [connectionId, parsed message]. */
const posted = () =>
  api.commandCalls(PostToConnectionCommand).map((call) => [call.args[0].input.ConnectionId, JSON.parse(String(call.args[0].input.Data))]);

const replyOf = (result: { body?: string }) => JSON.parse(result.body!);

async function connect(query?: Record<string, string>) {
  const id = newConnectionId();
  expect(await handler(connectEvent(id, query))).toEqual({ statusCode: 200 });
  return id;
}

async function subscribed(channel: string) {
  const id = await connect();
  await handler(messageEvent(id, { action: 'subscribe', channel }));
  return id;
}

describe('WebSocket: subscribe', () => {
  it('sends connection_id on the first subscribe, then confirms', async () => {
    const id = await connect();
    const result = await handler(messageEvent(id, { action: 'subscribe', channel: 'admin' }));
    expect(replyOf(result)).toEqual({ type: 'subscription_succeeded', channel: 'admin' });
    expect(posted()).toEqual([[id, { type: 'connection_id', connection_id: id }]]);
  });

  it('does not resend connection_id on later subscribes, and subscribing twice is harmless', async () => {
    const id = await connect();
    await handler(messageEvent(id, { action: 'subscribe', channel: 'twice' }));
    api.resetHistory();
    const again = await handler(messageEvent(id, { action: 'subscribe', channel: 'twice' }));
    expect(replyOf(again)).toEqual({ type: 'subscription_succeeded', channel: 'twice' });
    expect(posted()).toEqual([]);
  });

  it('accepts names like logs:thread-123', async () => {
    const id = await connect();
    const result = await handler(messageEvent(id, { action: 'subscribe', channel: 'logs:thread-123' }));
    expect(replyOf(result)).toEqual({ type: 'subscription_succeeded', channel: 'logs:thread-123' });
  });
});

describe('WebSocket: unsubscribe', () => {
  it('confirms and stops delivery', async () => {
    const id = await subscribed('leaving');
    const result = await handler(messageEvent(id, { action: 'unsubscribe', channel: 'leaving' }));
    expect(replyOf(result)).toEqual({ type: 'unsubscribe_succeeded', channel: 'leaving' });
    api.resetHistory();
    const sent = await handler(httpEvent({ body: { channel: 'leaving', event: 'e' } }));
    expect(replyOf(sent)).toMatchObject({ sent: 0 });
    expect(posted()).toEqual([]);
  });
});

describe('WebSocket: send', () => {
  it('delivers to every subscriber, the sender included, with id, timestamp and from', async () => {
    const sender = await subscribed('room');
    const other = await subscribed('room');
    const outsider = await connect();
    api.resetHistory();
    const result = await handler(messageEvent(sender, { action: 'send', channel: 'room', event: 'admin_event', data: { n: 1 } }));
    const message = { id: `msg-${ids}`, timestamp: '2026-11-21T22:38:01.000Z', channel: 'room', event: 'admin_event', data: { n: 1 }, from: sender };
    expect(replyOf(result)).toEqual({ type: 'send_success', channel: 'room', id: message.id, sent: 2, failed: 0, stale: 0 });
    expect(posted().sort()).toEqual([[sender, message], [other, message]].sort());
    expect(posted().map(([to]) => to)).not.toContain(outsider);
  });

  it('sends to one connection by id', async () => {
    const sender = await connect();
    const target = await connect();
    const result = await handler(messageEvent(sender, { action: 'send', connectionId: target, event: 'private_message', data: { hi: true } }));
    expect(replyOf(result)).toMatchObject({ type: 'send_success', connectionId: target, sent: 1, failed: 0 });
    expect(posted()).toEqual([[target, { id: expect.any(String), timestamp: expect.any(String), event: 'private_message', data: { hi: true }, from: sender }]]);
  });

  it('answers connection_not_found for an unknown connection', async () => {
    const sender = await connect();
    const result = await handler(messageEvent(sender, { action: 'send', connectionId: 'nobody123456=', event: 'e' }));
    expect(replyOf(result)).toEqual({ type: 'error', code: 'connection_not_found', message: expect.any(String) });
    expect(posted()).toEqual([]);
  });

  it('answers connection_not_found for a connection in another project', async () => {
    const sender = await connect({ projectId: 'one' });
    const target = await connect({ projectId: 'two' });
    const result = await handler(messageEvent(sender, { action: 'send', connectionId: target, event: 'e' }));
    expect(replyOf(result)).toMatchObject({ type: 'error', code: 'connection_not_found' });
  });

  it('answers connection_not_found and purges a target that is gone', async () => {
    const sender = await connect();
    const target = await connect();
    api.on(PostToConnectionCommand, { ConnectionId: target }).rejects(new GoneException({ $metadata: { httpStatusCode: 410 }, message: '' }));
    const result = await handler(messageEvent(sender, { action: 'send', connectionId: target, event: 'e' }));
    expect(replyOf(result)).toMatchObject({ type: 'error', code: 'connection_not_found' });
    expect(await db.connections.get(target)).toBeUndefined();
  });
});

describe('WebSocket: ping', () => {
  it('answers {"action":"ping"} with {"type":"pong"}', async () => {
    const id = await connect();
    expect(replyOf(await handler(messageEvent(id, { action: 'ping' })))).toEqual({ type: 'pong' });
  });

  it('answers the text ping with the text pong', async () => {
    const id = await connect();
    expect(await handler(messageEvent(id, 'ping'))).toEqual({ statusCode: 200, body: 'pong' });
  });
});

describe('WebSocket: connect and disconnect', () => {
  it('refuses a malformed projectId with 400', async () => {
    const result = await handler(connectEvent(newConnectionId(), { projectId: 'bad project!' }));
    expect(result).toMatchObject({ statusCode: 400 });
    expect(JSON.parse((result as { body: string }).body)).toMatchObject({ code: 'invalid_project' });
  });

  it('removes the connection and its subscriptions, and a second $disconnect is harmless', async () => {
    const id = await subscribed('bye');
    expect(await handler(disconnectEvent(id))).toEqual({ statusCode: 200 });
    expect(await handler(disconnectEvent(id))).toEqual({ statusCode: 200 });
    expect(await db.connections.get(id)).toBeUndefined();
    const sent = await handler(httpEvent({ body: { channel: 'bye', event: 'e' } }));
    expect(replyOf(sent)).toMatchObject({ sent: 0 });
  });
});

describe('WebSocket: ack and get_retained', () => {
  it('routes both actions to their own routes', () => {
    expect(messageEvent('x=', { action: 'ack', channel: 'c', id: 'm' }).requestContext.routeKey).toBe('ack');
    expect(messageEvent('x=', { action: 'get_retained', channel: 'c' }).requestContext.routeKey).toBe('get_retained');
  });

  it('answers no_retained when the channel retains nothing', async () => {
    const id = await connect();
    expect(replyOf(await handler(messageEvent(id, { action: 'get_retained', channel: 'empty' })))).toEqual({ type: 'no_retained', channel: 'empty' });
  });

  it('refuses an ack from a connection without a signed identity', async () => {
    const id = await connect();
    const result = await handler(messageEvent(id, { action: 'ack', channel: 'news', id: 'm1' }));
    expect(replyOf(result)).toMatchObject({ type: 'error', code: 'identity_required' });
  });
});

describe('welcome task', () => {
  it('$connect schedules the welcome instead of posting while $connect runs', async () => {
    invoked.length = 0;
    const id = await connect({ projectId: 'welcomed', type: 'runtime' });
    expect(posted()).toEqual([]);
    expect(invoked).toEqual([{ task: 'welcome', connectionId: id, projectId: 'welcomed', clientType: 'runtime', clientCount: 1 }]);
  });

  it('the task posts connected to the new connection', async () => {
    const id = await connect();
    api.resetHistory();
    const result = await handler({ task: 'welcome', connectionId: id, projectId: 'default', clientCount: 4 });
    expect(result).toEqual({ statusCode: 200 });
    expect(posted()).toEqual([[id, { type: 'connected', clientId: id, projectId: 'default', clientCount: 4, timestamp: '2026-11-21T22:38:01.000Z' }]]);
  });

  it('is not accepted through API Gateway', async () => {
    // Handled as the HTTP request it is (401 without a key), not as a task.
    const event = { ...httpEvent({ authorization: null }), task: 'welcome', connectionId: 'x=' };
    expect((await handler(event)).statusCode).toBe(401);
  });
});

describe('WebSocket: bad input', () => {
  const cases: [string, string, string | object][] = [
    ['invalid JSON', 'invalid_json', '{"action":"subscribe"'],
    ['an unknown action', 'unknown_action', { action: 'dance' }],
    ['no action', 'invalid_message', { channel: 'admin' }],
    ['a JSON array', 'invalid_message', '[1,2]'],
    ['a missing channel', 'invalid_channel', { action: 'subscribe' }],
    ['a bad channel name', 'invalid_channel', { action: 'subscribe', channel: 'no spaces' }],
    ['a reserved channel', 'reserved_channel', { action: 'subscribe', channel: '$system' }],
    ['a send without event', 'invalid_message', { action: 'send', channel: 'admin' }],
    ['a send with channel and connectionId', 'invalid_message', { action: 'send', channel: 'a', connectionId: 'abc=', event: 'e' }],
    ['an oversize message', 'payload_too_large', { action: 'send', channel: 'admin', event: 'e', data: 'x'.repeat(128 * 1024) }],
  ];

  it.each(cases)('answers %s with %s, keeps the connection, writes nothing', async (_, code, body) => {
    const id = await connect();
    const result = await handler(messageEvent(id, body));
    expect(result.statusCode).toBe(200);
    expect(replyOf(result)).toEqual({ type: 'error', code, message: expect.any(String) });
    expect((await db.connections.get(id))!.channels).toEqual([]);
    expect(posted()).toEqual([]);
  });

  it('answers internal_error without details when a store fails', async () => {
    const id = await connect();
    const get = jest.spyOn(db.connections, 'get').mockRejectedValueOnce(new Error('secret internals: table xyz'));
    const result = await handler(messageEvent(id, { action: 'send', channel: 'admin', event: 'e' }));
    expect(replyOf(result)).toEqual({ type: 'error', code: 'internal_error', message: 'Internal error' });
    get.mockRestore();
  });

  it('refuses the connection with 500 when $connect cannot store it', async () => {
    const put = jest.spyOn(db.connections, 'put').mockRejectedValueOnce(new Error('boom'));
    expect(await handler(connectEvent(newConnectionId()))).toEqual({ statusCode: 500 });
    put.mockRestore();
  });
});

describe('HTTP: POST /broadcast', () => {
  it('delivers {channel, event, data, id, timestamp} to subscribers and reports counts', async () => {
    const a = await subscribed('admin-http');
    const b = await subscribed('admin-http');
    api.resetHistory();
    const result = await handler(httpEvent({ body: { channel: 'admin-http', event: 'admin_event', data: { hello: 'world' } } }));
    expect(result).toMatchObject({ statusCode: 200, headers: { 'content-type': 'application/json' } });
    const body = replyOf(result);
    expect(body).toEqual({ success: true, channel: 'admin-http', event: 'admin_event', id: expect.any(String), sent: 2, failed: 0, stale: 0 });
    const message = { id: body.id, timestamp: '2026-11-21T22:38:01.000Z', channel: 'admin-http', event: 'admin_event', data: { hello: 'world' } };
    expect(posted().sort()).toEqual([[a, message], [b, message]].sort());
  });

  it('sends to one connection with connectionId', async () => {
    const target = await connect();
    const result = await handler(httpEvent({ body: { connectionId: target, event: 'private_message', data: 1 } }));
    expect(replyOf(result)).toMatchObject({ success: true, connectionId: target, sent: 1 });
    expect(posted()).toEqual([[target, expect.objectContaining({ event: 'private_message', data: 1 })]]);
    expect(posted()[0][1]).not.toHaveProperty('from');
  });

  it('answers 404 connection_not_found for an unknown connection', async () => {
    const result = await handler(httpEvent({ body: { connectionId: 'nobody123456=', event: 'e' } }));
    expect(result.statusCode).toBe(404);
    expect(replyOf(result)).toMatchObject({ code: 'connection_not_found' });
  });

  it('counts gone subscribers as stale and purges them', async () => {
    const live = await subscribed('stale-room');
    const dead = await subscribed('stale-room');
    api.on(PostToConnectionCommand, { ConnectionId: dead }).rejects(new GoneException({ $metadata: { httpStatusCode: 410 }, message: '' }));
    const first = await handler(httpEvent({ body: { channel: 'stale-room', event: 'e' } }));
    expect(replyOf(first)).toMatchObject({ sent: 1, failed: 0, stale: 1 });
    expect(await db.connections.get(dead)).toBeUndefined();
    expect(await db.connections.get(live)).toBeDefined();
    const second = await handler(httpEvent({ body: { channel: 'stale-room', event: 'e' } }));
    expect(replyOf(second)).toMatchObject({ sent: 1, stale: 0 });
  });

  it('counts a subscriber that keeps failing as failed, after retries', async () => {
    const flaky = await subscribed('flaky-room');
    const error = new ApiGatewayManagementApiServiceException({ name: 'InternalServerError', $fault: 'server', $metadata: { httpStatusCode: 500 }, message: '' });
    api.on(PostToConnectionCommand, { ConnectionId: flaky }).rejects(error);
    api.resetHistory();
    const result = await handler(httpEvent({ body: { channel: 'flaky-room', event: 'e' } }));
    expect(replyOf(result)).toMatchObject({ sent: 0, failed: 1, stale: 0 });
    expect(api.commandCalls(PostToConnectionCommand, { ConnectionId: flaky })).toHaveLength(3);
    expect(await db.connections.get(flaky)).toBeDefined();
  });

  it('decodes a base64-encoded body', async () => {
    const body = Buffer.from(JSON.stringify({ channel: 'b64', event: 'e' })).toString('base64');
    const result = await handler(httpEvent({ body, isBase64Encoded: true }));
    expect(result.statusCode).toBe(200);
  });

  it.each([
    ['a wrong key', 'Bearer nope'],
    ['no key', null],
    ['another scheme', `Basic ${KEY}`],
  ])('answers 401 for %s', async (_, authorization) => {
    const result = await handler(httpEvent({ authorization }));
    expect(result.statusCode).toBe(401);
    expect(replyOf(result)).toMatchObject({ success: false, error: 'Unauthorized', code: 'unauthorized' });
  });

  it.each([
    ['invalid JSON', 400, 'invalid_json', '{"channel":'],
    ['a missing event', 400, 'invalid_message', { channel: 'admin' }],
    ['a bad channel', 400, 'invalid_channel', { channel: 'a b', event: 'e' }],
    ['a reserved channel', 400, 'reserved_channel', { channel: '$x', event: 'e' }],
    ['no target', 400, 'invalid_message', { event: 'e' }],
    ['an oversize body', 413, 'payload_too_large', { channel: 'admin', event: 'e', data: 'x'.repeat(130 * 1024) }],
    ['a body that fits but not with its envelope', 413, 'payload_too_large', { channel: 'admin', event: 'e', data: 'x'.repeat(128 * 1024 - 60) }],
  ])('answers %s with %s %s', async (_, status, code, body) => {
    const result = await handler(httpEvent({ body: body as string | object }));
    expect(result.statusCode).toBe(status);
    expect(replyOf(result)).toEqual({ success: false, error: expect.any(String), code, errors: [{ code, message: expect.any(String) }] });
  });

  it('answers 500 without internals when fan-out fails unexpectedly', async () => {
    const spy = jest.spyOn(db.subscriptions, 'subscribers').mockImplementationOnce(() => {
      throw new Error('ProvisionedThroughputExceeded on table broadcast-subscriptions');
    });
    const result = await handler(httpEvent({ body: { channel: 'x', event: 'e' } }));
    expect(result.statusCode).toBe(500);
    expect(replyOf(result)).toMatchObject({ error: 'Internal error', code: 'internal_error' });
    expect(result.body).not.toMatch(/Provisioned|broadcast-subscriptions/);
    spy.mockRestore();
  });
});

describe('HTTP: other routes', () => {
  it('answers GET /health without a key', async () => {
    const result = await handler(httpEvent({ routeKey: 'GET /health', authorization: null, body: '' }));
    expect(result.statusCode).toBe(200);
    expect(replyOf(result)).toEqual({ status: 'ok' });
  });

  it('answers 404 not_found for an unknown route', async () => {
    const result = await handler(httpEvent({ routeKey: 'GET /nope' }));
    expect(result.statusCode).toBe(404);
    expect(replyOf(result)).toMatchObject({ code: 'not_found' });
  });
});

describe('unrecognised events', () => {
  it.each([{}, null, { requestContext: {} }, 'text'])('answers 400 to %j without throwing', async (event) => {
    expect(await handler(event)).toEqual({ statusCode: 400 });
  });
});
