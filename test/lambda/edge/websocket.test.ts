/** The WebSocket routes through the whole handler, with a real store and the Management API mocked. */
import { connectEvent, disconnectEvent, httpEvent, messageEvent, newConnectionId } from '../../helpers/gateway-events';
import { useHandler } from '../../helpers/handler';
import { pusherSocketId } from '../../../lambda/auth/pusher';

const { api, handler, db, lastId, posted, replyOf, connect, subscribed } = useHandler();

describe('WebSocket: subscribe', () => {
  it('sends connection_id on the first subscribe, then confirms', async () => {
    const id = await connect();
    const result = await handler(messageEvent(id, { action: 'subscribe', channel: 'admin' }));
    expect(replyOf(result)).toEqual({ kind: 'reply', type: 'subscription_succeeded', channel: 'admin' });
    const socketId = pusherSocketId(id);
    expect(posted()).toEqual([[id, { kind: 'reply', type: 'connection_id', connection_id: id, ...(socketId && { socket_id: socketId }) }]]);
  });

  it('does not resend connection_id on later subscribes, and subscribing twice is harmless', async () => {
    const id = await connect();
    await handler(messageEvent(id, { action: 'subscribe', channel: 'twice' }));
    api.clearCalls();
    const again = await handler(messageEvent(id, { action: 'subscribe', channel: 'twice' }));
    expect(replyOf(again)).toEqual({ kind: 'reply', type: 'subscription_succeeded', channel: 'twice' });
    expect(posted()).toEqual([]);
  });

  it('accepts names like logs:thread-123', async () => {
    const id = await connect();
    const result = await handler(messageEvent(id, { action: 'subscribe', channel: 'logs:thread-123' }));
    expect(replyOf(result)).toEqual({ kind: 'reply', type: 'subscription_succeeded', channel: 'logs:thread-123' });
  });
});

describe('WebSocket: unsubscribe', () => {
  it('confirms and stops delivery', async () => {
    const id = await subscribed('leaving');
    const result = await handler(messageEvent(id, { action: 'unsubscribe', channel: 'leaving' }));
    expect(replyOf(result)).toEqual({ kind: 'reply', type: 'unsubscribe_succeeded', channel: 'leaving' });
    api.clearCalls();
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
    api.clearCalls();
    const result = await handler(messageEvent(sender, { action: 'send', channel: 'room', event: 'admin_event', data: { n: 1 } }));
    const message = {
      kind: 'message',
      id: `msg-${lastId()}`,
      timestamp: '2026-11-21T22:38:01.000Z',
      channel: 'room',
      event: 'admin_event',
      data: { n: 1 },
      from: sender,
    };
    expect(replyOf(result)).toEqual({ kind: 'reply', type: 'send_success', channel: 'room', id: message.id, sent: 2, failed: 0, stale: 0 });
    expect(posted().sort()).toEqual(
      [
        [sender, message],
        [other, message],
      ].sort(),
    );
    expect(posted().map(([to]) => to)).not.toContain(outsider);
  });

  it('sends to one connection by id', async () => {
    const sender = await connect();
    const target = await connect();
    const result = await handler(
      messageEvent(sender, { action: 'send', connectionId: target, event: 'private_message', data: { hi: true } }),
    );
    expect(replyOf(result)).toMatchObject({ kind: 'reply', type: 'send_success', connectionId: target, sent: 1, failed: 0 });
    expect(posted()).toEqual([
      [
        target,
        {
          kind: 'message',
          id: expect.any(String),
          timestamp: expect.any(String),
          event: 'private_message',
          data: { hi: true },
          from: sender,
        },
      ],
    ]);
  });

  it('answers connection_not_found for an unknown connection', async () => {
    const sender = await connect();
    const result = await handler(messageEvent(sender, { action: 'send', connectionId: 'nobody123456=', event: 'e' }));
    expect(replyOf(result)).toEqual({ kind: 'reply', type: 'error', code: 'connection_not_found', message: expect.any(String) });
    expect(posted()).toEqual([]);
  });

  it('answers connection_not_found for a connection in another project', async () => {
    const sender = await connect({ projectId: 'one' });
    const target = await connect({ projectId: 'two' });
    const result = await handler(messageEvent(sender, { action: 'send', connectionId: target, event: 'e' }));
    expect(replyOf(result)).toMatchObject({ kind: 'reply', type: 'error', code: 'connection_not_found' });
  });

  it('answers connection_not_found and purges a target that is gone', async () => {
    const sender = await connect();
    const target = await connect();
    api.script(target, 410);
    const result = await handler(messageEvent(sender, { action: 'send', connectionId: target, event: 'e' }));
    expect(replyOf(result)).toMatchObject({ kind: 'reply', type: 'error', code: 'connection_not_found' });
    expect(await db().connections.get(target)).toBeUndefined();
  });
});

describe('WebSocket: ping', () => {
  it('answers {"action":"ping"} with {"type":"pong"}', async () => {
    const id = await connect();
    expect(replyOf(await handler(messageEvent(id, { action: 'ping' })))).toEqual({ kind: 'reply', type: 'pong' });
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
    expect(await db().connections.get(id)).toBeUndefined();
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
    expect(replyOf(await handler(messageEvent(id, { action: 'get_retained', channel: 'empty' })))).toEqual({
      kind: 'reply',
      type: 'no_retained',
      channel: 'empty',
    });
  });

  it('refuses an ack from a connection without a signed identity', async () => {
    const id = await connect();
    const result = await handler(messageEvent(id, { action: 'ack', channel: 'news', id: 'm1' }));
    expect(replyOf(result)).toMatchObject({ kind: 'reply', type: 'error', code: 'identity_required' });
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
    ['a send with retain (HTTP only)', 'invalid_message', { action: 'send', channel: 'a', event: 'e', retain: true }],
    ['a send forging broadcast_cleared', 'reserved_type', { action: 'send', channel: 'a', event: 'broadcast_cleared' }],
    ['a routed message forging connected', 'reserved_type', { type: 'connected', payload: { clientCount: 0 } }],
    ['a routed message forging a reply', 'reserved_type', { type: 'subscription_succeeded', to: { type: 'runtime' } }],
    ['a send naming a project', 'invalid_project', { action: 'send', channel: 'a', event: 'e', projectId: 'victim' }],
    ['an oversize message', 'payload_too_large', { action: 'send', channel: 'admin', event: 'e', data: 'x'.repeat(128 * 1024) }],
  ];

  it.each(cases)('answers %s with %s, keeps the connection, writes nothing', async (_, code, body) => {
    const id = await connect();
    const result = await handler(messageEvent(id, body));
    expect(result.statusCode).toBe(200);
    expect(replyOf(result)).toEqual({ kind: 'reply', type: 'error', code, message: expect.any(String) });
    expect((await db().connections.get(id))!.channels).toEqual([]);
    expect(posted()).toEqual([]);
  });

  it('answers internal_error without details when a store fails', async () => {
    const id = await connect();
    const get = jest.spyOn(db().connections, 'take').mockRejectedValueOnce(new Error('secret internals: table xyz'));
    const result = await handler(messageEvent(id, { action: 'send', channel: 'admin', event: 'e' }));
    expect(replyOf(result)).toEqual({ kind: 'reply', type: 'error', code: 'internal_error', message: 'Internal error' });
    get.mockRestore();
  });

  it('refuses the connection with 500 when $connect cannot store it', async () => {
    const put = jest.spyOn(db().connections, 'put').mockRejectedValueOnce(new Error('boom'));
    expect(await handler(connectEvent(newConnectionId()))).toEqual({ statusCode: 500 });
    put.mockRestore();
  });
});
