/**
 * Channel history: a publish to a channel whose namespace keeps history gets the channel's next
 * offset and is stored with it (two writes: the head, the message); a subscriber coming back with
 * the offset and epoch it last saw gets what it missed, or is told plainly that it cannot.
 *
 * Why no gap between replayed and live messages: a publish stores its message before it reads
 * the channel's subscribers, and a recovering subscriber is subscribed before it reads the
 * history. So a message the fan-out did not send to it was stored before that read, and is
 * replayed; one may arrive both ways, with the same offset, and clients drop the second.
 */
import { randomBytes } from 'node:crypto';
import type { HistoryConfig } from '../contract/namespaces';
import type { StoredMessage, StreamPosition, StreamStore } from '../ports';

/** Why a subscriber's missed messages could not be recovered. */
export type NotRecoveredReason =
  /** The stream was reset or expired since: what the client holds is from another epoch. */
  | 'epoch_changed'
  /** More was published meanwhile than the channel keeps. */
  | 'too_many_missed'
  /** Some of what was missed is past its TTL. */
  | 'expired'
  /** The client claims an offset the stream has not reached. */
  | 'unknown_offset'
  /** More was missed than one subscribe replays (or the connection's budget allows): page with `history`. */
  | 'replay_limited';

export type Recovery =
  | { readonly recovered: true; readonly position: StreamPosition; readonly messages: readonly StoredMessage[] }
  | { readonly recovered: false; readonly position: StreamPosition; readonly reason: NotRecoveredReason };

export interface HistoryPage {
  /** The stream's head now; undefined while nothing is stored. */
  readonly position?: StreamPosition;
  readonly messages: readonly StoredMessage[];
  /** More stored messages follow the last one returned. */
  readonly more: boolean;
}

/** A new epoch: random, short, URL-safe. */
export const newEpoch = (): string => randomBytes(6).toString('base64url');

export class ChannelHistory {
  constructor(
    private readonly streams: StreamStore,
    private readonly epochs: () => string = newEpoch,
  ) {}

  /**
   * Takes the channel's next offset and stores the message `render` makes with it. `render` must
   * not fail: the caller checks the message fits before (an offset taken and never stored is a
   * hole in the stream, which recovery treats as missing).
   */
  async append(
    projectId: string,
    channel: string,
    history: HistoryConfig,
    render: (position: StreamPosition) => string,
  ): Promise<{ position: StreamPosition; body: string }> {
    const position = await this.streams.next(projectId, channel, this.epochs(), history.ttlSeconds);
    const body = render(position);
    await this.streams.put(projectId, channel, { offset: position.offset, body }, history.ttlSeconds);
    return { position, body };
  }

  /** Where a new subscriber starts: the last offset, in the current epoch (made if there is none). */
  position(projectId: string, channel: string, history: HistoryConfig): Promise<StreamPosition> {
    return this.streams.current(projectId, channel, this.epochs(), history.ttlSeconds);
  }

  /**
   * The messages after `since`, if they are all still there and in the same epoch, and fit in
   * `bound` (messages and bytes one replay may take; reading stops there).
   */
  async recover(
    projectId: string,
    channel: string,
    history: HistoryConfig,
    since: StreamPosition,
    bound: { readonly messages: number; readonly bytes: number } = { messages: Infinity, bytes: Infinity },
  ): Promise<Recovery> {
    const head = await this.streams.head(projectId, channel);
    if (!head || head.epoch !== since.epoch) {
      return { recovered: false, reason: 'epoch_changed', position: head ?? (await this.position(projectId, channel, history)) };
    }
    if (since.offset > head.offset) return { recovered: false, reason: 'unknown_offset', position: head };
    const missed = head.offset - since.offset;
    if (missed === 0) return { recovered: true, position: head, messages: [] };
    if (missed > history.size) return { recovered: false, reason: 'too_many_missed', position: head };
    if (missed > bound.messages) return { recovered: false, reason: 'replay_limited', position: head };
    const { messages, spent } = await this.streams.after(projectId, channel, since.offset, missed, bound.bytes);
    if (spent) return { recovered: false, reason: 'replay_limited', position: head };
    // The oldest missed message must still be there. A hole after it is a publish still in flight
    // (it reaches this subscriber live: it was subscribed first) or one that failed to store.
    if (messages.length === 0 || messages[0].offset !== since.offset + 1) return { recovered: false, reason: 'expired', position: head };
    return { recovered: true, position: head, messages };
  }

  /**
   * Stored messages after `since` (default: the oldest kept), at most `limit` and `maxBytes` of
   * them (a reply's size limit); `more` when the caller should ask again after the last one.
   */
  async read(
    projectId: string,
    channel: string,
    history: HistoryConfig,
    since: number | undefined,
    limit: number,
    maxBytes: number,
  ): Promise<HistoryPage> {
    const head = await this.streams.head(projectId, channel);
    if (!head) return { messages: [], more: false };
    const from = Math.max(since ?? 0, head.offset - history.size);
    if (from >= head.offset) return { position: head, messages: [], more: false };
    const wanted = Math.min(limit, head.offset - from);
    // The read stops where the reply's bytes run out: a page of big messages reads no more than it returns.
    const { messages, spent } = await this.streams.after(projectId, channel, from, wanted, maxBytes);
    const last = messages.at(-1)?.offset ?? from;
    return { position: head, messages, more: last < head.offset && (spent || messages.length === limit) };
  }
}
