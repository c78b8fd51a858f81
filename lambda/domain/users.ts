/**
 * Users — a token's `sub` — across their connections: at most the project's `maxConnectionsPerUser`
 * open at once, and one message budget (`userRateLimit`) that all of them share, so a user's
 * sixty sockets send what a few would. Anonymous connections have no user here: each is limited
 * on its own.
 */
import { connectionExpiry } from '../contract/tables';
import type { ConnectionRecord, NewConnection, UserStore } from '../ports';

/** A connection's user as far as it counts: one a token let in, or one signed in (Pusher's user authentication). */
type Counted = Pick<NewConnection, 'userId' | 'keyPrefix'> & { readonly signedIn?: string };

/** A connection that counts toward a user: one a token let in, or one signed in. */
const userOf = (connection: Counted): string | undefined =>
  connection.keyPrefix !== undefined || connection.signedIn !== undefined ? connection.userId : undefined;

export class Users {
  constructor(
    private readonly store: UserStore,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts a new connection toward its user; false if the user already holds `max`. */
  async admit(connection: Counted & Pick<NewConnection, 'projectId' | 'connectionId' | 'connectedAt'>, max: number): Promise<boolean> {
    const userId = userOf(connection);
    if (userId === undefined) return true;
    const { projectId, connectionId, connectedAt } = connection;
    return this.store.admit(projectId, userId, connectionId, connectionExpiry(connectedAt), max, Math.floor(this.now() / 1000));
  }

  /** A connection of a user went (or never finished connecting). */
  async left(connection: Counted & Pick<NewConnection, 'projectId' | 'connectionId'>): Promise<void> {
    const userId = userOf(connection);
    if (userId !== undefined) await this.store.leave(connection.projectId, userId, connection.connectionId);
  }

  /** Takes a message from the user's shared budget; false if it is spent. Connections without a user pass. */
  async take(connection: ConnectionRecord): Promise<boolean> {
    const userId = userOf(connection);
    if (userId === undefined || !connection.userRateLimit) return true;
    return this.store.take(connection.projectId, userId, this.now(), connection.userRateLimit, connectionExpiry(connection.connectedAt));
  }
}
