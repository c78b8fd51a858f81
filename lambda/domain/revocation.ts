/**
 * What revoking a credential does to the connections it let in: each one is closed now
 * (`DeleteConnection`) instead of living on for up to two hours — those whose token a revoked key
 * signed or whose Pusher channel auth it made, and, when a project stops taking anonymous clients,
 * those that came without a token.
 */
import pLimit from 'p-limit';
import type { ConnectionStore, Delivery, SubscriptionStore } from '../ports';
import { INTERNAL } from './internal-channels';
import type { Membership } from './membership';

const CLOSE_CONCURRENCY = 16;

export class Revocation {
  constructor(
    private readonly deps: {
      readonly connections: ConnectionStore;
      readonly subscriptions: SubscriptionStore;
      readonly delivery: Delivery;
      readonly membership: Membership;
    },
  ) {}

  /**
   * Closes every connection signed in as the user (Pusher's `terminateUserConnections`), at most
   * `max` of them; returns how many.
   */
  async closeUser(projectId: string, userId: string, max: number): Promise<number> {
    const ids: string[] = [];
    for await (const page of this.deps.subscriptions.subscribers(projectId, INTERNAL.user(userId))) {
      ids.push(...page.ids);
      if (ids.length >= max) break;
    }
    return this.close(ids.slice(0, max));
  }

  /** Closes every live connection of the project one of these keys let in; returns how many. */
  async closeSignedBy(projectId: string, keyPrefixes: readonly string[]): Promise<number> {
    const ids = (await Promise.all(keyPrefixes.map((prefix) => this.deps.connections.signedBy(projectId, prefix)))).flat();
    return this.close([...new Set(ids)]);
  }

  /** Closes every live connection of the project that came without a token; returns how many. */
  async closeAnonymous(projectId: string): Promise<number> {
    return this.close(await this.deps.connections.anonymousOf(projectId));
  }

  private async close(ids: readonly string[]): Promise<number> {
    const limit = pLimit(CLOSE_CONCURRENCY);
    const outcomes = await Promise.all(ids.map((id) => limit(() => this.deps.delivery.close(id))));
    // Removed here too, not left to $disconnect: one whose close failed stops receiving all the
    // same, and its next frame finds no connection.
    await this.deps.membership.purge(ids.map((connectionId) => ({ connectionId })));
    return outcomes.filter((outcome) => outcome !== 'failed').length;
  }
}
