/** The HTTP routes through the whole handler, with a real store and the Management API mocked. */
import { httpEvent, messageEvent } from '../../helpers/gateway-events';
import { bearerToken } from '../../../lambda/edge/http';
import { BACKGROUND_ABOVE, MASTER_KEY, useHandler } from '../../helpers/handler';

const { api, handler, db, posted, replyOf, connect, subscribed, queued, holdTasks, runQueued } = useHandler();

describe('HTTP: POST /broadcast', () => {
  it('delivers {channel, event, data, id, timestamp} to subscribers and reports counts', async () => {
    const a = await subscribed('admin-http');
    const b = await subscribed('admin-http');
    api.clearCalls();
    const result = await handler(httpEvent({ body: { channel: 'admin-http', event: 'admin_event', data: { hello: 'world' } } }));
    expect(result).toMatchObject({ statusCode: 200, headers: { 'content-type': 'application/json' } });
    const body = replyOf(result);
    expect(body).toEqual({
      success: true,
      channel: 'admin-http',
      event: 'admin_event',
      id: expect.any(String),
      sent: 2,
      failed: 0,
      stale: 0,
    });
    const message = {
      kind: 'message',
      id: body.id,
      timestamp: '2026-11-21T22:38:01.000Z',
      channel: 'admin-http',
      event: 'admin_event',
      data: { hello: 'world' },
    };
    expect(posted().sort()).toEqual(
      [
        [a, message],
        [b, message],
      ].sort(),
    );
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
    api.script(dead, 410);
    const first = await handler(httpEvent({ body: { channel: 'stale-room', event: 'e' } }));
    expect(replyOf(first)).toMatchObject({ sent: 1, failed: 0, stale: 1 });
    expect(await db().connections.get(dead)).toBeUndefined();
    expect(await db().connections.get(live)).toBeDefined();
    const second = await handler(httpEvent({ body: { channel: 'stale-room', event: 'e' } }));
    expect(replyOf(second)).toMatchObject({ sent: 1, stale: 0 });
  });

  it('answers before purging: the gone are removed, and typed clients told, by a background task', async () => {
    const watcher = await connect({ type: 'agent' });
    const live = await subscribed('later-room');
    const dead = await connect({ type: 'runtime' });
    await handler(messageEvent(dead, { action: 'subscribe', channel: 'later-room' }));
    api.script(dead, 410);
    api.clearCalls();
    holdTasks(true);
    try {
      const result = await handler(httpEvent({ body: { channel: 'later-room', event: 'e' } }));
      expect(replyOf(result)).toMatchObject({ sent: 1, stale: 1 });
      // Answered; nothing removed or announced yet.
      expect(queued).toEqual([
        {
          task: 'purge',
          gone: [{ connectionId: dead, foundThrough: { projectId: 'default', channel: 'later-room', connectionId: dead } }],
        },
      ]);
      expect(await db().connections.get(dead)).toBeDefined();
      expect(posted().filter(([, m]) => (m as { type?: string }).type === 'client_left')).toEqual([]);
      await runQueued();
    } finally {
      holdTasks(false);
    }
    expect(await db().connections.get(dead)).toBeUndefined();
    expect(await db().connections.get(live)).toBeDefined();
    expect(posted()).toContainEqual([
      watcher,
      expect.objectContaining({ kind: 'notice', type: 'client_left', clientId: dead, clientType: 'runtime' }),
    ]);
  });

  it('counts a subscriber that keeps failing as failed, after retries', async () => {
    const flaky = await subscribed('flaky-room');
    api.script(flaky, 500, 500, 500);
    api.clearCalls();
    const result = await handler(httpEvent({ body: { channel: 'flaky-room', event: 'e' } }));
    expect(replyOf(result)).toMatchObject({ sent: 0, failed: 1, stale: 0 });
    expect(api.calls.filter((call) => call.connectionId === flaky)).toHaveLength(3);
    expect(await db().connections.get(flaky)).toBeDefined();
  });

  it('decodes a base64-encoded body', async () => {
    const body = Buffer.from(JSON.stringify({ channel: 'b64', event: 'e' })).toString('base64');
    const result = await handler(httpEvent({ body, isBase64Encoded: true }));
    expect(result.statusCode).toBe(200);
  });

  it.each([
    ['a wrong key', 'Bearer nope'],
    ['no key', null],
    ['another scheme', `Basic ${MASTER_KEY}`],
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
    [
      'a body that fits but not with its envelope',
      413,
      'payload_too_large',
      { channel: 'admin', event: 'e', data: 'x'.repeat(128 * 1024 - 60) },
    ],
  ])('answers %s with %s %s', async (_, status, code, body) => {
    const result = await handler(httpEvent({ body: body as string | object }));
    expect(result.statusCode).toBe(status);
    const message = expect.any(String);
    expect(replyOf(result)).toEqual({ success: false, error: expect.any(String), code, message, errors: [{ code, message }] });
  });

  it('answers 500 without internals when fan-out fails unexpectedly', async () => {
    const spy = jest.spyOn(db().subscriptions, 'slice').mockImplementationOnce(() => {
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

describe('bearerToken', () => {
  it.each([
    ['Bearer abc123', 'abc123'],
    ['bearer abc123', 'abc123'],
    ['Bearer   abc123  ', 'abc123'],
    ['Basic abc123', undefined],
    ['Bearer', undefined],
    ['Bearer a b', undefined],
    [undefined, undefined],
  ])('reads %j as %j', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });
});

describe('HTTP: big channels, idempotency and publish status', () => {
  it('answers 202 for a channel above the threshold, delivers in the background, and reports at GET /broadcast/{id}', async () => {
    const ids = await Promise.all(Array.from({ length: BACKGROUND_ABOVE + 2 }, () => subscribed('crowd')));
    api.clearCalls();
    const result = await handler(httpEvent({ body: { channel: 'crowd', event: 'wave', data: 1 } }));
    expect(result.statusCode).toBe(202);
    const answer = replyOf(result);
    expect(answer).toEqual({ success: true, channel: 'crowd', event: 'wave', id: expect.any(String), queued: ids.length });
    // The background tasks have run (as AWS runs them after the answer): each subscriber once.
    expect(
      posted()
        .map(([id]) => id)
        .sort(),
    ).toEqual([...ids].sort());
    expect(posted().every(([, m]) => (m as { id: string }).id === answer.id)).toBe(true);
    const status = await handler(httpEvent({ routeKey: 'GET /broadcast/{id}', pathParameters: { id: answer.id }, body: '' }));
    expect(replyOf(status)).toEqual({
      success: true,
      data: {
        id: answer.id,
        projectId: 'default',
        channel: 'crowd',
        event: 'wave',
        queued: ids.length,
        sent: ids.length,
        failed: 0,
        stale: 0,
        done: true,
        status: 'done',
        createdAt: expect.any(String),
      },
    });
  });

  it('keeps small channels synchronous, in the seeds’ shape', async () => {
    await subscribed('few');
    const result = await handler(httpEvent({ body: { channel: 'few', event: 'e' } }));
    expect(result.statusCode).toBe(200);
    expect(replyOf(result)).toEqual({ success: true, channel: 'few', event: 'e', id: expect.any(String), sent: 1, failed: 0, stale: 0 });
  });

  it('delivers once for a repeated idempotency key, answering the first publish’s id', async () => {
    const id = await subscribed('once');
    const body = { channel: 'once', event: 'pay', idempotencyKey: 'order-42' };
    const first = replyOf(await handler(httpEvent({ body })));
    const again = replyOf(await handler(httpEvent({ body })));
    expect(again).toMatchObject({ success: true, id: first.id, duplicate: true, sent: 1 });
    expect(posted().filter(([to, m]) => to === id && (m as { event?: string }).event === 'pay')).toHaveLength(1);
    // Another project's key is another key.
    const elsewhere = replyOf(await handler(httpEvent({ body: { ...body, projectId: 'other-p' } })));
    expect(elsewhere.id).not.toBe(first.id);
  });

  it('shows a publish only to the master key and its own project', async () => {
    await subscribed('seen');
    const { id } = replyOf(await handler(httpEvent({ body: { channel: 'seen', event: 'e', idempotencyKey: 'k-seen' } })));
    const created = replyOf(await handler(httpEvent({ routeKey: 'POST /api-keys', body: { projectId: 'outsider' } })));
    const asOutsider = await handler(
      httpEvent({ routeKey: 'GET /broadcast/{id}', pathParameters: { id }, authorization: `Bearer ${created.data.apiKey}`, body: '' }),
    );
    expect(asOutsider.statusCode).toBe(404);
    expect(replyOf(asOutsider)).toMatchObject({ code: 'publish_not_found' });
    const unknown = await handler(httpEvent({ routeKey: 'GET /broadcast/{id}', pathParameters: { id: 'nope' }, body: '' }));
    expect(unknown.statusCode).toBe(404);
  });

  it('never answers 5xx once it has delivered: a failure after the fan-out is logged, the counts answered', async () => {
    await subscribed('after');
    const spy = jest.spyOn(db().usage, 'record').mockRejectedValueOnce(new Error('usage table on fire'));
    const retain = jest.spyOn(db().retained, 'put').mockRejectedValueOnce(new Error('retained table on fire'));
    const result = await handler(httpEvent({ body: { channel: 'after', event: 'e', retain: true } }));
    spy.mockRestore();
    retain.mockRestore();
    expect(result.statusCode).toBe(200);
    expect(replyOf(result)).toMatchObject({ success: true, sent: 1, failed: 0 });
  });

  it('fails a batch item alone when its read fails after an earlier item was delivered, so a retry repeats nothing delivered', async () => {
    const first = await subscribed('batch-one');
    await subscribed('batch-two');
    api.clearCalls();
    const read = db().subscriptions.slice.bind(db().subscriptions);
    let reads = 0;
    const spy = jest.spyOn(db().subscriptions, 'slice').mockImplementation((...args) => {
      if (++reads === 2) throw new Error('ProvisionedThroughputExceededException');
      return read(...args);
    });
    const result = await handler(
      httpEvent({
        body: {
          messages: [
            { channel: 'batch-one', event: 'a' },
            { channel: 'batch-two', event: 'b' },
          ],
        },
      }),
    );
    spy.mockRestore();
    expect(result.statusCode).toBe(200);
    expect(replyOf(result).results).toEqual([
      { id: expect.any(String), sent: 1, failed: 0, stale: 0 },
      { error: 'Internal error', code: 'internal_error' },
    ]);
    expect(posted().map(([to]) => to)).toEqual([first]);
  });

  it.each<[string, Parameters<typeof httpEvent>[0], number, string]>([
    ['a publish status without an id', { routeKey: 'GET /broadcast/{id}', body: '', pathParameters: {} }, 404, 'publish_not_found'],
    [
      'a key revocation naming no project',
      { routeKey: 'DELETE /api-keys/{projectId}/{keyPrefix}', body: '', pathParameters: {} },
      400,
      'invalid_project',
    ],
    ['a key lookup naming no project', { routeKey: 'GET /api-keys/{projectId}', body: '' }, 400, 'invalid_project'],
    ['a route key naming an Object property', { routeKey: '__proto__', body: '' }, 404, 'not_found'],
  ])('answers %s with a clear error, not a 500 (found by fuzzing)', async (_, event, status, code) => {
    const result = await handler(httpEvent(event));
    expect(result.statusCode).toBe(status);
    expect(replyOf(result)).toMatchObject({ code });
  });

  it('refuses a malformed idempotency key', async () => {
    const result = await handler(httpEvent({ body: { channel: 'x', event: 'e', idempotencyKey: 'has space' } }));
    expect(result.statusCode).toBe(400);
    expect(replyOf(result)).toMatchObject({ code: 'invalid_message' });
  });
});
