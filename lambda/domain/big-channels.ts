/**
 * Channels too big for one request: their subscribers are split by connection-id ranges into
 * shards, each delivered by a background invocation of its own at its share of the account's
 * delivery budget. A shard that runs short of time hands what is left — the rest of its range and
 * the posts still throttled — to a continuation, so nothing is dropped; counts add up in the
 * publish's record, which the last shard marks done.
 */
import { backoffCeiling, sleep as wait } from '../contract/retry';
import type {
  AsyncInvoker,
  Delivery,
  DeliveryBudgetStore,
  GoneConnection,
  PublishRecord,
  PublishStore,
  SubscriberRange,
  SubscriptionStore,
} from '../ports';
import type { DeliverTask } from '../tasks';

export type { DeliverTask };
import { fanOut, onePage } from './fanout';

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

  async acquire(): Promise<void> {
    const now = this.now();
    const slot = Math.max(now, this.next);
    this.next = slot + 1000 / this.perSecond;
    // Waits shorter than a few milliseconds are not worth a timer.
    if (slot - now >= 5) await this.sleep(slot - now);
  }
}

/**
 * Posts drawn from the deployment's one delivery budget, which every big publish's shards share:
 * a chunk of posts at a time (one write per chunk), waiting while the budget is spent. However many
 * big publishes are in flight, together they post no faster than the budget.
 */
export class SharedPacer {
  private allowance = 0;
  private refilling?: Promise<void>;
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

  async acquire(): Promise<void> {
    while (this.allowance === 0) {
      this.refilling ??= this.refill().finally(() => (this.refilling = undefined));
      await this.refilling;
    }
    this.allowance--;
  }

  private async refill(): Promise<void> {
    for (;;) {
      const waitMs = await this.budget.take(this.chunk, this.perSecond, this.perSecond, this.now());
      if (waitMs === 0) {
        this.allowance += this.chunk;
        return;
      }
      await this.sleep(waitMs);
    }
  }
}

export interface BigChannelsDependencies {
  readonly subscriptions: SubscriptionStore;
  readonly delivery: Pick<Delivery, 'post'>;
  readonly invoker: AsyncInvoker;
  readonly publishes: PublishStore;
  /** Purges connections found gone (in the background). */
  readonly purge: (gone: readonly GoneConnection[]) => Promise<void>;
  readonly concurrency: number;
  /** Posts per second all shards together may make: the share of API Gateway's account-wide 10,000/s. */
  readonly budgetPerSecond: number;
  /** Where that budget is kept, shared by every big publish in flight; without one, each publish paces its own shards. */
  readonly budget?: DeliveryBudgetStore;
  /** Subscribers per shard. @default 10000 */
  readonly shardSize?: number;
  /** @default 32 */
  readonly maxShards?: number;
  /** Subscribers read per page. @default 1000 */
  readonly pageSize?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Time a shard keeps for itself before its deadline: to hand over and record its counts. */
const HANDOVER_MS = 3_000;
/** Throttled subscribers carried per continuation: ~20 bytes each, far below the payload limit. */
const RETRY_BATCH = 2_000;
/** A range whose read fails this many times in a row, reading nothing, is given up (its shard ends, the error is reported). */
const MAX_READ_FAILURES = 3;
/** A read that failed waits before the next try: 1 s, 2 s, 4 s — throttling passes. */
const READ_BACKOFF = { baseMs: 500, maxMs: 4000 };

export class BigChannels {
  constructor(private readonly deps: BigChannelsDependencies) {}

  /**
   * Reads the channel's first `limit + 1` subscribers: all of them if there are no more than
   * `limit` (the caller fans out to these, with no second read), else the count of them all.
   */
  async probe(
    projectId: string,
    channel: string,
    limit: number,
  ): Promise<{ small: true; ids: readonly string[] } | { small: false; count: number }> {
    const all = shardRanges(1)[0];
    for await (const page of this.deps.subscriptions.slice(projectId, channel, all, limit + 1)) {
      if (page.after === undefined && page.ids.length <= limit) return { small: true, ids: page.ids };
      break;
    }
    return { small: false, count: await this.deps.subscriptions.count(projectId, channel) };
  }

  /** Records the publish and starts its shards (which skip `exclude`, if given); returns how many there are. */
  async start(
    record: Omit<PublishRecord, 'sent' | 'failed' | 'stale' | 'shardsPending' | 'done'>,
    body: string,
    exclude?: string,
  ): Promise<number> {
    const shards = Math.min(this.deps.maxShards ?? 32, Math.max(1, Math.ceil(record.queued / (this.deps.shardSize ?? 10_000))));
    await this.deps.publishes.put({ ...record, sent: 0, failed: 0, stale: 0, shardsPending: shards, done: false });
    const ratePerSecond = this.deps.budgetPerSecond / shards;
    await Promise.all(
      shardRanges(shards).map((range) =>
        this.deps.invoker.invoke({
          task: 'deliver',
          publishId: record.id,
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

  /** Delivers one shard until done or until `deadline` (epoch ms) draws near, then hands over. */
  async run(task: DeliverTask, deadline: number): Promise<{ sent: number; failed: number; stale: number; error?: unknown }> {
    const now = this.deps.now ?? Date.now;
    // The deployment's one budget when there is one (every big publish in flight shares it), else
    // this shard's share of it.
    const pacer = this.deps.budget
      ? new SharedPacer(this.deps.budget, this.deps.budgetPerSecond, now, this.deps.sleep)
      : new Pacer(task.ratePerSecond, now);
    const pace = () => pacer.acquire();
    const postsDeadline = deadline - HANDOVER_MS;
    const counts = { sent: 0, failed: 0, stale: 0 };
    const deferred: string[] = [];
    let purgeError: unknown;
    const deliver = async (page: readonly string[]) => {
      const ids = task.exclude === undefined ? page : page.filter((id) => id !== task.exclude);
      const result = await fanOut(onePage(ids), task.body, this.deps.delivery, this.deps.concurrency, postsDeadline, pace);
      counts.sent += result.sent;
      counts.failed += result.failed;
      counts.stale += result.gone.length;
      deferred.push(...result.deferred);
      const { projectId, channel } = task;
      try {
        if (result.gone.length > 0)
          await this.deps.purge(result.gone.map((connectionId) => ({ connectionId, foundThrough: { projectId, channel, connectionId } })));
      } catch (error) {
        // The gone connections expire by TTL anyway; delivering the rest matters more.
        purgeError = error;
      }
    };

    if (task.retry && task.retry.length > 0) await deliver(task.retry);
    let rest: SubscriberRange | undefined = task.rangeDone ? undefined : task.range;
    let readError: unknown;
    let progressed = false;
    if (rest) {
      // A read that failed before waits before trying again: throttling passes.
      if (task.readFailures) await (this.deps.sleep ?? wait)(backoffCeiling(task.readFailures, READ_BACKOFF));
      try {
        for await (const page of this.deps.subscriptions.slice(task.projectId, task.channel, rest, this.deps.pageSize)) {
          progressed = true;
          await deliver(page.ids);
          rest = page.after === undefined ? undefined : { ...task.range, after: page.after };
          if (rest && now() > postsDeadline) break;
        }
      } catch (error) {
        // Nothing read past `rest` was delivered: the continuation starts from there.
        readError = error;
      }
    }
    // Failures count in a row only while no page could be read at all.
    const readFailures = readError === undefined ? 0 : progressed ? 1 : (task.readFailures ?? 0) + 1;
    const givenUp = readFailures >= MAX_READ_FAILURES;
    if (givenUp) rest = undefined;
    // What is left goes on in continuations: the rest of the range with the first retries, and
    // further retries in tasks of their own, so no payload nears the asynchronous invocation limit.
    const retries: string[][] = [];
    for (let i = 0; i < deferred.length; i += RETRY_BATCH) retries.push(deferred.slice(i, i + RETRY_BATCH));
    const continuations: DeliverTask[] = [];
    if (rest !== undefined || retries.length > 0) {
      continuations.push({ ...task, range: rest ?? task.range, rangeDone: rest === undefined, retry: retries.shift() ?? [], readFailures });
    }
    for (const retry of retries) continuations.push({ ...task, rangeDone: true, retry, readFailures: 0 });
    // This shard ends; its continuations are counted before they start, so done cannot come early.
    await this.deps.publishes.addCounts(task.publishId, counts, continuations.length - 1);
    await Promise.all(continuations.map((next) => this.deps.invoker.invoke(next)));
    // Reported after the hand-over, to be logged. A range given up shows in the record as a
    // shortfall: done, with sent + failed + stale under queued.
    const error = givenUp ? readError : purgeError;
    return error === undefined ? counts : { ...counts, error };
  }
}
