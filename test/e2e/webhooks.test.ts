/**
 * Webhooks in Pusher's format against the local stack, received by a server here and checked by
 * the real `pusher` SDK's `webhook(request).isValid()`; events made by unmodified pusher-js. The
 * local Lambda runtime retries with its waits scaled down (0.6 s and 1.2 s instead of a minute and
 * two) and a 3-second timeout, so a receiver that fails, hangs or never answers is seen through.
 */
import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import PusherServer from 'pusher';
import PusherJs from 'pusher-js';
import { WEBHOOK_EVENTS } from '../../lambda/contract/limits';
import { useLocalStack, waitFor } from '../helpers/e2e';

const MASTER = 'webhooks-master-key';
const APP = 'hooks';
const e2e = useLocalStack({ accessKey: MASTER, lambda: { retryDelayScale: 0.01, timeoutMs: 3000 } });

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly rawBody: string;
}
type Behaviour = 'ok' | 'fail' | 'hang';

/**
 * The app's webhook receiver: keeps what it got, and answers a request about a planned channel as
 * planned (one behaviour per request), any other 200.
 */
async function receiver() {
  const received: Received[] = [];
  const plans = new Map<string, Behaviour[]>();
  const server: Server = createServer((req, res) => {
    let rawBody = '';
    req.on('data', (chunk: Buffer) => (rawBody += chunk.toString()));
    req.on('end', () => {
      const planned = [...plans.keys()].find((channel) => rawBody.includes(`"channel":"${channel}"`));
      const behaviour = (planned && plans.get(planned)!.shift()) || 'ok';
      received.push({ headers: req.headers, rawBody });
      if (behaviour === 'hang') return;
      res.writeHead(behaviour === 'ok' ? 200 : 503).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/pusher/webhooks`,
    received,
    /** How requests about this channel are answered, in turn (then 200). */
    plan: (channel: string, behaviours: Behaviour[]) => void plans.set(channel, behaviours),
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

let sdk: PusherServer;
let hook: Awaited<ReturnType<typeof receiver>>;
let key: { apiKey: string; keyPrefix: string };
const opened: PusherJs[] = [];

const settings = (body: unknown, project = APP) =>
  fetch(`${e2e.stack().httpUrl}/projects/${project}/settings`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${MASTER}` },
    body: JSON.stringify(body),
  });

beforeAll(async () => {
  key = await e2e.createKey(APP);
  hook = await receiver();
  const { hostname, port } = new URL(e2e.stack().httpUrl);
  sdk = new PusherServer({ appId: APP, key: key.keyPrefix, secret: key.apiKey, host: hostname, port, useTLS: false });
  // Set once, before any handler instance has read them: settings are cached for 30 s.
  const events = [...WEBHOOK_EVENTS];
  const response = await settings({
    anonymousConnect: true,
    clientEvents: true,
    subscriptionCount: true,
    webhooks: [{ url: hook.url, events }],
  });
  expect(response.status).toBe(200);
});
afterAll(() => hook.close());
afterEach(() => {
  for (const client of opened.splice(0)) client.disconnect();
});

/** pusher-js, its channel auth signed here by the `pusher` SDK as the app's endpoint would. */
function pusherJs(user: string): PusherJs {
  const client = new PusherJs(key.keyPrefix, {
    cluster: 'mt1',
    wsHost: '127.0.0.1',
    wsPort: e2e.stack().pusherPort,
    forceTLS: false,
    enabledTransports: ['ws'],
    channelAuthorization: {
      endpoint: '',
      transport: 'ajax',
      customHandler: ({ socketId, channelName }, callback) =>
        callback(
          null,
          channelName.startsWith('presence-')
            ? sdk.authorizeChannel(socketId, channelName, { user_id: user, user_info: { name: user } })
            : sdk.authorizeChannel(socketId, channelName),
        ),
    },
  });
  opened.push(client);
  return client;
}
const succeeded = (channel: ReturnType<PusherJs['subscribe']>) =>
  new Promise<void>((resolve) => channel.bind('pusher:subscription_succeeded', () => resolve()));

/** Every event received so far whose request the `pusher` SDK accepts as signed by the app. */
function validEvents() {
  return hook.received.flatMap((request) => {
    const webhook = sdk.webhook({ headers: request.headers, rawBody: request.rawBody });
    return webhook.isValid() ? (webhook.getEvents() as unknown as { name: string; channel: string; [field: string]: unknown }[]) : [];
  });
}
/** The events about a channel; subscription counts only when asked for (every subscribe makes one). */
const eventsOn = (channel: string, counts = false) =>
  validEvents().filter((event) => event.channel === channel && (counts || event.name !== 'subscription_count'));

describe('webhooks in Pusher’s format', () => {
  it('tell the app a channel was occupied and vacated, signed so the pusher SDK’s isValid() accepts them', async () => {
    const client = pusherJs('ada');
    await succeeded(client.subscribe('lobby'));
    await waitFor(() => eventsOn('lobby').length === 1, 10_000);
    client.unsubscribe('lobby');
    await waitFor(() => eventsOn('lobby').length === 2, 10_000);
    expect(eventsOn('lobby')).toEqual([
      { name: 'channel_occupied', channel: 'lobby' },
      { name: 'channel_vacated', channel: 'lobby' },
    ]);
    const request = hook.received.find((r) => r.rawBody.includes('"lobby"'))!;
    expect(request.headers['x-pusher-key']).toBe(key.keyPrefix);
    expect(JSON.parse(request.rawBody)).toEqual({ time_ms: expect.any(Number), events: expect.any(Array) });
    // A body changed on the way no longer validates.
    expect(sdk.webhook({ headers: request.headers, rawBody: request.rawBody.replace('lobby', 'lobbx') }).isValid()).toBe(false);
  });

  it('tell it members came and went, client events with their socket and user, and cache misses', async () => {
    const [ada, bob] = [pusherJs('ada'), pusherJs('bob')];
    const adaRoom = ada.subscribe('presence-room');
    await succeeded(adaRoom);
    const bobRoom = bob.subscribe('presence-room');
    await succeeded(bobRoom);
    bobRoom.trigger('client-typing', { on: true });
    await succeeded(ada.subscribe('cache-scores'));
    bob.unsubscribe('presence-room');
    await waitFor(() => eventsOn('presence-room').some((event) => event.name === 'member_removed'), 10_000);
    await waitFor(() => eventsOn('cache-scores').some((event) => event.name === 'cache_miss'), 10_000);
    const room = eventsOn('presence-room');
    expect(room).toEqual(
      expect.arrayContaining([
        { name: 'channel_occupied', channel: 'presence-room' },
        { name: 'member_added', channel: 'presence-room', user_id: 'ada' },
        { name: 'member_added', channel: 'presence-room', user_id: 'bob' },
        {
          name: 'client_event',
          channel: 'presence-room',
          event: 'client-typing',
          data: '{"on":true}',
          socket_id: bob.connection.socket_id,
          user_id: 'bob',
        },
        { name: 'member_removed', channel: 'presence-room', user_id: 'bob' },
      ]),
    );
    expect(room.filter((event) => event.name === 'member_added')).toHaveLength(2);
  });
});

describe('what webhooks cost the client that causes them', () => {
  it('charges a client event one more message per webhook that asks for it: a burst runs into the rate limit sooner', async () => {
    const eve = pusherJs('eve');
    const room = eve.subscribe('private-charged');
    await succeeded(room);
    const errors: { code?: number }[] = [];
    eve.connection.bind('error', (error: { data?: { code?: number } }) => errors.push({ code: error.data?.code }));
    // 15 events fit the project's burst of 20 when each costs one message; at two each, the bucket
    // is 10 short once they are through (their webhook events, received, say so), and the next is refused.
    for (let i = 0; i < 15; i++) room.trigger('client-tick', { i });
    await waitFor(() => eventsOn('private-charged').filter((event) => event.name === 'client_event').length === 15, 10_000);
    room.trigger('client-tick', { i: 15 });
    await waitFor(() => errors.length > 0, 10_000);
    expect(errors[0]).toEqual({ code: 4301 });
    expect(eve.connection.state).toBe('connected');
  });
});

describe('delivered at least once', () => {
  const webhooksOf = async () =>
    (
      (await (
        await fetch(`${e2e.stack().httpUrl}/projects/${APP}/webhooks`, { headers: { Authorization: `Bearer ${key.apiKey}` } })
      ).json()) as {
        data: { webhooks: unknown[]; failures: { url: string; status?: number; error?: string }[] };
      }
    ).data;

  it('retries a receiver that failed, and one that never answered (its invocation timed out), until it answers 2xx', async () => {
    hook.plan('retried', ['fail', 'hang']);
    const client = pusherJs('cy');
    await succeeded(client.subscribe('retried'));
    // The first attempt failed (503), the second hung past the function's timeout, the third was answered.
    await waitFor(() => eventsOn('retried').length === 3, 20_000);
    expect(eventsOn('retried')).toEqual(Array.from({ length: 3 }, () => ({ name: 'channel_occupied', channel: 'retried' })));
    // The console and the project's backend see the failure.
    expect((await webhooksOf()).failures[0]).toMatchObject({ url: hook.url, status: 503 });
  }, 30_000);

  it('gives up a receiver that keeps failing to the failure destination, after Lambda’s retries', async () => {
    hook.plan('given-up', ['fail', 'fail', 'fail']);
    const client = pusherJs('di');
    await succeeded(client.subscribe('given-up'));
    await waitFor(
      () =>
        e2e
          .stack()
          .failedInvocations()
          .some((record) => JSON.stringify(record).includes('given-up')),
      20_000,
    );
    const record = e2e
      .stack()
      .failedInvocations()
      .find((r) => JSON.stringify(r).includes('given-up'))!;
    expect(record.requestPayload).toMatchObject({ task: 'webhook', projectId: APP, url: hook.url });
    // Each attempt reached the receiver, which never said yes.
    expect(eventsOn('given-up')).toHaveLength(3);
  }, 30_000);
});

describe('subscription counts (pusher_internal:subscription_count)', () => {
  it('tell a join storm’s subscribers the count it ended at, in a few notices, not one per join; webhooks get them too', async () => {
    {
      const first = pusherJs('u0');
      const channel = first.subscribe('counted');
      const seen: number[] = [];
      channel.bind('pusher:subscription_count', ({ subscription_count: n }: { subscription_count: number }) => seen.push(n));
      await succeeded(channel);
      const others = Array.from({ length: 5 }, (_, i) => pusherJs(`u${i + 1}`));
      await Promise.all(others.map((client) => succeeded(client.subscribe('counted'))));
      // The window's last notice says what the storm left: 6.
      await waitFor(() => seen.at(-1) === 6, 15_000).catch(() => {
        throw new Error(`seen ${seen.join(',')}`);
      });
      expect(seen.length).toBeLessThanOrEqual(3);
      expect((channel as unknown as { subscriptionCount: number }).subscriptionCount).toBe(6);
      // The REST query answers the same.
      const info = (await (await sdk.get({ path: '/channels/counted', params: { info: 'subscription_count' } })).json()) as {
        subscription_count: number;
      };
      expect(info.subscription_count).toBe(6);
      await waitFor(() => eventsOn('counted', true).some((event) => event.subscription_count === 6), 10_000);
      expect(eventsOn('counted', true).filter((event) => event.name === 'subscription_count').length).toBeLessThanOrEqual(3);
    }
  }, 30_000);
});

describe('who may set webhooks, and what', () => {
  it('refuses an unknown event, too many webhooks, a URL that is not one, and a project without a key', async () => {
    const refused = async (body: unknown, project = APP) => {
      const response = await settings(body, project);
      return { status: response.status, body: (await response.json()) as { code: string; message: string } };
    };
    expect(await refused({ webhooks: [{ url: hook.url, events: ['channel_opened'] }] })).toMatchObject({
      status: 400,
      body: { message: expect.stringMatching(/webhook events are among channel_occupied/) },
    });
    const six = Array.from({ length: 6 }, () => ({ url: hook.url, events: ['channel_occupied'] }));
    expect((await refused({ webhooks: six })).body.message).toMatch(/at most 5 webhooks/);
    expect((await refused({ webhooks: [{ url: 'file:///etc/passwd', events: ['cache_miss'] }] })).body.message).toMatch(/https:\/\//);
    expect(await refused({ webhooks: [{ url: hook.url, events: ['cache_miss'] }] }, 'keyless')).toMatchObject({
      status: 400,
      body: { message: expect.stringMatching(/signed with a project key/) },
    });
    // The project's own key may read its webhooks, never set them.
    const byProjectKey = await fetch(`${e2e.stack().httpUrl}/projects/${APP}/settings`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${key.apiKey}` },
      body: JSON.stringify({ webhooks: [] }),
    });
    expect(byProjectKey.status).toBe(401);
  });
});
