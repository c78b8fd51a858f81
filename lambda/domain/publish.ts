/**
 * Publishing: builds the delivered message (id, timestamp, sender), checks it fits API Gateway's
 * limit, fans it out, and hands the connections that turned out to be gone to a background purge,
 * so the answer does not wait for their clean-up and `client_left` notices.
 */
import { randomUUID } from 'node:crypto';
import { Delivered, ErrorCode, FanoutCounts, Result, Stamp, encode, fail, ok, outbound } from '../protocol';
import type { ChannelFanout, Reached } from './fanout';
import type { Membership } from './membership';
import type { AsyncInvoker, GoneConnection } from '../ports';

/** Gone connections per purge task: keeps an asynchronous invocation's payload far below its limit. */
export const PURGE_BATCH = 500;

export interface PublisherDependencies {
  readonly fanout: ChannelFanout;
  readonly membership: Membership;
  /** Runs the purge after the answer. */
  readonly invoker: AsyncInvoker;
  readonly newId?: () => string;
  readonly now?: () => number;
}

export interface Message {
  readonly event: string;
  readonly data?: unknown;
  /** The sending connection, when published over WebSocket. */
  readonly from?: string;
}

export interface Published extends FanoutCounts {
  readonly id: string;
}

export class Publisher {
  private readonly newId: () => string;
  private readonly now: () => number;

  constructor(private readonly deps: PublisherDependencies) {
    this.newId = deps.newId ?? randomUUID;
    this.now = deps.now ?? Date.now;
  }

  /** Sends to every subscriber of a project's channel, the sender included if subscribed. */
  async toChannel(projectId: string, channel: string, message: Message): Promise<Result<Published & { delivered: Delivered }>> {
    const delivered = outbound.delivered(this.stamp(), { channel, ...message });
    const body = encode(delivered);
    if (!body.ok) return body;
    const counts = await this.deliverToChannel(projectId, channel, body.value);
    return ok({ id: delivered.id, delivered, ...counts });
  }

  /** Sends to one connection of the project; `connection_not_found` if it is not there. */
  async toConnection(projectId: string, connectionId: string, message: Message): Promise<Result<Published>> {
    const delivered = outbound.delivered(this.stamp(), message);
    const body = encode(delivered);
    if (!body.ok) return body;
    const counts = await this.deliverToConnection(projectId, connectionId, body.value);
    return counts.ok ? ok({ id: delivered.id, ...counts.value }) : counts;
  }

  /** Fans a ready message out to a channel's subscribers, skipping `exclude`. */
  async deliverToChannel(projectId: string, channel: string, body: string, exclude?: ReadonlySet<string>): Promise<FanoutCounts> {
    return this.purged(await this.deps.fanout.toChannel(projectId, channel, body, exclude));
  }

  /** Sends a ready message to one connection of the project. */
  async deliverToConnection(projectId: string, connectionId: string, body: string): Promise<Result<FanoutCounts>> {
    const reached = await this.deps.fanout.toConnection(projectId, connectionId, body);
    if (!reached) return notFound(connectionId);
    const counts = await this.purged(reached);
    return counts.stale > 0 ? notFound(connectionId) : ok(counts);
  }

  /** A message's id and timestamp, given to everything the server originates. */
  stamp(): Stamp {
    return { id: this.newId(), timestamp: new Date(this.now()).toISOString() };
  }

  private async purged(reached: Reached): Promise<FanoutCounts> {
    await this.purgeLater(reached.gone);
    return { sent: reached.sent, failed: reached.failed, stale: reached.gone.length };
  }

  /** Hands gone connections to background purges; if that cannot start, purges them now. */
  private async purgeLater(gone: readonly GoneConnection[]): Promise<void> {
    for (let i = 0; i < gone.length; i += PURGE_BATCH) {
      const batch = gone.slice(i, i + PURGE_BATCH);
      try {
        await this.deps.invoker.invoke({ task: 'purge', gone: batch });
      } catch {
        await this.deps.membership.purge(batch);
      }
    }
  }
}

const notFound = (connectionId: string): Result<never> =>
  fail(ErrorCode.connectionNotFound, `No connection ${connectionId} in this project`);
