/**
 * Delivers one ready message to many connections with bounded concurrency, starting on the first
 * page of recipients while later pages are still being read. Purging the gone is the caller's.
 */
import pLimit from 'p-limit';
import { pusherBodyOf } from '../protocol/pusher';
import type { ConnectionStore, Delivery, FanoutObserver, GoneConnection, RecipientPage, SubscriptionStore } from '../ports';

export interface FanoutResult {
  readonly sent: number;
  readonly failed: number;
  /** Connections that answered 410 Gone: closed without a `$disconnect` we saw. */
  readonly gone: readonly string[];
  /** Connections still throttled when the deadline came: for another invocation to retry. */
  readonly deferred: readonly string[];
}

/**
 * How long one fan-out keeps retrying throttled and failing posts: well inside API Gateway's 29 s
 * integration timeout, leaving time for the answer.
 */
export const FANOUT_RETRY_BUDGET_MS = 20_000;

/** Recipients a page at a time: read as they come (a store's pages), or already in hand. */
export type RecipientPages = AsyncIterable<RecipientPage> | Iterable<RecipientPage>;

/**
 * One message in each protocol: the native body, and the Pusher frame made from it the first time
 * a Pusher subscriber needs it — once per fan-out, and never on a channel without one.
 */
export class Bodies {
  private pusherBody?: string | null;
  constructor(readonly native: string) {}

  /** The Pusher frame; undefined when Pusher has none for this message (a system notice), which its subscribers are not sent. */
  pusher(): string | undefined {
    if (this.pusherBody === undefined) this.pusherBody = pusherBodyOf(this.native) ?? null;
    return this.pusherBody ?? undefined;
  }
}

/**
 * Posts one message to every recipient, `concurrency` at a time. Nothing is posted once `deadline`
 * has passed: what is left then is `deferred`, for the caller to hand on — so a fan-out ends by its
 * deadline, whatever the pace.
 */
export async function fanOut(
  recipients: RecipientPages,
  message: string | Bodies,
  delivery: Pick<Delivery, 'post'>,
  concurrency: number,
  deadline = Date.now() + FANOUT_RETRY_BUDGET_MS,
  /** Waits for the delivery budget before each post, when there is one: false if it cannot be had by the deadline. */
  pace?: (deadline: number) => Promise<boolean>,
  now: () => number = Date.now,
): Promise<FanoutResult> {
  const limit = pLimit(concurrency);
  const gone: string[] = [];
  const deferred: string[] = [];
  let sent = 0;
  let failed = 0;
  const posts: Promise<void>[] = [];
  const bodies = typeof message === 'string' ? new Bodies(message) : message;
  for await (const page of recipients) {
    for (const connectionId of page.ids) {
      const body = page.pusher?.has(connectionId) ? bodies.pusher() : bodies.native;
      if (body === undefined) continue;
      posts.push(
        limit(async () => {
          // Past the deadline, or no budget by then (or none to be had at all): left for the next invocation.
          const paced = now() <= deadline && (!pace || (await pace(deadline).catch(() => false)));
          const outcome = paced && now() <= deadline ? await delivery.post(connectionId, body, deadline) : 'deferred';
          if (outcome === 'sent') sent++;
          else if (outcome === 'gone') gone.push(connectionId);
          else if (outcome === 'deferred') deferred.push(connectionId);
          else failed++;
        }),
      );
    }
  }
  await Promise.all(posts);
  return { sent, failed, gone, deferred };
}

/** A fixed list as one page (none if it is empty); `pusher` as the page it came from said. */
export function onePage(connectionIds: readonly string[], pusher?: ReadonlySet<string>): Iterable<RecipientPage> {
  return connectionIds.length > 0 ? [pusher && pusher.size > 0 ? { ids: connectionIds, pusher } : { ids: connectionIds }] : [];
}

export type { GoneConnection } from '../ports';

/** What one fan-out reached; the gone connections are left for the caller to purge. */
export interface Reached {
  readonly sent: number;
  readonly failed: number;
  readonly gone: readonly GoneConnection[];
}

export interface ChannelFanoutDependencies {
  readonly connections: ConnectionStore;
  readonly subscriptions: SubscriptionStore;
  readonly delivery: Pick<Delivery, 'post'>;
  /** Posts in flight at once for one channel. */
  readonly concurrency: number;
  /** Told of every fan-out, for metrics. */
  readonly observer?: FanoutObserver;
}

/** Sends a ready message to a channel's subscribers or to one connection of a project. */
export class ChannelFanout {
  constructor(private readonly deps: ChannelFanoutDependencies) {}

  /** Every live subscriber of the project's channel but those in `exclude`. */
  async toChannel(projectId: string, channel: string, body: string, exclude?: ReadonlySet<string>): Promise<Reached> {
    const subscribers = this.deps.subscriptions.subscribers(projectId, channel);
    const result = await this.observed(exclude ? without(subscribers, exclude) : subscribers, body, this.deps.concurrency);
    return { ...result, gone: result.gone.map((connectionId) => ({ connectionId, foundThrough: { projectId, channel, connectionId } })) };
  }

  /** A channel's subscribers, already read by the caller. */
  async toRecipients(projectId: string, channel: string, recipients: RecipientPage, body: string): Promise<Reached> {
    const result = await this.observed(onePage(recipients.ids, recipients.pusher), body, this.deps.concurrency);
    return { ...result, gone: result.gone.map((connectionId) => ({ connectionId, foundThrough: { projectId, channel, connectionId } })) };
  }

  /** One connection, if it belongs to the project; undefined if it does not (or no longer) exist there. */
  async toConnection(projectId: string, connectionId: string, body: string): Promise<Reached | undefined> {
    const target = await this.deps.connections.get(connectionId);
    // Another project's connection is reported exactly like a missing one: nothing leaks across projects.
    if (!target || target.projectId !== projectId) return undefined;
    const result = await this.observed(
      onePage([connectionId], target.protocol === 'pusher' ? new Set([connectionId]) : undefined),
      body,
      1,
    );
    return { ...result, gone: result.gone.map((id) => ({ connectionId: id })) };
  }

  /** A fan-out inside one request: what its deadline leaves undelivered counts as failed. */
  private async observed(recipients: RecipientPages, body: string, concurrency: number): Promise<Omit<FanoutResult, 'deferred'>> {
    const started = performance.now();
    const { deferred, ...result } = await fanOut(recipients, body, this.deps.delivery, concurrency);
    const counted = { ...result, failed: result.failed + deferred.length };
    this.observe(counted, started);
    return counted;
  }

  /** Tells the observer how a fan-out went. */
  observe(result: { sent: number; failed: number; gone: readonly unknown[] }, started: number): void {
    this.deps.observer?.fanout({
      sent: result.sent,
      failed: result.failed,
      stale: result.gone.length,
      durationMs: Math.round(performance.now() - started),
    });
  }
}

async function* without(pages: AsyncIterable<RecipientPage>, exclude: ReadonlySet<string>): AsyncIterable<RecipientPage> {
  for await (const page of pages) {
    const ids = page.ids.filter((id) => !exclude.has(id));
    if (ids.length > 0) yield { ...page, ids };
  }
}
