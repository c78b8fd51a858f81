import { Membership } from '../../../lambda/domain/membership';
import type { ConnectionRecord } from '../../../lambda/ports';
import { ErrorCode } from '../../../lambda/protocol';
import { startTestStore, TestStore } from '../../helpers/dynamo';
import { newConnectionId } from '../../helpers/gateway-events';

let db: TestStore;
let membership: Membership;
beforeAll(async () => {
  db = await startTestStore();
  membership = new Membership(
    { connections: db.connections, subscriptions: db.subscriptions, maxChannels: 3 },
    { departed: async () => [] },
  );
});
afterEach(() => jest.restoreAllMocks());
afterAll(() => db.stop());

const subscribers = async (projectId: string, channel: string) => {
  const all: string[] = [];
  for await (const page of db.subscriptions.subscribers(projectId, channel)) all.push(...page.ids);
  return all;
};

async function connected(projectId = 'default') {
  const connectionId = newConnectionId();
  await membership.connect({ connectionId, projectId, connectedAt: Date.now() });
  return connectionId;
}

describe('Membership', () => {
  it('subscribes into the connection’s project, first only once', async () => {
    const id = await connected('acme');
    expect(await membership.subscribe(id, 'news')).toMatchObject({ ok: true, value: { first: true, joined: true, projectId: 'acme' } });
    expect(await membership.subscribe(id, 'news')).toMatchObject({ ok: true, value: { first: false, joined: false, projectId: 'acme' } });
    expect(await subscribers('acme', '$all')).toEqual([id]);
    expect(await subscribers('acme', 'news')).toEqual([id]);
    expect(await subscribers('default', 'news')).toEqual([]);
  });

  it('refuses subscribing an unknown connection without writing anything', async () => {
    const result = await membership.subscribe('ghost=', 'news-ghost');
    expect(result).toMatchObject({ ok: false, error: { code: ErrorCode.notConnected } });
    expect(await subscribers('default', 'news-ghost')).toEqual([]);
  });

  it('caps the channels one connection holds', async () => {
    const id = await connected();
    for (const channel of ['c1', 'c2', 'c3']) expect((await membership.subscribe(id, channel)).ok).toBe(true);
    expect(await membership.subscribe(id, 'c4')).toMatchObject({ ok: false, error: { code: ErrorCode.tooManySubscriptions } });
    expect(await subscribers('default', 'c4')).toEqual([]);
  });

  it('unsubscribes, and unsubscribing twice is harmless', async () => {
    const id = await connected();
    await membership.subscribe(id, 'leave-me');
    expect((await membership.unsubscribe(id, 'leave-me')).ok).toBe(true);
    expect((await membership.unsubscribe(id, 'leave-me')).ok).toBe(true);
    expect(await subscribers('default', 'leave-me')).toEqual([]);
    expect((await db.connections.get(id))!.channels).toEqual([]);
  });

  it('removes the connection and all its subscriptions, reserved ones included, on disconnect, idempotently', async () => {
    const id = await connected();
    const other = await connected();
    await membership.subscribe(id, 'd1');
    await membership.subscribe(id, 'd2');
    await membership.subscribe(other, 'd1');
    await membership.disconnect(id);
    await membership.disconnect(id);
    expect(await db.connections.get(id)).toBeUndefined();
    expect(await subscribers('default', 'd1')).toEqual([other]);
    expect(await subscribers('default', 'd2')).toEqual([]);
    expect(await subscribers('default', '$all')).not.toContain(id);
  });

  it('reports each departure once, and not a connect that failed', async () => {
    const departed: string[] = [];
    const watched = new Membership(db, { departed: async (connection) => (departed.push(connection.connectionId), []) });
    const connectionId = newConnectionId();
    await watched.connect({ connectionId, projectId: 'default', clientType: 'runtime', connectedAt: Date.now() });
    await watched.disconnect(connectionId);
    await watched.disconnect(connectionId);
    expect(departed).toEqual([connectionId]);
  });

  it('removes a subscription found through a channel even when the connection item is gone', async () => {
    await db.subscriptions.add({ projectId: 'default', channel: 'orphan', connectionId: 'orphan=' }, Math.floor(Date.now() / 1000) + 60);
    await membership.purge([
      { connectionId: 'orphan=', foundThrough: { projectId: 'default', channel: 'orphan', connectionId: 'orphan=' } },
    ]);
    expect(await subscribers('default', 'orphan')).toEqual([]);
  });

  it('purges the connections a departure reveals gone, each once', async () => {
    const [first, second, third] = [await connected(), await connected(), await connected()];
    const departed: string[] = [];
    // Telling others about `first` finds `second` gone, and telling about `second` finds `third` (and `first` again).
    const reveals: Record<string, string[]> = { [first]: [second], [second]: [third, first] };
    const watched = new Membership(db, {
      departed: async ({ connectionId }) => {
        departed.push(connectionId);
        return (reveals[connectionId] ?? []).map((id) => ({ connectionId: id }));
      },
    });
    await watched.purge([{ connectionId: first }]);
    expect(departed).toEqual([first, second, third]);
    for (const id of [first, second, third]) expect(await db.connections.get(id)).toBeUndefined();
  });

  it('leaves nothing behind when connecting fails half-way', async () => {
    const departed: ConnectionRecord[] = [];
    const failing = new Membership(db, { departed: async (connection) => (departed.push(connection), []) });
    jest.spyOn(db.subscriptions, 'add').mockRejectedValue(new Error('write failed'));
    const connectionId = newConnectionId();
    await expect(failing.connect({ connectionId, projectId: 'default', connectedAt: Date.now() })).rejects.toThrow('write failed');
    expect(await db.connections.get(connectionId)).toBeUndefined();
    expect(departed).toEqual([]);
  });

  it('undoes the connection’s channel when the subscription write fails', async () => {
    const id = await connected();
    jest.spyOn(db.subscriptions, 'add').mockRejectedValueOnce(new Error('write failed'));
    await expect(membership.subscribe(id, 'broken')).rejects.toThrow('write failed');
    expect((await db.connections.get(id))!.channels).toEqual([]);
  });
});

describe('signing in (Pusher’s user authentication)', () => {
  const RATE = { perSecond: 20, burst: 40 };
  it('joins the user’s channel, as one user only, and leaves it with the connection', async () => {
    const id = await connected('signin');
    const signed = await membership.signIn(id, { userId: 'henry', info: { name: 'Henry' } }, 'rbk_SignKey01', RATE);
    expect(signed.ok).toBe(true);
    expect(await subscribers('signin', '$user:henry')).toEqual([id]);
    expect(await db.connections.get(id)).toMatchObject({ userId: 'henry', signedIn: 'henry', authKeys: ['rbk_SignKey01'] });
    expect(await membership.signIn(id, { userId: 'mallory' }, 'rbk_SignKey01', RATE)).toMatchObject({ ok: false });
    expect(await subscribers('signin', '$user:mallory')).toEqual([]);
    // The same user again (a sign-in whose channel write failed, repeated): its channel is written again.
    await db.subscriptions.remove({ projectId: 'signin', channel: '$user:henry', connectionId: id });
    expect(await membership.signIn(id, { userId: 'henry' }, 'rbk_SignKey01', RATE)).toMatchObject({ ok: true });
    expect(await subscribers('signin', '$user:henry')).toEqual([id]);
    await membership.disconnect(id);
    expect(await subscribers('signin', '$user:henry')).toEqual([]);
  });

  it('refuses a connection that is gone, or that a presence channel made another user’s', async () => {
    expect(await membership.signIn('gone=', { userId: 'x' }, 'rbk_SignKey01', RATE)).toMatchObject({ ok: false });
    const id = await connected('signin');
    expect(await db.connections.adopt(id, { userId: 'ivy' })).toBe(true);
    expect(await membership.signIn(id, { userId: 'jack' }, 'rbk_SignKey01', RATE)).toMatchObject({ ok: false });
    expect(await subscribers('signin', '$user:jack')).toEqual([]);
  });
});
