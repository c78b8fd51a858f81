/**
 * Pusher's `pusher_internal:subscription_count` (natively a `subscription_count` notice): a
 * channel's subscribers are told its count when it changes, for projects that turn it on. A join
 * storm must not become a notice storm, so a channel gets at most one notice per window (2 s, 20 ms
 * more per subscriber: at most 50 posts a second), and none past 1,000 subscribers. A change inside
 * the window schedules one notice for the window's end (a background task), which says the count
 * then: the last notice always tells the count the storm left.
 */
import { SUBSCRIPTION_COUNT_LIMITS } from '../contract/limits';
import type { ProjectSettings } from '../contract/limits';
import { encode, outbound } from '../protocol';
import type { AsyncInvoker, GoneConnection, OccupancyStore } from '../ports';
import type { ChannelFanout } from './fanout';
import type { Webhooks } from './webhooks';

export interface SubscriptionCountsDependencies {
  readonly settings: { of(projectId: string): Promise<ProjectSettings> };
  readonly occupancy: OccupancyStore;
  readonly fanout: Pick<ChannelFanout, 'toChannel'>;
  readonly invoker: AsyncInvoker;
  readonly webhooks?: Pick<Webhooks, 'collect'>;
  /** Connections the notice found gone go to a purge, as a publish's do. */
  readonly purge: (gone: readonly GoneConnection[]) => Promise<void>;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

/** The least time between two notices to a channel of `count` subscribers. */
export const noticeWindowMs = (count: number): number =>
  Math.max(SUBSCRIPTION_COUNT_LIMITS.windowMs, count * SUBSCRIPTION_COUNT_LIMITS.windowMsPerSubscriber);

export class SubscriptionCounts {
  constructor(private readonly deps: SubscriptionCountsDependencies) {}

  /** The channel's count changed to `count` (lifecycle counted it). */
  async changed(projectId: string, channel: string, count: number): Promise<void> {
    if (count > SUBSCRIPTION_COUNT_LIMITS.maxSubscribers) return;
    if (!(await this.deps.settings.of(projectId)).subscriptionCount) return;
    const now = this.deps.now();
    const turn = await this.deps.occupancy.claimNotice(projectId, channel, now, noticeWindowMs(count));
    if (turn.claim === 'now') await this.tell(projectId, channel, count);
    else if (turn.claim === 'later') await this.deps.invoker.invoke({ task: 'count', projectId, channel, at: turn.at });
  }

  /** The notice scheduled for the end of a window: waits for it, then tells the count as it is. */
  async due(projectId: string, channel: string, at: number): Promise<number | undefined> {
    const wait = at - this.deps.now();
    if (wait > 0) await this.deps.sleep(wait);
    const count = await this.deps.occupancy.settleNotice(projectId, channel, this.deps.now());
    if (count !== undefined && count <= SUBSCRIPTION_COUNT_LIMITS.maxSubscribers) await this.tell(projectId, channel, count);
    return count;
  }

  private async tell(projectId: string, channel: string, count: number): Promise<void> {
    await this.deps.webhooks?.collect(projectId, { name: 'subscription_count', channel, subscription_count: count });
    if (count === 0) return;
    const body = encode(outbound.subscriptionCount(channel, count));
    if (!body.ok) return;
    const reached = await this.deps.fanout.toChannel(projectId, channel, body.value);
    if (reached.gone.length > 0) await this.deps.purge(reached.gone);
  }
}
