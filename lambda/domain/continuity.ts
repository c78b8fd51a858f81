/**
 * Continuity for signed-in Pusher users: pusher-js cannot say what it has seen, so the server
 * remembers where a signed-in user's connection left each channel that keeps history (an away
 * mark), and the user's next subscribe to it — or a sign-in after that subscribe — replays what
 * was published in between, from the channel's history.
 *
 * Where the gap starts. A clean close (the 2-hour limit, the idle timeout, a client's close) ends
 * the connection with everything posted before it delivered: the gap is what was published after
 * the close. The mark is written when the departure is handled, a little later, so messages just
 * before the mark's offset are looked at again and those stamped after the close are replayed.
 * A close that was not clean (the network dropped; a post found the connection gone) may have
 * swallowed what API Gateway took for it before it noticed: messages from `dropWindowMs` before
 * are replayed too, and may repeat.
 */
import type { HistoryConfig } from '../contract/namespaces';
import type { AwayStore, Closed, ConnectionRecord, StoredMessage, StreamPosition, StreamStore } from '../ports';
import type { ChannelHistory } from './history';

export const CONTINUITY = {
  /** Messages before a mark's offset looked at again for ones published after the close. */
  lookback: 200,
  /** How long API Gateway may take to notice a connection whose network dropped (see the README). */
  dropWindowMs: 120_000,
} as const;

/** WebSocket close codes after which everything posted before the close was delivered. */
const CLEAN_CLOSES = new Set([1000, 1001, 1005]);

/** How a `$disconnect` says the connection closed. */
export const closedBy = (code: number | undefined, at: number): Closed => ({ at, clean: code !== undefined && CLEAN_CLOSES.has(code) });

export interface ContinuityDependencies {
  readonly away: AwayStore;
  readonly streams: Pick<StreamStore, 'head'>;
  readonly history: Pick<ChannelHistory, 'recover'>;
  readonly dropWindowMs?: number;
}

/** When a stored message was published (its `timestamp`), or 0 if it does not say. */
function publishedAt(message: StoredMessage): number {
  try {
    const stamp = (JSON.parse(message.body) as { timestamp?: unknown }).timestamp;
    return typeof stamp === 'string' ? Date.parse(stamp) || 0 : 0;
  } catch {
    return 0;
  }
}

export class Continuity {
  private readonly dropWindowMs: number;

  constructor(private readonly deps: ContinuityDependencies) {
    this.dropWindowMs = deps.dropWindowMs ?? CONTINUITY.dropWindowMs;
  }

  /** A signed-in user's connection left a channel that keeps history: where its stream was. */
  async left(connection: ConnectionRecord, channel: string, history: HistoryConfig, closed: Closed): Promise<void> {
    const userId = connection.signedIn;
    if (userId === undefined) return;
    const head = await this.deps.streams.head(connection.projectId, channel);
    if (!head) return;
    await this.deps.away.mark(
      connection.projectId,
      channel,
      userId,
      { ...head, leftAt: closed.at, clean: closed.clean },
      { connectionId: connection.connectionId, connectedAt: connection.connectedAt },
      history.ttlSeconds,
    );
  }

  /**
   * What the user missed on the channel since a connection of theirs left it, in offset order,
   * and takes the mark (one subscribe gets it). `until`: where this connection's live messages
   * began (a subscribe before the sign-in), so none is repeated. Nothing when there is no mark,
   * the stream was reset since, or what was missed is no longer all there or exceeds `bound`.
   */
  async resume(
    projectId: string,
    channel: string,
    who: { readonly userId: string; readonly connectionId: string },
    history: HistoryConfig,
    bound: { readonly messages: number; readonly bytes: number },
    until?: StreamPosition,
    /** Pays for the replay before it is sent; if it cannot, the mark is put back for a later subscribe. */
    afford: (messages: readonly StoredMessage[]) => Promise<boolean> = () => Promise.resolve(true),
  ): Promise<readonly StoredMessage[]> {
    const mark = await this.deps.away.take(projectId, channel, who.userId, who.connectionId);
    if (!mark || (until && until.epoch !== mark.epoch)) return [];
    const from = mark.leftAt - (mark.clean ? 0 : this.dropWindowMs);
    const lookback = Math.min(CONTINUITY.lookback, mark.offset);
    const recover = (offset: number) => this.deps.history.recover(projectId, channel, history, { offset, epoch: mark.epoch }, bound);
    let recovery = await recover(mark.offset - lookback);
    // The look back may reach past what is kept, or past the bound: what followed the mark is what matters.
    if (!recovery.recovered && lookback > 0) recovery = await recover(mark.offset);
    if (!recovery.recovered) return [];
    const missed = recovery.messages.filter(
      (message) => (message.offset > mark.offset || publishedAt(message) >= from) && (!until || message.offset <= until.offset),
    );
    if (missed.length === 0 || (await afford(missed))) return missed;
    await this.deps.away.putBack(projectId, channel, who.userId, mark, history.ttlSeconds);
    return [];
  }
}
