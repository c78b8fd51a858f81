/**
 * Publishing: builds the delivered message (id, timestamp, sender), checks it fits API Gateway's
 * limit, fans it out, and hands the connections that turned out to be gone to a background purge,
 * so the answer does not wait for their clean-up and `client_left` notices.
 */
import { randomUUID } from 'node:crypto';
import { Delivered, ErrorCode, FanoutCounts, Result, Stamp, encode, fail, ok, outbound } from '../protocol';
import type { ChannelFanout, Reached } from './fanout';
import type { ChannelHistory } from './history';
import type { Membership } from './membership';
import type { Namespaces } from './namespaces';
import type { AsyncInvoker, GoneConnection, RecipientPage } from '../ports';

/** Gone connections per purge task: keeps an asynchronous invocation's payload far below its limit. */
export const PURGE_BATCH = 500;

export interface PublisherDependencies {
  readonly fanout: ChannelFanout;
  readonly membership: Membership;
  /** Runs the purge after the answer. */
  readonly invoker: AsyncInvoker;
  /** Where a channel's history is configured, and kept; without them nothing is stored. */
  readonly namespaces?: Pick<Namespaces, 'of'>;
  readonly history?: Pick<ChannelHistory, 'append'>;
  readonly newId?: () => string;
  readonly now?: () => number;
}

/** The largest offset and epoch a message can get: a message that fits with them fits with any. */
const WIDEST_POSITION = { offset: 999_999_999_999, epoch: 'x'.repeat(16) };
/** An id as long as any the publisher makes (a UUID), for the size check before one is made. */
const WIDEST_ID = 'x'.repeat(36);

export interface Message {
  readonly event: string;
  readonly data?: unknown;
  /** The sending connection, when published over WebSocket. */
  readonly from?: string;
  /** The sending user, on a client event on a presence channel. */
  readonly userId?: string;
}

export interface Published extends FanoutCounts {
  readonly id: string;
  /** On channels that keep history. */
  readonly offset?: number;
  readonly epoch?: string;
}

/** A message ready to send: as subscribers get it, its wire form, and its place in the channel's stream. */
export interface Prepared {
  readonly delivered: Delivered;
  readonly body: string;
}

export class Publisher {
  private readonly newId: () => string;
  private readonly now: () => number;

  constructor(private readonly deps: PublisherDependencies) {
    this.newId = deps.newId ?? randomUUID;
    this.now = deps.now ?? Date.now;
  }

  /** Whether a message to a channel fits API Gateway's limit whatever its place in the channel's stream: checked before anything is sent. */
  check(channel: string, message: Message): Result<void> {
    const fits = encode(outbound.delivered(this.stamp(WIDEST_ID), { channel, ...message }, WIDEST_POSITION));
    return fits.ok ? ok(undefined) : fits;
  }

  /** The message as subscribers will get it, and its wire form; `payload_too_large` if it cannot be sent. */
  prepare(channel: string | undefined, message: Message, id?: string): Result<Prepared> {
    const stamp = this.stamp(id);
    const delivered = outbound.delivered(stamp, { ...(channel !== undefined && { channel }), ...message });
    const body = encode(delivered);
    return body.ok ? ok({ delivered, body: body.value }) : body;
  }

  /**
   * The message for a channel of the project. Where the channel keeps history it gets the next
   * offset and is stored — before anyone is sent it, which is what makes recovery gap-free.
   */
  async prepareForChannel(projectId: string, channel: string, message: Message, id?: string): Promise<Result<Prepared>> {
    const history = this.deps.history && (await this.deps.namespaces?.of(projectId, channel))?.history;
    if (!history) return this.prepare(channel, message, id);
    const stamp = this.stamp(id);
    const fits = encode(outbound.delivered(stamp, { channel, ...message }, WIDEST_POSITION));
    if (!fits.ok) return fits;
    let delivered: Delivered | undefined;
    const { body } = await this.deps.history.append(projectId, channel, history, (position) => {
      delivered = outbound.delivered(stamp, { channel, ...message }, position);
      return JSON.stringify(delivered);
    });
    return ok({ delivered: delivered!, body });
  }

  /**
   * Sends to every subscriber of a project's channel, the sender included if subscribed; to
   * `recipients` when the caller has already read them; never to those in `exclude`.
   */
  async toChannel(
    projectId: string,
    channel: string,
    message: Message,
    options: { id?: string; recipients?: RecipientPage; exclude?: ReadonlySet<string> } = {},
  ): Promise<Result<Published & { delivered: Delivered }>> {
    const prepared = await this.prepareForChannel(projectId, channel, message, options.id);
    if (!prepared.ok) return prepared;
    const { delivered, body } = prepared.value;
    const { recipients, exclude } = options;
    const counts = recipients
      ? await this.purged(
          await this.deps.fanout.toRecipients(
            projectId,
            channel,
            exclude ? { ...recipients, ids: recipients.ids.filter((id) => !exclude.has(id)) } : recipients,
            body,
          ),
        )
      : await this.deliverToChannel(projectId, channel, body, options.exclude);
    return ok({ id: delivered.id, delivered, ...counts, ...positionOf(delivered) });
  }

  /** Sends to one connection of the project; `connection_not_found` if it is not there. */
  async toConnection(projectId: string, connectionId: string, message: Message, id?: string): Promise<Result<Published>> {
    const prepared = this.prepare(undefined, message, id);
    if (!prepared.ok) return prepared;
    const counts = await this.deliverToConnection(projectId, connectionId, prepared.value.body);
    return counts.ok ? ok({ id: prepared.value.delivered.id, ...counts.value }) : counts;
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
  stamp(id?: string): Stamp {
    return { id: id ?? this.newId(), timestamp: new Date(this.now()).toISOString() };
  }

  /** Hands gone connections to background purges (see {@link purgeLater}). */
  purge(gone: readonly GoneConnection[]): Promise<void> {
    return this.purgeLater(gone);
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

/** A delivered message's offset and epoch, if it has them. */
export const positionOf = (delivered: Delivered) =>
  delivered.offset !== undefined ? { offset: delivered.offset, epoch: delivered.epoch! } : {};

const notFound = (connectionId: string): Result<never> =>
  fail(ErrorCode.connectionNotFound, `No connection ${connectionId} in this project`);
