/**
 * Big channels over the real stores (dynalite): every subscriber exactly once, whatever the number
 * of shards and pages, through hand-overs when time runs short and retries of throttled posts.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { BigChannels, DeliverTask, Pacer, SharedPacer, shardRanges } from '../../../lambda/domain/big-channels';
import type { BackgroundTask, DeliveryOutcome } from '../../../lambda/ports';
import { startTestStore, TestStore } from '../../helpers/dynamo';

let db: TestStore;
beforeAll(async () => {
  db = await startTestStore();
});
afterAll(() => db.stop());

/** Connection ids as API Gateway makes them: 16 base64 characters. */
const connectionId = () => randomBytes(12).toString('base64');

async function channelOf(size: number) {
  const channel = `big-${randomBytes(4).toString('hex')}`;
  const ids = Array.from({ length: size }, connectionId);
  await Promise.all(
    ids.map((id) => db.subscriptions.add({ projectId: 'p', channel, connectionId: id }, Math.floor(Date.now() / 1000) + 3600)),
  );
  return { channel, ids };
}

type Slice = typeof db.subscriptions.slice;

function setup(
  options: { outcomes?: (id: string, attempt: number) => DeliveryOutcome; shardSize?: number; pageSize?: number; slice?: Slice } = {},
) {
  const received = new Map<string, number>();
  const attempts = new Map<string, number>();
  const tasks: BackgroundTask[] = [];
  const purged: string[] = [];
  const slept: number[] = [];
  const big = new BigChannels({
    subscriptions: options.slice ? Object.assign(Object.create(db.subscriptions), { slice: options.slice }) : db.subscriptions,
    sleep: async (ms) => void slept.push(ms),
    delivery: {
      post: async (id) => {
        const attempt = (attempts.get(id) ?? 0) + 1;
        attempts.set(id, attempt);
        const outcome = options.outcomes?.(id, attempt) ?? 'sent';
        if (outcome === 'sent') received.set(id, (received.get(id) ?? 0) + 1);
        return outcome;
      },
    },
    invoker: { invoke: async (task) => void tasks.push(task) },
    publishes: db.publishes,
    purge: async (gone) => void purged.push(...gone.map((g) => g.connectionId)),
    concurrency: 8,
    budgetPerSecond: 100_000,
    shardSize: options.shardSize ?? 10,
    pageSize: options.pageSize ?? 7,
  });
  /** Runs queued deliver tasks, as invocations would, until none are left. */
  const errors: unknown[] = [];
  async function drain(deadline: () => number = () => Date.now() + 60_000) {
    let rounds = 0;
    while (tasks.length > 0) {
      const task = tasks.shift() as DeliverTask;
      const { error } = await big.run(task, deadline());
      if (error !== undefined) errors.push(error);
      if (++rounds > 500) throw new Error('never done');
    }
    return rounds;
  }
  return { big, received, tasks, purged, drain, errors, slept };
}

const record = (id: string, channel: string, queued: number) => ({
  id,
  projectId: 'p',
  channel,
  event: 'e',
  queued,
  createdAt: new Date().toISOString(),
});

describe('shardRanges', () => {
  it('cover every connection id exactly once, for any number of shards', () => {
    const ids = Array.from({ length: 2000 }, connectionId);
    for (const count of [1, 2, 7, 32, 100]) {
      const ranges = shardRanges(count);
      for (const id of ids) expect(ranges.filter((r) => id >= r.from && id <= r.to)).toHaveLength(1);
    }
  });
});

describe('BigChannels', () => {
  it('delivers to every subscriber exactly once across shards and pages, and marks the publish done', async () => {
    const { channel, ids } = await channelOf(95);
    const { big, received, drain } = setup();
    const shards = await big.start(record('pub-1', channel, ids.length), '{"m":1}');
    expect(shards).toBe(10);
    await drain();
    expect([...received.keys()].sort()).toEqual([...ids].sort());
    expect([...received.values()].every((n) => n === 1)).toBe(true);
    expect(await db.publishes.get('pub-1')).toMatchObject({ queued: 95, sent: 95, failed: 0, stale: 0, shardsPending: 0, done: true });
  });

  it('reaches every subscriber exactly once for any shard size, page size and order the shards run in', async () => {
    const { channel, ids } = await channelOf(37);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.nat()),
        async (shardSize, pageSize, order) => {
          const { big, received, tasks } = setup({ shardSize, pageSize });
          const id = `pub-any-${run++}`;
          await big.start(record(id, channel, ids.length), '{"m":0}');
          // Tasks run in an arbitrary order, as concurrent invocations would.
          for (let i = 0; tasks.length > 0; i++) {
            const [task] = tasks.splice((order[i % Math.max(1, order.length)] ?? 0) % tasks.length, 1);
            await big.run(task as DeliverTask, Date.now() + 60_000);
          }
          expect([...received.keys()].sort()).toEqual([...ids].sort());
          expect([...received.values()].every((n) => n === 1)).toBe(true);
          expect(await db.publishes.get(id)).toMatchObject({ sent: ids.length, done: true });
        },
      ),
      { numRuns: 25 },
    );
  });

  it('hands over to continuations when time runs short, losing and repeating nothing', async () => {
    const { channel, ids } = await channelOf(60);
    const { big, received, drain } = setup({ shardSize: 60, pageSize: 5 });
    await big.start(record('pub-2', channel, ids.length), '{"m":2}');
    // A deadline inside the hand-over margin: each invocation delivers one page, then hands over.
    const rounds = await drain(() => Date.now() + 3_001);
    expect(rounds).toBeGreaterThan(5);
    expect([...received.keys()].sort()).toEqual([...ids].sort());
    expect([...received.values()].every((n) => n === 1)).toBe(true);
    expect(await db.publishes.get('pub-2')).toMatchObject({ sent: 60, done: true });
  });

  it('carries throttled posts to a continuation instead of dropping them', async () => {
    const { channel, ids } = await channelOf(30);
    const throttled = new Set(ids.slice(0, 10));
    const { big, received, drain } = setup({ outcomes: (id, attempt) => (throttled.has(id) && attempt === 1 ? 'deferred' : 'sent') });
    await big.start(record('pub-3', channel, ids.length), '{"m":3}');
    await drain();
    expect(received.size).toBe(30);
    expect([...received.values()].every((n) => n === 1)).toBe(true);
    expect(await db.publishes.get('pub-3')).toMatchObject({ sent: 30, failed: 0, done: true });
  });

  it('counts the gone as stale and hands them to the purge', async () => {
    const { channel, ids } = await channelOf(12);
    const dead = new Set(ids.slice(0, 3));
    const { big, purged, drain } = setup({ outcomes: (id) => (dead.has(id) ? 'gone' : 'sent') });
    await big.start(record('pub-4', channel, ids.length), '{"m":4}');
    await drain();
    expect(purged.sort()).toEqual([...dead].sort());
    expect(await db.publishes.get('pub-4')).toMatchObject({ sent: 9, stale: 3, done: true });
  });

  it('resumes where a failing read stopped (a throttled Query), after a pause, delivering nothing twice', async () => {
    const { channel, ids } = await channelOf(40);
    let failuresLeft = 2;
    // The second page of every read fails until two reads have failed.
    const slice: Slice = async function* (...args) {
      let page = 0;
      for await (const ids of db.subscriptions.slice(...args)) {
        if (++page === 2 && failuresLeft > 0) {
          failuresLeft--;
          throw Object.assign(new Error('Throughput exceeds the current capacity'), { name: 'ThrottlingException' });
        }
        yield ids;
      }
    };
    const { big, received, drain, errors, slept } = setup({ shardSize: 40, pageSize: 5, slice });
    await big.start(record('pub-5', channel, ids.length), '{"m":5}');
    await drain();
    expect([...received.keys()].sort()).toEqual([...ids].sort());
    expect([...received.values()].every((n) => n === 1)).toBe(true);
    // Each failed read had read a page first, so each counts as a first failure.
    expect(slept).toEqual([1000, 1000]);
    expect(errors).toEqual([]);
    expect(await db.publishes.get('pub-5')).toMatchObject({ sent: 40, done: true });
  });

  it('gives a range up after three reads in a row that read nothing: done, the shortfall visible, the error reported', async () => {
    const { channel, ids } = await channelOf(20);
    // The first page reads; every read after it fails.
    let reads = 0;
    const slice: Slice = async function* (...args) {
      if (++reads > 1) throw new Error('DynamoDB is down');
      let page = 0;
      for await (const ids of db.subscriptions.slice(...args)) {
        if (++page === 2) throw new Error('DynamoDB is down');
        yield ids;
      }
    };
    const { big, received, drain, errors, slept } = setup({ shardSize: 20, pageSize: 5, slice });
    await big.start(record('pub-6', channel, ids.length), '{"m":6}');
    await drain();
    expect(received.size).toBe(5);
    // A read that made progress counts as the first failure; then two more that read nothing.
    expect(slept).toEqual([1000, 2000]);
    expect(errors).toHaveLength(1);
    expect(await db.publishes.get('pub-6')).toMatchObject({ queued: 20, sent: 5, done: true });
  });

  it('probes: a small channel’s subscribers, or a big one’s count', async () => {
    const small = await channelOf(4);
    const bigOne = await channelOf(9);
    const { big } = setup();
    const probedSmall = await big.probe('p', small.channel, 5);
    expect(probedSmall.small && [...probedSmall.ids].sort()).toEqual([...small.ids].sort());
    expect(await big.probe('p', bigOne.channel, 5)).toEqual({ small: false, count: 9 });
  });
});

describe('Pacer', () => {
  it('spreads acquisitions at the rate, waiting only when ahead', async () => {
    let now = 0;
    const waits: number[] = [];
    const pacer = new Pacer(
      100,
      () => now,
      async (ms) => void waits.push(ms),
    );
    for (let i = 0; i < 5; i++) await pacer.acquire();
    expect(waits).toEqual([10, 20, 30, 40]);
    now = 1000;
    await pacer.acquire();
    expect(waits).toHaveLength(4);
  });
});

describe('SharedPacer', () => {
  it('holds every big publish in flight together to the one delivery budget, a chunk per write', async () => {
    // A simulated clock: time passes only while a pacer waits for the budget.
    let now = Date.parse('2026-11-21T00:00:00.000Z');
    const sleep = async (ms: number) => void (now += ms);
    const calls = { granted: 0, waited: 0 };
    const budget = {
      take: async (posts: number, perSecond: number, burst: number, at: number) => {
        const waitMs = await db.deliveryBudget.take(posts, perSecond, burst, at);
        if (waitMs === 0) calls.granted++;
        else calls.waited++;
        return waitMs;
      },
    };
    // Three publishes' shards, 300 posts each, against a budget of 100 posts a second.
    const pacers = [1, 2, 3].map(() => new SharedPacer(budget, 100, () => now, sleep));
    const started = now;
    await Promise.all(
      pacers.map(async (pacer) => {
        for (let i = 0; i < 300; i++) await pacer.acquire();
      }),
    );
    // 900 posts at 100 a second, less the one-second burst the bucket starts with.
    expect(now - started).toBeGreaterThanOrEqual(7_500);
    expect(now - started).toBeLessThan(9_500);
    // Five posts a write (a twentieth of a second of the budget), not one; a pacer that must wait
    // is told how long, and asks again then.
    expect(calls.granted).toBe(900 / 5);
    expect(calls.waited).toBeLessThan(calls.granted);
  });
});
