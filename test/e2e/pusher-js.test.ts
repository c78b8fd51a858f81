/**
 * pusher-js (its Node build) and Laravel Echo, unmodified, against the local stack's Pusher endpoint
 * (the construct's CloudFront Function in front of the WebSocket API) — only `wsHost`, `wsPort`,
 * `forceTLS` and `enabledTransports` set. Private and presence channels are authorized by an auth
 * endpoint here that uses the real `pusher` SDK's `authorizeChannel`, as a Laravel or Express
 * backend does; events come from the `pusher` SDK, `POST /broadcast` and a native client.
 */
import { randomBytes } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { AddressInfo, connect as tcpConnect, createServer as createTcpServer, Socket } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { tmpdir } from 'node:os';
import Echo from 'laravel-echo';
import PusherServer from 'pusher';
import PusherJs from 'pusher-js';
import { subscriptionPartition } from '../../lambda/adapters/dynamo-subscriptions';
import { connectionIdOf } from '../../lambda/contract/socket-ids';
import { LOCAL_AWS, LOCAL_TABLES } from '../../local/store';
import { startLocalStack, LocalStack } from '../../local/stack';
import { useLocalStack, waitFor } from '../helpers/e2e';

const MASTER = 'pusher-js-master-key';
const APP = 'pjsapp';
const e2e = useLocalStack({ accessKey: MASTER });
let sdk: PusherServer;
let appKey: string;
/** Apps other than APP, by app key: their own server SDKs. */
const others = new Map<string, PusherServer>();
let auth: { server: Server; url: string };

/** The backend's auth endpoint (`channelAuthorization.endpoint`), as pusher-js posts to it: who the user is comes from its `user` param. */
async function authEndpoint() {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', (): void => {
      const form = new URLSearchParams(body);
      const socketId = form.get('socket_id')!;
      const channel = form.get('channel_name')!;
      const user = form.get('user') ?? 'anonymous';
      // Which app's secret signs: each app is its own Pusher app.
      const signer = others.get(form.get('app') ?? '') ?? sdk;
      // The user authentication endpoint (`userAuthentication.endpoint`): who the user is, signed.
      if (req.url === '/pusher/user-auth') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify(
            signer.authenticateUser(socketId, {
              id: user,
              user_info: { name: user },
              // The users this one watches (Pusher's watchlist), as the app decides.
              ...(form.get('watch') && { watchlist: form.get('watch')!.split(',') }),
            }),
          ),
        );
        return;
      }
      if (channel.includes('forbidden')) {
        res.writeHead(403).end('{"error":"not yours"}');
        return;
      }
      const answer = channel.startsWith('presence-')
        ? signer.authorizeChannel(socketId, channel, { user_id: user, user_info: { name: user } })
        : signer.authorizeChannel(socketId, channel);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/pusher/auth` };
}

beforeAll(async () => {
  const key = await e2e.createKey(APP);
  appKey = key.keyPrefix;
  const response = await fetch(`${e2e.stack().httpUrl}/projects/${APP}/settings`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${MASTER}` },
    body: JSON.stringify({ anonymousConnect: true, clientPublish: 'all', clientEvents: true }),
  });
  expect(response.status).toBe(200);
  const { hostname, port } = new URL(e2e.stack().httpUrl);
  sdk = new PusherServer({
    appId: APP,
    key: key.keyPrefix,
    secret: key.apiKey,
    host: hostname,
    port,
    useTLS: false,
    encryptionMasterKeyBase64: randomBytes(32).toString('base64'),
  });
  auth = await authEndpoint();
});
afterAll(() => new Promise<void>((resolve) => auth.server.close(() => resolve())));

const opened: PusherJs[] = [];
afterEach(() => {
  for (const client of opened.splice(0)) client.disconnect();
});

/** pusher-js as a Pusher app configures it, but for where it connects. */
function pusherJs(
  user = 'ada',
  stack: Pick<LocalStack, 'pusherPort'> = e2e.stack(),
  key = appKey,
  extra: Record<string, string> = {},
): PusherJs {
  const params = { user, app: key, ...extra };
  const client = new PusherJs(key, {
    cluster: 'mt1',
    wsHost: '127.0.0.1',
    wsPort: stack.pusherPort,
    forceTLS: false,
    enabledTransports: ['ws'],
    channelAuthorization: { endpoint: auth.url, transport: 'ajax', params },
    userAuthentication: { endpoint: auth.url.replace('/pusher/auth', '/pusher/user-auth'), transport: 'ajax', params },
  });
  opened.push(client);
  return client;
}

const connected = (client: PusherJs) =>
  new Promise<void>((resolve) => (client.connection.state === 'connected' ? resolve() : client.connection.bind('connected', resolve)));
const succeeded = (channel: ReturnType<PusherJs['subscribe']>) =>
  new Promise<unknown>((resolve) => channel.bind('pusher:subscription_succeeded', resolve));
const nextEvent = <T = unknown>(channel: { bind: (event: string, cb: (data: T) => void) => unknown }, event: string) =>
  new Promise<T>((resolve) => channel.bind(event, resolve));

describe('pusher-js, unchanged but for where it connects', () => {
  it('connects: connection_established comes soon after the handshake (time measured)', async () => {
    const times: number[] = [];
    for (let i = 0; i < 15; i++) {
      const started = performance.now();
      const client = pusherJs();
      await connected(client);
      times.push(performance.now() - started);
      expect(client.connection.socket_id).toMatch(/^\d+\.\d+$/);
      client.disconnect();
    }
    times.sort((a, b) => a - b);
    const p50 = times[Math.floor(times.length / 2)];
    const p99 = times[times.length - 1];
    console.log(
      `handshake → pusher:connection_established, ${times.length} connections: p50 ${p50.toFixed(0)} ms, max ${p99.toFixed(0)} ms`,
    );
    // pusher-js gives up on a connection after 10 s (activityTimeout + pongTimeout); well under that.
    expect(p99).toBeLessThan(2_000);
  });

  it('receives on a public channel what the pusher SDK, POST /broadcast and a native client publish', async () => {
    const client = pusherJs();
    const channel = client.subscribe('orders');
    await succeeded(channel);
    const fromSdk = nextEvent(channel, 'placed');
    await sdk.trigger('orders', 'placed', { id: 7 });
    expect(await fromSdk).toEqual({ id: 7 });

    const fromHttp = nextEvent(channel, 'shipped');
    await fetch(`${e2e.stack().httpUrl}/broadcast`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${MASTER}` },
      body: JSON.stringify({ projectId: APP, channel: 'orders', event: 'shipped', data: { id: 7, carrier: 'post' } }),
    });
    expect(await fromHttp).toEqual({ id: 7, carrier: 'post' });

    const native = await e2e.connect({ projectId: APP });
    const fromNative = nextEvent(channel, 'note');
    native.client.send({ action: 'send', channel: 'orders', event: 'note', data: 'handle with care' });
    expect(await fromNative).toBe('handle with care');

    // Unsubscribed: nothing more arrives (the SDK's next event goes to a second channel it watches).
    client.unsubscribe('orders');
    const other = client.subscribe('other');
    await succeeded(other);
    const received: unknown[] = [];
    channel.bind('placed', (data: unknown) => received.push(data));
    const marker = nextEvent(other, 'marker');
    await sdk.trigger('orders', 'placed', { id: 8 });
    await sdk.trigger('other', 'marker', {});
    await marker;
    expect(received).toEqual([]);
  });

  it('joins a private channel through the app’s auth endpoint; a refused one raises pusher:subscription_error', async () => {
    const client = pusherJs();
    const orders = client.subscribe('private-orders');
    await succeeded(orders);
    const placed = nextEvent(orders, 'placed');
    await sdk.trigger('private-orders', 'placed', { id: 9 });
    expect(await placed).toEqual({ id: 9 });
    const refused = client.subscribe('private-forbidden');
    expect(await nextEvent(refused, 'pusher:subscription_error')).toMatchObject({ type: 'AuthError', status: 403 });
  });

  it('decrypts on a private-encrypted channel what the pusher SDK encrypted: the server never reads it', async () => {
    const client = pusherJs();
    const secret = client.subscribe('private-encrypted-ledger');
    await succeeded(secret);
    const entry = nextEvent(secret, 'entry');
    await sdk.trigger('private-encrypted-ledger', 'entry', { amount: 42 });
    expect(await entry).toEqual({ amount: 42 });
  });

  it('is told refusals as Pusher errors it acts on: an unknown app key is refused once, not retried in a loop', async () => {
    const client = new PusherJs('rbk_nothere', {
      cluster: 'mt1',
      wsHost: '127.0.0.1',
      wsPort: e2e.stack().pusherPort,
      forceTLS: false,
      enabledTransports: ['ws'],
    });
    opened.push(client);
    // pusher-js reports a refused handshake as the Pusher error it carried.
    const error = new Promise<unknown>((resolve) => client.connection.bind('error', resolve));
    expect(await error).toMatchObject({
      type: 'WebSocketError',
      error: { type: 'PusherError', data: { code: 4001, message: expect.stringContaining('Unknown app key') } },
    });
    // 4000–4099 mean "refused": pusher-js disconnects and does not come back by itself.
    await waitFor(() => client.connection.state === 'disconnected');
  });
});

describe('Laravel Echo, with pusher-js as its broadcaster', () => {
  function echo(user: string) {
    return new Echo({ broadcaster: 'pusher', key: appKey, client: pusherJs(user), withoutInterceptors: true });
  }

  it('listens on public and private channels, and tracks a presence channel’s members (here, joining, leaving)', async () => {
    const ada = echo('ada');
    const heard = new Promise((resolve) => ada.channel('news').listen('.published', resolve));
    const priv = new Promise((resolve) => ada.private('inbox').listen('.mail', resolve));
    const here = new Promise<{ name: string }[]>((resolve) => ada.join('lobby').here(resolve));
    expect((await here).map((m) => m.name)).toEqual(['ada']);
    const joining = new Promise<{ name: string }>((resolve) => ada.join('lobby').joining(resolve));
    const leaving = new Promise<{ name: string }>((resolve) => ada.join('lobby').leaving(resolve));

    const bob = echo('bob');
    const bobHere = new Promise<{ name: string }[]>((resolve) => bob.join('lobby').here(resolve));
    expect((await bobHere).map((m) => m.name).sort()).toEqual(['ada', 'bob']);
    expect(await joining).toEqual({ name: 'bob' });

    await waitFor(() => (ada.connector as unknown as { pusher: PusherJs }).pusher.channel('private-inbox')?.subscribed === true);
    await waitFor(() => (ada.connector as unknown as { pusher: PusherJs }).pusher.channel('news')?.subscribed === true);
    await sdk.trigger('news', 'published', { title: 'hello' });
    await sdk.trigger('private-inbox', 'mail', { from: 'bob' });
    expect(await heard).toEqual({ title: 'hello' });
    expect(await priv).toEqual({ from: 'bob' });

    bob.leave('lobby');
    expect(await leaving).toEqual({ name: 'bob' });
  });

  it('whispers (client events) between two clients of a private channel, never back to the sender', async () => {
    const ada = echo('ada');
    const bob = echo('bob');
    const adaHeard: unknown[] = [];
    ada.private('chat').listenForWhisper('typing', (e: unknown) => adaHeard.push(e));
    const bobHeard = new Promise((resolve) => bob.private('chat').listenForWhisper('typing', resolve));
    for (const e of [ada, bob]) {
      await waitFor(() => (e.connector as unknown as { pusher: PusherJs }).pusher.channel('private-chat')?.subscribed === true);
    }
    ada.private('chat').whisper('typing', { name: 'ada' });
    expect(await bobHeard).toEqual({ name: 'ada' });
    // Bob's answer is sent after Ada's whisper reached him: an echo of Ada's own would have come first.
    bob.private('chat').whisper('typing', { name: 'bob' });
    await waitFor(() => adaHeard.length > 0);
    expect(adaHeard).toEqual([{ name: 'bob' }]);
  });
});

describe('cache channels', () => {
  it('tell the first subscriber of a cache channel it missed, and give a later one the last event at once', async () => {
    const first = pusherJs();
    const missed = first.subscribe('cache-scores');
    await new Promise((resolve) => missed.bind('pusher:cache_miss', resolve));
    await sdk.trigger('cache-scores', 'goal', { minute: 12 });
    await sdk.trigger('cache-scores', 'goal', { minute: 34 });
    const later = pusherJs('bob');
    const cached = later.subscribe('cache-scores');
    const misses: unknown[] = [];
    cached.bind('pusher:cache_miss', (m: unknown) => misses.push(m));
    expect(await nextEvent(cached, 'goal')).toEqual({ minute: 34 });
    expect(misses).toEqual([]);
  });
});

describe('user sign-in (Pusher’s user authentication)', () => {
  /** A signed-in pusher-js: resolves once its user channel is subscribed. */
  async function signedIn(user: string, watch?: string[], before?: (client: PusherJs) => void) {
    const client = pusherJs(user, e2e.stack(), appKey, watch ? { watch: watch.join(',') } : {});
    before?.(client);
    client.signin();
    const { user: signed } = client as unknown as { user: { serverToUserChannel?: { subscribed: boolean } } };
    await waitFor(() => signed.serverToUserChannel?.subscribed === true, 10_000).catch(() => {
      // Says where it stopped, should it ever: connection, sign-in or the user channel's subscription.
      throw new Error(
        `${user} not signed in: connection ${client.connection.state}, user channel ${signed.serverToUserChannel ? 'pending' : 'absent'}`,
      );
    });
    return client;
  }

  it('signs in through the app’s endpoint, and sendToUser reaches every connection of that user, no one else', async () => {
    const [ada1, ada2, bob] = await Promise.all([signedIn('ada'), signedIn('ada'), signedIn('bob')]);
    const heard = (client: PusherJs) => new Promise((resolve) => client.user.bind('nudge', resolve));
    const [one, two] = [heard(ada1), heard(ada2)];
    const bobHeard: unknown[] = [];
    bob.user.bind('nudge', (data: unknown) => bobHeard.push(data));
    await sdk.sendToUser('ada', 'nudge', { n: 1 });
    expect(await Promise.all([one, two])).toEqual([{ n: 1 }, { n: 1 }]);
    // Bob's own message comes after: had Ada's reached him, it would have come first.
    const bobsOwn = heard(bob);
    await sdk.sendToUser('bob', 'nudge', { n: 2 });
    expect(await bobsOwn).toEqual({ n: 2 });
    expect(bobHeard).toEqual([{ n: 2 }]);
  });

  it('watchlists: tells a user which watched users are online, then when one comes and when it goes', async () => {
    await signedIn('wanda');
    const events: [string, string[]][] = [];
    await signedIn('walt', ['wanda', 'wes', 'nobody'], (client) => {
      for (const name of ['online', 'offline']) {
        client.user.watchlist.bind(name, (event: { user_ids: string[] }) => events.push([name, event.user_ids]));
      }
    });
    await waitFor(() => events.length === 1, 10_000);
    expect(events).toEqual([['online', ['wanda']]]);
    const wes = await signedIn('wes');
    await waitFor(() => events.length === 2, 10_000);
    expect(events[1]).toEqual(['online', ['wes']]);
    wes.disconnect();
    await waitFor(() => events.length === 3, 10_000);
    expect(events[2]).toEqual(['offline', ['wes']]);
  });

  it('refuses a watchlist of more than 100 users, and keeps the connection unsigned', async () => {
    const client = pusherJs('vera');
    await connected(client);
    const errors: { data?: { message?: string } }[] = [];
    client.connection.bind('error', (error: { data?: { message?: string } }) => errors.push(error));
    const tooMany = sdk.authenticateUser(client.connection.socket_id, {
      id: 'vera',
      watchlist: Array.from({ length: 101 }, (_, i) => `u${i}`),
    });
    client.send_event('pusher:signin', { auth: tooMany.auth, user_data: tooMany.user_data });
    await waitFor(() => errors.length > 0);
    expect(errors[0].data?.message).toMatch(/watchlist is a list of at most 100 user ids/);
    expect(client.connection.state).toBe('connected');
  });

  it('refuses a forged sign-in and another user’s channel, and keeps the connection', async () => {
    const client = pusherJs('eve');
    await connected(client);
    const socket = (client.connection as unknown as { socket_id: string }).socket_id;
    const errors: { data?: { message?: string } }[] = [];
    client.connection.bind('error', (error: { data?: { message?: string } }) => errors.push(error));
    // A signature made for another socket: refused, the connection stays up.
    const forged = sdk.authenticateUser('1234.5678', { id: 'admin' });
    client.send_event('pusher:signin', { auth: forged.auth, user_data: forged.user_data });
    await waitFor(() => errors.length > 0);
    expect(errors[0].data?.message).toMatch(/Invalid user auth/);
    // pusher-js itself names no '#' channel; a hand-made frame asks for Bob's.
    const refused = new Promise((resolve) =>
      client.connection.bind(
        'message',
        (m: { event: string; data: unknown }) => m.event === 'pusher:subscription_error' && resolve(m.data),
      ),
    );
    client.send_event('pusher:subscribe', { channel: '#server-to-user-bob' });
    expect(await refused).toMatchObject({ status: 403 });
    expect(client.connection.state).toBe('connected');
    expect(client.connection.socket_id).toBe(socket);
  });
});

/**
 * The network between pusher-js and the Pusher endpoint, at the TCP level: it can hold new
 * connections (a client cannot get through), drop every open one without a close frame (a lost
 * network), and come back.
 */
async function network(targetPort: number) {
  const pairs = new Set<[Socket, Socket]>();
  let held: Socket[] | undefined;
  const forward = (client: Socket) => {
    const upstream = tcpConnect(targetPort, '127.0.0.1');
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream).pipe(client);
  };
  const server = createTcpServer((client) => (held ? held.push(client) : forward(client)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    hold: () => void (held ??= []),
    drop: () => pairs.forEach(([client, upstream]) => (client.resetAndDestroy(), upstream.destroy())),
    restore: () => {
      const waiting = held ?? [];
      held = undefined;
      waiting.forEach(forward);
    },
    close: () => new Promise<void>((resolve) => (pairs.forEach(([client]) => client.destroy()), server.close(() => resolve()))),
  };
}

describe('continuity: a signed-in pusher-js user misses nothing across a close', () => {
  // A Pusher app of its own, whose channels keep history: Pusher's channel names have no `:`, so it is the root namespace's.
  const FEED = 'pjsfeed';
  let feedKey: string;
  let feed: PusherServer;
  let documents: DynamoDBDocumentClient;
  beforeAll(async () => {
    const key = await e2e.createKey(FEED);
    feedKey = key.keyPrefix;
    const { hostname, port } = new URL(e2e.stack().httpUrl);
    feed = new PusherServer({ appId: FEED, key: feedKey, secret: key.apiKey, host: hostname, port, useTLS: false });
    others.set(feedKey, feed);
    const configure = (path: string, body: unknown) =>
      fetch(`${e2e.stack().httpUrl}/projects/${FEED}/${path}`, {
        method: 'PUT',
        headers: { Authorization: `Bearer ${MASTER}` },
        body: JSON.stringify(body),
      });
    expect((await configure('settings', { anonymousConnect: true })).status).toBe(200);
    expect((await configure('namespaces/_', { history: { size: 100, ttlSeconds: 3600 } })).status).toBe(200);
    documents = DynamoDBDocumentClient.from(new DynamoDBClient({ ...LOCAL_AWS, endpoint: e2e.stack().dynamoEndpoint }));
  });
  afterAll(() => documents.destroy());

  /** Whether the server has handled the user's departure from the channel (its away mark is written). */
  const marked = async (channel: string, user: string) =>
    (
      await documents.send(
        new GetCommand({ TableName: LOCAL_TABLES.channels.name, Key: { pk: subscriptionPartition(FEED, channel), sk: `a#${user}` } }),
      )
    ).Item !== undefined;

  const publish = async (channel: string, from: number, to: number) => {
    for (let n = from; n <= to; n++) await feed.trigger(channel, 'tick', { n });
  };

  it.each([
    ['the server closes the connection, as the 2-hour limit does', 'expire'],
    ['the network drops', 'drop'],
  ] as const)(
    '%s: pusher-js reconnects by itself, and the app gets the 20 messages of the gap, in order, once',
    async (_, how) => {
      const net = await network(e2e.stack().pusherPort);
      try {
        const user = `cora-${how}`;
        const name = `news-${how}`;
        const client = pusherJs(user, { pusherPort: net.port }, feedKey);
        client.signin();
        const channel = client.subscribe(name);
        await succeeded(channel);
        const received: number[] = [];
        channel.bind('tick', ({ n }: { n: number }) => received.push(n));
        await publish(name, 1, 3);
        await waitFor(() => received.length === 3);
        await waitFor(() => (client as unknown as { user: { signin_requested: boolean; user_data: unknown } }).user.user_data != null);

        const firstSocket = client.connection.socket_id;
        net.hold();
        if (how === 'expire') e2e.stack().gateway.expire(connectionIdOf(firstSocket)!);
        else net.drop();
        await waitFor(() => marked(name, user), 10_000);
        await publish(name, 4, 23);
        net.restore();
        await waitFor(() => client.connection.state === 'connected' && client.connection.socket_id !== firstSocket, 20_000);
        await waitFor(() => received.includes(23), 10_000).catch(() => {
          throw new Error(`received ${received.join(',')}`);
        });
        // A live message after the replay: anything repeated or late would come before it.
        await publish(name, 24, 24);
        await waitFor(() => received.includes(24), 10_000);

        const gap = Array.from({ length: 20 }, (__, i) => i + 4);
        expect(received.filter((n) => n > 3)).toEqual([...gap, 24]);
        if (how === 'expire') {
          // A clean close: nothing repeated.
          expect(received).toEqual([1, 2, 3, ...gap, 24]);
        } else {
          // A dropped network: what was sent just before may come again (the README's window), never after the gap.
          const repeated = received.slice(3, received.indexOf(4));
          expect(repeated.every((n) => n <= 3)).toBe(true);
        }
      } finally {
        await net.close();
      }
    },
    60_000,
  );
});

describe('a restart of the stack under a connected client', () => {
  it('pusher-js reconnects and resubscribes by itself, and receives what is published after', async () => {
    const dataDir = `${tmpdir()}/pusher-restart-${randomBytes(4).toString('hex')}`;
    const ports = { httpPort: 0, wsPort: 0, pusherPort: 0 };
    let stack = await startLocalStack({ accessKey: 'restart-master', dataDir, lifecycleEventsFile: false, ...ports });
    // Kept across the restart, as a deployment keeps its URL.
    const fixed = {
      httpPort: Number(new URL(stack.httpUrl).port),
      wsPort: Number(new URL(stack.webSocketUrl).port),
      pusherPort: stack.pusherPort,
    };
    try {
      const client = new PusherJs('default', {
        cluster: 'mt1',
        wsHost: '127.0.0.1',
        wsPort: stack.pusherPort,
        forceTLS: false,
        enabledTransports: ['ws'],
      });
      opened.push(client);
      const channel = client.subscribe('restartable');
      await succeeded(channel);
      const firstId = client.connection.socket_id;
      await stack.stop();
      stack = await startLocalStack({ accessKey: 'restart-master', dataDir, lifecycleEventsFile: false, ...fixed });
      const resubscribed = succeeded(channel);
      await waitFor(() => client.connection.state === 'connected' && client.connection.socket_id !== firstId, 30_000);
      await resubscribed;
      const after = nextEvent(channel, 'after');
      await fetch(`${stack.httpUrl}/broadcast`, {
        method: 'POST',
        headers: { Authorization: 'Bearer restart-master' },
        body: JSON.stringify({ channel: 'restartable', event: 'after', data: { ok: true } }),
      });
      expect(await after).toEqual({ ok: true });
    } finally {
      await stack.stop();
    }
  }, 60_000);
});
