/**
 * The security model end to end, over real sockets against the local stack: each row of the attack
 * table in issue 10 (now refused or harmless), every access rule, client tokens in the query and
 * as a subprotocol, two-key rotation, and revocation closing sockets.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { WebSocket } from 'ws';
import { signClientToken } from '../../lambda/auth/tokens';
import { LOCAL_AWS, LOCAL_TABLES } from '../../local/store';
import { TestClient } from '../helpers/clients';
import { useLocalStack } from '../helpers/e2e';

const MASTER = 'security-master-key-0123456789abcdef';
const e2e = useLocalStack({ accessKey: MASTER });
const { connect, subscribe, subscriber, tokenFor, createKey, broadcast, barrier } = e2e;

let project = 0;
const newProject = () => `sec-${++project}`;

async function call(method: string, path: string, body?: unknown, key = MASTER) {
  const response = await fetch(`${e2e.stack().httpUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

/** How a connection attempt ends: the refusal's status and body, or 101. */
function attempt(search: string, protocols?: string[]): Promise<{ status: number; body?: any; protocol?: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${e2e.stack().webSocketUrl}${search}`, protocols);
    socket.once('open', () => {
      resolve({ status: 101, protocol: socket.protocol });
      socket.close();
    });
    socket.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : undefined }));
    });
    socket.once('error', reject);
  });
}

describe('connecting', () => {
  it('keeps the seed flow: anonymous clients join default and subscribe to admin', async () => {
    const admin = await subscriber('admin');
    const published = await broadcast({ channel: 'admin', event: 'admin_event', data: { hello: 'world' } });
    expect(published.json).toMatchObject({ success: true, channel: 'admin', event: 'admin_event', sent: 1, failed: 0 });
    expect(await admin.client.next()).toMatchObject({ event: 'admin_event', data: { hello: 'world' } });
  });

  it('refuses anonymous connections to a keyed project (?projectId=victim) with 401 token_required', async () => {
    const victim = newProject();
    await createKey(victim);
    const said = expect.stringMatching(/^This project needs a client token/);
    expect(await attempt(`?projectId=${victim}`)).toEqual({ status: 401, body: { code: 'token_required', error: said, message: said } });
  });

  it('refuses a token of another project for the project asked for', async () => {
    const victim = newProject();
    await createKey(victim);
    const mine = await tokenFor(newProject());
    expect(await attempt(`?projectId=${victim}&token=${mine}`)).toMatchObject({ status: 401, body: { code: 'invalid_token' } });
  });

  it('takes the token from the rb.token subprotocol and answers with rb.v1, as browsers need', async () => {
    const projectId = newProject();
    const token = await tokenFor(projectId, { sub: 'browser-user' });
    expect(await attempt('', ['rb.v1', `rb.token.${token}`])).toEqual({ status: 101, protocol: 'rb.v1' });
    // Without a token an open project still answers rb.v1; a client offering only other protocols is refused.
    expect(await attempt('', ['rb.v1'])).toEqual({ status: 101, protocol: 'rb.v1' });
    expect(await attempt('', ['graphql-ws'])).toMatchObject({ status: 400, body: { code: 'invalid_request' } });
    expect(await attempt(`?projectId=${projectId}`, ['rb.v1', 'rb.token.not-a-jwt'])).toMatchObject({
      status: 401,
      body: { code: 'invalid_token' },
    });
  });

  it('lets the master key open a keyed project to anonymous clients, and applies it at once', async () => {
    const projectId = newProject();
    await createKey(projectId);
    expect((await attempt(`?projectId=${projectId}`)).status).toBe(401);
    await call('PUT', `/projects/${projectId}/settings`, { anonymousConnect: true });
    expect((await attempt(`?projectId=${projectId}`)).status).toBe(101);
  });
});

describe('private and presence channels', () => {
  it('are joined only where the token grants them; nothing is stored otherwise', async () => {
    const projectId = newProject();
    const { client } = await connect({
      token: await tokenFor(projectId, { sub: 'alice', channels: ['private-user-alice', 'presence-room-*'] }),
    });
    await subscribe(client, 'private-user-alice');
    await subscribe(client, 'presence-room-1');
    await subscribe(client, 'news');
    for (const channel of ['private-user-bob', 'presence-lobby']) {
      client.send({ action: 'subscribe', channel });
      expect(await client.next()).toEqual({
        kind: 'reply',
        type: 'error',
        code: 'subscription_forbidden',
        message: expect.stringContaining(channel),
      });
    }
    const status = await call('GET', `/status?projectId=${projectId}`);
    expect(status.json.data.channels.map((c: { channel: string }) => c.channel).sort()).toEqual([
      'news',
      'presence-room-1',
      'private-user-alice',
    ]);
  });

  it('are refused to anonymous clients of an open project', async () => {
    const { client } = await connect();
    client.send({ action: 'subscribe', channel: 'private-anything' });
    expect(await client.next()).toMatchObject({ kind: 'reply', type: 'error', code: 'subscription_forbidden' });
  });
});

describe('publishing from clients', () => {
  it('in a keyed project needs a publish grant (clientPublish: granted)', async () => {
    const projectId = newProject();
    const listener = await subscriber('chat-1', { token: await tokenFor(projectId) });
    const { client } = await connect({ token: await tokenFor(projectId, { sub: 'writer', publish: ['chat-*'] }) });
    client.send({ action: 'send', channel: 'chat-1', event: 'hello' });
    expect(await client.next()).toMatchObject({ kind: 'reply', type: 'send_success', sent: 1 });
    expect(await listener.client.next()).toMatchObject({ event: 'hello', from: expect.any(String) });
    client.send({ action: 'send', channel: 'news', event: 'nope' });
    expect(await client.next()).toMatchObject({ kind: 'reply', type: 'error', code: 'publish_forbidden' });
    listener.client.send({ action: 'send', channel: 'chat-1', event: 'nope' });
    expect(await listener.client.next()).toMatchObject({ kind: 'reply', type: 'error', code: 'publish_forbidden' });
    // Routed messages have no channel: they need publish "*".
    client.send({ type: 'note', payload: {} });
    expect(await client.next()).toMatchObject({ kind: 'reply', type: 'error', code: 'publish_forbidden' });
  });

  it('is refused to everyone under clientPublish: none, and to nobody under all', async () => {
    const projectId = newProject();
    const token = await tokenFor(projectId, { sub: 'w', publish: ['*'] });
    await call('PUT', `/projects/${projectId}/settings`, { clientPublish: 'none' });
    const { client } = await connect({ token });
    client.send({ action: 'send', channel: 'x', event: 'e' });
    expect(await client.next()).toMatchObject({
      kind: 'reply',
      type: 'error',
      code: 'publish_forbidden',
      message: expect.stringContaining('HTTP only'),
    });
    await call('PUT', `/projects/${projectId}/settings`, { clientPublish: 'all' });
    const later = await connect({ token: await tokenFor(projectId, { sub: 'no-grants' }) });
    later.client.send({ action: 'send', channel: 'x', event: 'e' });
    expect(await later.client.next()).toMatchObject({ kind: 'reply', type: 'send_success' });
  });
});

describe('monitoring copies', () => {
  it('in a keyed project go only to a token with monitor: true; ?type=admin is only a label', async () => {
    const projectId = newProject();
    const claims = { sub: 'agent', publish: ['*'] };
    const agent = await connect({ type: 'agent', token: await tokenFor(projectId, claims) });
    const runtime = await connect({ type: 'runtime', token: await tokenFor(projectId, { sub: 'rt' }) });
    const labelled = await connect({ type: 'admin', token: await tokenFor(projectId, { sub: 'mallory' }) });
    const monitor = await connect({ type: 'dashboard', token: await tokenFor(projectId, { sub: 'ops', monitor: true }) });
    agent.client.send({ type: 'job', payload: { secret: 1 }, to: { type: 'runtime' } });
    expect(await runtime.client.next()).toMatchObject({ type: 'job', payload: { secret: 1 } });
    expect(await monitor.client.next()).toMatchObject({ type: 'job', payload: { secret: 1 } });
    await barrier(labelled);
    expect(labelled.client.messages).toEqual([]);
  });

  it('in an open project still go to ?type=admin, as in seed 003', async () => {
    const projectId = newProject();
    const agent = await connect({ projectId, type: 'agent' });
    const runtime = await connect({ projectId, type: 'runtime' });
    const admin = await connect({ projectId, type: 'admin' });
    agent.client.send({ type: 'job', payload: 1, to: { type: 'runtime' } });
    expect(await runtime.client.next()).toMatchObject({ type: 'job' });
    expect(await admin.client.next()).toMatchObject({ type: 'job' });
  });
});

describe('rate limit per connection', () => {
  it('refuses messages over the bucket with rate_limited, publishes nothing of them, and keeps the connection', async () => {
    const projectId = newProject();
    await call('PUT', `/projects/${projectId}/settings`, { rateLimit: { perSecond: 2, burst: 3 } });
    const listener = await connect({ projectId });
    const { client } = await connect({ projectId });
    for (let i = 0; i < 6; i++) client.send({ type: 'tick', payload: i });
    for (let i = 0; i < 3; i++) expect(await client.next()).toMatchObject({ kind: 'reply', type: 'error', code: 'rate_limited' });
    await barrier(listener);
    const delivered = listener.client.messages.map((raw) => JSON.parse(raw).payload);
    expect(delivered).toHaveLength(3);
    expect(client.closed).toBeUndefined();
    // The bucket refills: one message every 500 ms.
    await new Promise((resolve) => setTimeout(resolve, 600));
    client.send({ action: 'send', channel: 'x', event: 'again' });
    expect(await client.next()).toMatchObject({ kind: 'reply', type: 'send_success' });
  });
});

describe('keys and tokens', () => {
  it('rotate without downtime: tokens of both keys work, then the old one is revoked', async () => {
    const projectId = newProject();
    const oldKey = await createKey(projectId);
    const newKey = await createKey(projectId);
    const oldToken = await signClientToken({ sub: 'u' }, oldKey, 600);
    const newToken = await signClientToken({ sub: 'u' }, newKey, 600);
    const onOld = await connect({ token: oldToken });
    const onNew = await connect({ token: newToken });
    const revoked = await call('DELETE', `/api-keys/${projectId}/${oldKey.keyPrefix}`);
    expect(revoked.json).toEqual({ success: true, data: { projectId, revoked: [oldKey.keyPrefix], disconnected: 1 } });
    expect(await attempt(`?token=${oldToken}`)).toMatchObject({ status: 401, body: { code: 'invalid_token' } });
    expect((await attempt(`?token=${newToken}`)).status).toBe(101);
    expect((await call('POST', '/broadcast', { projectId, channel: 'x', event: 'e' }, newKey.apiKey)).status).toBe(200);
    expect((await call('POST', '/broadcast', { projectId, channel: 'x', event: 'e' }, oldKey.apiKey)).status).toBe(401);
    await onOld.client.waitClosed(5000);
    expect(onNew.client.closed).toBeUndefined();
  });

  it('revoking closes every socket the key let in within 5 s, and they stop receiving', async () => {
    const projectId = newProject();
    const key = await createKey(projectId);
    const clients = await Promise.all(
      [1, 2, 3].map(async (n) => (await subscriber('feed', { token: await signClientToken({ sub: `u${n}` }, key, 600) })).client),
    );
    const started = Date.now();
    const revoked = await call('DELETE', `/api-keys/${projectId}`);
    expect(revoked.json.data).toEqual({ projectId, revoked: [key.keyPrefix], disconnected: 3 });
    await Promise.all(clients.map((client) => client.waitClosed(5000)));
    expect(Date.now() - started).toBeLessThan(5000);
    const after = await call('POST', '/broadcast', { projectId, channel: 'feed', event: 'e' });
    expect(after.json).toMatchObject({ sent: 0 });
  });

  it('the keys table alone mints no tokens: it holds no key, and its hash signs nothing accepted', async () => {
    const projectId = newProject();
    const key = await createKey(projectId);
    const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ ...LOCAL_AWS, endpoint: e2e.stack().dynamoEndpoint }));
    try {
      const { Items = [] } = await documents.send(new ScanCommand({ TableName: LOCAL_TABLES.projects.name }));
      const items = Items.filter((item) => item.projectId === projectId && String(item.item).startsWith('key#'));
      expect(items).toHaveLength(1);
      expect(JSON.stringify(items)).not.toContain(key.apiKey.slice(12));
      for (const stolen of [items[0].keyHash, items[0].sealedKey]) {
        const forged = await signClientToken({ sub: 'thief' }, { keyPrefix: key.keyPrefix, apiKey: stolen }, 600);
        expect(await attempt(`?token=${forged}`)).toMatchObject({ status: 401, body: { code: 'invalid_token' } });
      }
    } finally {
      documents.destroy();
    }
  });

  it('refuses a token that outlives the project’s maximum', async () => {
    const projectId = newProject();
    const key = await createKey(projectId);
    await call('PUT', `/projects/${projectId}/settings`, { maxTokenTtlSeconds: 3600 });
    const long = await signClientToken({ sub: 'u' }, key, 7200);
    expect(await attempt(`?token=${long}`)).toMatchObject({
      status: 401,
      body: { code: 'invalid_token', error: expect.stringContaining('maximum') },
    });
  });
});

describe('what a client cannot do', () => {
  it('cannot forge system messages', async () => {
    const { client } = await connect();
    client.send({ type: 'client_left', payload: {} });
    expect(await client.next()).toMatchObject({ kind: 'reply', type: 'error', code: 'reserved_type' });
    client.send({ action: 'send', channel: 'admin', event: 'broadcast_cleared' });
    expect(await client.next()).toMatchObject({ kind: 'reply', type: 'error', code: 'reserved_type' });
  });

  it('cannot reach another project’s data with a token of its own', async () => {
    const victim = newProject();
    await broadcast({ projectId: victim, channel: 'secrets', event: 'e', data: 'hidden', retain: true });
    await createKey(victim);
    const mine = newProject();
    const { client } = await connect({ token: await tokenFor(mine) });
    client.send({ action: 'get_retained', channel: 'secrets' });
    expect(await client.next()).toEqual({ kind: 'reply', type: 'no_retained', channel: 'secrets' });
    expect((await attempt(`?projectId=${victim}`)).status).toBe(401);
  });
});

it('keeps serving after all of it', async () => {
  const client = await TestClient.open(e2e.stack().webSocketUrl);
  client.send({ action: 'ping' });
  expect(await client.next((m) => m.type === 'pong')).toEqual({ kind: 'reply', type: 'pong' });
  await client.close();
  expect(e2e.handlerErrors).toEqual([]);
});
