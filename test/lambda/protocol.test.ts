import {
  jsonSyntaxError,
  broadcastRequest,
  checkClientName,
  encode,
  ERRORS,
  ErrorCode,
  errorSpec,
  failure,
  optionalParam,
  outbound,
  parseJson,
  parseMessage,
  projectIdSchema,
  reply,
  sendFrame,
  subscribeFrame,
} from '../../lambda/protocol';
import { matchHttpRoute, selectWebSocketRoute } from '../../lambda/contract/routes';

describe('channel names', () => {
  it.each(['admin', 'logs:thread-123', 'a', 'user@example.com', 'x/y/z', 'a_b-c=d,e.f;g:h', 'c'.repeat(128)])('accepts %s', (channel) => {
    expect(parseMessage(subscribeFrame, JSON.stringify({ action: 'subscribe', channel })).ok).toBe(true);
  });

  it.each([
    ['', ErrorCode.invalidChannel],
    ['c'.repeat(129), ErrorCode.invalidChannel],
    ['has space', ErrorCode.invalidChannel],
    ['emoji🙂', ErrorCode.invalidChannel],
    ['$internal', ErrorCode.reservedChannel],
  ])('rejects %j with %s', (channel, code) => {
    const result = parseMessage(subscribeFrame, JSON.stringify({ action: 'subscribe', channel }));
    expect(result).toMatchObject({ ok: false, error: { code } });
  });

  it('rejects a channel that is not a string', () => {
    const result = parseMessage(subscribeFrame, JSON.stringify({ action: 'subscribe', channel: 42 }));
    expect(result).toMatchObject({ ok: false, error: { code: ErrorCode.invalidChannel, message: 'channel must be a string' } });
  });
});

describe('jsonSyntaxError', () => {
  it.each([
    ['{"a":}', 'unexpected "}" at position 5, where a value should be'],
    ['{"action":"subscribe"', 'it ends at position 21, where "," or "}" should follow'],
    ['{action:1}', 'unexpected "a" at position 1, where a property name in double quotes should be'],
    ['{"a":1}x', 'unexpected "x" at position 7, after the JSON value'],
    ['[1 2]', 'unexpected "2" at position 3, where "," or "]" should be'],
    ['"abc', 'it ends at position 4, inside a string'],
    ['{"a":"b\\q"}', 'a string goes wrong at position 8 (a bad escape, or a control character that must be escaped)'],
    ['', 'it ends at position 0, where a value should follow'],
    ['['.repeat(100_000), 'it ends at position 100000, where a value should follow'],
  ])('says where %j goes wrong: %s', (text, said) => {
    expect(() => JSON.parse(text)).toThrow();
    expect(jsonSyntaxError(text)).toBe(said);
  });

  it('names a frame or a body in parseJson, with the position', () => {
    expect(parseJson('{', 'Frame')).toEqual({
      ok: false,
      error: {
        code: 'invalid_json',
        message: 'Frame is not valid JSON: it ends at position 1, where a property name in double quotes should follow',
      },
    });
    expect(parseJson('nope')).toMatchObject({
      error: { message: 'Body is not valid JSON: unexpected "n" at position 0, where a value should be' },
    });
  });
});

describe('parseMessage', () => {
  it('reports invalid JSON', () => {
    expect(parseMessage(subscribeFrame, '{"action":')).toMatchObject({ ok: false, error: { code: ErrorCode.invalidJson } });
  });

  it.each(['[]', '"text"', '12', 'null'])('requires an object, not %s', (text) => {
    expect(parseMessage(subscribeFrame, text)).toMatchObject({ ok: false, error: { code: ErrorCode.invalidMessage } });
  });

  it('names a missing field', () => {
    const result = parseMessage(subscribeFrame, '{"action":"subscribe"}');
    expect(result).toMatchObject({ ok: false, error: { code: ErrorCode.invalidChannel } });
    const send = parseMessage(sendFrame, '{"action":"send","channel":"admin"}');
    expect(send).toMatchObject({ ok: false, error: { code: ErrorCode.invalidMessage, message: expect.stringContaining('event') } });
  });

  it('requires exactly one of channel and connectionId', () => {
    const neither = parseMessage(broadcastRequest, '{"event":"e"}');
    const both = parseMessage(broadcastRequest, '{"event":"e","channel":"a","connectionId":"L0SM9cOFvHcCIhw="}');
    expect(neither).toMatchObject({
      ok: false,
      error: { code: ErrorCode.invalidMessage, message: 'give exactly one of channel or connectionId' },
    });
    expect(both).toMatchObject({ ok: false, error: { code: ErrorCode.invalidMessage } });
  });

  it('refuses an unknown field by name, saying which are allowed (a "message" for "data" would deliver null)', () => {
    const result = parseMessage(broadcastRequest, '{"channel":"admin","event":"e","message":{"n":1}}');
    expect(result).toEqual({
      ok: false,
      error: {
        code: 'invalid_message',
        message: 'Unknown field "message"; allowed: projectId, channel, connectionId, event, data, retain, idempotencyKey',
      },
    });
  });
});

describe('selectWebSocketRoute', () => {
  it.each([
    ['{"action":"subscribe","channel":"a"}', 'subscribe'],
    ['{"action":"send"}', 'send'],
    ['{"action":"nope"}', '$default'],
    ['{"action":7}', '$default'],
    ['ping', '$default'],
    ['null', '$default'],
    ['{}', '$default'],
  ])('routes %s to %s', (body, route) => {
    expect(selectWebSocketRoute(body)).toBe(route);
  });
});

describe('matchHttpRoute', () => {
  it.each([
    ['POST', '/broadcast', { routeKey: 'POST /broadcast' }],
    ['GET', '/api-keys/acme', { routeKey: 'GET /api-keys/{projectId}', pathParameters: { projectId: 'acme' } }],
    ['DELETE', '/api-keys/acme', { routeKey: 'DELETE /api-keys/{projectId}', pathParameters: { projectId: 'acme' } }],
    ['GET', '/channels/logs:a/b', { routeKey: 'GET /channels/{channel+}', pathParameters: { channel: 'logs:a/b' } }],
    ['GET', '/channels/logs%3Aa%2Fb', { routeKey: 'GET /channels/{channel+}', pathParameters: { channel: 'logs:a/b' } }],
    ['GET', '/broadcast', { routeKey: '$default' }],
    ['GET', '/api-keys/a/b', { routeKey: '$default' }],
    ['GET', '/nope', { routeKey: '$default' }],
    ['GET', '//', { routeKey: '$default' }],
  ])('matches %s %s', (method, path, expected) => {
    expect(matchHttpRoute(method, path)).toEqual(expected);
  });
});

it('keeps a malformed escape in a path parameter instead of throwing', () => {
  expect(matchHttpRoute('GET', '/channels/%E0%A4')).toEqual({
    routeKey: 'GET /channels/{channel+}',
    pathParameters: { channel: '%E0%A4' },
  });
});

describe('optionalParam', () => {
  it('leaves an absent parameter absent, passes a good one and fails a bad one with the given code', () => {
    expect(optionalParam(projectIdSchema, undefined, ErrorCode.invalidProject)).toEqual({ ok: true, value: undefined });
    expect(optionalParam(projectIdSchema, 'acme', ErrorCode.invalidProject)).toEqual({ ok: true, value: 'acme' });
    expect(optionalParam(projectIdSchema, 'no spaces', ErrorCode.invalidProject)).toEqual({
      ok: false,
      error: { code: 'invalid_project', message: 'projectId must be 1-64 characters of A-Z a-z 0-9 and _ - .' },
    });
    expect(optionalParam(projectIdSchema, 42, ErrorCode.invalidProject)).toMatchObject({ ok: false, error: { code: 'invalid_project' } });
  });
});

describe('ERRORS', () => {
  it('gives every code one spec: a status, and a metric for the ones counted', () => {
    const codes = Object.values(ERRORS).map((spec) => spec.code);
    expect(new Set(codes).size).toBe(codes.length);
    expect(Object.values(ErrorCode).sort()).toEqual([...codes].sort());
    expect(errorSpec('unauthorized')).toMatchObject({ status: 401, metric: 'UnauthorizedRequests', message: 'Unauthorized' });
    expect(errorSpec('invalid_token')).toMatchObject({ status: 401, metric: 'UnauthorizedRequests' });
    expect(errorSpec('payload_too_large')).toMatchObject({ status: 413, metric: 'InvalidInputs' });
    expect(errorSpec('internal_error')).toEqual({ code: 'internal_error', status: 500, temporary: false, message: 'Internal error' });
    expect(errorSpec('no_such_code')).toBeUndefined();
  });

  it('fills in the default message unless a specific one is given', () => {
    expect(failure(ErrorCode.notConnected)).toEqual({ code: 'not_connected', message: 'This connection is not registered; reconnect' });
    expect(failure(ErrorCode.notFound, 'No route GET /x')).toEqual({ code: 'not_found', message: 'No route GET /x' });
  });
});

describe('send frames', () => {
  it('refuse what only an HTTP publish may carry, rather than ignore it', () => {
    expect(parseMessage(sendFrame, '{"action":"send","channel":"a","event":"e","retain":true}')).toEqual({
      ok: false,
      error: { code: 'invalid_message', message: 'retain is not allowed on send: retained broadcasts are published with POST /broadcast' },
    });
    expect(parseMessage(sendFrame, '{"action":"send","channel":"a","event":"e","projectId":"other"}')).toEqual({
      ok: false,
      error: { code: 'invalid_project', message: 'projectId is not allowed on send: a connection publishes to its own project' },
    });
    expect(parseMessage(sendFrame, '{"action":"send","channel":"a","event":"e","data":1}')).toMatchObject({
      ok: true,
      value: { channel: 'a', event: 'e', data: 1 },
    });
  });
});

describe('outbound messages', () => {
  const stamp = { id: 'm1', timestamp: '2026-11-21T12:00:00.000Z' };

  it('builds a delivered message with null data and no absent fields', () => {
    expect(outbound.delivered(stamp, { channel: 'c', event: 'e' })).toEqual({
      kind: 'message',
      ...stamp,
      channel: 'c',
      event: 'e',
      data: null,
    });
    expect(outbound.delivered(stamp, { event: 'e', data: 1, from: 'abc=' })).toEqual({
      kind: 'message',
      ...stamp,
      event: 'e',
      data: 1,
      from: 'abc=',
    });
  });

  it('sets a routed message’s from itself, and keeps the client’s own id', () => {
    const frame = { id: 'own', type: 'hello', to: { type: 'runtime' } };
    expect(outbound.routed(stamp, frame, { connectionId: 'abc=' })).toEqual({
      kind: 'routed',
      id: 'own',
      type: 'hello',
      payload: null,
      to: { type: 'runtime' },
      from: { id: 'abc=', type: null },
      timestamp: stamp.timestamp,
    });
  });

  it('refuses to encode what API Gateway could not deliver', () => {
    expect(encode({ data: 'x'.repeat(128 * 1024) })).toMatchObject({ ok: false, error: { code: 'payload_too_large' } });
    expect(encode({ a: 1 })).toEqual({ ok: true, value: '{"a":1}' });
  });
});

describe('nesting', () => {
  const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

  it('accepts JSON nested up to 32 levels and refuses deeper with invalid_message, never throwing', () => {
    expect(parseJson(nested(32))).toMatchObject({ ok: true });
    expect(parseJson(nested(33))).toEqual({
      ok: false,
      error: { code: 'invalid_message', message: 'JSON is nested deeper than 32 levels' },
    });
    expect(parseJson(`{"channel":"a","event":"e","data":${nested(5000)}}`)).toMatchObject({
      ok: false,
      error: { code: 'invalid_message' },
    });
    expect(
      parseMessage(sendFrame, `{"action":"send","channel":"a","event":"e","data":${'{"a":'.repeat(40)}1${'}'.repeat(40)}}`),
    ).toMatchObject({
      ok: false,
      error: { code: 'invalid_message' },
    });
  });
});

describe('server names', () => {
  const stamp = { id: 'm1', timestamp: 't' };
  const client = { connectionId: 'abc=', projectId: 'p', clientType: 'runtime' };

  it('list every type the server sends, so none can be forged', () => {
    const sent = [
      reply.connectionId('x'),
      reply.subscribed('c'),
      reply.unsubscribed('c'),
      reply.sent({ channel: 'c' }, 'id', { sent: 0, failed: 0, stale: 0 }),
      reply.pong(),
      reply.acked('c', 'id'),
      reply.noRetained('c'),
      reply.error(failure(ErrorCode.notFound)),
      outbound.connected(client, 1, 't'),
      outbound.clientLeft(client, 't'),
    ].map((message) => message.type);
    for (const type of sent) expect(checkClientName(type, 'type')).toMatchObject({ ok: false, error: { code: 'reserved_type' } });
    expect(checkClientName(outbound.broadcastCleared(stamp, 'c').event, 'event')).toMatchObject({
      ok: false,
      error: { code: 'reserved_type' },
    });
  });

  it('refuses any *_succeeded and lets ordinary names through', () => {
    expect(checkClientName('publish_succeeded', 'event')).toEqual({
      ok: false,
      error: { code: 'reserved_type', message: 'event "publish_succeeded" is one the server sends; clients may not send it' },
    });
    expect(checkClientName('admin_event', 'event')).toEqual({ ok: true, value: 'admin_event' });
    expect(checkClientName('chat', 'type')).toEqual({ ok: true, value: 'chat' });
  });
});
