/**
 * History and recovery end to end, over real sockets and HTTP against the local stack: offsets and
 * epochs on delivered messages, recovery across a reconnect, recovery refused (epoch changed, too
 * many missed), concurrent publishers, history over both transports, and namespace settings.
 */
import { useLocalStack } from '../helpers/e2e';
import { TestClient } from '../helpers/clients';

const MASTER = 'history-master-key';
const e2e = useLocalStack({
  accessKey: MASTER,
  settings: {
    NAMESPACES: JSON.stringify({ chat: { history: { size: 100, ttlSeconds: 3600 } }, short: { history: { size: 3, ttlSeconds: 3600 } } }),
  },
});

const call = async (method: string, path: string, key = MASTER, body?: unknown) => {
  const response = await fetch(`${e2e.stack().httpUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
};

async function subscribed(client: TestClient, channel: string, since?: { offset: number; epoch: string }) {
  client.send({ action: 'subscribe', channel, ...(since && { since }) });
  const confirmed = await client.next<any>((m) => m.type === 'subscription_succeeded' && m.channel === channel);
  dropConnectionId(client);
  return confirmed;
}

/** The `connection_id` a first subscribe brings, out of the way. */
function dropConnectionId(client: TestClient) {
  const index = client.messages.findIndex((raw) => raw.includes('"connection_id"'));
  if (index >= 0) client.messages.splice(index, 1);
}

describe('history and recovery', () => {
  it('stamps each message with its offset and epoch, and recovers what a client missed while away', async () => {
    const { client: first } = await e2e.connect();
    const start = await subscribed(first, 'chat:r1');
    expect(start).toEqual({
      kind: 'reply',
      type: 'subscription_succeeded',
      channel: 'chat:r1',
      offset: 0,
      epoch: expect.stringMatching(/^[\w-]{8}$/),
    });
    const epoch = start.epoch;

    for (let n = 1; n <= 3; n++) {
      const published = await e2e.broadcast({ channel: 'chat:r1', event: 'say', data: { n } });
      expect(published.json).toMatchObject({ success: true, sent: 1, offset: n, epoch });
      expect(await first.next()).toMatchObject({ channel: 'chat:r1', event: 'say', data: { n }, offset: n, epoch });
    }
    await first.close();

    // Published while the client was away.
    for (let n = 4; n <= 8; n++) await e2e.broadcast({ channel: 'chat:r1', event: 'say', data: { n } });

    const { client: back } = await e2e.connect();
    back.send({ action: 'subscribe', channel: 'chat:r1', since: { offset: 3, epoch } });
    expect(await back.next()).toMatchObject({ kind: 'reply', type: 'connection_id' });
    const replayed = [];
    for (let n = 4; n <= 8; n++) replayed.push(await back.next<any>((m) => m.event === 'say'));
    expect(replayed.map((m) => [m.offset, m.data.n])).toEqual([
      [4, 4],
      [5, 5],
      [6, 6],
      [7, 7],
      [8, 8],
    ]);
    expect(await back.next()).toEqual({
      kind: 'reply',
      type: 'subscription_succeeded',
      channel: 'chat:r1',
      offset: 8,
      epoch,
      recovered: true,
    });

    // And live from there.
    await e2e.broadcast({ channel: 'chat:r1', event: 'say', data: { n: 9 } });
    expect(await back.next()).toMatchObject({ offset: 9, data: { n: 9 } });
  });

  it('says recovered: false, with the reason and the position to start again from, when it cannot recover', async () => {
    await e2e.broadcast({ channel: 'chat:r2', event: 'e', data: 1 });
    const { client } = await e2e.connect();
    expect(await subscribed(client, 'chat:r2', { offset: 0, epoch: 'another-epoch' })).toEqual({
      kind: 'reply',
      type: 'subscription_succeeded',
      channel: 'chat:r2',
      offset: 1,
      epoch: expect.any(String),
      recovered: false,
      reason: 'epoch_changed',
    });
    const { json } = await e2e.broadcast({ channel: 'chat:r2', event: 'e', data: 2 });
    expect(await client.next()).toMatchObject({ offset: 2, data: 2 });
    expect(await subscribed(client, 'chat:r2', { offset: 7, epoch: json.epoch })).toMatchObject({
      recovered: false,
      reason: 'unknown_offset',
    });

    // `short:` keeps 3 messages: 5 missed cannot be recovered.
    for (let n = 1; n <= 5; n++) await e2e.broadcast({ channel: 'short:x', event: 'e', data: n });
    const head = (await call('GET', '/history?channel=short:x')).json.data;
    const { client: late } = await e2e.connect();
    expect(await subscribed(late, 'short:x', { offset: 0, epoch: head.epoch })).toMatchObject({
      recovered: false,
      reason: 'too_many_missed',
      offset: 5,
    });
    expect(late.messages).toEqual([]);
  });

  it('gives concurrent publishers unique, gap-free offsets', async () => {
    const { client } = await e2e.connect();
    await subscribed(client, 'chat:busy');
    const answers = await Promise.all(Array.from({ length: 30 }, (_, n) => e2e.broadcast({ channel: 'chat:busy', event: 'e', data: n })));
    const offsets = answers.map((a) => a.json.offset).sort((a, b) => a - b);
    expect(offsets).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const received = [];
    for (let i = 0; i < 30; i++) received.push((await client.next<any>()).offset);
    expect(new Set(received).size).toBe(30);
  });

  it('serves stored messages over WebSocket and HTTP, oldest first, in pages', async () => {
    for (let n = 1; n <= 5; n++) await e2e.broadcast({ channel: 'chat:log', event: 'e', data: n });
    const { client } = await e2e.connect();
    client.send({ action: 'history', channel: 'chat:log', since: 1, limit: 2 });
    const page = await client.next<any>((m) => m.type === 'history');
    expect(page).toMatchObject({ kind: 'reply', type: 'history', channel: 'chat:log', offset: 5, more: true });
    expect(page.messages.map((m: any) => m.data)).toEqual([2, 3]);

    const http = await call('GET', '/history?channel=chat:log&since=3');
    expect(http.status).toBe(200);
    expect(http.json.data).toMatchObject({ channel: 'chat:log', offset: 5, more: false });
    expect(http.json.data.messages.map((m: any) => [m.offset, m.data])).toEqual([
      [4, 4],
      [5, 5],
    ]);
    expect((await call('GET', '/history?channel=chat:log')).json.data.messages).toHaveLength(5);

    client.send({ action: 'history', channel: 'plain' });
    expect(await client.next()).toMatchObject({ kind: 'reply', type: 'error', code: 'history_not_enabled' });
    expect((await call('GET', '/history?channel=plain')).json).toMatchObject({ code: 'history_not_enabled' });
    expect((await call('GET', '/history?channel=chat:log&limit=5000')).json).toMatchObject({ code: 'invalid_request' });
    expect((await call('GET', '/history?channel=chat:log', 'wrong-key')).status).toBe(401);
  });

  it('keeps retained broadcasts and history together: the retained message carries its offset', async () => {
    await e2e.broadcast({ channel: 'chat:pinned', event: 'notice', data: 'hello', retain: true });
    const { client } = await e2e.connect();
    client.send({ action: 'subscribe', channel: 'chat:pinned' });
    expect(await client.next((m) => m.type === 'subscription_succeeded')).toMatchObject({ offset: 1 });
    dropConnectionId(client);
    expect(await client.next()).toMatchObject({ event: 'notice', retained: true, offset: 1 });
  });
});

describe('namespace settings', () => {
  it('are set by a project key for its own project, listed with the defaults, and removed', async () => {
    const key = await e2e.createKey('ns-a');
    const put = await call('PUT', '/projects/ns-a/namespaces/news', key.apiKey, { history: { size: 10, ttlSeconds: 600 }, presence: true });
    expect(put).toMatchObject({
      status: 200,
      json: {
        success: true,
        data: { namespace: 'news', config: { history: { size: 10, ttlSeconds: 600 }, presence: true }, source: 'project' },
      },
    });
    const listed = await call('GET', '/projects/ns-a/namespaces', key.apiKey);
    expect(listed.json.data.namespaces.map((n: any) => [n.namespace, n.source])).toEqual([
      ['chat', 'default'],
      ['news', 'project'],
      ['short', 'default'],
    ]);
    expect((await call('PUT', '/projects/other/namespaces/news', key.apiKey, { presence: true })).status).toBe(401);
    expect((await call('DELETE', '/projects/ns-a/namespaces/news', key.apiKey)).json).toEqual({
      success: true,
      data: { namespace: 'news', removed: true },
    });
    expect((await call('GET', '/projects/ns-a/namespaces', key.apiKey)).json.data.namespaces.map((n: any) => n.namespace)).toEqual([
      'chat',
      'short',
    ]);
  });

  it.each([
    [{ history: { size: 1001, ttlSeconds: 600 } }, 'history.size must be an integer from 1 to 1000'],
    [{ history: { size: 10, ttlSeconds: 604801 } }, 'history.ttlSeconds must be an integer from 60 to 604800'],
    [{ history: { size: 10 } }, 'history.ttlSeconds must be an integer'],
    [{ presence: 'yes' }, 'presence must be true or false'],
    [{ histroy: {} }, 'unknown field histroy'],
  ])('refuses %j with 400 invalid_namespace_config naming the field', async (body, message) => {
    const answer = await call('PUT', '/projects/ns-b/namespaces/news', MASTER, body);
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({ code: 'invalid_namespace_config', error: expect.stringContaining(message) });
  });

  it('refuses a bad namespace name with 400 invalid_namespace', async () => {
    const answer = await call('PUT', `/projects/ns-b/namespaces/${'x'.repeat(65)}`, MASTER, { presence: true });
    expect(answer).toMatchObject({ status: 400, json: { code: 'invalid_namespace' } });
  });

  it('turns history on for a project’s own namespace', async () => {
    await call('PUT', '/projects/default/namespaces/_', MASTER, { history: { size: 5, ttlSeconds: 600 } });
    // A change reaches the instance that made it at once (others within the 30 s cache).
    expect((await e2e.broadcast({ channel: 'rootchannel', event: 'e' })).json).toMatchObject({ offset: 1 });
    await call('DELETE', '/projects/default/namespaces/_', MASTER);
    expect((await e2e.broadcast({ channel: 'rootchannel', event: 'e' })).json.offset).toBeUndefined();
  });
});
