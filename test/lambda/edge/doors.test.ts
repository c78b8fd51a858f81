/**
 * Every client-callable operation through every codec that offers it, from one table: the same
 * refusal without a grant and the same success with one whatever the door, and on a connection the
 * same budget — each frame takes from it, refused and malformed frames included, until the next is
 * rate_limited. Through the whole handler over the real store (the handler's clock stands still,
 * so a spent bucket stays spent).
 */
import { createSignedQueryString } from 'pusher/lib/requests';
import Token from 'pusher/lib/token';
import { signClientToken } from '../../../lambda/auth/tokens';
import { connectEvent, httpEvent, messageEvent, newConnectionId } from '../../helpers/gateway-events';
import { MASTER_KEY, NOW, useHandler } from '../../helpers/handler';

const { handler, replyOf } = useHandler();
const master = `Bearer ${MASTER_KEY}`;
const BURST = 3;

interface Key {
  apiKey: string;
  keyPrefix: string;
}
const keys: Record<string, Key> = {};

/** A keyed project whose connections may send BURST messages and publish only where granted. */
async function project(projectId: string): Promise<Key> {
  if (keys[projectId]) return keys[projectId];
  const created = await handler(httpEvent({ routeKey: 'POST /api-keys', authorization: master, body: { projectId } }));
  keys[projectId] = replyOf(created).data;
  const settings = { rateLimit: { perSecond: 1, burst: BURST }, clientPublish: 'granted' };
  await handler(
    httpEvent({ routeKey: 'PUT /projects/{projectId}/settings', pathParameters: { projectId }, authorization: master, body: settings }),
  );
  return keys[projectId];
}

/** A connection with a token of the project; `granted` opens every channel to it. */
async function connection(projectId: string, granted: boolean): Promise<string> {
  const claims = granted ? { sub: 'u', channels: ['*'], publish: ['*'] } : { sub: 'u' };
  const token = await signClientToken(claims, await project(projectId), 600, Math.floor(NOW / 1000));
  const id = newConnectionId();
  expect(await handler(connectEvent(id, { token }))).toEqual({ statusCode: 200 });
  return id;
}

/** A Pusher REST request, signed by the real `pusher` SDK's own signer. */
function pusherEvent(routeKey: string, path: string, key: Key, body?: object, pathParameters: Record<string, string> = {}) {
  const text = body && JSON.stringify(body);
  const query = createSignedQueryString(new Token(key.keyPrefix, key.apiKey), { method: routeKey.split(' ')[0], path, body: text });
  const event = httpEvent({
    routeKey,
    ...(text && { body: text }),
    pathParameters,
    queryStringParameters: Object.fromEntries(new URLSearchParams(query)),
  });
  return { ...event, rawPath: path, requestContext: { ...event.requestContext, http: { ...event.requestContext.http, path } } };
}

interface Door {
  /** A frame on a connection, or a request by a backend (`key` is a key of `projectId`). */
  readonly frame?: object | string;
  readonly http?: (projectId: string, key: Key) => ReturnType<typeof httpEvent>;
}

/** Each client-callable operation, the refusal it gives without a grant, and its doors. */
const TABLE: { op: string; refused: string; doors: Door }[] = [
  { op: 'subscribe', refused: 'subscription_forbidden', doors: { frame: { action: 'subscribe', channel: 'private-x' } } },
  {
    op: 'history',
    refused: 'subscription_forbidden',
    doors: {
      frame: { action: 'history', channel: 'private-x' },
      http: (projectId) =>
        httpEvent({ routeKey: 'GET /history', authorization: master, queryStringParameters: { projectId, channel: 'private-x' } }),
    },
  },
  {
    op: 'members',
    refused: 'subscription_forbidden',
    doors: {
      frame: { action: 'presence', channel: 'private-x' },
      http: (projectId) =>
        httpEvent({
          routeKey: 'GET /channels/{channel}/users',
          authorization: master,
          pathParameters: { channel: 'presence-x' },
          queryStringParameters: { projectId },
        }),
    },
  },
  { op: 'get retained', refused: 'subscription_forbidden', doors: { frame: { action: 'get_retained', channel: 'private-x' } } },
  { op: 'ack', refused: 'subscription_forbidden', doors: { frame: { action: 'ack', channel: 'private-x', id: 'm1' } } },
  {
    op: 'publish',
    refused: 'publish_forbidden',
    doors: {
      frame: { action: 'send', channel: 'news', event: 'e' },
      http: (projectId) => httpEvent({ authorization: master, body: { projectId, channel: 'news', event: 'e' } }),
    },
  },
  {
    op: 'trigger',
    refused: 'publish_forbidden',
    doors: {
      http: (projectId, key) =>
        pusherEvent(
          'POST /apps/{appId}/events',
          `/apps/${projectId}/events`,
          key,
          { name: 'e', data: '{}', channels: ['news'] },
          { appId: projectId },
        ),
    },
  },
  { op: 'route', refused: 'publish_forbidden', doors: { frame: { type: 'hello', payload: 1 } } },
  {
    op: 'terminate user',
    refused: 'unauthorized',
    doors: {
      http: (projectId, key) =>
        pusherEvent(
          'POST /apps/{appId}/users/{userId}/terminate_connections',
          `/apps/${projectId}/users/u1/terminate_connections`,
          key,
          {},
          { appId: projectId, userId: 'u1' },
        ),
    },
  },
];

describe.each(TABLE)('$op', ({ refused, doors }) => {
  if (doors.frame) {
    it(`on a connection: ${refused} without a grant, every refusal paid for, then rate_limited`, async () => {
      const id = await connection('doors-refused', false);
      for (let i = 0; i < BURST; i++)
        expect(replyOf(await handler(messageEvent(id, doors.frame!)))).toMatchObject({ kind: 'reply', type: 'error', code: refused });
      expect(replyOf(await handler(messageEvent(id, doors.frame!)))).toMatchObject({ kind: 'reply', type: 'error', code: 'rate_limited' });
    });

    it('on a connection: allowed with the grant, and paid for', async () => {
      const id = await connection('doors-granted', true);
      for (let i = 0; i < BURST; i++) {
        const result = await handler(messageEvent(id, doors.frame!));
        if (result.body !== undefined)
          expect(replyOf(result)).not.toMatchObject({ type: 'error', code: expect.stringMatching(/forbidden|rate_limited/) });
      }
      expect(replyOf(await handler(messageEvent(id, doors.frame!)))).toMatchObject({ type: 'error', code: 'rate_limited' });
    });
  }

  if (doors.http) {
    it('by a backend: refused with another project’s key, allowed with the project’s own', async () => {
      const own = await project('doors-http');
      const other = await project('doors-other');
      const withOther = doors.http!('doors-http', other);
      // Bearer-keyed doors carry the master key: swap in the other project's key.
      if (withOther.headers?.authorization) withOther.headers.authorization = `Bearer ${other.apiKey}`;
      expect((await handler(withOther)).statusCode).toBe(401);
      const withOwn = doors.http!('doors-http', own);
      if (withOwn.headers?.authorization) withOwn.headers.authorization = `Bearer ${own.apiKey}`;
      const answered = await handler(withOwn);
      // Past the access rule (history on a namespace without any is 400, say): never refused for who asks.
      expect({ refused: [401, 403].includes(answered.statusCode!), body: answered.body }).toMatchObject({ refused: false });
    });
  }
});

describe('frames that are no call', () => {
  it.each([
    ['invalid JSON', '{', 'invalid_json'],
    ['an unknown action', { action: 'dance' }, 'unknown_action'],
    ['an array', '[]', 'invalid_message'],
  ])('%s is refused and paid for, until rate_limited', async (_, frame, code) => {
    const id = await connection('doors-junk', false);
    for (let i = 0; i < BURST; i++) expect(replyOf(await handler(messageEvent(id, frame)))).toMatchObject({ type: 'error', code });
    expect(replyOf(await handler(messageEvent(id, frame)))).toMatchObject({ type: 'error', code: 'rate_limited' });
  });

  it('unsubscribe and ping are paid for too', async () => {
    const id = await connection('doors-junk', false);
    await handler(messageEvent(id, { action: 'unsubscribe', channel: 'news' }));
    await handler(messageEvent(id, { action: 'ping' }));
    expect((await handler(messageEvent(id, 'ping'))).body).toBe('pong');
    expect(replyOf(await handler(messageEvent(id, 'ping')))).toMatchObject({ type: 'error', code: 'rate_limited' });
  });
});

describe('a Pusher connection’s frames: the same operations, the same budget', () => {
  /** A Pusher connection (as the Pusher endpoint hands it on) to a keyed project open to anonymous clients. */
  async function pusherConnection(): Promise<string> {
    const key = await project('doors-pusher');
    await handler(
      httpEvent({
        routeKey: 'PUT /projects/{projectId}/settings',
        pathParameters: { projectId: 'doors-pusher' },
        authorization: master,
        body: { anonymousConnect: true },
      }),
    );
    const id = newConnectionId();
    expect(await handler(connectEvent(id, { appKey: key.keyPrefix, protocol: '7' }))).toEqual({ statusCode: 200 });
    return id;
  }
  /** A refusal's kind (Pusher's event, or our reply's type) and its whole text. */
  const refusalOf = (result: { body?: string }) => {
    const body = JSON.parse(result.body!) as { event?: string; type?: string };
    return { kind: body.event ?? body.type, text: result.body! };
  };

  it.each([
    ['a private subscription without auth', { event: 'pusher:subscribe', data: { channel: 'private-x' } }, 'pusher:subscription_error'],
    ['a client event where the project allows none', { event: 'client-typing', channel: 'private-x', data: {} }, 'pusher:error'],
    ['a Pusher event the server does not take', { event: 'pusher:cache_miss', data: {} }, 'pusher:error'],
    ['a sign-in nobody signed', { event: 'pusher:signin', data: { auth: 'rbk_nobody0000:00', user_data: '{"id":"a"}' } }, 'pusher:error'],
    ['a user channel not its own', { event: 'pusher:subscribe', data: { channel: '#server-to-user-a' } }, 'pusher:subscription_error'],
    ['a frame naming a channel no codec takes', { event: 'pusher:subscribe', data: { channel: '$monitor' } }, 'pusher:error'],
    ['a native publish from a Pusher connection', { action: 'send', channel: 'news', event: 'e' }, 'error'],
  ])('%s is refused and paid for, until too many', async (_, frame, refusal) => {
    const id = await pusherConnection();
    for (let i = 0; i < BURST; i++) expect(refusalOf(await handler(messageEvent(id, frame))).kind).toBe(refusal);
    expect(refusalOf(await handler(messageEvent(id, frame))).text).toMatch(/too many messages|rate_limited/i);
  });

  it('pings at pusher-js’s pace cost nothing; a loop of them pays like any frame', async () => {
    const id = await pusherConnection();
    // The free pings: no budget taken, so a whole burst of subscriptions still passes after them.
    for (let i = 0; i < 3; i++)
      expect(JSON.parse((await handler(messageEvent(id, { event: 'pusher:ping', data: {} }))).body!).event).toBe('pusher:pong');
    for (let i = 0; i < BURST; i++) {
      const answer = JSON.parse((await handler(messageEvent(id, { event: 'pusher:subscribe', data: { channel: `news-${i}` } }))).body!);
      expect(answer.event).toBe('pusher_internal:subscription_succeeded');
    }
    // The budget is spent: a fourth ping in the minute is charged, and refused.
    expect(refusalOf(await handler(messageEvent(id, { event: 'pusher:ping', data: {} }))).text).toMatch(/too many messages/i);
  });
});
