/**
 * Retained broadcasts: a channel's active broadcast, sent to each new subscriber until replaced or
 * cleared, and not again to a user who acknowledged it.
 */
import { ChannelMessage, Delivered, ErrorCode, fail, FanoutCounts, ok, outbound, Result } from '../protocol';
import type { RetainedStore } from '../ports';
import type { Publisher } from './publish';

export class Retention {
  constructor(
    private readonly store: RetainedStore,
    /** Only to stamp and send the `broadcast_cleared` notice. */
    private readonly publisher: Pick<Publisher, 'stamp' | 'deliverToChannel'>,
  ) {}

  /** Makes a just-published message the channel's active broadcast (until `expiresAt`, epoch ms, if given). */
  retain(projectId: string, channel: string, delivered: Delivered, expiresAt?: number): Promise<void> {
    return this.store.put(projectId, channel, {
      id: delivered.id,
      message: { ...delivered },
      ...(expiresAt !== undefined && { expiresAt }),
    });
  }

  /** The channel's active broadcast, marked `retained`, unless this user acknowledged it. */
  async pendingFor(projectId: string, channel: string, userId: string | undefined): Promise<ChannelMessage | undefined> {
    // Most channels retain nothing: look for the acknowledgement only when there is something to check.
    const retained = await this.store.get(projectId, channel);
    if (!retained) return undefined;
    if (userId && (await this.store.ackedBy(projectId, channel, userId)) === retained.id) return undefined;
    return outbound.retained(retained.message);
  }

  /**
   * Records that the user has seen the channel's retained message. Only the message retained now
   * can be acknowledged: a stale or wrong id is refused, so it cannot replace a valid
   * acknowledgement (and have the retained message sent to the user again).
   */
  async ack(projectId: string, channel: string, userId: string, messageId: string): Promise<Result<void>> {
    const retained = await this.store.get(projectId, channel);
    if (retained?.id !== messageId) {
      return fail(
        ErrorCode.invalidMessage,
        retained ? `${messageId} is not the retained message of ${channel}` : `${channel} has no retained message`,
      );
    }
    await this.store.ack(projectId, channel, userId, messageId);
    return ok(undefined);
  }

  /** Removes the active broadcast and tells subscribers; nothing is sent if there was none. */
  async clear(projectId: string, channel: string): Promise<{ cleared: boolean } & FanoutCounts> {
    if (!(await this.store.clear(projectId, channel))) return { cleared: false, sent: 0, failed: 0, stale: 0 };
    const notice = JSON.stringify(outbound.broadcastCleared(this.publisher.stamp(), channel));
    return { cleared: true, ...(await this.publisher.deliverToChannel(projectId, channel, notice)) };
  }
}
