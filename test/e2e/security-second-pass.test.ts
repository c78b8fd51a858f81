/**
 * The second security pass end to end, over real sockets against the local stack: each row of
 * issue 24's table, tried as the hostile client or tenant it describes, with the outcome the
 * product now promises.
 */
import { createHmac } from 'node:crypto';
import Pusher from 'pusher';
import { signClientToken } from '../../lambda/auth/tokens';
import { ErrorCode } from '../../lambda/protocol';
import { MAX_REFUSALS } from '../../lambda/operations';
import { postJson, TestClient } from '../helpers/clients';
import { useLocalStack, waitFor } from '../helpers/e2e';

const MASTER = 'second-pass-master-key-0123456789abcdef';
const e2e = useLocalStack({
  accessKey: MASTER,
  settings: { NAMESPACES: JSON.stringify({ chat: { history: { size: 500, ttlSeconds: 3600 } } }) },
});
const { connect, subscribe, tokenFor, createKey, barrier } = e2e;

let project = 0;
const newProject = () => `pass2-${++project}`;

async function call(method: string, path: string, body?: unknown, key = MASTER) {
  const response = await fetch(`${e2e.stack().httpUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text.startsWith('{') ? JSON.parse(text) : text };
}

const settings = (projectId: string, change: object) => call('PUT', `/projects/${projectId}/settings`, change);
const publish = (body: object, key = MASTER) => postJson(`${e2e.stack().httpUrl}/broadcast`, body, { Authorization: `Bearer ${key}` });

/** Sends a frame and takes the answer to it: its reply, or the retained message `get_retained` answers with. */
async function ask(client: TestClient, frame: object | string, timeoutMs?: number) {
  client.send(frame);
  return client.next((m) => (m?.kind === 'reply' && m.type !== 'connection_id') || m?.retained === true, timeoutMs);
}

describe('H-1: a retained message is read with the right to read its channel', () => {
  it.each(['private-user-bob', 'presence-user-bob'])(
    'refuses get_retained and ack on %s to a token granting only Alice’s channel',
    async (channel) => {
      const projectId = newProject();
      const { json } = await publish({ projectId, channel, event: 'payroll', data: { salary: 1 }, retain: true });
      const { client } = await connect({
        token: await tokenFor(projectId, { sub: 'alice', channels: ['private-user-alice', 'presence-user-alice'] }),
      });
      expect(await ask(client, { action: 'get_retained', channel })).toMatchObject({ type: 'error', code: 'subscription_forbidden' });
      expect(await ask(client, { action: 'ack', channel, id: json.id })).toMatchObject({ type: 'error', code: 'subscription_forbidden' });
      await barrier(client);
      expect(client.messages).toEqual([]);
    },
  );

  it('still gives the retained message to a connection its token lets in', async () => {
    const projectId = newProject();
    await publish({ projectId, channel: 'private-user-bob', event: 'payroll', retain: true });
    const { client } = await connect({ token: await tokenFor(projectId, { sub: 'bob', channels: ['private-user-bob'] }) });
    expect(await ask(client, { action: 'get_retained', channel: 'private-user-bob' })).toMatchObject({
      kind: 'message',
      retained: true,
      event: 'payroll',
    });
  });
});

describe('H-2: grant patterns match in linear time', () => {
  it('answers at once a frame naming a long channel against the worst patterns a tenant can sign', async () => {
    const projectId = newProject();
    // Sixteen patterns of 24 stars each (a token is at most 4 KB): a backtracking matcher never returns.
    const evil = Array.from({ length: 16 }, () => `private-${'*a'.repeat(24)}*b`);
    const { client } = await connect({ token: await tokenFor(projectId, { sub: 'mallory', channels: evil, publish: evil }) });
    const started = performance.now();
    expect(await ask(client, { action: 'subscribe', channel: `private-${'a'.repeat(100)}` }, 3000)).toMatchObject({
      code: 'subscription_forbidden',
    });
    expect(await ask(client, { action: 'send', channel: `private-${'a'.repeat(100)}`, event: 'e' }, 3000)).toMatchObject({
      code: 'publish_forbidden',
    });
    // A regular expression would backtrack for minutes here.
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('refuses a token with more patterns than allowed', async () => {
    const projectId = newProject();
    const token = await tokenFor(projectId, { sub: 'x', channels: Array.from({ length: 33 }, (_, i) => `private-${i}`) });
    await expect(TestClient.open(`${e2e.stack().webSocketUrl}?token=${token}`)).rejects.toMatchObject({ statusCode: 401 });
  });
});

describe('H-3, M-7: every frame takes from the rate limit, and a flood is closed', () => {
  it('bounds what subscribe/unsubscribe churn on a presence channel makes others receive', async () => {
    const projectId = newProject();
    await createKey(projectId);
    const members = await Promise.all(
      Array.from({ length: 25 }, async (_, i) => {
        const { client } = await connect({ token: await tokenFor(projectId, { sub: `member-${i}`, channels: ['presence-*'] }) });
        await subscribe(client, 'presence-room');
        return client;
      }),
    );
    await barrier(...members);
    for (const member of members) member.messages.length = 0;
    const { client: churner } = await connect({ token: await tokenFor(projectId, { sub: 'churner', channels: ['presence-*'] }) });
    for (let i = 0; i < 60; i++) churner.send({ action: i % 2 === 0 ? 'subscribe' : 'unsubscribe', channel: 'presence-room' });
    await churner.waitClosed(10_000).catch(() => undefined);
    await barrier(...members);
    const notices = members.reduce((sum, member) => sum + member.messages.filter((m) => m.includes('"member_')).length, 0);
    // 60 frames, 25 members: 1,500 notices when nothing limited the churn.
    expect(notices).toBeLessThan(400);
  });

  it('counts malformed frames and pings too, and closes a connection that keeps exceeding its limit with the reason', async () => {
    const projectId = newProject();
    await settings(projectId, { rateLimit: { perSecond: 1, burst: 5 } });
    const { client } = await connect({ projectId });
    for (let i = 0; i < 5 + MAX_REFUSALS + 5; i++) client.send(i % 2 === 0 ? '{junk' : 'ping');
    await client.waitClosed(10_000);
    const replies = client.messages.map((raw) => (raw === 'pong' ? raw : JSON.parse(raw)));
    // The burst of five, and what refilled meanwhile (a message a second).
    const answered = replies.filter((r) => r === 'pong' || r.code === ErrorCode.invalidJson).length;
    expect(answered).toBeGreaterThanOrEqual(5);
    expect(answered).toBeLessThanOrEqual(8);
    expect(replies.filter((r) => r.code === ErrorCode.rateLimited).at(-1)).toMatchObject({ message: expect.stringContaining('is closed') });
  });
});

describe('H-4: replays are bounded by the connection’s budget', () => {
  it('answers recovered: false, replay_limited once the connection’s budget does not hold the replay', async () => {
    const projectId = newProject();
    await settings(projectId, { rateLimit: { perSecond: 1, burst: 6 } });
    const { json: first } = await publish({ projectId, channel: 'chat:replay', event: 'e', data: 0 });
    await publish({ projectId, messages: Array.from({ length: 25 }, (_, n) => ({ channel: 'chat:replay', event: 'e', data: n + 1 })) });
    for (let n = 0; n < 8; n++)
      await publish({ projectId, messages: Array.from({ length: 25 }, () => ({ channel: 'chat:replay', event: 'e' })) });
    const { client } = await connect({ projectId });
    const since = { offset: first.offset, epoch: first.epoch };
    const outcomes: { recovered?: boolean; reason?: string }[] = [];
    for (let i = 0; i < 2; i++) {
      client.send({ action: 'subscribe', channel: 'chat:replay', since });
      outcomes.push(await client.next((m) => m.type === 'subscription_succeeded' || m.type === 'error'));
      client.send({ action: 'unsubscribe', channel: 'chat:replay' });
      await client.next((m) => m.type === 'unsubscribe_succeeded' || m.type === 'error');
    }
    // 225 missed: the replay costs 3 more messages of the budget (one per 64 past the first 64).
    // A burst of 6 holds one subscribe and its replay, an unsubscribe, and a subscribe; not a second replay.
    expect(outcomes[0]).toMatchObject({ recovered: true });
    expect(outcomes[1]).toMatchObject({ recovered: false, reason: 'replay_limited' });
    const replayed = client.messages.filter((raw) => raw.includes('"chat:replay"') && raw.includes('"kind":"message"')).length;
    expect(replayed).toBe(225);
  });
});

describe('M-1: keying a project, or closing it to anonymous clients, closes its anonymous connections', () => {
  it('closes an anonymous connection within 5 s when the project gets its first key', async () => {
    const projectId = newProject();
    const { client } = await connect({ projectId, type: 'admin' });
    const created = await call('POST', '/api-keys', { projectId });
    expect(created.json.data).toMatchObject({ disconnected: 1 });
    await client.waitClosed(5000);
  });

  it('closes anonymous connections when anonymousConnect turns false, and keeps the token ones', async () => {
    const projectId = newProject();
    await createKey(projectId);
    await settings(projectId, { anonymousConnect: true });
    const { client: anonymous } = await connect({ projectId });
    const { client: signed } = await connect({ token: await tokenFor(projectId, { sub: 'ok' }) });
    expect((await settings(projectId, { anonymousConnect: false })).json.data).toMatchObject({ disconnected: 1 });
    await anonymous.waitClosed(5000);
    expect(signed.closed).toBeUndefined();
  });
});

describe('M-2: revoking a key ends what its Pusher channel auth let in', () => {
  it('closes a connection that joined a private channel with auth signed by the revoked key', async () => {
    const projectId = newProject();
    const key = await createKey(projectId);
    await settings(projectId, { anonymousConnect: true });
    const { client } = await connect({ projectId });
    client.send({ action: 'subscribe', channel: 'warmup' });
    const { socket_id: socketId } = await client.next<{ socket_id: string }>((m) => m.type === 'connection_id');
    await client.next((m) => m.type === 'subscription_succeeded' && m.channel === 'warmup');
    const auth = `${key.keyPrefix}:${createHmac('sha256', key.apiKey).update(`${socketId}:private-room`).digest('hex')}`;
    expect(await ask(client, { action: 'subscribe', channel: 'private-room', auth })).toMatchObject({ type: 'subscription_succeeded' });
    const revoked = await call('DELETE', `/api-keys/${projectId}/${key.keyPrefix}`);
    expect(revoked.json.data).toMatchObject({ disconnected: 1 });
    await client.waitClosed(5000);
  });
});

describe('M-3: publishing to a restricted channel needs the right to join it', () => {
  it('refuses, where clientPublish is all, a publish into a private channel the connection may not join, and an anonymous one into presence', async () => {
    const projectId = newProject();
    const { client: anonymous } = await connect({ projectId });
    expect(await ask(anonymous, { action: 'send', channel: 'presence-lobby', event: 'e' })).toMatchObject({ code: 'publish_forbidden' });
    expect(await ask(anonymous, { action: 'send', channel: 'private-user-alice', event: 'e' })).toMatchObject({
      code: 'publish_forbidden',
    });
  });

  it('never lets a publish grant widen what a token may read', async () => {
    const projectId = newProject();
    const { client } = await connect({ token: await tokenFor(projectId, { sub: 'bob', publish: ['*'], channels: ['private-user-bob'] }) });
    expect(await ask(client, { action: 'send', channel: 'private-user-alice', event: 'e' })).toMatchObject({ code: 'publish_forbidden' });
    expect(await ask(client, { action: 'send', channel: 'private-user-bob', event: 'e' })).toMatchObject({ type: 'send_success' });
  });
});

describe('M-4: a history page reads no more than it returns', () => {
  it('answers limit 1000 on 100 KB messages with the messages one reply holds, and more to come', async () => {
    const projectId = newProject();
    const big = 'x'.repeat(100 * 1024);
    for (let n = 0; n < 8; n++) await publish({ projectId, channel: 'chat:big', event: 'e', data: big });
    const { client } = await connect({ projectId });
    const page = await ask(client, { action: 'history', channel: 'chat:big', limit: 1000 });
    expect(page).toMatchObject({ type: 'history', more: true });
    expect((page as { messages: unknown[] }).messages).toHaveLength(1);
  });
});

describe('M-6: one user, many sockets', () => {
  it('holds a user to the project’s connections per user, and its sockets together to one budget', async () => {
    const projectId = newProject();
    await createKey(projectId);
    await settings(projectId, {
      maxConnectionsPerUser: 5,
      userRateLimit: { perSecond: 1, burst: 10 },
      rateLimit: { perSecond: 1, burst: 20 },
      clientPublish: 'all',
    });
    const token = await tokenFor(projectId, { sub: 'hydra' });
    const opened: TestClient[] = [];
    const refused: number[] = [];
    for (let i = 0; i < 8; i++) {
      await TestClient.open(`${e2e.stack().webSocketUrl}?token=${token}`).then(
        (client) => void opened.push(client),
        (error: { statusCode: number }) => void refused.push(error.statusCode),
      );
    }
    expect(opened).toHaveLength(5);
    expect(refused).toEqual([429, 429, 429]);
    const { client: listener } = await connect({ token: await tokenFor(projectId, { sub: 'listener' }) });
    await subscribe(listener, 'hydra-chat');
    for (const client of opened) for (let i = 0; i < 8; i++) client.send({ action: 'send', channel: 'hydra-chat', event: 'e' });
    await Promise.all(
      opened.map((client) =>
        waitFor(() => client.messages.filter((m) => m.includes('"send_success"') || m.includes('"error"')).length >= 8),
      ),
    );
    await barrier(listener);
    // 40 sends; the user's budget holds 10 (and a little refill).
    expect(listener.messages.length).toBeLessThan(15);
    await Promise.all(opened.map((client) => client.close()));
  });

  it('frees a slot when one of the user’s connections closes', async () => {
    const projectId = newProject();
    await createKey(projectId);
    await settings(projectId, { maxConnectionsPerUser: 1 });
    const token = await tokenFor(projectId, { sub: 'single' });
    const first = await TestClient.open(`${e2e.stack().webSocketUrl}?token=${token}`);
    await expect(TestClient.open(`${e2e.stack().webSocketUrl}?token=${token}`)).rejects.toMatchObject({ statusCode: 429 });
    await first.close();
    await waitFor(async () =>
      TestClient.open(`${e2e.stack().webSocketUrl}?token=${token}`).then(
        (client) => (void client.close(), true),
        () => false,
      ),
    );
  });
});

describe('L-1: a connection remembers when its token expires', () => {
  it('refuses restricted joins and publishes after expiry with token_expired, and keeps public channels', async () => {
    const projectId = newProject();
    const key = await createKey(projectId);
    await settings(projectId, { clientPublish: 'all' });
    // Expired 25 s ago: still inside the 30-second clock tolerance, for five more seconds.
    const now = Math.floor(Date.now() / 1000);
    const token = await signClientToken({ sub: 'late', channels: ['private-*'] }, key, 75, now - 100);
    const { client } = await connect({ token });
    expect(await ask(client, { action: 'subscribe', channel: 'private-payroll' })).toMatchObject({ type: 'subscription_succeeded' });
    // Time passing is what this is about: past the tolerance.
    await new Promise((resolve) => setTimeout(resolve, 6000));
    expect(await ask(client, { action: 'subscribe', channel: 'private-payroll' })).toMatchObject({ code: 'token_expired' });
    expect(await ask(client, { action: 'send', channel: 'news', event: 'e' })).toMatchObject({ code: 'token_expired' });
    expect(await ask(client, { action: 'subscribe', channel: 'news' })).toMatchObject({ type: 'subscription_succeeded' });
  });
});

describe('L-2: the console watches presence without joining it', () => {
  it('subscribes to a presence channel with its token and nobody is told', async () => {
    const projectId = newProject();
    const { client: member } = await connect({ token: await tokenFor(projectId, { sub: 'alice', channels: ['presence-*'] }) });
    await subscribe(member, 'presence-lobby');
    const issued = await call('POST', '/console/token', { projectId });
    const { client: consoleSocket } = await connect({ token: issued.json.data.token });
    expect(await ask(consoleSocket, { action: 'subscribe', channel: 'presence-lobby' })).toMatchObject({ type: 'subscription_succeeded' });
    expect(await ask(consoleSocket, { action: 'presence', channel: 'presence-lobby' })).toMatchObject({
      members: [{ userId: 'alice' }],
      count: 1,
    });
    await barrier(member);
    expect(member.messages).toEqual([]);
  });
});

describe('L-3: an idempotency key is freed when nothing was delivered', () => {
  it('delivers the fixed message retried with the key a refused one used', async () => {
    const subscriber = await e2e.subscriber('idem');
    // The body fits in 128 KB, the message with its envelope does not: refused after the body's own check.
    const tooBig = await publish({ channel: 'idem', event: 'e', data: 'x'.repeat(131_000), idempotencyKey: 'fix-me' });
    expect(tooBig.status).toBe(413);
    expect(tooBig.json.error).toMatch(/with its envelope/);
    const gone = await publish({ connectionId: 'bm9ib2R5aGVyZQ=', event: 'e', idempotencyKey: 'fix-me-too' });
    expect(gone.status).toBe(404);
    const fixed = await publish({ channel: 'idem', event: 'e', data: 'ok', idempotencyKey: 'fix-me' });
    expect(fixed.json).toMatchObject({ sent: 1 });
    expect(fixed.json.duplicate).toBeUndefined();
    expect(await subscriber.client.next()).toMatchObject({ event: 'e', data: 'ok' });
  });
});

describe('L-4: the local @connections checks signatures, as AWS does', () => {
  it('refuses a request shaped like SigV4 but not signed with a key the stack gave', async () => {
    const { id } = await connect({ projectId: newProject() });
    const forged = await fetch(`${e2e.stack().managementEndpoint}/@connections/${encodeURIComponent(id)}`, {
      method: 'POST',
      body: 'hi',
      headers: {
        'x-amz-date': '20261129T120000Z',
        authorization: `AWS4-HMAC-SHA256 Credential=ASIALOCALHANDLERROLE/20261129/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`,
      },
    });
    expect(forged.status).toBe(403);
    const unknown = await fetch(`${e2e.stack().managementEndpoint}/@connections/${encodeURIComponent(id)}`, {
      method: 'POST',
      body: 'hi',
      headers: {
        'x-amz-date': '20261129T120000Z',
        authorization: `AWS4-HMAC-SHA256 Credential=AKIDNOBODY/20261129/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`,
      },
    });
    expect(unknown.status).toBe(403);
  });
});

describe('L-5, L-6: names and sizes', () => {
  it.each(['.', '..'])('refuses project id %j', async (projectId) => {
    expect((await call('POST', '/api-keys', { projectId })).json).toMatchObject({ code: 'invalid_project' });
  });

  it('refuses Pusher batch_events over 128 KB as /events does, publishing nothing', async () => {
    const projectId = newProject();
    const key = await createKey(projectId);
    const { hostname, port } = new URL(e2e.stack().httpUrl);
    const pusher = new Pusher({ appId: projectId, key: key.keyPrefix, secret: key.apiKey, host: hostname, port, useTLS: false });
    const batch = Array.from({ length: 10 }, (_, i) => ({ channel: `c${i}`, name: 'e', data: 'x'.repeat(60 * 1024) }));
    const error = await pusher.triggerBatch(batch).catch((e: { status: number }) => e);
    expect(error).toMatchObject({ status: 413 });
  });
});

describe('reserved names', () => {
  it.each(['history', 'presence', 'pusher:subscribe', 'pusher_internal:member_added'])('refuses a send of event %j', async (event) => {
    const { client } = await connect({ projectId: newProject() });
    expect(await ask(client, { action: 'send', channel: 'news', event })).toMatchObject({ code: 'reserved_type' });
  });
});
