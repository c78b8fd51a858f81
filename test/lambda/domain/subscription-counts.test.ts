/**
 * Subscription count notices over the real occupancy store (dynalite): the first change in a window
 * is told at once, the rest make one notice at the window's end that tells the count then; off
 * projects and big channels get none.
 */
import { DynamoOccupancyStore } from '../../../lambda/adapters/dynamo-occupancy';
import { OPEN_PROJECT_SETTINGS } from '../../../lambda/contract/limits';
import { noticeWindowMs, SubscriptionCounts } from '../../../lambda/domain/subscription-counts';
import type { BackgroundTask } from '../../../lambda/ports';
import { LOCAL_TABLES } from '../../../local/store';
import { startTestStore, TestStore } from '../../helpers/dynamo';

let db: TestStore;
let now = Date.parse('2026-11-30T10:00:00.000Z');
let occupancy: DynamoOccupancyStore;

beforeAll(async () => {
  db = await startTestStore();
  occupancy = new DynamoOccupancyStore(db.documents, LOCAL_TABLES.channels.name, () => now);
});
afterAll(() => db.stop());

function setup(subscriptionCount = true) {
  const told: { channel: string; body: string }[] = [];
  const tasks: BackgroundTask[] = [];
  const hooks: unknown[] = [];
  const counts = new SubscriptionCounts({
    settings: { of: async () => ({ ...OPEN_PROJECT_SETTINGS, subscriptionCount }) },
    occupancy,
    fanout: { toChannel: async (_p, channel, body) => (told.push({ channel, body }), { sent: 1, failed: 0, gone: [] }) },
    invoker: { invoke: async (task) => void tasks.push(task) },
    webhooks: { collect: async (_p, event) => (hooks.push(event), 1) },
    purge: async () => undefined,
    now: () => now,
    // The wait passes on the test's clock.
    sleep: async (ms) => void (now += ms),
  });
  return { counts, told, tasks, hooks };
}

/** A subscribe as lifecycle counts it, then the notice logic. */
async function join(counts: SubscriptionCounts, channel: string, delta = 1) {
  const count = await occupancy.change('p', channel, delta);
  await counts.changed('p', channel, count);
}

describe('SubscriptionCounts', () => {
  it('tells the first change at once and schedules one notice for the rest of the window, which tells the count then', async () => {
    const { counts, told, tasks, hooks } = setup();
    await join(counts, 'storm');
    expect(told.map((t) => JSON.parse(t.body))).toEqual([{ kind: 'notice', type: 'subscription_count', channel: 'storm', count: 1 }]);
    for (let i = 0; i < 9; i++) await join(counts, 'storm');
    await join(counts, 'storm', -1);
    // One task for the whole window, due at its end.
    expect(tasks).toEqual([{ task: 'count', projectId: 'p', channel: 'storm', at: now + noticeWindowMs(1) }]);
    const [task] = tasks as Extract<BackgroundTask, { task: 'count' }>[];
    expect(await counts.due('p', 'storm', task.at)).toBe(9);
    expect(told.map((t) => JSON.parse(t.body).count)).toEqual([1, 9]);
    expect(hooks).toEqual([
      { name: 'subscription_count', channel: 'storm', subscription_count: 1 },
      { name: 'subscription_count', channel: 'storm', subscription_count: 9 },
    ]);
    // A change after the window is told at once again.
    now += noticeWindowMs(9);
    await join(counts, 'storm');
    expect(told.map((t) => JSON.parse(t.body).count)).toEqual([1, 9, 10]);
  });

  it('stays quiet for projects that did not turn it on, and on channels over 1,000 subscribers; a longer window on bigger ones', async () => {
    const off = setup(false);
    await join(off.counts, 'quiet');
    expect(off.told).toEqual([]);
    const big = setup();
    await big.counts.changed('p', 'big', 1001);
    expect(big.told).toEqual([]);
    expect(noticeWindowMs(10)).toBe(2000);
    expect(noticeWindowMs(500)).toBe(10_000);
  });
});
