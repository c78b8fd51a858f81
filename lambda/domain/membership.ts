/**
 * Connections and their channels: connect, subscribe, unsubscribe, disconnect. Writes go in an
 * order that leaves nothing a reader could trip over if a step fails: the connection item is the
 * source of truth for clean-up, and subscriptions expire with it.
 */
import { ErrorCode, MAX_CHANNELS_PER_CONNECTION, Result, fail, ok } from '../protocol';
import { internalChannelsFor } from './internal-channels';
import type { ConnectionRecord, ConnectionStore, NewConnection, SubscriptionKey, SubscriptionStore } from '../ports';
import { connectionExpiry } from '../contract/tables';

export interface MembershipDependencies {
  readonly connections: ConnectionStore;
  readonly subscriptions: SubscriptionStore;
  readonly maxChannels?: number;
}

export class Membership {
  private readonly maxChannels: number;
  /**
   * Told once of every connection that went, whether it said goodbye (`$disconnect`) or was
   * purged as gone: where the project's presence and counts follow it.
   */
  onDisconnected?: (connection: ConnectionRecord) => Promise<void>;

  constructor(private readonly deps: MembershipDependencies) {
    this.maxChannels = deps.maxChannels ?? MAX_CHANNELS_PER_CONNECTION;
  }

  /**
   * Stores the connection, subscribed to the reserved channels its type joins. Those are not in
   * its channel list (which counts against the limit); its type says which they are.
   */
  async connect(connection: NewConnection): Promise<void> {
    const channels = internalChannelsFor(connection.clientType);
    await this.deps.connections.put(connection);
    const expiresAt = connectionExpiry(connection.connectedAt);
    const { projectId, connectionId } = connection;
    try {
      await Promise.all(channels.map((channel) => this.deps.subscriptions.add({ projectId, channel, connectionId }, expiresAt)));
    } catch (error) {
      // $connect will answer 500 and refuse the client: leave nothing of it behind, and since it
      // never connected, tell nobody it left.
      await this.remove(connectionId).catch(() => undefined);
      throw error;
    }
  }

  /** Subscribes a connection; `first` is true on its first subscribe. Subscribing twice is harmless. */
  async subscribe(connectionId: string, channel: string): Promise<Result<{ first: boolean; projectId: string; userId?: string }>> {
    const added = await this.deps.connections.addChannel(connectionId, channel, this.maxChannels);
    if (added.status === 'missing') return fail(ErrorCode.notConnected, 'This connection is not registered; reconnect');
    if (added.status === 'full') {
      return fail(ErrorCode.tooManySubscriptions, `A connection may subscribe to at most ${this.maxChannels} channels`);
    }
    const { projectId, connectedAt, userId } = added.connection;
    try {
      await this.deps.subscriptions.add({ projectId, channel, connectionId }, connectionExpiry(connectedAt));
    } catch (error) {
      // Undo the first write so the connection does not list a channel it never joined.
      await this.deps.connections.removeChannel(connectionId, channel).catch(() => undefined);
      throw error;
    }
    return ok({ first: added.first, projectId, ...(userId !== undefined && { userId }) });
  }

  /** Unsubscribes a connection. Unsubscribing from a channel it is not in succeeds. */
  async unsubscribe(connectionId: string, channel: string): Promise<Result<void>> {
    const connection = await this.deps.connections.get(connectionId);
    if (!connection) return fail(ErrorCode.notConnected, 'This connection is not registered; reconnect');
    // Subscription first: if the second write fails, the leftover channel name is harmless.
    await this.deps.subscriptions.remove({ projectId: connection.projectId, channel, connectionId });
    await this.deps.connections.removeChannel(connectionId, channel);
    return ok(undefined);
  }

  /**
   * Removes a connection and all its subscriptions. Idempotent. `alsoRemove` names a
   * subscription known to exist (the one a stale connection was found through) in case the
   * connection item is already gone.
   */
  async disconnect(connectionId: string, alsoRemove?: SubscriptionKey): Promise<void> {
    const connection = await this.remove(connectionId, alsoRemove);
    // Only the call that deleted the item reports it, so a second $disconnect announces nothing.
    if (connection) await this.onDisconnected?.(connection);
  }

  private async remove(connectionId: string, alsoRemove?: SubscriptionKey): Promise<ConnectionRecord | undefined> {
    const connection = await this.deps.connections.delete(connectionId);
    const channels = connection ? [...connection.channels, ...internalChannelsFor(connection.clientType)] : [];
    const keys: SubscriptionKey[] = channels.map((channel) => ({ projectId: connection!.projectId, channel, connectionId }));
    if (alsoRemove && !keys.some((key) => key.channel === alsoRemove.channel && key.projectId === alsoRemove.projectId)) {
      keys.push(alsoRemove);
    }
    await this.deps.subscriptions.removeMany(keys);
    return connection;
  }
}
