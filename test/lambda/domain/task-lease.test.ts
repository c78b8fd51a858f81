/**
 * Holding a background task, over the real ledger (dynalite) on a simulated clock: a holder's
 * heartbeat keeps its lease while it works, so a duplicate that waits for the lease finds it
 * renewed; a dead holder's lease runs out with its deadline, so a retry takes the task over.
 */
import { DynamoTaskLedger } from '../../../lambda/adapters/dynamo-tasks';
import { claimTask, Holder, keepLease, LEASE_MS } from '../../../lambda/domain/task-lease';
import { startTestStore, TestStore } from '../../helpers/dynamo';

let db: TestStore;
beforeAll(async () => {
  db = await startTestStore();
});
afterAll(() => db.stop());

function clock() {
  const state = { now: Date.parse('2026-11-21T00:00:00.000Z') + Math.floor(Math.random() * 1e9) };
  const timers = new Set<{ next: number; every: number; fn: () => Promise<unknown> }>();
  const sleep = async (ms: number) => {
    const until = state.now + ms;
    for (;;) {
      const due = [...timers].filter((t) => t.next <= until).sort((a, b) => a.next - b.next)[0];
      if (!due) break;
      state.now = Math.max(state.now, due.next);
      due.next += due.every;
      await due.fn();
    }
    state.now = until;
  };
  const every = (ms: number, fn: () => Promise<unknown>) => {
    const timer = { next: state.now + ms, every: ms, fn };
    timers.add(timer);
    return () => void timers.delete(timer);
  };
  let owners = 0;
  const holder = (ledger: DynamoTaskLedger, timeMs = 29_000): Holder => ({
    ledger,
    owner: `invocation-${++owners}`,
    deadline: state.now + timeMs,
    now: () => state.now,
    sleep,
    every,
  });
  return { state, sleep, holder };
}

let tasks = 0;
const key = () => `lease-test#${++tasks}`;

describe('claimTask and keepLease', () => {
  it('a live holder renews its lease: a duplicate waits for it, finds it renewed, and leaves the task alone', async () => {
    const c = clock();
    const task = key();
    const holder = c.holder(db.tasks);
    expect((await claimTask(holder, task, 3_000)).kind).toBe('claimed');
    const stop = keepLease(holder, task, () => undefined);
    const duplicate = c.holder(db.tasks);
    expect(await claimTask(duplicate, task, 3_000)).toMatchObject({ kind: 'held' });
    stop();
  });

  it('without renewals the lease runs out: the waiting invocation takes the task over', async () => {
    const c = clock();
    const task = key();
    expect((await claimTask(c.holder(db.tasks), task, 3_000)).kind).toBe('claimed');
    // The first holder died (no heartbeat): the next one waits for its lease, then has the task.
    const next = c.holder(db.tasks);
    const started = c.state.now;
    expect((await claimTask(next, task, 3_000)).kind).toBe('claimed');
    expect(c.state.now - started).toBeGreaterThanOrEqual(LEASE_MS);
  });

  it('a lease ends with its holder’s deadline: a short invocation’s task is free as soon as it would have been killed', async () => {
    const c = clock();
    const task = key();
    expect((await claimTask(c.holder(db.tasks, 4_000), task, 1_000)).kind).toBe('claimed');
    await c.sleep(4_600);
    expect((await claimTask(c.holder(db.tasks), task, 3_000)).kind).toBe('claimed');
  });

  it('a lease that outlasts this invocation’s time is not waited for: Lambda’s retry comes back later', async () => {
    const c = clock();
    const task = key();
    await claimTask(c.holder(db.tasks), task, 3_000);
    await expect(claimTask(c.holder(db.tasks, 10_000), task, 3_000)).rejects.toMatchObject({ name: 'TaskHeldError' });
  });
});

describe('DynamoTaskLedger when an answer is lost', () => {
  it('a claim or an ending that landed but whose answer was lost (the SDK retries it) still counts as done by its owner', async () => {
    const task = key();
    const now = Date.now();
    expect((await db.tasks.claim(task, 'a', now + 15_000, now)).kind).toBe('claimed');
    // The same claim again, as the SDK's retry of it would be: the owner's own lease.
    expect((await db.tasks.claim(task, 'a', now + 15_000, now)).kind).toBe('claimed');
    expect((await db.tasks.claim(task, 'b', now + 15_000, now)).kind).toBe('held');
    const counts = { sent: 3, failed: 0, stale: 0 };
    expect(await db.tasks.end(task, 'a', '[]', counts)).toBe(true);
    expect(await db.tasks.end(task, 'a', '[]', counts)).toBe(true);
    expect(await db.tasks.end(task, 'b', '[]', counts)).toBe(false);
  });

  it('a released task keeps no owner: a renewal already on its way cannot take the lease back', async () => {
    const task = key();
    const now = Date.now();
    await db.tasks.claim(task, 'a', now + 15_000, now);
    await db.tasks.release(task, 'a');
    expect(await db.tasks.renew(task, 'a', now + 30_000)).toBe(false);
    expect((await db.tasks.claim(task, 'b', now + 15_000, now)).kind).toBe('claimed');
  });
});
