/**
 * pusher-js (its Node build) and Laravel Echo, unmodified, against the local stack's Pusher endpoint
 * (the construct's CloudFront Function in front of the WebSocket API) — only `wsHost`, `wsPort`,
 * `forceTLS` and `enabledTransports` set. Private and presence channels are authorized by an auth
 * endpoint here that uses the real `pusher` SDK's `authorizeChannel`, as a Laravel or Express
 * backend does; events come from the `pusher` SDK, `POST /broadcast` and a native client.
 */
import { randomBytes } from 'node:crypto';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import Echo from 'laravel-echo';
import PusherServer from 'pusher';
import PusherJs from 'pusher-js';
import { startLocalStack, LocalStack } from '../../local/stack';
import { useLocalStack, waitFor } from '../helpers/e2e';

const MASTER = 'pusher-js-master-key';
const APP = 'pjsapp';
const e2e = useLocalStack({ accessKey: MASTER });
let sdk: PusherServer;
let appKey: string;
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
      // The user authentication endpoint (`userAuthentication.endpoint`): who the user is, signed.
      if (req.url === '/pusher/user-auth') {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify(sdk.authenticateUser(socketId, { id: user, user_info: { name: user } })));
        return;
      }
      if (channel.includes('forbidden')) {
        res.writeHead(403).end('{"error":"not yours"}');
        return;
      }
      const answer = channel.startsWith('presence-')
        ? sdk.authorizeChannel(socketId, channel, { user_id: user, user_info: { name: user } })
        : sdk.authorizeChannel(socketId, channel);
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
function pusherJs(user = 'ada', stack: Pick<LocalStack, 'pusherPort'> = e2e.stack()): PusherJs {
  const client = new PusherJs(appKey, {
    cluster: 'mt1',
    wsHost: '127.0.0.1',
    wsPort: stack.pusherPort,
    forceTLS: false,
    enabledTransports: ['ws'],
    channelAuthorization: { endpoint: auth.url, transport: 'ajax', params: { user } },
    userAuthentication: { endpoint: auth.url.replace('/pusher/auth', '/pusher/user-auth'), transport: 'ajax', params: { user } },
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
  async function signedIn(user: string) {
    const client = pusherJs(user);
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
