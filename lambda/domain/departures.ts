/**
 * What follows a connection that went: the project's typed clients are told, its count of open
 * connections goes down, and in each of its channels its user leaves the members (announced if it
 * was the user's last connection) and the channel's subscriber count goes down.
 */
import type { Closed, ConnectionRecord } from '../ports';
import type { Continuity } from './continuity';
import type { Watchlists } from './watchlists';
import type { GoneConnection } from './fanout';
import type { Lifecycle } from './lifecycle';
import type { Announced, Members } from './members';
import type { DepartureListener } from './membership';
import type { Namespaces } from './namespaces';
import type { Presence } from './presence';
import type { Users } from './users';
import type { Projects } from './projects';

export interface DeparturesDependencies {
  readonly presence: Presence;
  readonly projects: Projects;
  readonly members: Members;
  readonly namespaces: Pick<Namespaces, 'of'>;
  readonly lifecycle: Lifecycle;
  readonly users: Pick<Users, 'left'>;
  readonly continuity: Pick<Continuity, 'left'>;
  readonly watchlists: Pick<Watchlists, 'departed'>;
  readonly now: () => number;
}

export class Departures implements DepartureListener {
  constructor(private readonly deps: DeparturesDependencies) {}

  /** `closed`: how, if API Gateway said; a connection found gone did not close cleanly. */
  async departed(connection: ConnectionRecord, closed?: Closed): Promise<readonly GoneConnection[]> {
    const { presence, projects } = this.deps;
    const how = closed ?? { at: this.deps.now(), clean: false };
    const [gone, , , ...fromChannels] = await Promise.all([
      presence.left(connection),
      projects.record(connection.projectId, { live: -1, liveSince: connection.connectedAt }),
      this.deps.users.left(connection),
      ...connection.channels.map((channel) => this.leftChannel(connection, channel, how)),
    ]);
    // After the user's count went down: offline to its watchers if this was its last connection.
    // Best effort: the departure itself is done, and its gone connections must still be purged.
    await this.deps.watchlists.departed(connection).catch(() => undefined);
    return [...gone, ...fromChannels.flatMap((left) => left.gone)];
  }

  /**
   * A connection left a channel, by unsubscribing or by going: its user leaves the members, the
   * channel's count goes down. Says what announcing it caused.
   */
  async leftChannel(connection: ConnectionRecord, channel: string, departed?: Closed): Promise<Announced> {
    const { projectId, userId, connectionId } = connection;
    const config = await this.deps.namespaces.of(projectId, channel);
    // A signed-in user's connection that went (not one that unsubscribed) leaves a mark where it stopped.
    if (departed && config.history && connection.signedIn !== undefined) {
      await this.deps.continuity.left(connection, channel, config.history, departed);
    }
    // The member leaves before the channel is counted empty: member_removed, then channel_vacated.
    const announced =
      userId !== undefined && config.presence
        ? await this.deps.members.leave(projectId, channel, userId, connectionId)
        : { notified: 0, gone: [] };
    await this.deps.lifecycle.unsubscribed(projectId, channel);
    return announced;
  }
}
