/** The channel operations with small typed fakes: what each does, refuses and hands back. */
import { ACCESS } from '../../../lambda/auth/access';
import { OPEN_PROJECT_SETTINGS } from '../../../lambda/contract/limits';
import type { ChannelConfig } from '../../../lambda/domain/namespaces';
import { OPERATIONS } from '../../../lambda/operations';
import type { ConnectionRecord } from '../../../lambda/ports';
import { ok, outbound, Result } from '../../../lambda/protocol';
import { asConnection, asProjectKey, connection, fakeServices, scope } from '../../helpers/fake-services';

const HISTORY = { size: 10, ttlSeconds: 600 };
const access = {
  settings: { of: async () => OPEN_PROJECT_SETTINGS },
  signingKey: async () => undefined,
  now: () => Date.parse('2026-11-21T12:00:00.000Z'),
};

/** A channel with a namespace configuration, and what was done to it. */
function channel(
  config: ChannelConfig,
  subscriber: ConnectionRecord = connection(),
  options: { budget?: number; replayed?: { offset: number; body: string }[] } = {},
) {
  const done: string[] = [];
  const services = fakeServices({
    namespaces: { of: async () => config },
    membership: {
      subscribe: async <A>(_id: string, name: string, admit?: (c: ConnectionRecord) => Promise<Result<A>>) => {
        const admitted = admit ? await admit(subscriber) : ok(undefined as A);
        if (!admitted.ok) return admitted;
        done.push(`subscribed ${name}`);
        return ok({ first: true, joined: true, connection: subscriber, projectId: 'acme', admitted: admitted.value });
      },
      unsubscribe: async (_id: string, name: string) => ok({ connection: { ...subscriber, channels: [name] }, left: true }),
    },
    departures: { leftChannel: async (_c: ConnectionRecord, name: string) => (done.push(`left ${name}`), { notified: 12, gone: [] }) },
    lifecycle: { subscribed: async () => undefined },
    members: {
      join: async () => (done.push('member joined'), { notified: 25, gone: [] }),
      list: async () => [{ userId: 'a' }, { userId: 'b' }],
      touch: async (_p: string, channels: readonly string[]) => void done.push(`touched ${channels.join(',')}`),
    },
    history: {
      position: async () => ({ offset: 4, epoch: 'e1' }),
      recover: async () => ({
        recovered: true as const,
        position: { offset: 6, epoch: 'e1' },
        messages: options.replayed ?? [
          { offset: 5, body: 'm5' },
          { offset: 6, body: 'm6' },
        ],
      }),
      read: async (_p: string, _c: string, _h: unknown, _s: unknown, _l: number, maxBytes: number) => (
        done.push(`read up to ${maxBytes}`),
        { messages: [], more: false }
      ),
    },
    retention: {
      pendingFor: async () => outbound.retained({ id: 'r1' }),
      ack: async () => ok(undefined),
    },
    connections: {
      adopt: async () => true,
      charge: async (_id: string, tokens: number) => (done.push(`charged ${tokens}`), (options.budget ?? 20) >= tokens),
    },
  });
  return { services, done };
}

describe('subscribe', () => {
  it('replays what was missed and hands back the retained message, on a channel that keeps history', async () => {
    const { services } = channel({ presence: false, history: HISTORY });
    const result = await OPERATIONS.subscribe.run(
      { channel: 'chat:1', since: { offset: 4, epoch: 'e1' } },
      scope(asConnection()),
      services,
    );
    expect(result).toEqual(
      ok({
        channel: 'chat:1',
        connectionId: 'conn-1=',
        first: true,
        stream: { offset: 6, epoch: 'e1', recovered: true },
        replay: [
          { offset: 5, body: 'm5' },
          { offset: 6, body: 'm6' },
        ],
        notified: 0,
        retained: { id: 'r1', kind: 'message', retained: true },
      }),
    );
  });

  it('refuses a presence channel to a connection without a user, storing nothing', async () => {
    const { services, done } = channel({ presence: true });
    expect(await OPERATIONS.subscribe.run({ channel: 'presence-x' }, scope(asConnection()), services)).toMatchObject({
      ok: false,
      error: { code: 'identity_required' },
    });
    expect(done).toEqual([]);
  });

  it('joins the members on a presence channel with the user Pusher channel data names', async () => {
    const { services, done } = channel({ presence: true });
    const input = { channel: 'presence-x', auth: 'k:sig', channel_data: JSON.stringify({ user_id: 7 }) };
    expect((await OPERATIONS.subscribe.run(input, scope(asConnection()), services)).ok).toBe(true);
    expect(done).toEqual(['subscribed presence-x', 'member joined']);
  });

  it('needs the channel granted, or Pusher auth signed by a key of the project', async () => {
    const rule = OPERATIONS.subscribe.access;
    expect(await rule.check(asConnection(), { channel: 'private-x' }, access)).toMatchObject({
      ok: false,
      error: { code: 'subscription_forbidden' },
    });
    expect(await rule.check(asConnection(connection({ channelGrants: ['private-*'] })), { channel: 'private-x' }, access)).toEqual(
      ok('acme'),
    );
    expect(await rule.check(asConnection(), { channel: 'private-x', auth: 'k:forged' }, access)).toMatchObject({
      ok: false,
      error: { code: 'subscription_forbidden' },
    });
    expect(await rule.check(asConnection(), { channel: 'news' }, access)).toEqual(ok('acme'));
  });
});

describe('what subscribing costs', () => {
  it('refuses a replay the connection’s budget does not hold: replay_limited, nothing replayed', async () => {
    const many = Array.from({ length: 200 }, (_, i) => ({ offset: 5 + i, body: `m${i}` }));
    const { services, done } = channel({ presence: false, history: HISTORY }, connection(), { budget: 0, replayed: many });
    const result = await OPERATIONS.subscribe.run(
      { channel: 'chat:1', since: { offset: 4, epoch: 'e1' } },
      scope(asConnection()),
      services,
    );
    expect(result).toMatchObject({ ok: true, value: { replay: [], stream: { recovered: false, reason: 'replay_limited' } } });
    // 200 messages at 64 a message, the first 64 free: 3 asked for, and refused.
    expect(done).toEqual(['subscribed chat:1', 'charged 3']);
  });

  it('owes a message per ten presence notices a join or a leave sent, past the first ten', () => {
    expect(OPERATIONS.subscribe.cost.after!({ notified: 25 } as never)).toBe(2);
    expect(OPERATIONS.subscribe.cost.after!({ notified: 10 } as never)).toBe(0);
    expect(OPERATIONS.unsubscribe.cost.after!({ channel: 'x', notified: 41 })).toBe(4);
  });

  it('lets an observer watch a presence channel without joining its members', async () => {
    const { services, done } = channel({ presence: true }, connection({ userId: 'console', observer: true }));
    expect((await OPERATIONS.subscribe.run({ channel: 'presence-x' }, scope(asConnection()), services)).ok).toBe(true);
    expect(done).toEqual(['subscribed presence-x']);
  });
});

describe('unsubscribe', () => {
  it('leaves the channel the one way a departure does', async () => {
    const { services, done } = channel({ presence: true });
    expect(await OPERATIONS.unsubscribe.run({ channel: 'presence-x' }, scope(asConnection()), services)).toEqual(
      ok({ channel: 'presence-x', notified: 12 }),
    );
    expect(done).toEqual(['left presence-x']);
  });
});

describe('ping', () => {
  it('keeps a user present in each presence channel it is in, and nothing for an anonymous one', async () => {
    const user = channel({ presence: true });
    await OPERATIONS.ping.run(
      undefined,
      scope(asConnection(connection({ userId: 'u', channels: ['presence-a', 'presence-b'] }))),
      user.services,
    );
    expect(user.done).toEqual(['touched presence-a,presence-b']);
    const anonymous = channel({ presence: true });
    await OPERATIONS.ping.run(undefined, scope(asConnection(connection({ channels: ['presence-a'] }))), anonymous.services);
    expect(anonymous.done).toEqual([]);
  });
});

describe('history and members', () => {
  it('read a page that fits the caller: one WebSocket message, or an HTTP response', async () => {
    const { services, done } = channel({ presence: false, history: HISTORY });
    await OPERATIONS.history.run({ channel: 'chat:1', limit: 10 }, scope(asConnection()), services);
    await OPERATIONS.history.run({ channel: 'chat:1', limit: 10 }, scope(asProjectKey()), services);
    expect(done).toEqual([`read up to ${120 * 1024}`, `read up to ${5 * 1024 * 1024}`]);
  });

  it('refuse a channel whose namespace keeps no history, or tracks no members', async () => {
    const { services } = channel({ presence: false });
    expect(await OPERATIONS.history.run({ channel: 'news', limit: 10 }, scope(asConnection()), services)).toMatchObject({
      ok: false,
      error: { code: 'history_not_enabled' },
    });
    expect(await OPERATIONS.members.run({ channel: 'news' }, scope(asConnection()), services)).toMatchObject({
      ok: false,
      error: { code: 'presence_not_enabled' },
    });
  });

  it('give the members and their count', async () => {
    const { services } = channel({ presence: true });
    expect(await OPERATIONS.members.run({ channel: 'presence-x' }, scope(asConnection()), services)).toEqual(
      ok({ channel: 'presence-x', members: [{ userId: 'a' }, { userId: 'b' }], count: 2 }),
    );
  });
});

describe('retained messages', () => {
  it('are read and acknowledged only by connections that may read the channel', () => {
    for (const op of [OPERATIONS.getRetained, OPERATIONS.ack, OPERATIONS.history, OPERATIONS.members])
      expect(op.access.name).toBe(ACCESS.readChannel().name);
  });

  it('need a user to be acknowledged', async () => {
    const { services } = channel({ presence: false });
    expect(await OPERATIONS.ack.run({ channel: 'news', id: 'r1' }, scope(asConnection()), services)).toMatchObject({
      ok: false,
      error: { code: 'identity_required' },
    });
    expect(await OPERATIONS.ack.run({ channel: 'news', id: 'r1' }, scope(asConnection(connection({ userId: 'u' }))), services)).toEqual(
      ok({ channel: 'news', id: 'r1' }),
    );
  });
});
