/**
 * Projects end to end: isolation over real sockets, API keys over real HTTP, revocation, usage and status.
 */
import { LocalStack, startLocalStack } from '../../local/stack';
import { signClientToken } from '../../lambda/auth/tokens';
import { postJson, TestClient } from '../helpers/clients';
import { useLocalStack } from '../helpers/e2e';

const MASTER = 'projects-master-key-0123456789abcdef';
const e2e = useLocalStack({ accessKey: MASTER });
const { subscriber, tokenFor } = e2e;
let stack: LocalStack;
beforeAll(() => {
  stack = e2e.stack();
});

const auth = (key: string) => ({ Authorization: `Bearer ${key}` });

async function call(method: string, path: string, key?: string, body?: unknown) {
  const response = await fetch(`${stack.httpUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(key ? auth(key) : {}) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

async function createKey(projectId: string): Promise<string> {
  const created = await call('POST', '/api-keys', MASTER, { projectId, description: `${projectId} app` });
  expect(created.status).toBe(201);
  return created.json.data.apiKey;
}

describe('isolation', () => {
  it('gives the same channel name in two projects two disjoint audiences', async () => {
    const a = await subscriber('news', '?projectId=iso-a');
    const b = await subscriber('news', '?projectId=iso-b');
    const plain = await subscriber('news');

    const toA = await postJson(`${stack.httpUrl}/broadcast`, { projectId: 'iso-a', channel: 'news', event: 'for-a' }, auth(MASTER));
    expect(toA.json).toMatchObject({ sent: 1 });
    expect(await a.client.next()).toMatchObject({ event: 'for-a' });

    a.client.send({ action: 'send', channel: 'news', event: 'from-a' });
    expect(await a.client.next((m) => m.event === 'from-a')).toBeDefined();
    expect(await a.client.next((m) => m.type === 'send_success')).toMatchObject({ sent: 1 });

    const toDefault = await postJson(`${stack.httpUrl}/broadcast`, { channel: 'news', event: 'for-default' }, auth(MASTER));
    expect(toDefault.json).toMatchObject({ sent: 1 });
    expect(await plain.client.next()).toMatchObject({ event: 'for-default' });

    await e2e.barrier(b, plain);
    expect(b.client.messages).toEqual([]);
    expect(plain.client.messages).toEqual([]);
  });

  it('cannot send to a connection of another project', async () => {
    const a = await subscriber('dm', '?projectId=iso-c');
    const b = await subscriber('dm', '?projectId=iso-d');
    a.client.send({ action: 'send', connectionId: b.id, event: 'sneak' });
    expect(await a.client.next()).toMatchObject({ kind: 'reply', type: 'error', code: 'connection_not_found' });
    const http = await postJson(`${stack.httpUrl}/broadcast`, { projectId: 'iso-c', connectionId: b.id, event: 'sneak' }, auth(MASTER));
    expect(http.status).toBe(404);
    expect(b.client.messages).toEqual([]);
  });
});

describe('API keys', () => {
  it('creates keys shown once, lists and gets them without the key, holds two and refuses a third with 409', async () => {
    const created = await call('POST', '/api-keys', MASTER, { projectId: 'keys-1', description: 'first' });
    const record = {
      projectId: 'keys-1',
      keyPrefix: expect.stringMatching(/^rbk_.{8}$/),
      description: 'first',
      createdAt: expect.any(String),
      signsTokens: true,
    };
    // `disconnected`: the anonymous connections the project had, closed now that it is keyed.
    expect(created).toEqual({
      status: 201,
      json: { success: true, data: { ...record, apiKey: expect.stringMatching(/^rbk_/), disconnected: 0 } },
    });
    const { apiKey, keyPrefix } = created.json.data;
    const listed = await call('GET', '/api-keys', MASTER);
    expect(listed.json.data).toEqual(expect.arrayContaining([expect.objectContaining({ projectId: 'keys-1', keyPrefix })]));
    expect(JSON.stringify(listed.json)).not.toContain(apiKey);
    const second = await call('POST', '/api-keys', MASTER, { projectId: 'keys-1', description: 'second' });
    expect(second.status).toBe(201);
    const got = await call('GET', '/api-keys/keys-1', MASTER);
    // The newest key's fields at the top, as when a project had one key; every key under keys.
    expect(got.json).toEqual({
      success: true,
      data: {
        ...record,
        keyPrefix: second.json.data.keyPrefix,
        description: 'second',
        keys: [
          { ...record, keyPrefix },
          { ...record, keyPrefix: second.json.data.keyPrefix, description: 'second' },
        ],
      },
    });
    expect(await call('POST', '/api-keys', MASTER, { projectId: 'keys-1' })).toMatchObject({ status: 409, json: { code: 'key_exists' } });
  });

  it.each([
    ['a missing projectId', {}, 400, 'invalid_project'],
    ['a malformed projectId', { projectId: 'no spaces' }, 400, 'invalid_project'],
    ['invalid JSON', '{"projectId":', 400, 'invalid_json'],
    ['a description over 256 characters', { projectId: 'x', description: 'd'.repeat(257) }, 400, 'invalid_message'],
  ])('refuses %s', async (_, body, status, code) => {
    const response = await call('POST', '/api-keys', MASTER, body);
    expect(response.status).toBe(status);
    expect(response.json).toMatchObject({ success: false, code, errors: [{ code, message: expect.any(String) }] });
  });

  it('answers 404 for an unknown project on get and delete, and for an unknown key', async () => {
    expect((await call('GET', '/api-keys/nobody', MASTER)).json).toMatchObject({ success: false, code: 'project_not_found' });
    expect((await call('DELETE', '/api-keys/nobody', MASTER)).status).toBe(404);
    await createKey('keys-4');
    expect(await call('DELETE', '/api-keys/keys-4/rbk_NotThere', MASTER)).toMatchObject({ status: 404, json: { code: 'key_not_found' } });
  });

  it('manages keys with the master key only', async () => {
    const projectKey = await createKey('keys-2');
    for (const key of [projectKey, 'wrong', undefined]) {
      expect((await call('GET', '/api-keys', key)).status).toBe(401);
      expect((await call('POST', '/api-keys', key, { projectId: 'keys-3' })).status).toBe(401);
      expect((await call('DELETE', '/api-keys/keys-2', key)).status).toBe(401);
      expect((await call('DELETE', `/api-keys/keys-2/${projectKey.slice(0, 12)}`, key)).status).toBe(401);
    }
  });
});

describe('publishing with a project key', () => {
  it('publishes to its own project only: 401 on another', async () => {
    const keyA = await createKey('pub-a');
    const a = await subscriber('alerts', { token: await tokenFor('pub-a') });
    const own = await postJson(`${stack.httpUrl}/broadcast`, { channel: 'alerts', event: 'mine' }, auth(keyA));
    expect(own.json).toMatchObject({ success: true, sent: 1 });
    expect(await a.client.next()).toMatchObject({ event: 'mine' });
    const explicit = await postJson(`${stack.httpUrl}/broadcast`, { projectId: 'pub-a', channel: 'alerts', event: 'mine' }, auth(keyA));
    expect(explicit.status).toBe(200);
    const other = await postJson(`${stack.httpUrl}/broadcast`, { projectId: 'pub-b', channel: 'alerts', event: 'theirs' }, auth(keyA));
    expect(other.status).toBe(401);
  });

  it('stops working the moment it is revoked', async () => {
    const key = await createKey('revoked');
    const before = await postJson(`${stack.httpUrl}/broadcast`, { channel: 'x', event: 'e' }, auth(key));
    expect(before.status).toBe(200);
    expect((await call('DELETE', '/api-keys/revoked', MASTER)).json).toEqual({
      success: true,
      data: { projectId: 'revoked', revoked: [key.slice(0, 12)], disconnected: 0 },
    });
    const after = await postJson(`${stack.httpUrl}/broadcast`, { channel: 'x', event: 'e' }, auth(key));
    expect(after.status).toBe(401);
  });
});

describe('connecting with a key', () => {
  it('is refused: keys are for servers, whether in ?apiKey= or x-api-key, valid or not', async () => {
    const key = await createKey('conn-a');
    for (const attempt of [`?apiKey=${key}`, `?projectId=conn-a&apiKey=${key}`, `?apiKey=${MASTER}`, '?apiKey=rbk_wrong']) {
      await expect(TestClient.open(`${stack.webSocketUrl}${attempt}`)).rejects.toMatchObject({ statusCode: 401 });
    }
    await expect(TestClient.open(stack.webSocketUrl, { headers: { 'x-api-key': key } })).rejects.toMatchObject({ statusCode: 401 });
  });

  it('needs a token everywhere when the deployment says so (requireToken), default included', async () => {
    const strict = await startLocalStack({ accessKey: MASTER, requireToken: true });
    try {
      await expect(TestClient.open(strict.webSocketUrl)).rejects.toMatchObject({ statusCode: 401 });
      await expect(TestClient.open(`${strict.webSocketUrl}?projectId=strict`)).rejects.toMatchObject({ statusCode: 401 });
      const created = await postJson(`${strict.httpUrl}/api-keys`, { projectId: 'strict' }, auth(MASTER));
      const token = await signClientToken({ sub: 'u' }, created.json.data, 60);
      const client = await TestClient.open(`${strict.webSocketUrl}?token=${token}`);
      await client.close();
    } finally {
      await strict.stop();
    }
  });
});

describe('usage and status', () => {
  it('counts messages per project and day, readable with the master key or the project’s key', async () => {
    const key = await createKey('usage-a');
    const a = await subscriber('u', { token: await tokenFor('usage-a', { sub: 'u', publish: ['u'] }) });
    await postJson(`${stack.httpUrl}/broadcast`, { channel: 'u', event: 'one' }, auth(key));
    a.client.send({ action: 'send', channel: 'u', event: 'two' });
    await a.client.next((m) => m.type === 'send_success');
    const today = new Date().toISOString().slice(0, 10);
    for (const reader of [key, MASTER]) {
      const usage = await call('GET', '/usage?projectId=usage-a', reader);
      expect(usage.status).toBe(200);
      expect(usage.json.data).toMatchObject({ projectId: 'usage-a', totalRequests: 2, totalDeliveries: 2, totalConnections: 1 });
      expect(usage.json.data.dailyRequests).toHaveLength(30);
      expect(usage.json.data.dailyRequests.at(-1)).toEqual({ date: today, count: 2, deliveries: 2 });
    }
    const otherKey = await createKey('usage-b');
    expect((await call('GET', '/usage?projectId=usage-a', otherKey)).status).toBe(401);
    expect((await call('GET', '/usage?projectId=never-used', MASTER)).status).toBe(404);
    expect((await call('GET', '/usage?projectId=bad%20id', MASTER)).json).toMatchObject({ code: 'invalid_project' });
  });

  it('reports connections by type, channels with subscribers, and last activity', async () => {
    const key = await createKey('status-a');
    await subscriber('alpha', { type: 'admin', token: await tokenFor('status-a') });
    await subscriber('alpha', { type: 'runtime', token: await tokenFor('status-a') });
    await subscriber('beta', { type: 'runtime', token: await tokenFor('status-a') });
    await postJson(`${stack.httpUrl}/broadcast`, { channel: 'alpha', event: 'e' }, auth(key));
    const status = await call('GET', '/status', key);
    expect(status.json).toEqual({
      success: true,
      data: {
        projectId: 'status-a',
        connections: { total: 3, byType: { admin: 1, runtime: 2 } },
        channels: [
          { channel: 'alpha', subscribers: 2 },
          { channel: 'beta', subscribers: 1 },
        ],
        lastActivityAt: expect.any(String),
      },
    });
    expect((await call('GET', '/status?projectId=status-a', MASTER)).json.data.connections.total).toBe(3);
    expect((await call('GET', '/status?projectId=other', key)).status).toBe(401);
  });

  it('counts one channel’s subscribers, names with / and : included', async () => {
    const key = await createKey('chan-a');
    await subscriber('logs:thread-1/x', { token: await tokenFor('chan-a') });
    const one = await call('GET', `/channels/${encodeURIComponent('logs:thread-1/x')}`, key);
    expect(one.json).toEqual({ success: true, data: { projectId: 'chan-a', channel: 'logs:thread-1/x', subscribers: 1 } });
    const raw = await call('GET', '/channels/logs:thread-1/x', key);
    expect(raw.json.data.subscribers).toBe(1);
    expect((await call('GET', '/channels/$system', key)).json).toMatchObject({ code: 'reserved_channel' });
  });

  it('keeps /health public and the rest behind a key', async () => {
    expect((await call('GET', '/health')).status).toBe(200);
    for (const path of ['/usage', '/status', '/channels/x', '/api-keys']) expect((await call('GET', path)).status).toBe(401);
  });
});

describe('project settings', () => {
  const path = (projectId: string) => `/projects/${projectId}/settings`;

  it('are open for a project without a key, and closed once it gets one', async () => {
    const open = await call('GET', path('settings-a'), MASTER);
    expect(open).toEqual({
      status: 200,
      json: {
        success: true,
        data: {
          projectId: 'settings-a',
          settings: {
            anonymousConnect: true,
            clientPublish: 'all',
            rateLimit: { perSecond: 10, burst: 20 },
            maxTokenTtlSeconds: 86400,
            maxConnectionsPerUser: 10,
            userRateLimit: { perSecond: 20, burst: 40 },
            clientEvents: false,
            webhooks: [],
            subscriptionCount: false,
          },
          updatedAt: null,
        },
      },
    });
    await createKey('settings-a');
    const keyed = await call('GET', path('settings-a'), MASTER);
    expect(keyed.json.data.settings).toMatchObject({ anonymousConnect: false, clientPublish: 'granted' });
    expect(keyed.json.data.updatedAt).toEqual(expect.any(String));
  });

  it('change the fields given, with the master key only', async () => {
    const key = await createKey('settings-b');
    const changed = await call('PUT', path('settings-b'), MASTER, { clientPublish: 'none', rateLimit: { perSecond: 2, burst: 4 } });
    expect(changed.status).toBe(200);
    expect(changed.json.data.settings).toEqual({
      anonymousConnect: false,
      clientPublish: 'none',
      rateLimit: { perSecond: 2, burst: 4 },
      maxTokenTtlSeconds: 86400,
      maxConnectionsPerUser: 10,
      userRateLimit: { perSecond: 20, burst: 40 },
      clientEvents: false,
      webhooks: [],
      subscriptionCount: false,
    });
    expect((await call('GET', path('settings-b'), MASTER)).json.data.settings.clientPublish).toBe('none');
    // A project's key may read its own settings (npm run token checks lifetimes with it), never change them.
    expect((await call('GET', path('settings-b'), key)).json.data.settings.clientPublish).toBe('none');
    expect(await call('GET', path('settings-a'), key)).toMatchObject({ status: 401, json: { code: 'unauthorized' } });
    expect(await call('PUT', path('settings-b'), key, { anonymousConnect: true })).toMatchObject({ status: 401 });
    expect(await call('PUT', path('settings-b'), undefined, { anonymousConnect: true })).toMatchObject({ status: 401 });
  });

  it.each<[string, unknown, string]>([
    ['an unknown field', { anonymousConect: true }, 'invalid_message'],
    ['a wrong clientPublish', { clientPublish: 'some' }, 'invalid_message'],
    ['a rate over the bound', { rateLimit: { perSecond: 5000, burst: 10 } }, 'invalid_message'],
    ['a fractional burst', { rateLimit: { perSecond: 5, burst: 2.5 } }, 'invalid_message'],
    ['a token lifetime over 7 days', { maxTokenTtlSeconds: 8 * 86400 }, 'invalid_message'],
    ['not JSON', '{"anonymousConnect":', 'invalid_json'],
  ])('refuse %s with 400 and change nothing', async (_, body, code) => {
    const response = await call('PUT', path('settings-c'), MASTER, body);
    expect(response).toMatchObject({ status: 400, json: { success: false, code } });
    expect((await call('GET', path('settings-c'), MASTER)).json.data.updatedAt).toBeNull();
  });

  it('refuse a malformed project id', async () => {
    expect(await call('GET', path('not%20valid'), MASTER)).toMatchObject({ status: 400, json: { code: 'invalid_project' } });
  });
});
