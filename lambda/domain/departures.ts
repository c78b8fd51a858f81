/**
 * What follows a connection that went: the project's typed clients are told, and its count of
 * open connections goes down.
 */
import type { ConnectionRecord } from '../ports';
import type { GoneConnection } from './fanout';
import type { DepartureListener } from './membership';
import type { Presence } from './presence';
import type { Projects } from './projects';

export class Departures implements DepartureListener {
  constructor(
    private readonly presence: Presence,
    private readonly projects: Projects,
  ) {}

  async departed(connection: ConnectionRecord): Promise<readonly GoneConnection[]> {
    const [gone] = await Promise.all([this.presence.left(connection), this.projects.record(connection.projectId, { live: -1, liveSince: connection.connectedAt })]);
    return gone;
  }
}
