/**
 * What a connection does with channels — subscribe (membership, presence, recovery, the retained
 * message, lifecycle), unsubscribe, ping — and what anyone who may read a channel may ask of it:
 * its history, its members, its retained message.
 */
import { ACCESS, viaPusherAuth } from '../auth/access';
import { MAX_REPLAY, WORK_PER_MESSAGE } from '../contract/limits';
import type { Member } from '../domain/members';
import type { ChannelConfig } from '../domain/namespaces';
import { WATCHLIST_LIMITS } from '../domain/watchlists';
import type { HistoryPage } from '../domain/history';
import type { ConnectionRecord, GoneConnection } from '../ports';
import {
  ChannelMessage,
  ErrorCode,
  fail,
  failure,
  isCacheChannel,
  ok,
  parseJson,
  pusherUserIdSchema,
  Result,
  StreamState,
} from '../protocol';
import { FLAT, operation, per, Scope } from './operation';
import type { Services } from './services';

/**
 * A continuity replay to a Pusher connection is one post per message, in order, within one
 * request's time: at most this many per channel, and per sign-in over all its channels.
 */
const CONTINUITY_REPLAY = { messages: 200, bytes: 512 * 1024, perSignIn: 400 } as const;

/** A WebSocket message is at most 128 KB: a reply leaves room for its envelope. */
export const MAX_REPLY_BYTES = 120 * 1024;
/** A history page over HTTP stays well under Lambda's 6 MB response. */
export const MAX_HTTP_REPLY_BYTES = 5 * 1024 * 1024;

/** The most one reply may carry, by who asks: a connection's reply is one WebSocket message. */
const replyBytes = (scope: Scope) => (scope.caller.kind === 'connection' ? MAX_REPLY_BYTES : MAX_HTTP_REPLY_BYTES);

const connectionOf = (scope: Scope): ConnectionRecord => {
  if (scope.caller.kind !== 'connection') throw new Error('a connection operation was called by a backend');
  return scope.caller.connection;
};

/** Connections found gone while announcing go to a background purge, as a publish's do; the notices sent are the call's work. */
async function purgeLater(
  services: Services,
  announced: { readonly gone: readonly GoneConnection[]; readonly notified: number },
): Promise<number> {
  if (announced.gone.length > 0) await services.publisher.purge(announced.gone);
  return announced.notified;
}

const bytesOf = (messages: readonly { readonly body: string }[]) => messages.reduce((sum, m) => sum + Buffer.byteLength(m.body) + 1, 0);

export interface SubscribeInput {
  readonly channel: string;
  /** The offset and epoch of the last message the client has, to recover what followed. */
  readonly since?: { readonly offset: number; readonly epoch: string };
  /** Pusher's channel auth, `<key prefix>:<hex HMAC-SHA256>`, from an existing Pusher auth endpoint. */
  readonly auth?: string;
  /** Pusher's presence `channel_data`, covered by `auth`. */
  readonly channel_data?: string;
  /** On a presence channel, answer its members too (Pusher's confirmation carries them). */
  readonly withMembers?: boolean;
}

export interface Subscribed {
  readonly channel: string;
  readonly connectionId: string;
  /** The connection's first subscribe ever. */
  readonly first: boolean;
  /** On a channel with history: where the stream is, and how a recovery asked for went. */
  readonly stream?: StreamState;
  /** What the subscriber missed, in offset order, as stored: sent before the confirmation. */
  readonly replay: readonly { readonly body: string }[];
  /** The channel's retained broadcast, unless this user acknowledged it: sent after the confirmation. */
  readonly retained?: ChannelMessage;
  /** On a presence channel, with `withMembers`: its members (as many as one reply holds) and their count. */
  readonly members?: { readonly list: readonly Member[]; readonly count: number };
  /** Presence notices the join sent (what it costs the connection). */
  readonly notified: number;
  /** Webhook requests the join made (a cache miss), one message each. */
  readonly webhooks?: number;
}

/** Pusher's `channel_data`: `{"user_id": "…", "user_info": {…}}`. */
function pusherUser(channelData: string): { userId: string; info?: Record<string, unknown> } | undefined {
  try {
    const { user_id: id, user_info: info } = JSON.parse(channelData) as { user_id?: unknown; user_info?: unknown };
    if ((typeof id !== 'string' && typeof id !== 'number') || String(id).length === 0 || String(id).length > 128) return undefined;
    const valid = typeof info === 'object' && info !== null && !Array.isArray(info);
    return { userId: String(id), ...(valid && { info: info as Record<string, unknown> }) };
  } catch {
    return undefined;
  }
}

/** A replay is paid for before it is sent (what it carries), or not sent: false if the connection's budget does not hold it. */
async function paidFor(messages: readonly { readonly body: string }[], connection: ConnectionRecord, services: Services): Promise<boolean> {
  if (messages.length === 0) return true;
  const owed = Math.max(per(messages.length, WORK_PER_MESSAGE.replayed), per(bytesOf(messages), WORK_PER_MESSAGE.replayedBytes));
  return owed === 0 || services.connections.charge(connection.connectionId, owed, connection.rateLimit, services.now());
}

/**
 * Presence needs a user: an anonymous connection is refused before anything is stored, unless a
 * Pusher `channel_data` signed by the project's key (checked already) names one.
 */
async function admitTo(
  channel: string,
  connection: ConnectionRecord,
  services: Services,
  signedChannelData?: string,
): Promise<Result<{ config: ChannelConfig; connection: ConnectionRecord }>> {
  const config = await services.namespaces.of(connection.projectId, channel);
  if (!config.presence) return ok({ config, connection });
  if (signedChannelData !== undefined) {
    const user = pusherUser(signedChannelData);
    if (!user) return fail(ErrorCode.invalidMessage, 'channel_data must be JSON with a user_id (a string or number)');
    if (!(await services.connections.adopt(connection.connectionId, user))) {
      return fail(ErrorCode.subscriptionForbidden, 'channel_data names another user than this connection’s');
    }
    return ok({ config, connection: { ...connection, ...user } });
  }
  if (connection.userId === undefined) {
    return fail(
      ErrorCode.identityRequired,
      'Presence channels need a user: connect with a client token (its sub is the member), or Pusher auth with channel_data',
    );
  }
  return ok({ config, connection });
}

/**
 * Joins a channel: its members (presence), what was missed (history), its retained message. What a
 * join announces costs the connection (one message per 10 notices past the first 10); a replay is
 * paid before it is sent, or refused (`replay_limited`) if the connection's budget does not hold it.
 */
export const subscribe = operation<SubscribeInput, Subscribed>({
  name: 'subscribe',
  callers: ['connection'],
  access: ACCESS.readChannel(),
  cost: {
    before: 1,
    after: (subscribed) =>
      (subscribed.webhooks ?? 0) +
      per(subscribed.notified, WORK_PER_MESSAGE.notices) +
      (subscribed.members ? per(subscribed.members.list.length, WORK_PER_MESSAGE.members) : 0),
  },
  async run(input, scope, services) {
    const { channel, since } = input;
    const { connectionId } = connectionOf(scope);
    const pusherAuth = viaPusherAuth(input);
    const signedChannelData = pusherAuth ? input.channel_data : undefined;
    // The key whose Pusher channel auth let it in (checked by the access rule): revoking it closes the connection.
    const authKey = pusherAuth ? input.auth!.slice(0, input.auth!.indexOf(':')) : undefined;
    const result = await services.membership.subscribe(
      connectionId,
      channel,
      (c) => admitTo(channel, c, services, signedChannelData),
      authKey,
    );
    if (!result.ok) return result;
    const { first, joined, projectId, admitted } = result.value;
    const { config, connection } = admitted!;
    services.telemetry.annotate({ projectId, channel });
    if (joined) await services.lifecycle.subscribed(projectId, channel);
    // An observer (the console, say) watches the channel without joining its members.
    const joins = config.presence && !connection.observer;
    const notified = joins ? await purgeLater(services, await services.members.join(projectId, channel, connection)) : 0;

    // On a channel with history: where the stream is, and what this subscriber missed.
    let stream: StreamState | undefined;
    let replay: Subscribed['replay'] = [];
    const history = config.history;
    if (history && since) {
      const recovery = await services.history.recover(projectId, channel, history, since, MAX_REPLAY);
      stream = { ...recovery.position, recovered: recovery.recovered, ...(!recovery.recovered && { reason: recovery.reason }) };
      if (recovery.recovered && recovery.messages.length > 0) {
        if (await paidFor(recovery.messages, connection, services)) replay = recovery.messages;
        else stream = { ...recovery.position, recovered: false, reason: 'replay_limited' };
      }
    } else if (history) {
      const position = await services.history.position(projectId, channel, history);
      stream = position;
      // A sign-in may follow (pusher-js resubscribes first): it replays only what came before this. One
      // that came in meanwhile did not see this join (the two writes are ordered): the replay is this one's.
      // Only a channel new to the connection: a repeat subscribe must not move where its live messages began.
      const signedIn =
        connection.signedIn ??
        (connection.protocol === 'pusher' && joined
          ? (await services.connections.noteJoined(connectionId, channel, position))?.signedIn
          : undefined);
      if (signedIn !== undefined) {
        // Continuity: what this user missed since a connection of theirs left, up to where live messages begin.
        const who = { userId: signedIn, connectionId };
        replay = await services.continuity.resume(projectId, channel, who, history, CONTINUITY_REPLAY, position, (missed) =>
          paidFor(missed, connection, services),
        );
      }
    }
    const retained = await services.retention.pendingFor(projectId, channel, connection.userId);
    const webhooks = !retained && isCacheChannel(channel) ? await services.lifecycle.cacheMiss(projectId, channel) : 0;
    // Read after the join, so the list holds the joining member.
    const all = config.presence && input.withMembers ? await services.members.list(projectId, channel) : undefined;
    const members = all && { list: membersThatFit(all, replyBytes(scope)), count: all.length };
    return ok({
      channel,
      connectionId,
      first,
      stream,
      replay,
      notified,
      ...(webhooks > 0 && { webhooks }),
      ...(retained && { retained }),
      ...(members && { members }),
    });
  },
});

/** Leaves a channel (also fine if not in it): the member leaves, the channel's count goes down. */
export const unsubscribe = operation<{ readonly channel: string }, { channel: string; notified: number }>({
  name: 'unsubscribe',
  callers: ['connection'],
  access: ACCESS.connection,
  cost: { before: 1, after: (left) => per(left.notified, WORK_PER_MESSAGE.notices) },
  async run({ channel }, scope, services) {
    const result = await services.membership.unsubscribe(connectionOf(scope).connectionId, channel);
    if (!result.ok) return result;
    const { connection, left } = result.value;
    // The same path as a connection that went: one way to leave a channel.
    const notified = left ? await purgeLater(services, await services.departures.leftChannel(connection, channel)) : 0;
    return ok({ channel, notified });
  },
});

/**
 * A ping keeps the connection open past API Gateway's idle timeout and, for a user, keeps its
 * presence alive in every presence channel it is in.
 */
export const ping = operation<unknown, undefined>({
  name: 'ping',
  callers: ['connection'],
  access: ACCESS.connection,
  cost: FLAT,
  async run(_, scope, services) {
    const connection = connectionOf(scope);
    if (!connection.userId || connection.channels.length === 0) return ok(undefined);
    const configs = await Promise.all(connection.channels.map((channel) => services.namespaces.of(connection.projectId, channel)));
    const present = connection.channels.filter((_, i) => configs[i].presence);
    if (present.length > 0) await services.members.touch(connection.projectId, present, connection.userId, connection.connectionId);
    return ok(undefined);
  },
});

/** Pusher's `user_data`, as signed: JSON with an `id` (a string), perhaps `user_info` and a `watchlist` of user ids. */
function signedUser(userData: string): Result<{ userId: string; info?: Record<string, unknown>; watchlist: string[] }> {
  const parsed = parseJson(userData);
  const value = parsed.ok ? (parsed.value as { id?: unknown; user_info?: unknown; watchlist?: unknown } | null) : undefined;
  const id = typeof value === 'object' && value !== null ? value.id : undefined;
  if (typeof id !== 'string' || !pusherUserIdSchema.safeParse(id).success) {
    return fail(ErrorCode.invalidMessage, 'user_data must be JSON with an id: 1–128 of A–Z a–z 0–9 _ - = @ , . ;');
  }
  const { user_info: info, watchlist = [] } = value!;
  const valid =
    Array.isArray(watchlist) &&
    watchlist.length <= WATCHLIST_LIMITS.size &&
    watchlist.every((watched) => typeof watched === 'string' && pusherUserIdSchema.safeParse(watched).success);
  if (!valid) {
    return fail(ErrorCode.invalidMessage, `user_data's watchlist is a list of at most ${WATCHLIST_LIMITS.size} user ids, as its id is`);
  }
  return ok({
    userId: id,
    ...(typeof info === 'object' && info !== null && !Array.isArray(info) && { info: info as Record<string, unknown> }),
    watchlist: watchlist as string[],
  });
}

/**
 * Pusher's user sign-in: the connection becomes the signed user's, once, and joins its user
 * channel (`sendToUser` reaches it there). The signature is checked by the access rule; the key
 * that made it closes the connection when revoked.
 */
export interface SignedIn {
  readonly userData: string;
  /** Of the user's watchlist, those online now (Pusher's first `watchlist_events`). */
  readonly online: readonly string[];
  /** How many the watchlist held: what keeping it cost. */
  readonly watched: number;
  /** Continuity: per channel the connection joined before signing in, what the user missed before that (as stored). */
  readonly replays: readonly { readonly channel: string; readonly messages: readonly { readonly body: string }[] }[];
}

export const signin = operation<{ readonly auth: string; readonly user_data: string }, SignedIn>({
  name: 'signin',
  callers: ['connection'],
  access: ACCESS.signin,
  // A watchlist is one write and one read per user it names.
  cost: { before: 1, after: (signed) => per(signed.watched, WATCHLIST_LIMITS.usersPerMessage) },
  async run(input, scope, services) {
    const user = signedUser(input.user_data);
    if (!user.ok) return user;
    const connection = connectionOf(scope);
    const { maxConnectionsPerUser, userRateLimit } = await services.settings.of(connection.projectId);
    // A signed-in user is held to the project's per-user limits as a token user is: counted first.
    const counted = { ...connection, userId: user.value.userId, signedIn: user.value.userId };
    if (connection.signedIn === undefined && !(await services.users.admit(counted, maxConnectionsPerUser))) {
      return fail(ErrorCode.tooManyConnections);
    }
    const { watchlist, ...identity } = user.value;
    const signed = await services.membership.signIn(
      connection.connectionId,
      identity,
      input.auth.slice(0, input.auth.indexOf(':')),
      userRateLimit,
    );
    // Refused after all: the user's count does not keep it.
    if (!signed.ok && connection.signedIn === undefined) await services.users.left(counted);
    if (!signed.ok) return signed;
    const first = signed.value.signedIn === undefined;
    // The sign-in is done: what follows may fail without undoing it (logged, not answered).
    const online = first ? await services.watchlists.signedIn(signed.value, user.value.userId, watchlist).catch(logged(services, [])) : [];
    const replays = first ? await missedBefore(signed.value, user.value.userId, services) : [];
    return ok({ userData: input.user_data, replays, online, watched: first ? watchlist.length : 0 });
  },
});

/** A failure after a change that stands: logged, and the work's fallback answered. */
const logged =
  <T>(services: Services, fallback: T) =>
  (error: unknown): T => {
    services.logger.warn('after a sign-in', { error: (error as Error).message });
    return fallback;
  };

/** A first sign-in: on each history channel the connection joined before, what its user missed up to that join. */
async function missedBefore(connection: ConnectionRecord, userId: string, services: Services): Promise<SignedIn['replays']> {
  const { projectId, connectionId, joinedAt = {} } = connection;
  const replays: { channel: string; messages: readonly { readonly body: string }[] }[] = [];
  let left = CONTINUITY_REPLAY.perSignIn;
  for (const channel of connection.channels.filter((name) => Object.hasOwn(joinedAt, name))) {
    const { history } = await services.namespaces.of(projectId, channel);
    // What one sign-in posts is bounded (one post each, in order, within the request's time): the rest keep their marks.
    if (!history || left <= 0) continue;
    const bound = { ...CONTINUITY_REPLAY, messages: Math.min(CONTINUITY_REPLAY.messages, left) };
    const missed = await services.continuity.resume(projectId, channel, { userId, connectionId }, history, bound, joinedAt[channel], (m) =>
      paidFor(m, connection, services),
    );
    left -= missed.length;
    if (missed.length > 0) replays.push({ channel, messages: missed });
  }
  return replays;
}

/**
 * Pusher's `#server-to-user-{id}` subscription, which pusher-js sends once signed in: the user's
 * channel was joined by the sign-in, so this only confirms it — for the connection's own user.
 */
export const userChannel = operation<{ readonly userId: string }, undefined>({
  name: 'user channel',
  callers: ['connection'],
  access: ACCESS.connection,
  cost: FLAT,
  run({ userId }, scope) {
    return Promise.resolve(
      connectionOf(scope).signedIn === userId
        ? ok(undefined)
        : fail(ErrorCode.subscriptionForbidden, 'A user channel is its signed-in user’s only: sign in first (pusher.signin())'),
    );
  },
});

export interface HistoryInput {
  readonly projectId?: string;
  readonly channel: string;
  readonly since?: number;
  readonly limit: number;
}

/** Stored messages of a channel, oldest first, in pages that fit one reply. */
export const history = operation<HistoryInput, HistoryPage & { channel: string }>({
  name: 'history',
  callers: ['connection', 'backend'],
  access: ACCESS.readChannel((input) => input.projectId),
  // Its reads stop where the reply's bytes run out; what it carried is owed.
  cost: { before: 1, after: (page) => per(bytesOf(page.messages), WORK_PER_MESSAGE.historyBytes) },
  async run({ channel, since, limit }, scope, services) {
    const kept = (await services.namespaces.of(scope.projectId, channel)).history;
    if (!kept) return fail(ErrorCode.historyNotEnabled);
    const page = await services.history.read(scope.projectId, channel, kept, since, limit, replyBytes(scope));
    return ok({ channel, ...page });
  },
});

export interface MembersPage {
  readonly channel: string;
  /** All of them, or for a connection as many as fit in one reply. */
  readonly members: readonly Member[];
  readonly count: number;
}

/** The members a reply can hold, in order. */
function membersThatFit<T>(members: readonly T[], maxBytes: number): T[] {
  let bytes = 0;
  const page: T[] = [];
  for (const member of members) {
    bytes += Buffer.byteLength(JSON.stringify(member)) + 1;
    if (bytes > maxBytes) break;
    page.push(member);
  }
  return page;
}

/** A presence channel's members. */
export const members = operation<{ readonly projectId?: string; readonly channel: string }, MembersPage>({
  name: 'members',
  callers: ['connection', 'backend'],
  access: ACCESS.readChannel((input) => input.projectId),
  cost: { before: 1, after: (page) => per(page.members.length, WORK_PER_MESSAGE.members) },
  async run({ channel }, scope, services) {
    if (!(await services.namespaces.of(scope.projectId, channel)).presence) return fail(ErrorCode.presenceNotEnabled);
    const all = await services.members.list(scope.projectId, channel);
    return ok({ channel, members: membersThatFit(all, replyBytes(scope)), count: all.length });
  },
});

/** The channel's retained broadcast, unless this user acknowledged it. */
export const getRetained = operation<{ readonly channel: string }, { channel: string; retained?: ChannelMessage }>({
  name: 'get retained',
  callers: ['connection'],
  access: ACCESS.readChannel(),
  cost: FLAT,
  async run({ channel }, scope, services) {
    const retained = await services.retention.pendingFor(scope.projectId, channel, connectionOf(scope).userId);
    return ok({ channel, ...(retained && { retained }) });
  },
});

/** This user has seen the channel's retained broadcast: it is not sent to it again. */
export const ack = operation<{ readonly channel: string; readonly id: string }, { channel: string; id: string }>({
  name: 'ack',
  callers: ['connection'],
  access: ACCESS.readChannel(),
  cost: FLAT,
  async run({ channel, id }, scope, services) {
    const { userId } = connectionOf(scope);
    if (!userId)
      return { ok: false, error: failure(ErrorCode.identityRequired, 'Acknowledgements need a user: connect with a client token') };
    const acked = await services.retention.ack(scope.projectId, channel, userId, id);
    return acked.ok ? ok({ channel, id }) : acked;
  },
});
