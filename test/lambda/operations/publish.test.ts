/** The publish operations with small typed fakes: which path a publish takes, and what it counts. */
import { OPERATIONS } from '../../../lambda/operations';
import { fail, ok, outbound } from '../../../lambda/protocol';
import { asConnection, asProjectKey, connection, fakeServices, scope } from '../../helpers/fake-services';

const STAMP = { id: 'm1', timestamp: '2026-11-21T12:00:00.000Z' };
const delivered = (channel: string, event = 'e', data: unknown = null, from?: string) =>
  outbound.delivered(STAMP, { channel, event, data, ...(from && { from }) });

/** A publisher and a channel of `subscribers`, recording what was asked of them. */
function world(subscribers: number, options: { claimedBy?: string; tooLarge?: string } = {}) {
  const calls: string[] = [];
  const usage: unknown[] = [];
  const services = fakeServices({
    publisher: {
      stamp: (id?: string) => ({ ...STAMP, ...(id && { id }) }),
      toChannel: async (
        _p: string,
        channel: string,
        message: { event: string; data?: unknown; from?: string },
        o?: { recipients?: { ids: readonly string[] }; exclude?: ReadonlySet<string> },
      ) => {
        calls.push(`toChannel ${channel} to ${o?.recipients?.ids.filter((id) => !o.exclude?.has(id)).join(',') ?? 'all'}`);
        const d = delivered(channel, message.event, message.data, message.from);
        return ok({ id: d.id, delivered: d, sent: o?.recipients?.ids.length ?? subscribers, failed: 0, stale: 0 });
      },
      prepareForChannel: async (_p: string, channel: string) => ok({ delivered: delivered(channel), body: '{}' }),
      check: (channel: string) => (channel === options.tooLarge ? fail('payload_too_large') : ok(undefined)),
      toConnection: async () => ok({ id: 'm1', sent: 1, failed: 0, stale: 0 }),
    },
    bigChannels: {
      probe: async (_p: string, _c: string, limit: number) =>
        subscribers <= limit
          ? { small: true as const, ids: { ids: Array.from({ length: subscribers }, (_, i) => `s${i}=`) } }
          : { small: false as const, count: subscribers },
      start: async (record: { queued: number }) => {
        calls.push(`start ${record.queued}`);
        return 1;
      },
    },
    publishes: {
      claim: async () => options.claimedBy,
      get: async (id: string) => ({
        id,
        projectId: 'acme',
        event: 'e',
        queued: 2,
        sent: 2,
        failed: 0,
        stale: 0,
        done: true,
        createdAt: '',
      }),
      put: async () => undefined,
    },
    retention: { retain: async () => void calls.push('retain') },
    projects: { record: async (_p: string, counts: unknown) => void usage.push(counts) },
  });
  return { services, calls, usage };
}

describe('publish', () => {
  it('delivers a small channel at once, to the subscribers the probe already read', async () => {
    const { services, calls, usage } = world(2);
    const result = await OPERATIONS.publish.run({ channel: 'news', event: 'e' }, scope(asProjectKey()), services);
    expect(result).toEqual(ok({ id: 'm1', sent: 2, failed: 0, stale: 0 }));
    expect(calls).toEqual(['toChannel news to s0=,s1=']);
    expect(usage).toEqual([{ requests: 1, deliveries: 2 }]);
  });

  it('hands a channel over the threshold to background shards and answers queued, whoever publishes', async () => {
    for (const caller of [asProjectKey(), asConnection()]) {
      const { services, calls } = world(10);
      expect(await OPERATIONS.publish.run({ channel: 'crowd', event: 'e' }, scope(caller), services)).toEqual(ok({ id: 'm1', queued: 10 }));
      expect(calls).toEqual(['start 10']);
    }
  });

  it('keeps a retained message synchronous, so it is retained only once delivered', async () => {
    const { services, calls } = world(10);
    await OPERATIONS.publish.run({ channel: 'crowd', event: 'e', retain: true }, scope(asProjectKey()), services);
    expect(calls).toEqual(['toChannel crowd to all', 'retain']);
  });

  it('answers a repeated idempotency key with the first publish, delivering and counting nothing', async () => {
    const { services, calls, usage } = world(2, { claimedBy: 'first' });
    const result = await OPERATIONS.publish.run({ channel: 'news', event: 'e', idempotencyKey: 'k' }, scope(asProjectKey()), services);
    expect(result).toEqual(ok({ id: 'first', sent: 2, failed: 0, stale: 0, duplicate: true }));
    expect(calls).toEqual([]);
    expect(usage).toEqual([]);
  });

  it('names the sending connection as from, and skips an excluded one', async () => {
    const { services, calls } = world(2);
    const result = await OPERATIONS.publish.run(
      { channel: 'news', event: 'e', exclude: 's1=' },
      scope(asConnection(connection({ connectionId: 'me=' }))),
      services,
    );
    expect(result.ok).toBe(true);
    expect(calls).toEqual(['toChannel news to s0=']);
  });
});

describe('publish batch', () => {
  it('fails an item naming another project alone, and delivers the rest', async () => {
    const { services } = world(1);
    const messages = [
      ok({ channel: 'a', event: 'e' }),
      ok({ channel: 'b', event: 'e', projectId: 'other' }),
      fail<never>('invalid_channel'),
    ];
    const result = await OPERATIONS.publishBatch.run({ messages }, scope(asProjectKey()), services);
    expect(result.ok && result.value.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual(['ok', 'invalid_project', 'invalid_channel']);
  });
});

describe('trigger', () => {
  it('checks every message before delivering any: one that cannot fit refuses them all', async () => {
    const { services, calls } = world(1, { tooLarge: 'too-long' });
    const events = [{ event: 'e', data: 1, channels: ['fine', 'too-long'] }];
    expect(await OPERATIONS.trigger.run({ events }, scope(asProjectKey()), services)).toMatchObject({
      ok: false,
      error: { code: 'payload_too_large' },
    });
    expect(calls).toEqual([]);
  });

  it('publishes each event to each of its channels, big ones in the background', async () => {
    const { services, calls } = world(10);
    const events = [{ event: 'e', data: 1, channels: ['a', 'b'] }];
    expect(await OPERATIONS.trigger.run({ events }, scope(asProjectKey()), services)).toEqual(ok({ published: 2 }));
    expect(calls).toEqual(['start 10', 'start 10']);
  });
});
