/**
 * Pusher's WebSocket protocol (version 7), as pusher-js 8 and Laravel Echo 2 speak it, for
 * connections that came through the Pusher endpoint: what they send, and every frame the server
 * sends them, built here and nowhere else. The `data` of a frame the server sends is a JSON string,
 * as Pusher sends it (pusher-js parses it when it can).
 */
import * as z from 'zod/mini';
import { pusherSocketId } from '../contract/socket-ids';
import { ErrorCode, type Failure } from './errors';
import { channelSchema } from './inbound';
import type { ChannelMessage, Member, Notice } from './outbound';

/** The only protocol version spoken (pusher-js 8 sends `protocol=7`). */
export const PUSHER_PROTOCOL = '7';
/**
 * Seconds of silence after which pusher-js pings: well inside API Gateway's 10-minute idle
 * timeout, so an idle connection stays open.
 */
export const PUSHER_ACTIVITY_TIMEOUT_SECONDS = 120;
/** Pusher's limit on a client event's name and the events a client may send per second. */
export const CLIENT_EVENT_PREFIX = 'client-';

/** Pusher's cache channels: a subscriber gets the last event of the last 30 minutes at once, or `pusher:cache_miss`. */
export const isCacheChannel = (channel: string): boolean => /^(?:private-encrypted-|private-|presence-)?cache-/.test(channel);
export const CACHE_TTL_MS = 30 * 60_000;

/**
 * Pusher's user channel, `#server-to-user-{id}`: what `sendToUser` publishes to and a signed-in
 * pusher-js listens on. Inside, it is the reserved channel `$user:{id}`, which no client may
 * subscribe to by name: signing in subscribes the connection.
 */
export const PUSHER_USER_CHANNEL_PREFIX = '#server-to-user-';
export const USER_CHANNEL_PREFIX = '$user:';
/**
 * A user id as this service takes it: 1–128 of letters, digits and `-_=@,.;` (Pusher's SDKs take any
 * non-empty string; ids with other characters are refused at sign-in and by sendToUser, as the docs say).
 */
export const pusherUserIdSchema = z
  .string()
  .check(z.regex(/^[A-Za-z0-9_\-=@,.;]{1,128}$/, { error: 'user_data.id must be 1–128 of A–Z a–z 0–9 _ - = @ , . ;' }));

/** `#server-to-user-{id}` → `$user:{id}`; undefined for any other name, or an id Pusher does not allow. */
export function userChannelOf(pusherName: string): string | undefined {
  if (!pusherName.startsWith(PUSHER_USER_CHANNEL_PREFIX)) return undefined;
  const userId = pusherName.slice(PUSHER_USER_CHANNEL_PREFIX.length);
  return pusherUserIdSchema.safeParse(userId).success ? `${USER_CHANNEL_PREFIX}${userId}` : undefined;
}

/** The name a Pusher connection knows a channel by. */
const pusherNameOf = (channel: string) =>
  channel.startsWith(USER_CHANNEL_PREFIX) ? `${PUSHER_USER_CHANNEL_PREFIX}${channel.slice(USER_CHANNEL_PREFIX.length)}` : channel;

/** `pusher:signin`'s data; `user_data` is JSON text, signed with the socket id. */
export const pusherSigninData = z.object({
  auth: z.string().check(z.maxLength(1024)),
  // Room for a watchlist of 100 user ids.
  user_data: z.string().check(z.maxLength(16 * 1024)),
});

/** A frame from a Pusher client: an event, perhaps for a channel, with data (an object or a JSON string). */
export const pusherFrame = z.object({
  event: z.string().check(z.minLength(1), z.maxLength(200)),
  channel: z.optional(channelSchema),
  data: z.optional(z.unknown()),
});
export type PusherFrame = z.infer<typeof pusherFrame>;

/** `pusher:subscribe`'s data. */
export const pusherSubscribeData = z.object({
  channel: channelSchema,
  auth: z.optional(z.string().check(z.maxLength(1024))),
  channel_data: z.optional(z.string().check(z.maxLength(4096))),
});

/**
 * Pusher's error codes, by what pusher-js does with them: 4000–4099 it does not reconnect (the
 * application must change something), 4100–4199 it reconnects after backing off, 4200–4299 at once.
 */
export const PUSHER_CODE = {
  appNotFound: 4001,
  overQuota: 4004,
  noProtocol: 4008,
  unsupportedProtocol: 4007,
  unauthorized: 4009,
  overCapacity: 4100,
  reconnect: 4200,
  clientEventRejected: 4301,
} as const;

/** A refusal as a Pusher error code: what pusher-js should do about it. */
export function pusherCodeOf(failed: Failure): number {
  switch (failed.code) {
    case ErrorCode.invalidProject:
      return PUSHER_CODE.appNotFound;
    case ErrorCode.rateLimited:
    case ErrorCode.tooManyConnections:
      return PUSHER_CODE.overCapacity;
    case ErrorCode.unavailable:
    case ErrorCode.internalError:
      return PUSHER_CODE.reconnect;
    default:
      return PUSHER_CODE.unauthorized;
  }
}

const frame = (event: string, fields: { channel?: string; data: unknown; user_id?: string }) =>
  JSON.stringify({
    event,
    ...(fields.channel !== undefined && { channel: fields.channel }),
    data: fields.data,
    ...(fields.user_id !== undefined && { user_id: fields.user_id }),
  });

/** A presence channel's members as `pusher_internal:subscription_succeeded` carries them. */
function presenceData(members: readonly Member[], count: number) {
  const hash: Record<string, unknown> = {};
  for (const member of members) hash[member.userId] = member.info ?? null;
  return { presence: { ids: members.map((m) => m.userId), hash, count } };
}

/** A message's data as Pusher sends it: a string stays as it is, anything else is JSON. */
const dataText = (data: unknown): string => (typeof data === 'string' ? data : JSON.stringify(data ?? null));

export const pusherOut = {
  /** The first frame on every Pusher connection, once API Gateway has opened it. */
  connectionEstablished: (connectionId: string) =>
    frame('pusher:connection_established', {
      data: JSON.stringify({ socket_id: pusherSocketId(connectionId), activity_timeout: PUSHER_ACTIVITY_TIMEOUT_SECONDS }),
    }),
  /** A refusal of the connection or of a frame; pusher-js's connection emits it as an `error`. */
  error: (code: number | null, message: string) => frame('pusher:error', { data: { code, message } }),
  pong: () => frame('pusher:pong', { data: '{}' }),
  subscribed: (channel: string, presence?: { members: readonly Member[]; count: number }) =>
    frame('pusher_internal:subscription_succeeded', {
      channel,
      data: JSON.stringify(presence ? presenceData(presence.members, presence.count) : {}),
    }),
  /** A cache channel without a last event of the last 30 minutes. */
  cacheMiss: (channel: string) => frame('pusher:cache_miss', { channel, data: '{}' }),
  /** The watched users online when the user signs in (pusher-js's `user.watchlist` emits `online`). */
  watchlist: (online: readonly string[]) =>
    frame('pusher_internal:watchlist_events', { data: JSON.stringify({ events: [{ name: 'online', user_ids: online }] }) }),
  /** Signed in: pusher-js then subscribes to its user channel. */
  signedIn: (userData: string) => frame('pusher:signin_success', { data: { user_data: userData } }),
  /** A refused subscription: the channel's `pusher:subscription_error` (Laravel Echo's `.error()`). */
  subscriptionError: (channel: string, failed: Failure, status: number) =>
    frame('pusher:subscription_error', { channel, data: { type: 'AuthError', error: failed.message, status } }),
};

/**
 * The Pusher frame for what a native connection would be sent, from its native body: a channel's
 * message as `{"event","channel","data"}` (with `user_id` for a client event on a presence
 * channel), a presence change as `pusher_internal:member_*`. Undefined for what Pusher has no frame
 * for (system notices, routed messages), which Pusher connections are not sent.
 */
export function pusherBodyOf(nativeBody: string): string | undefined {
  const message = JSON.parse(nativeBody) as (ChannelMessage & { userId?: string }) | Notice | { kind: string };
  if (message.kind === 'message') {
    const m = message as ChannelMessage & { userId?: string };
    if (m.channel === undefined || m.event === 'broadcast_cleared') return undefined;
    return frame(m.event, {
      channel: pusherNameOf(m.channel),
      data: dataText(m.data),
      ...(m.userId !== undefined && { user_id: m.userId }),
    });
  }
  if (message.kind === 'notice') {
    const notice = message as Notice;
    if (notice.type === 'member_added') {
      return frame('pusher_internal:member_added', {
        channel: notice.channel,
        data: JSON.stringify({ user_id: notice.member.userId, user_info: notice.member.info ?? null }),
      });
    }
    if (notice.type === 'watchlist_events')
      return frame('pusher_internal:watchlist_events', { data: JSON.stringify({ events: notice.events }) });
    if (notice.type === 'subscription_count') {
      return frame('pusher_internal:subscription_count', {
        channel: pusherNameOf(notice.channel),
        data: JSON.stringify({ subscription_count: notice.count }),
      });
    }
    if (notice.type === 'member_removed') {
      return frame('pusher_internal:member_removed', { channel: notice.channel, data: JSON.stringify({ user_id: notice.member.userId }) });
    }
  }
  return undefined;
}
