/**
 * Lifecycle events, for users to route with EventBridge rules and for the projects' webhooks: a
 * channel's first subscriber (`channel_occupied`) and last (`channel_vacated`), a presence member's
 * arrival and departure. Off unless the deployment names a bus; then each subscribe and
 * unsubscribe also counts the channel's subscribers (one atomic write). Webhooks also get what
 * only they ask for: client events, cache misses, subscription counts. Best effort: a failure is
 * logged, never answered.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { EventSink, LifecycleEventName, OccupancyStore } from '../ports';
import type { SubscriptionCounts } from './subscription-counts';
import type { Webhooks } from './webhooks';

export interface LifecycleDependencies {
  /** Absent: lifecycle events are off, and nothing is counted. */
  readonly sink?: EventSink;
  readonly occupancy: Pick<OccupancyStore, 'change'>;
  /** The projects' webhooks, fed the same events. */
  readonly webhooks?: Pick<Webhooks, 'collect'>;
  /** Subscription count notices, for projects that want them. */
  readonly counts?: Pick<SubscriptionCounts, 'changed'>;
  readonly logger: Pick<Logger, 'warn'>;
  readonly now?: () => number;
}

/** A client event as a webhook reports it. */
export interface ClientEventReport {
  readonly channel: string;
  readonly event: string;
  /** As the client sent it, JSON text. */
  readonly data: string;
  readonly socketId?: string;
  readonly userId?: string;
}

export class Lifecycle {
  private readonly now: () => number;

  constructor(private readonly deps: LifecycleDependencies) {
    this.now = deps.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.deps.sink !== undefined;
  }

  /** A connection joined the channel (not one it was already in). */
  async subscribed(projectId: string, channel: string): Promise<void> {
    if (!this.enabled) return;
    await this.guard(async () => {
      const count = await this.deps.occupancy.change(projectId, channel, 1);
      if (count === 1) await this.send('channel_occupied', projectId, channel);
      await this.deps.counts?.changed(projectId, channel, count);
    });
  }

  /** A connection left the channel, by unsubscribe or by going. */
  async unsubscribed(projectId: string, channel: string): Promise<void> {
    if (!this.enabled) return;
    await this.guard(async () => {
      const count = await this.deps.occupancy.change(projectId, channel, -1);
      if (count === 0) await this.send('channel_vacated', projectId, channel);
      await this.deps.counts?.changed(projectId, channel, count);
    });
  }

  async emit(name: 'member_added' | 'member_removed', projectId: string, channel: string, userId: string): Promise<void> {
    if (!this.enabled) return;
    await this.guard(() => this.send(name, projectId, channel, userId));
  }

  /** A client event was sent on a channel: for webhooks that ask (`client_event`). Says how many webhooks took it. */
  async clientEvent(projectId: string, report: ClientEventReport): Promise<number> {
    const webhooks = this.deps.webhooks;
    if (!this.enabled || !webhooks) return 0;
    let taken = 0;
    await this.guard(async () => {
      taken = await webhooks.collect(projectId, {
        name: 'client_event',
        channel: report.channel,
        event: report.event,
        data: report.data,
        ...(report.socketId !== undefined && { socket_id: report.socketId }),
        ...(report.userId !== undefined && { user_id: report.userId }),
      });
    });
    return taken;
  }

  /** A subscriber to a cache channel found nothing cached: for webhooks that ask (`cache_miss`). Says how many took it. */
  async cacheMiss(projectId: string, channel: string): Promise<number> {
    const webhooks = this.deps.webhooks;
    if (!this.enabled || !webhooks) return 0;
    let taken = 0;
    await this.guard(async () => {
      taken = await webhooks.collect(projectId, { name: 'cache_miss', channel });
    });
    return taken;
  }

  private async send(name: LifecycleEventName, projectId: string, channel: string, userId?: string): Promise<void> {
    // Collected first (it only keeps it): EventBridge failing does not cost the webhooks their event.
    await this.deps.webhooks?.collect(projectId, { name, channel, ...(userId !== undefined && { user_id: userId }) });
    await this.deps.sink!.emit([
      { name, projectId, channel, ...(userId !== undefined && { userId }), time: new Date(this.now()).toISOString() },
    ]);
  }

  private async guard(work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.deps.logger.warn('lifecycle event not sent', { error: (error as Error).message });
    }
  }
}
