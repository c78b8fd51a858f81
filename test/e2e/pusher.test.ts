/**
 * Pusher compatibility, verified with the real `pusher` server SDK (which nobody here wrote)
 * pointed at the local stack: trigger, triggerBatch, channel queries, and channel auth made by
 * `authorizeChannel` accepted on subscribe. App id = project id, app key = key prefix, secret = key.
 */
import { createHash, createHmac } from 'node:crypto';
import Pusher from 'pusher';
import { useLocalStack } from '../helpers/e2e';
import { TestClient } from '../helpers/clients';

const MASTER = 'pusher-master-key';
const APP = 'pusherapp';
const e2e = useLocalStack({ accessKey: MASTER });
let pusher: Pusher;

beforeAll(async () => {
  const key = await e2e.createKey(APP);
  // Pusher's clients connect anonymously and are authorized per channel.
  const settings = await fetch(`${e2e.stack().httpUrl}/projects/${APP}/settings`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${MASTER}` },
    body: JSON.stringify({ anonymousConnect: true }),
  });
  expect(settings.status).toBe(200);
  const { hostname, port } = new URL(e2e.stack().httpUrl);
  pusher = new Pusher({ appId: APP, key: key.keyPrefix, secret: key.apiKey, host: hostname, port, useTLS: false });
});

/** An anonymous connection to the app, subscribed; with its Pusher socket id. */
async function socket(channel?: string, extra: Record<string, string> = {}) {
  const { client } = await e2e.connect({ projectId: APP });
  client.send({ action: 'subscribe', channel: channel ?? 'warmup', ...extra });
  const hello = await client.next<{ socket_id: string; connection_id: string }>((m) => m.type === 'connection_id');
  expect(hello.socket_id).toMatch(/^\d+\.\d+$/);
  const confirmed = await client.next((m) => m.type === 'subscription_succeeded' || m.type === 'error');
  return { client, socketId: hello.socket_id, confirmed };
}

const subscribe = async (client: TestClient, frame: Record<string, string>) => {
  client.send({ action: 'subscribe', ...frame });
  return client.next((m) => m.type === 'subscription_succeeded' || m.type === 'error');
};

describe('the pusher server SDK, unchanged but for its host', () => {
  it('trigger: one event to several channels, JSON data delivered as JSON, the socket_id excluded', async () => {
    const a = await socket('news');
    const b = await socket('news');
    await subscribe(b.client, { channel: 'sport' });
    const response = await pusher.trigger(['news', 'sport'], 'update', { headline: 'hi' }, { socket_id: a.socketId });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({});
    expect(await b.client.next()).toMatchObject({ channel: 'news', event: 'update', data: { headline: 'hi' } });
    expect(await b.client.next()).toMatchObject({ channel: 'sport', event: 'update', data: { headline: 'hi' } });
    await e2e.barrier(a);
    expect(a.client.messages).toEqual([]);
  });

  it('triggerBatch: each event to its channel', async () => {
    const { client } = await socket('batch-a');
    await subscribe(client, { channel: 'batch-b' });
    const response = await pusher.triggerBatch([
      { channel: 'batch-a', name: 'one', data: 'plain text' },
      { channel: 'batch-b', name: 'two', data: JSON.stringify({ n: 2 }) },
    ]);
    expect(response.status).toBe(200);
    expect(await client.next()).toMatchObject({ channel: 'batch-a', event: 'one', data: 'plain text' });
    expect(await client.next()).toMatchObject({ channel: 'batch-b', event: 'two', data: { n: 2 } });
  });

  it('trigger and triggerBatch with info: each channel’s subscription count, as Pusher answers; at most 10 channels', async () => {
    await socket('counted-a');
    await socket('counted-a');
    await socket('counted-b');
    const single = await pusher.trigger(['counted-a', 'counted-b'], 'e', {}, { info: 'subscription_count' });
    expect(await single.json()).toEqual({ channels: { 'counted-a': { subscription_count: 2 }, 'counted-b': { subscription_count: 1 } } });
    const batch = await pusher.triggerBatch([
      { channel: 'counted-a', name: 'e', data: '{}', info: 'subscription_count' },
      { channel: 'counted-b', name: 'e', data: '{}' },
    ]);
    expect(await batch.json()).toEqual({ batch: [{ subscription_count: 2 }, {}] });
    const eleven = Array.from({ length: 11 }, (_, i) => `many-${i}`);
    await expect(pusher.trigger(eleven, 'e', {}, { info: 'subscription_count' })).rejects.toMatchObject({
      status: 400,
      body: expect.stringMatching(/at most 10 channels/),
    });
  });

  it('authorizeChannel: a private channel joined with the signature it makes, and refused with another socket’s', async () => {
    const { client, socketId } = await socket();
    const other = await socket();
    const auth = pusher.authorizeChannel(socketId, 'private-orders');
    expect(await subscribe(other.client, { channel: 'private-orders', auth: auth.auth })).toMatchObject({
      kind: 'reply',
      type: 'error',
      code: 'subscription_forbidden',
    });
    expect(await subscribe(client, { channel: 'private-orders', auth: auth.auth })).toEqual({
      kind: 'reply',
      type: 'subscription_succeeded',
      channel: 'private-orders',
    });
    await pusher.trigger('private-orders', 'placed', { id: 7 });
    expect(await client.next()).toMatchObject({ channel: 'private-orders', event: 'placed', data: { id: 7 } });
  });

  it('presence with channel_data, and the channel queries: channels, channel info, users', async () => {
    const { client, socketId } = await socket();
    const signed = pusher.authorizeChannel(socketId, 'presence-room', { user_id: 'u-1', user_info: { name: 'Ada' } });
    expect(await subscribe(client, { channel: 'presence-room', auth: signed.auth, channel_data: signed.channel_data! })).toMatchObject({
      kind: 'reply',
      type: 'subscription_succeeded',
    });
    // channel_data is covered by the signature: another user's is refused.
    const intruder = await socket();
    const forged = pusher.authorizeChannel(intruder.socketId, 'presence-room', { user_id: 'u-2' });
    expect(
      await subscribe(intruder.client, { channel: 'presence-room', auth: forged.auth, channel_data: JSON.stringify({ user_id: 'admin' }) }),
    ).toMatchObject({ code: 'subscription_forbidden' });

    const channels = await (await pusher.get({ path: '/channels', params: { filter_by_prefix: 'presence-', info: 'user_count' } })).json();
    expect(channels).toEqual({ channels: { 'presence-room': { user_count: 1 } } });
    const info = await (await pusher.get({ path: '/channels/presence-room', params: { info: 'user_count,subscription_count' } })).json();
    expect(info).toEqual({ occupied: true, subscription_count: 1, user_count: 1 });
    const users = await (await pusher.get({ path: '/channels/presence-room/users' })).json();
    expect(users).toEqual({ users: [{ id: 'u-1' }] });
    expect(await (await pusher.get({ path: '/channels/nobody-here' })).json()).toEqual({ occupied: false });
  });

  it('refuses what Pusher refuses: a wrong secret, another app, a stale timestamp', async () => {
    const { hostname, port } = new URL(e2e.stack().httpUrl);
    const wrong = new Pusher({
      appId: APP,
      key: (pusher as any).config.token.key,
      secret: 'not-the-secret',
      host: hostname,
      port,
      useTLS: false,
    });
    await expect(wrong.trigger('news', 'e', {})).rejects.toMatchObject({ status: 401, body: expect.stringContaining('Invalid signature') });
    const elsewhere = new Pusher({
      appId: 'default',
      key: (pusher as any).config.token.key,
      secret: (pusher as any).config.token.secret,
      host: hostname,
      port,
      useTLS: false,
    });
    await expect(elsewhere.trigger('news', 'e', {})).rejects.toMatchObject({ status: 401 });
    // Signed correctly, but 700 s ago (the handler shares this process's clock, so it is signed by hand).
    const { key, secret } = (pusher as any).config.token;
    const body = JSON.stringify({ name: 'e', channels: ['news'], data: '{}' });
    const query = `auth_key=${key}&auth_timestamp=${Math.floor(Date.now() / 1000) - 700}&auth_version=1.0&body_md5=${createHash('md5').update(body).digest('hex')}`;
    const signature = createHmac('sha256', secret).update(`POST\n/apps/${APP}/events\n${query}`).digest('hex');
    const stale = await fetch(`${e2e.stack().httpUrl}/apps/${APP}/events?${query}&auth_signature=${signature}`, { method: 'POST', body });
    expect(stale.status).toBe(401);
    expect(await stale.text()).toContain('Timestamp expired');
    await expect(pusher.trigger('news', 'pusher:internal', {})).rejects.toMatchObject({ status: 400 });
  });
});

describe('moving a pusher-js frontend to the client: the constructor and the import change, the rest stays', () => {
  it('joins a private channel through an existing Pusher auth endpoint and binds events as pusher-js does', async () => {
    // The backend's auth endpoint, as it was for pusher-js (form-encoded socket_id and channel_name).
    const { createServer } = await import('node:http');
    const endpoint = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify(pusher.authorizeChannel(form.get('socket_id')!, form.get('channel_name')!)));
      });
    });
    await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
    const { RealtimeClient } = await import('../../client/src');
    const WebSocket = (await import('ws')).default;
    const client = new RealtimeClient(`${e2e.stack().webSocketUrl}?projectId=${APP}`, {
      WebSocket: WebSocket as never,
      channelAuthorization: { endpoint: `http://127.0.0.1:${(endpoint.address() as { port: number }).port}/pusher/auth` },
    });
    try {
      const channel = client.subscribe('private-inbox');
      const got: unknown[] = [];
      channel.bind('new-mail', (data) => got.push(data));
      await new Promise<void>((resolve, reject) => {
        channel.on('subscribed', () => resolve());
        channel.on('error', (e) => reject(new Error(e.message)));
      });
      await pusher.trigger('private-inbox', 'new-mail', { subject: 'hello' });
      await pusher.trigger('private-inbox', 'other', {});
      const deadline = Date.now() + 5000;
      while (got.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(got).toEqual([{ subject: 'hello' }]);
    } finally {
      client.close();
      await new Promise((resolve) => endpoint.close(resolve));
    }
  });
});
