/**
 * Pusher's watchlists: a user signs in with `watchlist` in its `user_data` (up to 100 user ids) and
 * is told which of them are online, then when each comes online (its first connection signs in)
 * or goes offline (its last one goes), as `pusher_internal:watchlist_events` on its connections.
 * The watch is kept per watched user (who to tell), for as long as the watcher's connection may
 * live; a change is told to at most 1,000 watchers, by a background task so no request waits.
 */
import pLimit from 'p-limit';
import { connectionExpiry } from '../contract/tables';
import { encode, outbound } from '../protocol';
import type { AsyncInvoker, ConnectionRecord, GoneConnection, UserStore, WatchStore } from '../ports';
import type { ChannelFanout } from './fanout';
import { INTERNAL } from './internal-channels';

export const WATCHLIST_LIMITS = {
  /** User ids one watchlist holds (as Pusher). */
  size: 100,
  /** What a sign-in's watchlist costs its connection: one message per this many users (a write and a read each). */
  usersPerMessage: 10,
  /** Watchers one user's coming or going is told to. */
  watchersTold: 1000,
} as const;

export interface WatchlistsDependencies {
  readonly watches: WatchStore;
  readonly users: Pick<UserStore, 'live'>;
  readonly fanout: Pick<ChannelFanout, 'toChannel'>;
  readonly invoker: AsyncInvoker;
  readonly purge: (gone: readonly GoneConnection[]) => Promise<void>;
  readonly now: () => number;
}

export class Watchlists {
  constructor(private readonly deps: WatchlistsDependencies) {}

  private get nowSeconds(): number {
    return Math.floor(this.deps.now() / 1000);
  }

  /**
   * A connection signed in as `userId` with this watchlist: the watch is kept, the user's watchers
   * are told it is online. Returns the watched users online now, for the connection.
   */
  async signedIn(connection: ConnectionRecord, userId: string, watchlist: readonly string[]): Promise<string[]> {
    const { projectId } = connection;
    const watched = [...new Set(watchlist)].filter((id) => id !== userId);
    if (watched.length > 0) await this.deps.watches.watch(projectId, userId, watched, connectionExpiry(connection.connectedAt));
    await this.changed(projectId, userId, 'online');
    return watched.length > 0 ? this.deps.users.live(projectId, watched, this.nowSeconds) : [];
  }

  /** A signed-in connection went (its user's count already lowered): offline, if it was the last. */
  async departed(connection: ConnectionRecord): Promise<void> {
    if (connection.signedIn !== undefined) await this.changed(connection.projectId, connection.signedIn, 'offline');
  }

  /**
   * Tells the user's watchers, in the background, if it has any, the change holds (online: a live
   * connection; offline: none left) and it is one (not what they were last told).
   */
  private async changed(projectId: string, userId: string, name: 'online' | 'offline'): Promise<void> {
    if ((await this.deps.watches.watchers(projectId, userId, 1, this.nowSeconds)).length === 0) return;
    const live = (await this.deps.users.live(projectId, [userId], this.nowSeconds)).length > 0;
    if (live !== (name === 'online')) return;
    // Kept as long as a watch can be (a connection's 2 hours and more).
    if (!(await this.deps.watches.told(projectId, userId, name, this.nowSeconds + 3 * 60 * 60))) return;
    await this.deps.invoker.invoke({ task: 'watchlist', projectId, userId, name });
  }

  /** The task: each watcher's connections get the event (its user channel), if the change still holds. */
  async tell(projectId: string, userId: string, name: 'online' | 'offline'): Promise<number> {
    const live = (await this.deps.users.live(projectId, [userId], this.nowSeconds)).length > 0;
    if (live !== (name === 'online')) return 0;
    const watchers = await this.deps.watches.watchers(projectId, userId, WATCHLIST_LIMITS.watchersTold, this.nowSeconds);
    const body = encode(outbound.watchlist(name, [userId]));
    if (!body.ok) return 0;
    const limit = pLimit(10);
    const reached = await Promise.all(
      watchers.map((watcher) => limit(() => this.deps.fanout.toChannel(projectId, INTERNAL.user(watcher), body.value))),
    );
    const gone = reached.flatMap((r) => r.gone);
    if (gone.length > 0) await this.deps.purge(gone);
    return watchers.length;
  }
}
