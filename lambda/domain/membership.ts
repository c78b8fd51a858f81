/**
 * Connections and their channels: connect, subscribe, unsubscribe, disconnect and the purge of
 * connections found gone. Writes go in an order that leaves nothing a reader could trip over if a
 * step fails: the connection item is the source of truth for clean-up, and subscriptions expire
 * with it.
 */
import pLimit from 'p-limit';
import { MAX_CHANNELS_PER_CONNECTION } from '../contract/limits';
import { connectionExpiry } from '../contract/tables';
import { ErrorCode, Result, fail, ok } from '../protocol';
import type { GoneConnection } from './fanout';
import { INTERNAL, internalChannelsFor } from './internal-channels';
import type { Closed, ConnectionRecord, ConnectionStore, NewConnection, RateLimit, SubscriptionKey, SubscriptionStore } from '../ports';

export interface MembershipDependencies {
  readonly connections: ConnectionStore;
  readonly subscriptions: SubscriptionStore;
  readonly maxChannels?: number;
}

/** Where the project's presence and counts follow a connection that went. */
export interface DepartureListener {
  /**
   * Told exactly once of every connection that went, whether it said goodbye (`$disconnect`) or
   * was purged as gone; never of a connect that failed. Returns the connections it found gone
   * while telling others, for the same purge.
   */
  departed(connection: ConnectionRecord, closed?: Closed): Promise<readonly GoneConnection[]>;
}

/** Purges of gone connections run a few at a time: each is a delete and a batch write. */
const PURGE_CONCURRENCY = 8;

export class Membership {
  private readonly maxChannels: number;

  constructor(
    private readonly deps: MembershipDependencies,
    private readonly departures: DepartureListener,
  ) {
    this.maxChannels = deps.maxChannels ?? MAX_CHANNELS_PER_CONNECTION;
  }

  /**
   * Stores the connection, subscribed to the reserved channels its type joins. Those are not in
   * its channel list (which counts against the limit); its type says which they are.
   */
  async connect(connection: NewConnection): Promise<void> {
    const channels = internalChannelsFor(connection);
    await this.deps.connections.put(connection);
    const expiresAt = connectionExpiry(connection.connectedAt);
    const { projectId, connectionId } = connection;
    try {
      await Promise.all(
        channels.map((channel) => this.deps.subscriptions.add({ projectId, channel, connectionId }, expiresAt, connection.protocol)),
      );
    } catch (error) {
      // $connect will answer 500 and refuse the client: leave nothing of it behind, and since it
      // never connected, tell nobody it left.
      await this.remove(connectionId).catch(() => undefined);
      throw error;
    }
  }

  /**
   * Subscribes a connection (whose right to the channel the caller has checked); `first` is true
   * on its first subscribe, `joined` when the channel is new to it (subscribing twice is harmless).
   * `admit` decides with the connection in hand (its project known) before the subscription is
   * written; if it refuses, the channel is taken off the connection again.
   */
  async subscribe<A = undefined>(
    connectionId: string,
    channel: string,
    admit?: (connection: ConnectionRecord) => Promise<Result<A>>,
    /** The key whose Pusher channel auth let the connection in, if that is how: revoking it closes the connection. */
    authKey?: string,
  ): Promise<Result<{ first: boolean; joined: boolean; connection: ConnectionRecord; projectId: string; userId?: string; admitted?: A }>> {
    const added = await this.deps.connections.addChannel(connectionId, channel, this.maxChannels, authKey);
    if (added.status === 'missing') return fail(ErrorCode.notConnected);
    if (added.status === 'full') {
      return fail(ErrorCode.tooManySubscriptions, `A connection may subscribe to at most ${this.maxChannels} channels`);
    }
    const { projectId, connectedAt, userId } = added.connection;
    // Was the channel new to the connection? Its record is as it was before this write.
    const joined = !added.connection.channels.includes(channel);
    const undo = () => (joined ? this.deps.connections.removeChannel(connectionId, channel).catch(() => undefined) : undefined);
    let admitted: A | undefined;
    if (admit) {
      const verdict = await admit(added.connection);
      if (!verdict.ok) {
        await undo();
        return verdict;
      }
      admitted = verdict.value;
    }
    try {
      await this.deps.subscriptions.add({ projectId, channel, connectionId }, connectionExpiry(connectedAt), added.connection.protocol);
    } catch (error) {
      // Undo the first write so the connection does not list a channel it never joined; but a
      // channel it was already in stays (its subscription was written before), or a later
      // disconnect would not find that subscription to remove.
      await undo();
      throw error;
    }
    return ok({ first: added.first, joined, connection: added.connection, projectId, ...(userId !== undefined && { userId }), admitted });
  }

  /**
   * Signs a connection in as a user (whose signature the caller has checked), as one user only: it
   * joins the user's channel, where `sendToUser` reaches it. Refused if it is gone, or another
   * user's (signed in, or named by a presence channel's `channel_data`). Signing in again as the
   * same user writes the channel again: a sign-in that failed half-way is mended by a repeat.
   */
  async signIn(
    connectionId: string,
    user: { userId: string; info?: Record<string, unknown> },
    authKey: string,
    userRateLimit: RateLimit,
  ): Promise<Result<ConnectionRecord>> {
    const before = await this.deps.connections.signIn(connectionId, user, authKey, userRateLimit);
    if (!before) return fail(ErrorCode.invalidRequest, 'This connection is another user’s: a connection signs in as one user only');
    const { projectId, connectedAt } = before;
    await this.deps.subscriptions.add(
      { projectId, channel: INTERNAL.user(user.userId), connectionId },
      connectionExpiry(connectedAt),
      before.protocol,
    );
    return ok(before);
  }

  /**
   * Unsubscribes a connection. Unsubscribing from a channel it is not in succeeds; `left` says
   * whether it was in it.
   */
  async unsubscribe(connectionId: string, channel: string): Promise<Result<{ connection: ConnectionRecord; left: boolean }>> {
    const connection = await this.deps.connections.get(connectionId);
    if (!connection) return fail(ErrorCode.notConnected);
    // Subscription first: if the second write fails, the leftover channel name is harmless.
    await this.deps.subscriptions.remove({ projectId: connection.projectId, channel, connectionId });
    await this.deps.connections.removeChannel(connectionId, channel);
    return ok({ connection, left: connection.channels.includes(channel) });
  }

  /** Removes a connection that said goodbye, and all its subscriptions. Idempotent. */
  disconnect(connectionId: string, closed?: Closed): Promise<void> {
    return this.purge([{ connectionId, ...(closed && { closed }) }]);
  }

  /**
   * Removes connections found gone, and those their departures reveal in turn, a few at a time.
   * `foundThrough` names a subscription known to exist, in case the connection item is already gone.
   */
  async purge(gone: readonly GoneConnection[]): Promise<void> {
    const limit = pLimit(PURGE_CONCURRENCY);
    // Each round's departures may find more gone connections; every one is removed once, so this ends.
    for (let round = gone; round.length > 0;) {
      const revealed = await Promise.all(round.map((next) => limit(() => this.leave(next))));
      round = revealed.flat();
    }
  }

  private async leave({ connectionId, foundThrough, closed }: GoneConnection): Promise<readonly GoneConnection[]> {
    const connection = await this.remove(connectionId, foundThrough);
    // Only the call that deleted the item reports it, so a second $disconnect announces nothing.
    return connection ? this.departures.departed(connection, closed) : [];
  }

  private async remove(connectionId: string, alsoRemove?: SubscriptionKey): Promise<ConnectionRecord | undefined> {
    const connection = await this.deps.connections.delete(connectionId);
    const channels = connection ? [...connection.channels, ...internalChannelsFor(connection)] : [];
    const keys: SubscriptionKey[] = channels.map((channel) => ({ projectId: connection!.projectId, channel, connectionId }));
    if (alsoRemove && !keys.some((key) => key.channel === alsoRemove.channel && key.projectId === alsoRemove.projectId)) {
      keys.push(alsoRemove);
    }
    await this.deps.subscriptions.removeMany(keys);
    return connection;
  }
}
