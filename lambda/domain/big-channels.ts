/**
 * Channels too big for one request: their subscribers are split by connection-id ranges into
 * shards, each delivered by a background invocation of its own within the account's delivery
 * budget. A shard that runs short of time hands what is left — the rest of its range and the posts
 * still throttled — to a continuation, so nothing is dropped.
 *
 * Lambda may run an asynchronous invocation twice, retry one that failed or timed out, or drop it.
 * So each task (a shard or a continuation) keeps a progress record: one invocation at a time holds
 * it by a lease, records each page it finished, and a retry or a duplicate resumes from there
 * instead of posting again. Every write to the publish's record is idempotent, and a task Lambda
 * dropped shows as the publish failing once its event is too old to be started.
 */
import { createHash } from 'node:crypto';
import { sleep as wait } from '../contract/retry';
import type {
  AsyncInvoker,
  Delivery,
  DeliveryBudgetStore,
  DeliveryCounts,
  GoneConnection,
  PublishRecord,
  PublishStore,
  RecipientPage,
  SubscriberRange,
  SubscriptionStore,
  TaskLedger,
  TaskProgress,
} from '../ports';
import type { DeliverTask } from '../tasks';

export type { DeliverTask };
import { Bodies, fanOut, onePage } from './fanout';
import { claimTask, Holder, keepLease, leaseUntil } from './task-lease';

/** Connection-id characters in byte order: API Gateway's ids are base64 (and we allow base64url). */
const ID_ALPHABET = '+-/0123456789=ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz';

/** `count` contiguous ranges that together cover every connection id, split on the first character. */
export function shardRanges(count: number): SubscriberRange[] {
  const shards = Math.max(1, Math.min(count, ID_ALPHABET.length));
  const ranges: SubscriberRange[] = [];
  for (let i = 0; i < shards; i++) {
    const first = Math.floor((i * ID_ALPHABET.length) / shards);
    const last = Math.floor(((i + 1) * ID_ALPHABET.length) / shards) - 1;
    ranges.push({
      from: i === 0 ? '\u0001' : ID_ALPHABET[first],
      to: i === shards - 1 ? '\uffff' : `${ID_ALPHABET[last]}\uffff`,
    });
  }
  return ranges;
}

/** At most `perSecond` posts a second from this invocation, spread evenly. */
export class Pacer {
  private next = 0;
  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = wait,
  ) {}

  /** Waits for the next post's turn; false, without waiting, if that comes after `deadline`. */
  async acquire(deadline = Infinity): Promise<boolean> {
    const now = this.now();
    const slot = Math.max(now, this.next);
    if (slot > deadline) return false;
    this.next = slot + 1000 / this.perSecond;
    // Waits shorter than a few milliseconds are not worth a timer.
    if (slot - now >= 5) await this.sleep(slot - now);
    return true;
  }
}

/**
 * Posts drawn from the deployment's one delivery budget, which every big publish's shards share:
 * a chunk of posts at a time (one write per chunk), waiting while the budget is spent. However many
 * big publishes are in flight, together they post no faster than the budget.
 */
export class SharedPacer {
  private allowance = 0;
  private refilling?: Promise<boolean>;
  private readonly chunk: number;

  constructor(
    private readonly budget: DeliveryBudgetStore,
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = wait,
  ) {
    // A twentieth of a second of the budget per write: a few writes a second, posts spread finely.
    this.chunk = Math.max(1, Math.min(500, Math.floor(perSecond / 20)));
  }

  /** Takes one post from the budget; false if the budget has none to give before `deadline`. */
  async acquire(deadline = Infinity): Promise<boolean> {
    while (this.allowance === 0) {
      this.refilling ??= this.refill(deadline).finally(() => (this.refilling = undefined));
      if (!(await this.refilling)) return false;
    }
    this.allowance--;
    return true;
  }

  private async refill(deadline: number): Promise<boolean> {
    for (;;) {
      const waitMs = await this.budget.take(this.chunk, this.perSecond, this.perSecond, this.now());
      if (waitMs === 0) {
        this.allowance += this.chunk;
        return true;
      }
      if (this.now() + waitMs > deadline) return false;
      await this.sleep(waitMs);
    }
  }
}

export interface BigChannelsDependencies {
  readonly subscriptions: SubscriptionStore;
  readonly delivery: Pick<Delivery, 'post'>;
  readonly invoker: AsyncInvoker;
  readonly publishes: PublishStore;
  /** Each task's progress and lease. */
  readonly ledger: TaskLedger;
  /** Purges connections found gone (in the background). */
  readonly purge: (gone: readonly GoneConnection[]) => Promise<void>;
  readonly concurrency: number;
  /** Posts per second all shards together may make: the share of API Gateway's account-wide 10,000/s. */
  readonly budgetPerSecond: number;
  /** Where that budget is kept, shared by every big publish in flight; without one, each publish paces its own shards. */
  readonly budget?: DeliveryBudgetStore;
  /** The function's maximum event age: after it, Lambda starts no attempt of a task's event. */
  readonly taskMaxAgeMs: number;
  /** The function's timeout: an attempt started at the maximum age may run this much longer. @default 29000 */
  readonly functionTimeoutMs?: number;
  /** Subscribers per shard. @default 10000 */
  readonly shardSize?: number;
  /** @default 32 */
  readonly maxShards?: number;
  /** Subscribers read per page, and posts per progress write. @default 1000 */
  readonly pageSize?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Time a shard keeps for itself before its deadline, to hand over and record its counts: 3 s, or a quarter of a short invocation's. */
const HANDOVER_MS = 3_000;
const handoverMs = (holder: Holder) => Math.min(HANDOVER_MS, (holder.deadline - holder.now()) / 4);
/** Throttled subscribers carried per continuation: ~20 bytes each, far below the payload limit. */
const RETRY_BATCH = 2_000;
/** An attempt Lambda starts at the last moment may first spend this long starting (a cold start's init), at most. */
const COLD_START_MS = 10_000;
/** Progress writes that may fail in a row before the task stops (and Lambda's retry resumes): each repeats a page more on a kill. */
const MAX_UNRECORDED_PAGES = 2;

/** What is left when a task ends: continuations, each with what it goes on with. */
interface Continuation {
  readonly taskId: string;
  /** Where the range resumes; absent when the range is done and only `retry` is left. */
  readonly after?: string;
  readonly rangeDone: boolean;
  readonly retry: readonly string[];
}

/** What an invocation of a shard did. */
export type ShardRun =
  /** It delivered (its counts: this invocation's own), and ended the task, handing any rest to continuations. */
  | ({ readonly outcome: 'ended'; readonly continuations: number; readonly resumed: boolean } & DeliveryCounts)
  /** Another invocation holds the task and is alive: this one was a duplicate. */
  | { readonly outcome: 'duplicate' }
  /** The task had ended already: only what its ending left undone was done. */
  | { readonly outcome: 'concluded' }
  /** It lost the task's lease midway (its renewals failed): whoever took the task over goes on. */
  | ({ readonly outcome: 'superseded' } & DeliveryCounts);

/** How a publish stands, for `GET /broadcast/{id}`. */
export type PublishStatus = Omit<PublishRecord, 'pending'> & {
  /** `failed`: a task of it was lost (dropped by Lambda after its retries, or too old to start); the counts say what was delivered. */
  readonly status: 'delivering' | 'done' | 'failed';
};

export class BigChannels {
  private readonly now: () => number;

  constructor(private readonly deps: BigChannelsDependencies) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * Reads the channel's first `limit + 1` subscribers: all of them if there are no more than
   * `limit` (the caller fans out to these, with no second read), else the count of them all.
   */
  async probe(
    projectId: string,
    channel: string,
    limit: number,
  ): Promise<{ small: true; ids: RecipientPage } | { small: false; count: number }> {
    const all = shardRanges(1)[0];
    for await (const page of this.deps.subscriptions.slice(projectId, channel, all, limit + 1)) {
      if (page.after === undefined && page.ids.length <= limit) return { small: true, ids: { ids: page.ids, pusher: page.pusher } };
      break;
    }
    return { small: false, count: await this.deps.subscriptions.count(projectId, channel) };
  }

  /** Records the publish and starts its shards (which skip `exclude`, if given); returns how many there are. */
  async start(
    record: Omit<PublishRecord, 'sent' | 'failed' | 'stale' | 'done' | 'pending'>,
    body: string,
    exclude?: string,
  ): Promise<number> {
    const shards = Math.min(this.deps.maxShards ?? 32, Math.max(1, Math.ceil(record.queued / (this.deps.shardSize ?? 10_000))));
    const tasks = shardRanges(shards).map((range, i) => ({ taskId: `s${i}`, range }));
    const startsUntil = this.startsUntil();
    await this.deps.publishes.put({
      ...record,
      sent: 0,
      failed: 0,
      stale: 0,
      done: false,
      pending: Object.fromEntries(tasks.map(({ taskId }) => [taskId, startsUntil])),
    });
    const ratePerSecond = this.deps.budgetPerSecond / shards;
    await Promise.all(
      tasks.map(({ taskId, range }) =>
        this.deps.invoker.invoke({
          task: 'deliver',
          publishId: record.id,
          taskId,
          projectId: record.projectId,
          channel: record.channel!,
          body,
          range,
          ratePerSecond,
          ...(exclude && { exclude }),
        }),
      ),
    );
    return shards;
  }

  /**
   * Delivers one task until done or until the invocation's deadline draws near, then hands over:
   * resumed from its progress record if an earlier invocation of it got some way, skipped if another
   * holds it. Throws when it cannot go on (a read failing): Lambda retries it, and the retry resumes
   * after the last page recorded.
   */
  async run(task: DeliverTask, holder: Holder): Promise<ShardRun> {
    const claim = await claimTask(holder, taskKey(task.publishId, task.taskId), handoverMs(holder));
    if (claim.kind === 'held') return { outcome: 'duplicate' };
    if (claim.kind === 'ended') {
      // Ended, but perhaps killed before its ending was carried out: carried out again (idempotently),
      // its continuations given a new start-by time since they start only now.
      if (!claim.progress.settled) {
        await this.conclude(task, claim.progress, JSON.parse(claim.progress.ending!) as Continuation[], true);
      }
      return { outcome: 'concluded' };
    }
    return this.deliverFrom(task, claim.progress, holder);
  }

  private async deliverFrom(task: DeliverTask, progress: TaskProgress, holder: Holder): Promise<ShardRun> {
    const { ledger } = this.deps;
    const { owner } = holder;
    const key = taskKey(task.publishId, task.taskId);
    const counts = { sent: progress.sent, failed: progress.failed, stale: progress.stale };
    const deferred = [...progress.deferred];
    let after = progress.after ?? task.range.after;
    let rangeDone = (task.rangeDone ?? false) || progress.rangeDone;
    let retried = progress.retried || !task.retry?.length;
    let lost = false;
    // Renewed while it runs, however slowly its pages go; a renewal that finds the lease taken stops it.
    const stopRenewing = keepLease(holder, key, () => (lost = true));
    /**
     * Records a page's progress; false if the lease was lost. A failed write is tried again with the
     * next page, but not for ever: each unrecorded page would be posted again after a kill, so after
     * a few in a row the task stops and Lambda's retry resumes from the last one recorded.
     */
    let unrecorded = 0;
    const record = async () => {
      try {
        const held = !lost && (await ledger.advance(key, owner, leaseUntil(holder), { after, rangeDone, retried, deferred, ...counts }));
        unrecorded = 0;
        return held;
      } catch (error) {
        if (++unrecorded >= MAX_UNRECORDED_PAGES) {
          await ledger.release(key, owner).catch(() => undefined);
          throw error;
        }
        return !lost;
      }
    };
    const mine = () => ({
      sent: counts.sent - progress.sent,
      failed: counts.failed - progress.failed,
      stale: counts.stale - progress.stale,
    });
    try {
      const pacer = this.deps.budget
        ? new SharedPacer(this.deps.budget, this.deps.budgetPerSecond, this.now, this.deps.sleep)
        : new Pacer(task.ratePerSecond, this.now, this.deps.sleep);
      const pace = (deadline: number) => pacer.acquire(deadline);
      const postsDeadline = holder.deadline - handoverMs(holder);
      // Made once per invocation: the message in each protocol its subscribers speak.
      const bodies = new Bodies(task.body);
      const deliver = async (page: RecipientPage) => {
        const ids = task.exclude === undefined ? page.ids : page.ids.filter((id) => id !== task.exclude);
        const result = await fanOut(
          onePage(ids, page.pusher),
          bodies,
          this.deps.delivery,
          this.deps.concurrency,
          postsDeadline,
          pace,
          this.now,
        );
        counts.sent += result.sent;
        counts.failed += result.failed;
        counts.stale += result.gone.length;
        deferred.push(...result.deferred.map((id) => (page.pusher?.has(id) ? `${PUSHER_MARK}${id}` : id)));
        const { projectId, channel } = task;
        // Purged in the background; if that fails, the gone connections expire by TTL anyway.
        if (result.gone.length > 0)
          await this.deps
            .purge(result.gone.map((connectionId) => ({ connectionId, foundThrough: { projectId, channel, connectionId } })))
            .catch(() => undefined);
      };

      if (!retried) {
        await deliver(recipientsOf(task.retry ?? []));
        retried = true;
        if (!(await record())) return { outcome: 'superseded', ...mine() };
      }
      if (!rangeDone) {
        let stopped = false;
        try {
          for await (const page of this.deps.subscriptions.slice(
            task.projectId,
            task.channel,
            { ...task.range, after },
            this.deps.pageSize,
          )) {
            await deliver(page);
            if (page.after === undefined) rangeDone = true;
            else after = page.after;
            if (!(await record())) return { outcome: 'superseded', ...mine() };
            if (!rangeDone && this.now() > postsDeadline) {
              stopped = true;
              break;
            }
          }
        } catch (error) {
          // Nothing read past the last page recorded was delivered: Lambda's retry resumes there.
          await ledger.release(key, owner).catch(() => undefined);
          throw error;
        }
        if (!stopped) rangeDone = true;
      }

      // What is left goes on in continuations: the rest of the range with the first retries, and
      // further retries in tasks of their own, so no payload nears the asynchronous invocation limit.
      const retries: string[][] = [];
      for (let i = 0; i < deferred.length; i += RETRY_BATCH) retries.push(deferred.slice(i, i + RETRY_BATCH));
      const continuations: Continuation[] = [];
      if (!rangeDone || retries.length > 0) {
        continuations.push({
          taskId: continuationId(task.taskId, 0),
          after: rangeDone ? undefined : after,
          rangeDone,
          retry: retries.shift() ?? [],
        });
      }
      retries.forEach((retry, i) => continuations.push({ taskId: continuationId(task.taskId, i + 1), rangeDone: true, retry }));
      if (!(await ledger.end(key, owner, JSON.stringify(continuations), counts))) return { outcome: 'superseded', ...mine() };
      await this.conclude(task, counts, continuations);
      return { outcome: 'ended', ...mine(), continuations: continuations.length, resumed: progress.attempts > 1 };
    } finally {
      stopRenewing();
    }
  }

  /** Carries out a task's ending: its counts and continuations into the publish's record, then the continuations started. */
  private async conclude(task: DeliverTask, counts: DeliveryCounts, continuations: readonly Continuation[], again = false): Promise<void> {
    const startsUntil = this.startsUntil();
    await this.deps.publishes.taskEnded(
      task.publishId,
      task.taskId,
      { sent: counts.sent, failed: counts.failed, stale: counts.stale },
      Object.fromEntries(continuations.map(({ taskId }) => [taskId, startsUntil])),
      again,
    );
    await Promise.all(
      continuations.map(({ taskId, after, rangeDone, retry }) =>
        this.deps.invoker.invoke({ ...task, taskId, range: { ...task.range, after }, rangeDone, retry: [...retry] }),
      ),
    );
    await this.deps.ledger.settle(taskKey(task.publishId, task.taskId));
  }

  /**
   * How a publish stands: done when every task has ended; failed when a task was lost — its event
   * too old for Lambda to start it again and no invocation holding it — and then its counts include
   * what the lost tasks delivered before. Reads only overdue tasks.
   */
  async status(record: PublishRecord): Promise<PublishStatus> {
    const { pending, ...rest } = record;
    const waiting = Object.entries(pending ?? {});
    if (waiting.length === 0) return { ...rest, status: rest.done ? 'done' : 'delivering' };
    const now = this.now();
    // Past its start-by time Lambda starts no attempt; one started just before may still be cold-starting, then running.
    const timeout = this.deps.functionTimeoutMs ?? 29_000;
    const grace = timeout + Math.min(COLD_START_MS, timeout);
    const counts = { sent: rest.sent, failed: rest.failed, stale: rest.stale };
    let lost = 0;
    for (const [taskId] of waiting.filter(([, startsUntil]) => startsUntil + grace < now).slice(0, MAX_OVERDUE_READS)) {
      const task = await this.deps.ledger.inspect(taskKey(record.id, taskId));
      if (task && task.leaseUntil >= now) continue;
      lost++;
      counts.sent += task?.counts.sent ?? 0;
      counts.failed += task?.counts.failed ?? 0;
      counts.stale += task?.counts.stale ?? 0;
    }
    if (lost === 0) return { ...rest, done: false, status: 'delivering' };
    return { ...rest, ...counts, done: lost === waiting.length, status: 'failed' };
  }

  private startsUntil(): number {
    return this.now() + this.deps.taskMaxAgeMs;
  }
}

/** Overdue tasks a status read looks at, at most: one is enough to call the publish failed. */
const MAX_OVERDUE_READS = 25;

const taskKey = (publishId: string, taskId: string) => `${publishId}#${taskId}`;

/** Marks a Pusher subscriber in a shard's list of subscribers to try again (connection ids never hold `!`). */
const PUSHER_MARK = '!';

/** A list of subscribers to try again as a page: marked ids are Pusher subscribers. */
function recipientsOf(marked: readonly string[]): RecipientPage {
  const ids = marked.map((id) => (id.startsWith(PUSHER_MARK) ? id.slice(PUSHER_MARK.length) : id));
  const pusher = new Set(marked.filter((id) => id.startsWith(PUSHER_MARK)).map((id) => id.slice(PUSHER_MARK.length)));
  return pusher.size > 0 ? { ids, pusher } : { ids };
}

/**
 * A continuation's id: the same whenever the same task ends the same way (so a retry starts the same
 * continuation, which its own record then keeps from running twice), and short however long the chain.
 */
function continuationId(taskId: string, index: number): string {
  const shard = taskId.split('.')[0];
  return `${shard}.${createHash('sha256').update(`${taskId}/${index}`).digest('base64url').slice(0, 16)}`;
}
