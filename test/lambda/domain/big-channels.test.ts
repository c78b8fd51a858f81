/**
 * Big channels over the real stores (dynalite): every subscriber exactly once, whatever the number
 * of shards and pages, through hand-overs when time runs short and retries of throttled posts — and
 * as Lambda runs them: retried after failing, duplicated, killed at any point.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { BigChannels, DeliverTask, Pacer, SharedPacer, shardRanges } from '../../../lambda/domain/big-channels';
import type { Holder } from '../../../lambda/domain/task-lease';
import type { DeliveryOutcome } from '../../../lambda/ports';
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

interface WorldOptions {
  outcomes?: (id: string, attempt: number) => DeliveryOutcome;
  shardSize?: number;
  pageSize?: number;
  slice?: Slice;
  /** Milliseconds each post takes on the simulated clock. */
  postMs?: number;
}

/**
 * Big channels as Lambda runs them: every invocation of a task gets BigChannels of its own over the
 * real stores, on a simulated clock, behind a fence — once an invocation is killed (the sandbox
 * frozen by a timeout, or its process gone), none of its calls goes out any more. An invocation
 * still running at its deadline is killed, as Lambda's timeout does; timers (the lease's heartbeat)
 * run on the same clock.
 */
function world(options: WorldOptions = {}) {
  const clock = { now: Date.parse('2026-11-21T00:00:00.000Z') + Math.floor(Math.random() * 1e9) };
  const timers = new Set<{ next: number; every: number; fn: () => Promise<unknown> }>();
  /** Moves the clock on, running (and waiting for) the timers due meanwhile. */
  const sleep = async (ms: number) => {
    const until = clock.now + ms;
    for (;;) {
      const due = [...timers].filter((t) => t.next <= until).sort((a, b) => a.next - b.next)[0];
      if (!due) break;
      clock.now = Math.max(clock.now, due.next);
      due.next += due.every;
      await due.fn();
    }
    clock.now = until;
  };
  const received = new Map<string, number>();
  const attempts = new Map<string, number>();
  const queue: DeliverTask[] = [];
  const purged: string[] = [];
  let owners = 0;

  /** One invocation: `killAt` freezes it at its n-th call (a post, a read, a write or an invoke). */
  function invocation(killAt = Infinity) {
    let calls = 0;
    let killedAt: string | undefined;
    const mine = new Set<{ next: number; every: number; fn: () => Promise<unknown> }>();
    let resolveKilled: (what: string) => void = () => undefined;
    const killed = new Promise<string>((resolve) => (resolveKilled = resolve));
    const onKilled = (what: string) => {
      // A frozen sandbox's timers never fire again.
      for (const timer of mine) timers.delete(timer);
      resolveKilled(what);
    };
    const every = (ms: number, fn: () => Promise<unknown>) => {
      const timer = { next: clock.now + ms, every: ms, fn };
      timers.add(timer);
      mine.add(timer);
      return () => void timers.delete(timer);
    };
    let deadline = Infinity;
    const gate = <T>(what: string, call: () => Promise<T>): Promise<T> => {
      if (killedAt === undefined && clock.now > deadline) {
        // Still at work at its deadline: Lambda's timeout ends it.
        killedAt = 'timeout';
        onKilled(killedAt);
      }
      if (killedAt === undefined && ++calls === killAt) {
        killedAt = what;
        onKilled(what);
      }
      return killedAt === undefined ? call() : new Promise<T>(() => undefined);
    };
    const gated = <O extends object>(name: string, target: O): O =>
      new Proxy(target, {
        get: (object, key) => {
          const value = Reflect.get(object, key) as unknown;
          return typeof value === 'function'
            ? (...args: unknown[]) =>
                gate(`${name}.${String(key)}`, () => (value as (...a: unknown[]) => Promise<unknown>).apply(object, args))
            : value;
        },
      });
    const slice: Slice = options.slice ?? ((...args) => db.subscriptions.slice(...args));
    const subscriptions = Object.assign(Object.create(db.subscriptions) as typeof db.subscriptions, {
      slice: async function* (...args: Parameters<Slice>) {
        const pages = slice(...args)[Symbol.asyncIterator]();
        for (;;) {
          const next = await gate('subscriptions.slice', () => pages.next());
          if (next.done) return;
          yield next.value;
        }
      },
    });
    const ledger = gated('ledger', db.tasks);
    const big = new BigChannels({
      subscriptions,
      sleep,
      now: () => clock.now,
      delivery: {
        post: (id) =>
          gate('post', async () => {
            await sleep(options.postMs ?? 0);
            const attempt = (attempts.get(id) ?? 0) + 1;
            attempts.set(id, attempt);
            const outcome = options.outcomes?.(id, attempt) ?? 'sent';
            if (outcome === 'sent') received.set(id, (received.get(id) ?? 0) + 1);
            return outcome;
          }),
      },
      invoker: { invoke: (task) => gate('invoke', async () => void queue.push(task as DeliverTask)) },
      publishes: gated('publishes', db.publishes),
      ledger,
      taskMaxAgeMs: 900_000,
      purge: (gone) => gate('purge', async () => void purged.push(...gone.map((g) => g.connectionId))),
      concurrency: 8,
      budgetPerSecond: 100_000,
      shardSize: options.shardSize ?? 10,
      pageSize: options.pageSize ?? 7,
    });
    const holder = (timeMs: number): Holder => {
      deadline = clock.now + timeMs;
      return { ledger, owner: `invocation-${++owners}`, deadline, now: () => clock.now, sleep, every };
    };
    /** Runs the task as this invocation: its outcome, or how it was killed. */
    const run = async (task: DeliverTask, timeMs = 29_000) =>
      Promise.race([big.run(task, holder(timeMs)), killed.then((what) => ({ outcome: 'killed' as const, what }))]);
    return { big, run };
  }

  /**
   * Runs queued tasks as Lambda would, until none are left: a failed or killed invocation is retried
   * a minute later; `duplicate` delivers every event twice at once.
   */
  async function lambda(
    options: {
      timeMs?: () => number;
      killAt?: (invocation: number) => number;
      duplicate?: boolean;
      order?: (queued: number) => number;
    } = {},
  ) {
    const kills: string[] = [];
    const errors: unknown[] = [];
    let invocations = 0;
    while (queue.length > 0) {
      const [task] = queue.splice(options.order?.(queue.length) ?? 0, 1);
      const copies = options.duplicate ? 2 : 1;
      const runs = await Promise.all(
        Array.from({ length: copies }, () => {
          invocations++;
          return invocation(options.killAt ? options.killAt(invocations) : Infinity)
            .run(task, options.timeMs?.())
            .catch((error: unknown) => ({ outcome: 'threw' as const, error }));
        }),
      );
      for (const run of runs) {
        if (run.outcome === 'killed') kills.push(run.what);
        if (run.outcome === 'threw') errors.push(run.error);
      }
      // Lambda retries a failed attempt a minute later (the lease it held has run out by then).
      if (runs.some((run) => run.outcome === 'killed' || run.outcome === 'threw')) {
        clock.now += 60_000;
        queue.push(task);
      }
      if (invocations > 2000) throw new Error('never done');
    }
    return { kills, errors, invocations };
  }

  const once = () => [...received.values()].every((n) => n === 1);
  return {
    clock,
    received,
    purged,
    queue,
    invocation,
    lambda,
    once,
    start: (...args: Parameters<BigChannels['start']>) => invocation().big.start(...args),
  };
}

const record = (id: string, channel: string, queued: number) => ({
  id,
  projectId: 'p',
  channel,
  event: 'e',
  queued,
  createdAt: new Date().toISOString(),
});

let publishes = 0;
const publishId = () => `pub-${++publishes}-${randomBytes(3).toString('hex')}`;

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
    const w = world();
    const id = publishId();
    expect(await w.start(record(id, channel, ids.length), '{"m":1}')).toBe(10);
    await w.lambda();
    expect([...w.received.keys()].sort()).toEqual([...ids].sort());
    expect(w.once()).toBe(true);
    expect(await db.publishes.get(id)).toMatchObject({ queued: 95, sent: 95, failed: 0, stale: 0, done: true, pending: {} });
  });

  it('reaches every subscriber exactly once for any shard size, page size and order the shards run in', async () => {
    const { channel, ids } = await channelOf(37);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.nat()),
        async (shardSize, pageSize, order) => {
          const w = world({ shardSize, pageSize });
          const id = publishId();
          await w.start(record(id, channel, ids.length), '{"m":0}');
          // Tasks run in an arbitrary order, as concurrent invocations would.
          let i = 0;
          await w.lambda({ order: (queued) => (order[i++ % Math.max(1, order.length)] ?? 0) % queued });
          expect([...w.received.keys()].sort()).toEqual([...ids].sort());
          expect(w.once()).toBe(true);
          expect(await db.publishes.get(id)).toMatchObject({ sent: ids.length, done: true });
        },
      ),
      { numRuns: 25 },
    );
  });

  it('hands over to continuations when time runs short, losing and repeating nothing', async () => {
    const { channel, ids } = await channelOf(60);
    const w = world({ shardSize: 60, pageSize: 5, postMs: 1 });
    const id = publishId();
    await w.start(record(id, channel, ids.length), '{"m":2}');
    // Invocations so short (12 ms, a post taking 1 ms) that each delivers a page or two, then hands over.
    const { invocations } = await w.lambda({ timeMs: () => 12 });
    expect(invocations).toBeGreaterThan(5);
    expect([...w.received.keys()].sort()).toEqual([...ids].sort());
    expect(w.once()).toBe(true);
    expect(await db.publishes.get(id)).toMatchObject({ sent: 60, done: true });
  });

  it('carries throttled posts to a continuation instead of dropping them', async () => {
    const { channel, ids } = await channelOf(30);
    const throttled = new Set(ids.slice(0, 10));
    const w = world({ outcomes: (id, attempt) => (throttled.has(id) && attempt === 1 ? 'deferred' : 'sent') });
    const id = publishId();
    await w.start(record(id, channel, ids.length), '{"m":3}');
    await w.lambda();
    expect(w.received.size).toBe(30);
    expect(w.once()).toBe(true);
    expect(await db.publishes.get(id)).toMatchObject({ sent: 30, failed: 0, done: true });
  });

  it('counts the gone as stale and hands them to the purge', async () => {
    const { channel, ids } = await channelOf(12);
    const dead = new Set(ids.slice(0, 3));
    const w = world({ outcomes: (id) => (dead.has(id) ? 'gone' : 'sent') });
    const id = publishId();
    await w.start(record(id, channel, ids.length), '{"m":4}');
    await w.lambda();
    expect(w.purged.sort()).toEqual([...dead].sort());
    expect(await db.publishes.get(id)).toMatchObject({ sent: 9, stale: 3, done: true });
  });

  it('a read that fails (a throttled Query) fails the invocation; Lambda’s retry resumes after the last page recorded, repeating nothing', async () => {
    const { channel, ids } = await channelOf(40);
    let failuresLeft = 2;
    // The second page of a read fails until two reads have failed.
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
    const w = world({ shardSize: 40, pageSize: 5, slice });
    const id = publishId();
    await w.start(record(id, channel, ids.length), '{"m":5}');
    const { errors } = await w.lambda();
    expect(errors).toHaveLength(2);
    expect([...w.received.keys()].sort()).toEqual([...ids].sort());
    expect(w.once()).toBe(true);
    expect(await db.publishes.get(id)).toMatchObject({ sent: 40, done: true });
  });

  it('a duplicate of every event, run at the same time: every subscriber once, the counts once', async () => {
    const { channel, ids } = await channelOf(50);
    const w = world({ shardSize: 20, pageSize: 4, postMs: 1 });
    const id = publishId();
    await w.start(record(id, channel, ids.length), '{"m":7}');
    await w.lambda({ duplicate: true, timeMs: () => 16 });
    expect([...w.received.keys()].sort()).toEqual([...ids].sort());
    expect(w.once()).toBe(true);
    expect(await db.publishes.get(id)).toMatchObject({ sent: 50, done: true });
  });

  it('a page slower than the hand-over margin: posting stops at the margin and the rest is handed over, never cut by the timeout', async () => {
    const { channel, ids } = await channelOf(80);
    // 40 posts of 60 ms a page (2.4 s), against 1 s kept for the hand-over of a 4 s invocation:
    // the second page would run past the deadline.
    const w = world({ shardSize: 80, pageSize: 40, postMs: 60 });
    const id = publishId();
    await w.start(record(id, channel, ids.length), '{"m":11}');
    const { kills, invocations } = await w.lambda({ timeMs: () => 4_000 });
    expect(kills).toEqual([]);
    expect(invocations).toBeGreaterThan(1);
    expect([...w.received.keys()].sort()).toEqual([...ids].sort());
    expect(w.once()).toBe(true);
    expect(await db.publishes.get(id)).toMatchObject({ sent: 80, done: true });
  });

  it('a duplicate alongside a live holder waits for its lease, finds it renewed, and does nothing', async () => {
    const { channel, ids } = await channelOf(10);
    // A second a post: the holder works for about ten seconds, renewing its lease with each page.
    const w = world({ shardSize: 10, pageSize: 5, postMs: 1_000 });
    const id = publishId();
    await w.start(record(id, channel, ids.length), '{"m":12}');
    const [task] = w.queue.splice(0);
    const outcomes = await Promise.all([w.invocation().run(task), w.invocation().run(task)]);
    expect(outcomes.map((o) => o.outcome).sort()).toEqual(['duplicate', 'ended']);
    await w.lambda();
    expect([...w.received.keys()].sort()).toEqual([...ids].sort());
    expect(w.once()).toBe(true);
    expect(await db.publishes.get(id)).toMatchObject({ sent: 10, done: true });
  });

  it('a late duplicate of a task that ended does nothing', async () => {
    const { channel, ids } = await channelOf(8);
    const w = world();
    const id = publishId();
    const started: DeliverTask[] = [];
    await w.start(record(id, channel, ids.length), '{"m":8}');
    started.push(...w.queue);
    await w.lambda();
    w.queue.push(...started);
    await w.lambda();
    expect(w.once()).toBe(true);
    expect(await db.publishes.get(id)).toMatchObject({ sent: 8, done: true });
  });

  it('killed at any call — a read, a post, a progress write, the hand-over — and retried: nobody missed; a repeat only of the page in flight', async () => {
    const { channel, ids } = await channelOf(30);
    const pageSize = 6;
    const killedAt = new Set<string>();
    // Every call of the first invocation in turn, with a long deadline and with one that hands over.
    for (const short of [false, true]) {
      for (let killAt = 1; killAt <= 32; killAt++) {
        // One shard, so the sequence of calls does not depend on how the random ids split.
        const w = world({ shardSize: 30, pageSize, postMs: 1 });
        const id = publishId();
        await w.start(record(id, channel, ids.length), '{"m":9}');
        const { kills } = await w.lambda({ killAt: (n) => (n === 1 ? killAt : Infinity), timeMs: () => (short ? 12 : 29_000) });
        kills.forEach((what) => killedAt.add(what));
        expect([...w.received.keys()].sort()).toEqual([...ids].sort());
        const repeats = [...w.received.values()].reduce((sum, n) => sum + n - 1, 0);
        // Only a kill between a page's first post and its progress write repeats anything, and only that page.
        if (!kills.some((what) => what === 'post' || what === 'ledger.advance')) expect(repeats).toBe(0);
        expect(repeats).toBeLessThanOrEqual(pageSize);
        // The record counts each subscriber once, whatever was repeated.
        expect(await db.publishes.get(id)).toMatchObject({ sent: 30, done: true });
      }
    }
    // The kills did land everywhere: reads, posts, progress writes and the hand-over's calls.
    expect([...killedAt].sort()).toEqual(
      expect.arrayContaining([
        'invoke',
        'ledger.advance',
        'ledger.claim',
        'ledger.end',
        'ledger.settle',
        'post',
        'publishes.taskEnded',
        'subscriptions.slice',
      ]),
    );
  });

  it('status: delivering while a task may still run; failed once a task is lost (too old to start, nobody holding it), with what was delivered', async () => {
    const { channel, ids } = await channelOf(20);
    const w = world({ shardSize: 10 });
    const id = publishId();
    await w.start(record(id, channel, ids.length), '{"m":10}');
    const [first, lostTask] = w.queue.splice(0);
    const { big } = w.invocation();
    await w.invocation().run(first);
    expect(await big.status((await db.publishes.get(id))!)).toMatchObject({ status: 'delivering', done: false });
    // The other shard's event is never run: past the maximum event age (and its margin) it is lost.
    // (and the grace for an attempt started at the last moment: its timeout, and a cold start before it)
    w.clock.now += 900_000 + 29_000 + 10_001;
    const status = await big.status((await db.publishes.get(id))!);
    expect(status).toMatchObject({ status: 'failed', done: true, queued: 20 });
    expect(status.sent).toBeGreaterThan(0);
    expect(status.sent).toBeLessThan(20);
    expect(lostTask.taskId).toBe('s1');
  });

  it('probes: a small channel’s subscribers, or a big one’s count', async () => {
    const small = await channelOf(4);
    const bigOne = await channelOf(9);
    const { big } = world().invocation();
    const probedSmall = await big.probe('p', small.channel, 5);
    expect(probedSmall.small && [...probedSmall.ids.ids].sort()).toEqual([...small.ids].sort());
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
