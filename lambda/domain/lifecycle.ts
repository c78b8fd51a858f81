/**
 * Lifecycle events, for users to route with EventBridge rules: a channel's first subscriber
 * (`channel_occupied`) and last (`channel_vacated`), a presence member's arrival and departure.
 * Off unless the deployment names a bus; then each subscribe and unsubscribe also counts the
 * channel's subscribers (one atomic write). Best effort: a failure is logged, never answered.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { EventSink, LifecycleEventName, OccupancyStore } from '../ports';

export interface LifecycleDependencies {
  /** Absent: lifecycle events are off, and nothing is counted. */
  readonly sink?: EventSink;
  readonly occupancy: OccupancyStore;
  readonly logger: Pick<Logger, 'warn'>;
  readonly now?: () => number;
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
      if ((await this.deps.occupancy.change(projectId, channel, 1)) === 1) await this.send('channel_occupied', projectId, channel);
    });
  }

  /** A connection left the channel, by unsubscribe or by going. */
  async unsubscribed(projectId: string, channel: string): Promise<void> {
    if (!this.enabled) return;
    await this.guard(async () => {
      if ((await this.deps.occupancy.change(projectId, channel, -1)) === 0) await this.send('channel_vacated', projectId, channel);
    });
  }

  async emit(name: 'member_added' | 'member_removed', projectId: string, channel: string, userId: string): Promise<void> {
    if (!this.enabled) return;
    await this.guard(() => this.send(name, projectId, channel, userId));
  }

  private send(name: LifecycleEventName, projectId: string, channel: string, userId?: string): Promise<void> {
    return this.deps.sink!.emit([
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
