/**
 * Presence members of a channel: users (a token's `sub`, with its `info`), each counted once
 * however many connections it has. `member_added` goes to the channel's subscribers when a user's
 * first connection joins, `member_removed` when its last one leaves — by unsubscribe,
 * `$disconnect`, a purge of a gone connection, or silence longer than the presence timeout.
 *
 * No ghosts: a member is listed only while one of its connections has been heard from within the
 * timeout (connections ping; a ping refreshes it). Members found silent on a read are left out at
 * once and removed in the background, with their `member_removed`.
 */
import type { AsyncInvoker, ConnectionRecord, MemberRecord, MemberStore } from '../ports';
import { API_GATEWAY } from '../contract/limits';
import { encode, outbound } from '../protocol';

const MAX_CONNECTION_MS = API_GATEWAY.maxConnectionMs;
import type { ChannelFanout, GoneConnection } from './fanout';
import type { Lifecycle } from './lifecycle';

export interface Member {
  readonly userId: string;
  readonly info?: Record<string, unknown>;
}

export interface MembersDependencies {
  readonly members: MemberStore;
  readonly fanout: Pick<ChannelFanout, 'toChannel'>;
  readonly invoker: AsyncInvoker;
  readonly lifecycle: Lifecycle;
  readonly timeoutMs: number;
  readonly now?: () => number;
}

/** What a join or a leave caused: the notices it sent, and the connections found gone on the way. */
export interface Announced {
  readonly notified: number;
  readonly gone: readonly GoneConnection[];
}

const NOTHING: Announced = { notified: 0, gone: [] };

/** A member to remove once silent, as read: removed only if unchanged since. */
export interface SilentMember {
  readonly userId: string;
  readonly version: number;
}

export class Members {
  private readonly now: () => number;

  constructor(private readonly deps: MembersDependencies) {
    this.now = deps.now ?? Date.now;
  }

  /** Whether one of the member's connections has been heard from within the timeout. */
  private live(record: MemberRecord | undefined): boolean {
    if (!record) return false;
    const cutoff = this.now() - this.deps.timeoutMs;
    return Object.values(record.connections).some((seen) => seen >= cutoff);
  }

  /** Adds a connection's user to the channel; `member_added` if it was not there. */
  async join(
    projectId: string,
    channel: string,
    connection: Pick<ConnectionRecord, 'connectionId' | 'userId' | 'info'> & Partial<Pick<ConnectionRecord, 'connectedAt' | 'protocol'>>,
  ): Promise<Announced> {
    const member = { userId: connection.userId!, ...(connection.info && { info: connection.info }) };
    // pusher-js pings only when nothing arrives for two minutes, so on a busy channel its member is
    // never heard from: it counts as heard until its connection's 2-hour limit. Its $disconnect, or
    // a delivery that finds it gone, removes it before then.
    const heard =
      connection.protocol === 'pusher' && connection.connectedAt !== undefined ? connection.connectedAt + MAX_CONNECTION_MS : this.now();
    const before = await this.deps.members.join(projectId, channel, member, connection.connectionId, heard);
    // Present already, by another connection or this one subscribing again: nothing to announce.
    if (this.live(before)) return NOTHING;
    // The joining connection learns the members from `presence`; the others are told.
    return this.announce('member_added', projectId, channel, member, new Set([connection.connectionId]));
  }

  /** Removes a connection of a user; `member_removed` if it was the user's last. */
  async leave(projectId: string, channel: string, userId: string, connectionId: string): Promise<Announced> {
    const after = await this.deps.members.leave(projectId, channel, userId, connectionId);
    // Not there: already removed as silent, and announced then.
    if (!after || this.live(after)) return NOTHING;
    if (!(await this.deps.members.remove(projectId, channel, userId, after.version))) return NOTHING;
    return this.announce('member_removed', projectId, channel, { userId, ...(after.info && { info: after.info }) });
  }

  /** A ping: the connection is still there, in each of these channels. */
  async touch(projectId: string, channels: readonly string[], userId: string, connectionId: string): Promise<void> {
    await Promise.all(channels.map((channel) => this.deps.members.touch(projectId, channel, userId, connectionId, this.now())));
  }

  /** The members now, by user id, without the silent (whose removal starts in the background). */
  async list(projectId: string, channel: string): Promise<Member[]> {
    const records = await this.deps.members.list(projectId, channel);
    const silent = records.filter((r) => !this.live(r)).map(({ userId, version }) => ({ userId, version }));
    if (silent.length > 0) {
      await this.deps.invoker
        .invoke({ task: 'reap', projectId, channel, members: silent })
        // Inline if the background cannot start: it is only a delete and a notice per member.
        .catch(() => this.reap(projectId, channel, silent));
    }
    return records
      .filter((r) => this.live(r))
      .map(({ userId, info }) => ({ userId, ...(info && { info }) }))
      .sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
  }

  /** Removes members found silent, unless they spoke since; `member_removed` for each. */
  async reap(projectId: string, channel: string, silent: readonly SilentMember[]): Promise<readonly GoneConnection[]> {
    const gone: GoneConnection[] = [];
    for (const { userId, version } of silent) {
      if (await this.deps.members.remove(projectId, channel, userId, version))
        gone.push(...(await this.announce('member_removed', projectId, channel, { userId })).gone);
    }
    return gone;
  }

  private async announce(
    type: 'member_added' | 'member_removed',
    projectId: string,
    channel: string,
    member: Member,
    exclude?: ReadonlySet<string>,
  ): Promise<Announced> {
    await this.deps.lifecycle.emit(type, projectId, channel, member.userId);
    const body = encode(outbound.member(type, channel, member));
    if (!body.ok) return NOTHING;
    const reached = await this.deps.fanout.toChannel(projectId, channel, body.value, exclude);
    return { notified: reached.sent + reached.failed + reached.gone.length, gone: reached.gone };
  }
}
