/**
 * Every message the server sends on a native connection, built here and nowhere else. The types are
 * the client's own (client/src/messages.ts), so what is built here is what the client expects;
 * each message says what it is in `kind`.
 */
import type { ChannelMessage, Counts, Member, Notice, Reply, RoutedMessage, StreamState } from '../../client/src/messages';
import { MAX_MESSAGE_BYTES } from '../contract/limits';
import { pusherSocketId } from '../contract/socket-ids';
import { ErrorCode, Failure, Result, fail, ok } from './errors';
import type { RoutedFrame } from './inbound';

export type { ChannelMessage, Member, Notice, Reply, RoutedMessage, StreamState };

/** A message delivered to subscribers (`channel` set) or to one connection (`channel` absent). */
export type Delivered = ChannelMessage & { readonly data: unknown };

export type FanoutCounts = Counts;

/** A reply of one type, without the `kind` every reply has. */
type ReplyOf<T extends Reply['type']> = Extract<Reply, { type: T }>;
const asReply = <T extends Reply['type']>(body: Omit<ReplyOf<T>, 'kind'>) => ({ kind: 'reply', ...body }) as ReplyOf<T>;

export const reply = {
  /** With the connection's Pusher-style socket id, for Pusher auth endpoints. */
  connectionId: (id: string, socketId?: string) =>
    asReply<'connection_id'>({ type: 'connection_id', connection_id: id, ...(socketId && { socket_id: socketId }) }),
  /** With the stream's position on channels that keep history, and the outcome of a recovery asked for. */
  subscribed: (channelName: string, stream?: StreamState) =>
    asReply<'subscription_succeeded'>({ type: 'subscription_succeeded', channel: channelName, ...stream }),
  unsubscribed: (channelName: string) => asReply<'unsubscribe_succeeded'>({ type: 'unsubscribe_succeeded', channel: channelName }),
  /** A send's outcome: its counts, or how many it queued for a big channel's background delivery. */
  sent: (
    target: { channel?: string; connectionId?: string },
    id: string,
    outcome: Counts | { queued: number },
    position?: { offset?: number; epoch?: string },
  ) => asReply<'send_success'>({ type: 'send_success', ...target, id, ...outcome, ...position }),
  pong: () => asReply<'pong'>({ type: 'pong' }),
  acked: (channelName: string, id: string) => asReply<'ack_succeeded'>({ type: 'ack_succeeded', channel: channelName, id }),
  noRetained: (channelName: string) => asReply<'no_retained'>({ type: 'no_retained', channel: channelName }),
  error: (failed: Failure) => asReply<'error'>({ type: 'error', code: failed.code, message: failed.message }),
  /** `members` may be the first of `count` (as many as fit in one message). */
  presence: (channelName: string, members: readonly Member[], count: number) =>
    asReply<'presence'>({ type: 'presence', channel: channelName, members, count }),
  /** A page of stored messages as JSON text, the messages spliced in as stored. */
  history: (channelName: string, page: HistoryPageText) => historyJson({ kind: 'reply', type: 'history', channel: channelName }, page),
};

/** A page of stored messages: where the stream is, the messages as stored (JSON text), whether more follow. */
export interface HistoryPageText {
  readonly position?: { readonly offset: number; readonly epoch: string };
  readonly messages: readonly { readonly body: string }[];
  readonly more: boolean;
}

/**
 * A page of stored messages as JSON text, the messages spliced in as stored (no re-parsing):
 * `{ ...head, "epoch", "offset", "messages": [...], "more" }`.
 */
export function historyJson(head: Record<string, unknown>, page: HistoryPageText): string {
  const start = JSON.stringify({ ...head, ...(page.position && { epoch: page.position.epoch, offset: page.position.offset }) }).slice(
    0,
    -1,
  );
  return `${start},"messages":[${page.messages.map((m) => m.body).join(',')}],"more":${page.more}}`;
}

/** What every message the server originates carries: a fresh id and the time it was made. */
export interface Stamp {
  readonly id: string;
  readonly timestamp: string;
}

/** The connection a system message is about. */
interface ClientRef {
  readonly connectionId: string;
  readonly projectId: string;
  readonly clientType?: string;
}

type NoticeOf<T extends Notice['type']> = Extract<Notice, { type: T }>;

/** Messages the server pushes (not replies to a frame). */
export const outbound = {
  /** A publish as its subscribers (or its one addressee) receive it. */
  delivered: (
    stamp: Stamp,
    message: { channel?: string; event: string; data?: unknown; from?: string; userId?: string },
    position?: { offset: number; epoch: string },
  ): Delivered => ({
    kind: 'message',
    ...stamp,
    ...(message.channel !== undefined && { channel: message.channel }),
    event: message.event,
    data: message.data ?? null,
    ...(message.from !== undefined && { from: message.from }),
    ...(message.userId !== undefined && { userId: message.userId }),
    ...(position && { offset: position.offset, epoch: position.epoch }),
  }),
  /** A channel's retained broadcast, sent to a new subscriber or on request (stored ones from before `kind` get it too). */
  retained: (message: Record<string, unknown>) => ({ ...message, kind: 'message', retained: true }) as ChannelMessage,
  broadcastCleared: (stamp: Stamp, channelName: string): ChannelMessage => ({
    kind: 'message',
    ...stamp,
    channel: channelName,
    event: 'broadcast_cleared',
  }),
  /** The first message on every connection. */
  connected: (client: ClientRef, clientCount: number, timestamp: string): NoticeOf<'connected'> => ({
    kind: 'notice',
    type: 'connected',
    clientId: client.connectionId,
    ...socketIdOf(client.connectionId),
    projectId: client.projectId,
    ...(client.clientType && { clientType: client.clientType }),
    clientCount,
    timestamp,
  }),
  /** To the project's typed clients, when one of them goes. */
  clientLeft: (client: ClientRef & { clientType: string }, timestamp: string): NoticeOf<'client_left'> => ({
    kind: 'notice',
    type: 'client_left',
    clientId: client.connectionId,
    clientType: client.clientType,
    projectId: client.projectId,
    timestamp,
  }),
  /** To a presence channel's subscribers when a user's first connection joins or its last leaves. */
  member: (type: 'member_added' | 'member_removed', channelName: string, member: Member): NoticeOf<'member_added' | 'member_removed'> => ({
    kind: 'notice',
    type,
    channel: channelName,
    member,
  }),
  /** A channel's subscriber count, to its subscribers (debounced). */
  subscriptionCount: (channelName: string, count: number): NoticeOf<'subscription_count'> => ({
    kind: 'notice',
    type: 'subscription_count',
    channel: channelName,
    count,
  }),
  /** Watched users who came online or went offline, to a watcher's user channel. */
  watchlist: (name: 'online' | 'offline', userIds: readonly string[]): NoticeOf<'watchlist_events'> => ({
    kind: 'notice',
    type: 'watchlist_events',
    events: [{ name, user_ids: userIds }],
  }),
  /** A routed message between typed clients; `from` is always the server's word, never the client's. */
  routed: (stamp: Stamp, frame: RoutedFrame, sender: { connectionId: string; clientType?: string }): RoutedMessage => ({
    kind: 'routed',
    id: frame.id ?? stamp.id,
    type: frame.type,
    payload: frame.payload ?? null,
    ...(frame.to && { to: frame.to }),
    from: { id: sender.connectionId, type: sender.clientType ?? null },
    timestamp: stamp.timestamp,
  }),
};

/** `{ socketId }`: the connection's Pusher-style socket id, for Pusher auth endpoints (none for an id that has none). */
function socketIdOf(connectionId: string): { socketId?: string } {
  const socketId = pusherSocketId(connectionId);
  return socketId ? { socketId } : {};
}

/** Byte length of a string as UTF-8, which is what API Gateway meters. */
export const byteLength = (text: string): number => Buffer.byteLength(text, 'utf8');

/** A message as sent on the wire, or `payload_too_large` if API Gateway could not deliver it. */
export function encode(message: object): Result<string> {
  const body = JSON.stringify(message);
  const size = byteLength(body);
  if (size > MAX_MESSAGE_BYTES) {
    return fail(ErrorCode.payloadTooLarge, `Message is ${size} bytes with its envelope; API Gateway delivers at most ${MAX_MESSAGE_BYTES}`);
  }
  return ok(body);
}
