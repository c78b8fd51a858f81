/**
 * Pusher's WebSocket protocol over real sockets, frame by frame, as the Pusher endpoint hands a
 * pusher-js handshake to the WebSocket API (`/app/{key}` rewritten to the stage with `appKey` and
 * `protocol` in the query): the connection, subscriptions with Pusher's channel auth made by the
 * real `pusher` SDK, presence, client events, one channel shared with native subscribers, and
 * every refusal as pusher-js expects it.
 */
import Pusher from 'pusher';
import { TestClient } from '../helpers/clients';
import { useLocalStack, waitFor } from '../helpers/e2e';

const MASTER = 'pusher-protocol-master-key';
const APP = 'pusherws';
const e2e = useLocalStack({ accessKey: MASTER });
let pusher: Pusher;
let appKey: string;

const settings = async (projectId: string, body: object) => {
  const response = await fetch(`${e2e.stack().httpUrl}/projects/${projectId}/settings`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${MASTER}` },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
};

beforeAll(async () => {
  const key = await e2e.createKey(APP);
  appKey = key.keyPrefix;
  // As on Pusher: anyone may connect with the (public) app key; private and presence channels need
  // auth. Client events on; native clients may publish. Set before any connection: settings are
  // cached by each warm handler for 30 s.
  await settings(APP, { anonymousConnect: true, clientPublish: 'all', clientEvents: true });
  const { hostname, port } = new URL(e2e.stack().httpUrl);
  pusher = new Pusher({ appId: APP, key: key.keyPrefix, secret: key.apiKey, host: hostname, port, useTLS: false });
});

const clients: TestClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

/** A Pusher connection as the endpoint hands it on; resolves with its first frame, parsed. */
async function open(query: Record<string, string>) {
  const client = await TestClient.open(`${e2e.stack().webSocketUrl}?${new URLSearchParams(query)}`);
  clients.push(client);
  const first = await client.next<{ event: string; data: string }>();
  return { client, first };
}

/** An open Pusher connection of the app: its socket id. */
async function connected(key = appKey) {
  const { client, first } = await open({ appKey: key, protocol: '7', client: 'js', version: '8.6.0', flash: 'false' });
  expect(first.event).toBe('pusher:connection_established');
  const { socket_id: socketId, activity_timeout } = JSON.parse(first.data) as { socket_id: string; activity_timeout: number };
  expect(socketId).toMatch(/^\d+\.\d+$/);
  expect(activity_timeout).toBe(120);
  return { client, socketId };
}

async function subscribed(client: TestClient, data: Record<string, string>) {
  client.send({ event: 'pusher:subscribe', data });
  return client.next<{ event: string; channel: string; data: unknown }>((m) => m.channel === data.channel);
}

describe('a Pusher connection', () => {
  it('is established with a socket id and an activity timeout, answers pings without a store, and receives publishes as Pusher frames', async () => {
    const { client } = await connected();
    client.send({ event: 'pusher:ping', data: {} });
    expect(await client.next()).toEqual({ event: 'pusher:pong', data: '{}' });
    expect(await subscribed(client, { channel: 'scores' })).toEqual({
      event: 'pusher_internal:subscription_succeeded',
      channel: 'scores',
      data: '{}',
    });
    const published = await fetch(`${e2e.stack().httpUrl}/broadcast`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${MASTER}` },
      body: JSON.stringify({ projectId: APP, channel: 'scores', event: 'goal', data: { minute: 90 } }),
    });
    expect(await published.json()).toMatchObject({ sent: 1 });
    expect(await client.next()).toEqual({ event: 'goal', channel: 'scores', data: '{"minute":90}' });
  });

  it('answers pings at pusher-js’s pace without a store; a connection pinging in a loop meets its rate limit', async () => {
    const { client } = await connected();
    // The project's rate limit: a burst of 20, then 10 a second. pusher-js pings once in two minutes.
    for (let i = 0; i < 80; i++) client.send({ event: 'pusher:ping', data: {} });
    const refused = await client.next<{ event: string; data: { code: number | null; message: string } }>((m) => m.event === 'pusher:error');
    expect(refused.data.message).toMatch(/too many messages/i);
    expect(client.messages.filter((raw) => raw.includes('pusher:pong')).length).toBeLessThan(80);
  });

  it('closes a connection that keeps sending what it may not, telling it why', async () => {
    const { client } = await connected();
    // The burst of 20, then 20 refusals more: the connection is closed (after a pusher:error saying so).
    for (let i = 0; i < 60; i++) client.send({ event: 'pusher:nonsense', data: {} });
    await client.waitClosed(10_000);
    const errors = client.messages.map((raw) => JSON.parse(raw) as { event: string; data: { message: string } });
    expect(errors.every((m) => m.event === 'pusher:error')).toBe(true);
    expect(errors.at(-1)!.data.message).toMatch(/closed/);
  });

  it('shares a channel with native subscribers: each gets the message in its own protocol, from every publisher', async () => {
    const { client: pusherClient } = await connected();
    await subscribed(pusherClient, { channel: 'mixed' });
    const native = await e2e.connect({ projectId: APP });
    await e2e.subscribe(native.client, 'mixed');
    await pusher.trigger('mixed', 'from-sdk', 'plain text');
    expect(await pusherClient.next()).toEqual({ event: 'from-sdk', channel: 'mixed', data: 'plain text' });
    expect(await native.client.next()).toMatchObject({ kind: 'message', channel: 'mixed', event: 'from-sdk', data: 'plain text' });
    native.client.send({ action: 'send', channel: 'mixed', event: 'from-native', data: { n: 1 } });
    expect(await pusherClient.next()).toEqual({ event: 'from-native', channel: 'mixed', data: '{"n":1}' });
  });

  it('joins a private channel with auth made by the pusher SDK, and is refused with a subscription error without it', async () => {
    const { client, socketId } = await connected();
    const auth = pusher.authorizeChannel(socketId, 'private-orders');
    expect(await subscribed(client, { channel: 'private-orders', auth: auth.auth })).toMatchObject({
      event: 'pusher_internal:subscription_succeeded',
    });
    const forged = `${appKey}:${'0'.repeat(64)}`;
    expect(await subscribed(client, { channel: 'private-other', auth: forged })).toMatchObject({
      event: 'pusher:subscription_error',
      channel: 'private-other',
      data: { type: 'AuthError', status: 403 },
    });
    expect(await subscribed(client, { channel: 'private-none' })).toMatchObject({ event: 'pusher:subscription_error' });
    // Auth made for another socket is no use to this one.
    const other = await connected();
    const theirs = pusher.authorizeChannel(other.socketId, 'private-theirs');
    expect(await subscribed(client, { channel: 'private-theirs', auth: theirs.auth })).toMatchObject({
      event: 'pusher:subscription_error',
      data: { status: 403 },
    });
  });

  it('gets a presence channel’s members with its subscription, and members joining and leaving', async () => {
    const first = await connected();
    const ada = { user_id: 'ada', user_info: { name: 'Ada' } };
    const signedAda = pusher.authorizeChannel(first.socketId, 'presence-room', ada);
    const joined = await subscribed(first.client, {
      channel: 'presence-room',
      auth: signedAda.auth,
      channel_data: signedAda.channel_data!,
    });
    expect(joined.event).toBe('pusher_internal:subscription_succeeded');
    expect(JSON.parse(joined.data as string)).toEqual({ presence: { ids: ['ada'], hash: { ada: { name: 'Ada' } }, count: 1 } });

    const second = await connected();
    const bob = { user_id: 'bob', user_info: { name: 'Bob' } };
    const signedBob = pusher.authorizeChannel(second.socketId, 'presence-room', bob);
    const both = await subscribed(second.client, { channel: 'presence-room', auth: signedBob.auth, channel_data: signedBob.channel_data! });
    expect(JSON.parse(both.data as string).presence).toMatchObject({ count: 2, hash: { ada: { name: 'Ada' }, bob: { name: 'Bob' } } });
    expect(await first.client.next()).toEqual({
      event: 'pusher_internal:member_added',
      channel: 'presence-room',
      data: JSON.stringify({ user_id: 'bob', user_info: { name: 'Bob' } }),
    });
    second.client.send({ event: 'pusher:unsubscribe', data: { channel: 'presence-room' } });
    expect(await first.client.next()).toEqual({
      event: 'pusher_internal:member_removed',
      channel: 'presence-room',
      data: JSON.stringify({ user_id: 'bob' }),
    });
  });

  it('sends client events only where the project allows them, to the channel’s others, with the user on presence', async () => {
    const a = await connected();
    const b = await connected();
    for (const { client, socketId } of [a, b]) {
      const signed = pusher.authorizeChannel(socketId, 'presence-chat', { user_id: `u-${socketId}` });
      await subscribed(client, { channel: 'presence-chat', auth: signed.auth, channel_data: signed.channel_data! });
    }
    await a.client.next((m) => m.event === 'pusher_internal:member_added');
    a.client.send({ event: 'client-typing', channel: 'presence-chat', data: { on: true } });
    expect(await b.client.next((m) => m.event === 'client-typing')).toEqual({
      event: 'client-typing',
      channel: 'presence-chat',
      data: '{"on":true}',
      user_id: `u-${a.socketId}`,
    });
    // Never on a public channel, never on one not joined; never back to the sender.
    a.client.send({ event: 'client-x', channel: 'public-room', data: {} });
    expect(await a.client.next((m) => m.event === 'pusher:error')).toMatchObject({
      data: { message: expect.stringContaining('private and presence') },
    });
    a.client.send({ event: 'client-x', channel: 'private-elsewhere', data: {} });
    expect(await a.client.next((m) => m.event === 'pusher:error')).toMatchObject({
      data: { message: expect.stringContaining('Subscribe to') },
    });
    // Anything posted to a before now arrives before the answer to its ping.
    await e2e.stack().gateway.settled();
    a.client.send({ event: 'pusher:ping', data: {} });
    await a.client.next((m) => m.event === 'pusher:pong');
    expect(a.client.messages.filter((raw) => raw.includes('client-typing'))).toEqual([]);

    // A project that has not turned them on (as on Pusher, the default) refuses them.
    const other = await connected('default');
    await subscribed(other.client, { channel: 'private-x', auth: 'x' });
    other.client.send({ event: 'client-typing', channel: 'private-x', data: {} });
    expect(await other.client.next((m) => m.event === 'pusher:error')).toMatchObject({
      data: { code: null, message: expect.stringContaining('Client events are off') },
    });
  });
});

describe('a signed-in Pusher connection', () => {
  it('signs in as one user, with user auth made by the pusher SDK; revoking the key that signed it closes it', async () => {
    // A second key of the project, to revoke: its signature is the credential.
    const second = await e2e.createKey(APP);
    const { hostname, port } = new URL(e2e.stack().httpUrl);
    const signer = new Pusher({ appId: APP, key: second.keyPrefix, secret: second.apiKey, host: hostname, port, useTLS: false });
    const { client, socketId } = await connected();
    const signed = signer.authenticateUser(socketId, { id: 'grace', user_info: { name: 'Grace' } });
    client.send({ event: 'pusher:signin', data: signed });
    expect(await client.next()).toEqual({ event: 'pusher:signin_success', data: { user_data: signed.user_data } });
    // As one user only: a second sign-in as someone else, even with a good signature, is refused.
    client.send({ event: 'pusher:signin', data: signer.authenticateUser(socketId, { id: 'mallory' }) });
    expect(await client.next()).toMatchObject({
      event: 'pusher:error',
      data: { code: 4009, message: expect.stringMatching(/one user only/) },
    });
    client.send({ event: 'pusher:subscribe', data: { channel: '#server-to-user-grace' } });
    expect(await client.next()).toEqual({ event: 'pusher_internal:subscription_succeeded', channel: '#server-to-user-grace', data: '{}' });
    await signer.sendToUser('grace', 'hello', { to: 'grace' });
    expect(await client.next()).toEqual({ event: 'hello', channel: '#server-to-user-grace', data: '{"to":"grace"}' });
    const revoked = await fetch(`${e2e.stack().httpUrl}/api-keys/${APP}/${second.keyPrefix}`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${MASTER}` },
    });
    expect(revoked.status).toBe(200);
    await client.waitClosed(5_000);
  });
});

describe('a signed-in user’s limits', () => {
  it('holds a user to the project’s connections per user, and frees the slot when one goes', async () => {
    // A project of its own, its settings made before any connection (handlers cache them).
    const key = await e2e.createKey('pusherlimits');
    await settings('pusherlimits', { anonymousConnect: true, maxConnectionsPerUser: 1 });
    const { hostname, port } = new URL(e2e.stack().httpUrl);
    const signer = new Pusher({ appId: 'pusherlimits', key: key.keyPrefix, secret: key.apiKey, host: hostname, port, useTLS: false });
    const signIn = async () => {
      const { client, socketId } = await connected(key.keyPrefix);
      client.send({ event: 'pusher:signin', data: signer.authenticateUser(socketId, { id: 'kate' }) });
      return { client, answer: await client.next<{ event: string; data: { code?: number } }>() };
    };
    const first = await signIn();
    expect(first.answer.event).toBe('pusher:signin_success');
    const second = await signIn();
    expect(second.answer).toMatchObject({ event: 'pusher:error', data: { code: 4100 } });
    await first.client.close();
    // Its $disconnect frees the slot: a sign-in soon passes again.
    await waitFor(async () => (await signIn()).answer.event === 'pusher:signin_success');
  });
});

describe('terminateUserConnections', () => {
  it('closes every connection signed in as the user within 5 s, and no one else’s', async () => {
    const signedIn = async (user: string) => {
      const { client, socketId } = await connected();
      client.send({ event: 'pusher:signin', data: pusher.authenticateUser(socketId, { id: user }) });
      expect(await client.next()).toMatchObject({ event: 'pusher:signin_success' });
      return client;
    };
    const [one, two, other] = await Promise.all([signedIn('ian'), signedIn('ian'), signedIn('jane')]);
    const answer = await pusher.terminateUserConnections('ian');
    expect(answer.status).toBe(200);
    await Promise.all([one.waitClosed(5_000), two.waitClosed(5_000)]);
    // Jane's connection is still served: it answers a ping.
    other.send({ event: 'pusher:ping', data: {} });
    expect(await other.next()).toEqual({ event: 'pusher:pong', data: '{}' });
  });
});

describe('a refused Pusher connection', () => {
  it.each([
    ['an unknown app key', { appKey: 'rbk_nothere', protocol: '7' }, 4001, /Unknown app key/],
    ['a whole project key as the app key', { appKey: 'rbk_0123456789abcdefghijklmnop', protocol: '7' }, 4001, /never reach a client/],
    ['no protocol version', { appKey: 'default' }, 4008, /No protocol version/],
    ['another protocol version', { appKey: 'default', protocol: '5' }, 4007, /Unsupported protocol version 5/],
  ])('%s: pusher:error with the code pusher-js acts on, then the connection closes', async (_, query, code, message) => {
    const { client, first } = await open(query);
    expect(first).toEqual({ event: 'pusher:error', data: { code, message: expect.stringMatching(message) } });
    await client.waitClosed();
  });

  it('a keyed project that takes no anonymous connections: 4009, with how to get in', async () => {
    const key = await e2e.createKey('pusherclosed');
    const { client, first } = await open({ appKey: key.keyPrefix, protocol: '7' });
    expect(first).toEqual({ event: 'pusher:error', data: { code: 4009, message: expect.stringContaining('token') } });
    await client.waitClosed();
  });
});
