/**
 * Messaging parity end to end: typed clients and routed messages, system messages, retained
 * broadcasts with acknowledgements across reconnects, and batch publish.
 */
import type { LocalStack } from '../../local/stack';
import { signClientToken } from '../../lambda/auth/tokens';
import { postJson, TestClient } from '../helpers/clients';
import { useLocalStack } from '../helpers/e2e';

const MASTER = 'messaging-master-key-0123456789abcdef';
const e2e = useLocalStack({ accessKey: MASTER });
const { connect, subscribe, tokenFor, createKey, barrier } = e2e;
let stack: LocalStack;
let project = 0;
beforeAll(() => {
  stack = e2e.stack();
});

/** A fresh project per test keeps audiences apart. */
const newProject = () => `msg-${++project}`;
const auth = { Authorization: `Bearer ${MASTER}` };
const broadcast = (body: object) => postJson(`${stack.httpUrl}/broadcast`, body, auth);

describe('system messages', () => {
  it('greets every new connection with connected: clientId, projectId, clientCount, timestamp', async () => {
    const projectId = newProject();
    const first = await connect({ projectId, type: 'runtime' });
    expect(first.connected).toEqual({
      kind: 'notice',
      type: 'connected',
      clientId: expect.stringMatching(/=$/),
      // The Pusher-style socket id, for Pusher auth endpoints.
      socketId: expect.stringMatching(/^\d+\.\d+$/),
      projectId,
      clientType: 'runtime',
      clientCount: 1,
      timestamp: expect.any(String),
    });
    const second = await connect({ projectId });
    expect(second.connected).toMatchObject({ projectId, clientCount: 2 });
    expect(second.id).not.toBe(first.id);
  });

  it('tells the remaining typed clients when a typed client leaves, and nobody else', async () => {
    const projectId = newProject();
    const leaving = await connect({ projectId, type: 'runtime' });
    const admin = await connect({ projectId, type: 'admin' });
    const untyped = await connect({ projectId });
    const elsewhere = await connect({ projectId: newProject(), type: 'admin' });
    await leaving.client.close();
    expect(await admin.client.next()).toEqual({
      kind: 'notice',
      type: 'client_left',
      clientId: leaving.id,
      clientType: 'runtime',
      projectId,
      timestamp: expect.any(String),
    });
    await barrier(untyped, elsewhere);
    expect(untyped.client.messages).toEqual([]);
    expect(elsewhere.client.messages).toEqual([]);
  });
});

describe('routed messages', () => {
  async function cast(projectId: string) {
    return {
      runtime: await connect({ projectId, type: 'runtime' }),
      agent1: await connect({ projectId, type: 'data-agent' }),
      agent2: await connect({ projectId, type: 'data-agent' }),
      admin: await connect({ projectId, type: 'admin' }),
      plain: await connect({ projectId }),
    };
  }

  it.each<[string, object]>([
    ['a routed connected', { type: 'connected', payload: { clientCount: 0 } }],
    ['a routed client_left', { type: 'client_left', to: { type: 'runtime' } }],
    ['a send of broadcast_cleared', { action: 'send', channel: 'news', event: 'broadcast_cleared' }],
  ])('refuses %s with reserved_type and delivers nothing: system messages cannot be forged', async (_, frame) => {
    const c = await cast(newProject());
    for (const member of Object.values(c)) await subscribe(member.client, 'news');
    c.agent1.client.send(frame);
    expect(await c.agent1.client.next()).toEqual({ kind: 'reply', type: 'error', code: 'reserved_type', message: expect.any(String) });
    await barrier(...Object.values(c));
    for (const member of Object.values(c)) expect(member.client.messages).toEqual([]);
  });

  it('to.id reaches only that connection, from set by the server, with a copy to admins', async () => {
    const c = await cast(newProject());
    c.runtime.client.send({ id: 'm1', type: 'run', payload: { job: 7 }, to: { id: c.agent1.id }, from: { id: 'forged', type: 'admin' } });
    const expected = {
      kind: 'routed',
      id: 'm1',
      type: 'run',
      payload: { job: 7 },
      to: { id: c.agent1.id },
      from: { id: c.runtime.id, type: 'runtime' },
      timestamp: expect.any(String),
    };
    expect(await c.agent1.client.next()).toEqual(expected);
    expect(await c.admin.client.next()).toEqual(expected);
    await barrier(c.runtime, c.agent2, c.plain);
    for (const other of [c.runtime, c.agent2, c.plain]) expect(other.client.messages).toEqual([]);
  });

  it('to.type reaches every connection of that type but the sender, with a copy to admins', async () => {
    const c = await cast(newProject());
    c.agent1.client.send({ type: 'sync', payload: 1, to: { type: 'data-agent' } });
    const received = await c.agent2.client.next();
    expect(received).toMatchObject({ type: 'sync', payload: 1, from: { id: c.agent1.id, type: 'data-agent' }, id: expect.any(String) });
    expect(await c.admin.client.next()).toEqual(received);
    await barrier(c.runtime, c.agent1, c.plain);
    for (const other of [c.runtime, c.agent1, c.plain]) expect(other.client.messages).toEqual([]);
  });

  it('without to reaches every other connection of the project once, admins included but not copied', async () => {
    const projectId = newProject();
    const c = await cast(projectId);
    const outsider = await connect({ projectId: newProject(), type: 'admin' });
    c.runtime.client.send({ type: 'hello', payload: 'all' });
    for (const other of [c.agent1, c.agent2, c.admin, c.plain])
      expect(await other.client.next()).toMatchObject({ type: 'hello', from: { id: c.runtime.id } });
    await barrier(c.agent1, c.agent2, c.admin, c.plain, c.runtime, outsider);
    for (const other of [c.agent1, c.agent2, c.admin, c.plain, c.runtime, outsider]) expect(other.client.messages).toEqual([]);
  });

  it('to.type admin reaches admins once, without a second copy', async () => {
    const c = await cast(newProject());
    c.runtime.client.send({ type: 'report', to: { type: 'admin' } });
    expect(await c.admin.client.next()).toMatchObject({ type: 'report' });
    await barrier(c.admin);
    expect(c.admin.client.messages).toEqual([]);
  });

  it.each<[string, object, string]>([
    ['a frame without type or action', { payload: 1 }, 'invalid_message'],
    ['a bad to.type', { type: 'x', to: { type: 'no spaces' } }, 'invalid_message'],
    ['an unknown to.id', { type: 'x', to: { id: 'bm9ib2R5aGVyZQ=' } }, 'connection_not_found'],
    ['a payload too large with its envelope', { type: 'x', payload: 'y'.repeat(128 * 1024 - 100) }, 'payload_too_large'],
  ])('answers %s with an error', async (_, frame, code) => {
    const { client } = await connect({ projectId: newProject(), type: 'runtime' });
    client.sendInFrames(frame);
    expect(await client.next()).toMatchObject({ kind: 'reply', type: 'error', code });
  });
});

describe('retained broadcasts', () => {
  it('sends the active broadcast to new subscribers right after subscription_succeeded, marked retained', async () => {
    const projectId = newProject();
    await broadcast({ projectId, channel: 'notice', event: 'old', data: 1, retain: true });
    const published = await broadcast({ projectId, channel: 'notice', event: 'maintenance', data: { at: '22:00' }, retain: true });
    const { client } = await connect({ projectId });
    client.send({ action: 'subscribe', channel: 'notice' });
    expect(await client.next()).toMatchObject({ kind: 'reply', type: 'connection_id' });
    expect(await client.next()).toEqual({ kind: 'reply', type: 'subscription_succeeded', channel: 'notice' });
    expect(await client.next()).toEqual({
      kind: 'message',
      id: published.json.id,
      timestamp: expect.any(String),
      channel: 'notice',
      event: 'maintenance',
      data: { at: '22:00' },
      retained: true,
    });
    await barrier({ client });
    expect(client.messages).toEqual([]);
  });

  it('does not resend to a user who acknowledged it, across reconnects; others still get it', async () => {
    const projectId = newProject();
    const alice = await tokenFor(projectId, { sub: 'alice' });
    const bob = await tokenFor(projectId, { sub: 'bob' });
    const published = await broadcast({ projectId, channel: 'news', event: 'terms', data: 'v2', retain: true });
    const id = published.json.id;

    const first = await connect({ projectId, token: alice });
    first.client.send({ action: 'subscribe', channel: 'news' });
    expect(await first.client.next((m) => m.retained)).toMatchObject({ id });
    expect(await first.client.request({ action: 'ack', channel: 'news', id }, 'ack_succeeded')).toEqual({
      kind: 'reply',
      type: 'ack_succeeded',
      channel: 'news',
      id,
    });
    await first.client.close();

    const again = await connect({ projectId, token: alice });
    again.client.send({ action: 'subscribe', channel: 'news' });
    await again.client.next((m) => m.type === 'subscription_succeeded');
    expect(await again.client.request({ action: 'get_retained', channel: 'news' }, 'no_retained')).toEqual({
      kind: 'reply',
      type: 'no_retained',
      channel: 'news',
    });
    await barrier(again);
    expect(again.client.messages.filter((m) => m.includes('"retained"'))).toEqual([]);

    const other = await connect({ projectId, token: bob });
    other.client.send({ action: 'get_retained', channel: 'news' });
    expect(await other.client.next()).toMatchObject({ id, retained: true });
  });

  it('refuses an ack naming another message, which never replaces a valid acknowledgement', async () => {
    const projectId = newProject();
    const alice = await tokenFor(projectId, { sub: 'alice' });
    const { json } = await broadcast({ projectId, channel: 'news', event: 'terms', retain: true });
    const { client } = await connect({ projectId, token: alice });
    expect(await client.request({ action: 'ack', channel: 'news', id: json.id }, 'ack_succeeded')).toMatchObject({
      kind: 'reply',
      type: 'ack_succeeded',
    });
    client.send({ action: 'ack', channel: 'news', id: 'not-the-message' });
    expect(await client.next()).toMatchObject({
      kind: 'reply',
      type: 'error',
      code: 'invalid_message',
      message: expect.stringContaining('not the retained message'),
    });
    client.send({ action: 'ack', channel: 'quiet', id: json.id });
    expect(await client.next()).toMatchObject({
      kind: 'reply',
      type: 'error',
      code: 'invalid_message',
      message: expect.stringContaining('no retained message'),
    });
    // The valid acknowledgement stands: nothing is resent.
    expect(await client.request({ action: 'get_retained', channel: 'news' }, 'no_retained')).toEqual({
      kind: 'reply',
      type: 'no_retained',
      channel: 'news',
    });
  });

  it('resends on get_retained until acknowledged, and needs identity to acknowledge', async () => {
    const projectId = newProject();
    await broadcast({ projectId, channel: 'news', event: 'e', retain: true });
    const anonymous = await connect({ projectId, user_id: 'mallory' });
    anonymous.client.send({ action: 'get_retained', channel: 'news' });
    const message = await anonymous.client.next<{ id: string }>();
    anonymous.client.send({ action: 'get_retained', channel: 'news' });
    expect(await anonymous.client.next()).toMatchObject({ id: message.id, retained: true });
    // An unsigned ?user_id= is not identity.
    anonymous.client.send({ action: 'ack', channel: 'news', id: message.id });
    expect(await anonymous.client.next()).toMatchObject({ kind: 'reply', type: 'error', code: 'identity_required' });
  });

  it('refuses a connection with an invalid or expired token', async () => {
    const projectId = newProject();
    const key = await createKey(projectId);
    const now = Math.floor(Date.now() / 1000);
    const forged = await signClientToken({ sub: 'alice' }, { ...key, apiKey: 'rbk_not-the-key' }, 600);
    const expired = await signClientToken({ sub: 'alice' }, key, 60, now - 3600);
    const byMaster = await signClientToken({ sub: 'alice' }, { ...key, apiKey: MASTER }, 600);
    for (const token of [forged, expired, byMaster, 'garbage']) {
      await expect(
        TestClient.open(`${stack.webSocketUrl}?projectId=${projectId}&token=${encodeURIComponent(token)}`),
      ).rejects.toMatchObject({ statusCode: 401 });
    }
  });

  it('accepts tokens signed with the project’s own key', async () => {
    const projectId = newProject();
    const created = await postJson(`${stack.httpUrl}/api-keys`, { projectId }, auth);
    const token = await signClientToken({ sub: 'carol' }, created.json.data, 60);
    const { client } = await connect({ token });
    await broadcast({ projectId, channel: 'c', event: 'e', retain: true });
    client.send({ action: 'get_retained', channel: 'c' });
    const message = await client.next<{ id: string }>();
    expect(await client.request({ action: 'ack', channel: 'c', id: message.id }, 'ack_succeeded')).toMatchObject({
      kind: 'reply',
      type: 'ack_succeeded',
    });
  });

  it('clears: subscribers get broadcast_cleared and new subscribers get nothing', async () => {
    const projectId = newProject();
    await broadcast({ projectId, channel: 'ops', event: 'e', retain: true });
    const watcher = await connect({ projectId });
    await subscribe(watcher.client, 'ops');
    await watcher.client.next((m) => m.retained);
    const cleared = await postJson(`${stack.httpUrl}/broadcast/clear`, { projectId, channel: 'ops' }, auth);
    expect(cleared.json).toEqual({ success: true, channel: 'ops', cleared: true, sent: 1, failed: 0, stale: 0 });
    expect(await watcher.client.next()).toMatchObject({ channel: 'ops', event: 'broadcast_cleared' });
    const late = await connect({ projectId });
    await subscribe(late.client, 'ops');
    await barrier(late);
    expect(late.client.messages).toEqual([]);
    const again = await postJson(`${stack.httpUrl}/broadcast/clear`, { projectId, channel: 'ops' }, auth);
    expect(again.json).toMatchObject({ cleared: false, sent: 0 });
  });

  it('refuses retain on a connectionId', async () => {
    const response = await broadcast({ connectionId: 'bm9ib2R5aGVyZQ=', event: 'e', retain: true });
    expect(response.json).toMatchObject({ code: 'invalid_message' });
  });
});

describe('batch publish', () => {
  it('delivers each good message in order; a bad one fails alone', async () => {
    const projectId = newProject();
    const { client, id } = await connect({ projectId });
    await subscribe(client, 'feed');
    const response = await broadcast({
      projectId,
      messages: [
        { channel: 'feed', event: 'one', data: 1 },
        { channel: 'bad channel', event: 'two' },
        { connectionId: id, event: 'three', data: 3 },
        { channel: 'feed', event: 'four', data: 4 },
      ],
    });
    expect(response.status).toBe(200);
    expect(response.json).toEqual({
      success: true,
      results: [
        { id: expect.any(String), sent: 1, failed: 0, stale: 0 },
        { error: expect.any(String), code: 'invalid_channel' },
        { id: expect.any(String), sent: 1, failed: 0, stale: 0 },
        { id: expect.any(String), sent: 1, failed: 0, stale: 0 },
      ],
    });
    const events = [await client.next(), await client.next(), await client.next()].map((m) => m.event);
    expect(events).toEqual(['one', 'three', 'four']);
  });

  it('takes 25 messages and refuses 26', async () => {
    const projectId = newProject();
    const messages = (n: number) => Array.from({ length: n }, (_, i) => ({ channel: 'c', event: `e${i}` }));
    const ok = await broadcast({ projectId, messages: messages(25) });
    expect(ok.json.results).toHaveLength(25);
    const tooMany = await broadcast({ projectId, messages: messages(26) });
    expect(tooMany.status).toBe(400);
    expect(tooMany.json).toMatchObject({ code: 'too_many_messages' });
    expect((await broadcast({ projectId, messages: [] })).json).toMatchObject({ code: 'invalid_message' });
  });

  it('counts a batch as its delivered messages in usage', async () => {
    const projectId = newProject();
    await broadcast({
      projectId,
      messages: [
        { channel: 'c', event: 'a' },
        { channel: 'c', event: 'b' },
        { channel: '$x', event: 'c' },
      ],
    });
    const usage = await fetch(`${stack.httpUrl}/usage?projectId=${projectId}`, { headers: auth });
    expect((await usage.json()).data.totalRequests).toBe(2);
  });
});
