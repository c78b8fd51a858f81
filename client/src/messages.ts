/**
 * Every JSON message the server sends on a native connection, as types. The server's builders
 * (lambda/protocol/outbound.ts) are typed against these, so the two cannot drift apart; the only
 * message that is not JSON is the text `pong` answering the text `ping`.
 *
 * Each message says what it is in `kind`:
 * - `message`: something published (to a channel, or to this connection alone);
 * - `routed`: a routed message between typed clients;
 * - `reply`: the answer to a frame this connection sent (with its `rid`, if the frame had one);
 * - `notice`: something the server tells on its own (`connected`, members coming and going, …).
 *
 * @example
 * socket.onmessage = ({ data }) => {
 *   const message = JSON.parse(data) as ServerMessage;
 *   if (message.kind === 'message') console.log(message.channel, message.event, message.data);
 * };
 */

/**
 * A message published to a channel, as subscribers get it; without `channel`, one sent to this connection alone.
 * @example
 * room.on('message', (m: ChannelMessage) => console.log(m.event, m.data, m.offset));
 */
export interface ChannelMessage {
  readonly kind: 'message';
  readonly id: string;
  readonly timestamp: string;
  readonly channel?: string;
  readonly event: string;
  /** Absent only on `broadcast_cleared`. */
  readonly data?: unknown;
  /** The sending connection; absent when published by a backend. */
  readonly from?: string;
  /** The sending user, on a Pusher client event on a presence channel. */
  readonly userId?: string;
  /** Set on a channel's retained broadcast, sent to a new subscriber or on request. */
  readonly retained?: true;
  /** On channels that keep history: the message's place in the channel's stream. */
  readonly offset?: number;
  readonly epoch?: string;
}

/**
 * A routed message between typed clients; `from` is always the server's word.
 * @example
 * client.on('routed', (m: RoutedMessage) => console.log(m.type, m.payload, m.from.id));
 */
export interface RoutedMessage {
  readonly kind: 'routed';
  readonly id: string;
  readonly type: string;
  readonly payload: unknown;
  readonly to?: { readonly type?: string; readonly id?: string };
  readonly from: { readonly id: string; readonly type: string | null };
  readonly timestamp: string;
}

/**
 * A presence member: the user (a token's `sub`, or Pusher channel data's `user_id`) and what is said about it.
 * @example
 * room.on('member_added', (member: Member) => console.log(member.userId, member.info));
 */
export interface Member {
  readonly userId: string;
  readonly info?: Record<string, unknown>;
}

/**
 * Where a channel that keeps history stands, and whether what a subscriber missed was recovered.
 * @example
 * room.on('subscribed', (s: StreamState) => s.recovered === false && reload());
 */
export interface StreamState {
  readonly offset?: number;
  readonly epoch?: string;
  readonly recovered?: boolean;
  /** Why not: `epoch_changed`, `too_many_missed`, `expired`, `unknown_offset`, `replay_limited`. */
  readonly reason?: string;
}

/**
 * How a publish went: connections reached, failed after retries, found gone.
 * @example
 * const { sent, failed, stale }: Counts = await client.publish('news', 'update', {});
 */
export interface Counts {
  readonly sent: number;
  readonly failed: number;
  readonly stale: number;
}

/** Fields every reply has: the frame's `rid`, echoed. */
interface ReplyBase {
  readonly kind: 'reply';
  readonly rid?: string;
}

/**
 * The answer to a frame.
 * @example
 * if (message.kind === 'reply' && message.type === 'error') console.warn(message.code, message.message);
 */
export type Reply = ReplyBase &
  (
    | { readonly type: 'connection_id'; readonly connection_id: string; readonly socket_id?: string }
    | ({ readonly type: 'subscription_succeeded'; readonly channel: string } & StreamState)
    | { readonly type: 'unsubscribe_succeeded'; readonly channel: string }
    | ({
        readonly type: 'send_success';
        readonly channel?: string;
        readonly connectionId?: string;
        readonly id: string;
        /** Set instead of the counts when a big channel is delivered in the background. */
        readonly queued?: number;
        readonly offset?: number;
        readonly epoch?: string;
      } & Partial<Counts>)
    | { readonly type: 'pong' }
    | { readonly type: 'ack_succeeded'; readonly channel: string; readonly id: string }
    | { readonly type: 'no_retained'; readonly channel: string }
    | { readonly type: 'error'; readonly code: string; readonly message: string }
    | {
        readonly type: 'history';
        readonly channel: string;
        readonly epoch?: string;
        readonly offset?: number;
        readonly messages: readonly ChannelMessage[];
        readonly more: boolean;
      }
    | { readonly type: 'presence'; readonly channel: string; readonly members: readonly Member[]; readonly count: number }
  );

/**
 * What the server says on its own.
 * @example
 * if (message.kind === 'notice' && message.type === 'connected') console.log(message.socketId);
 */
export type Notice = { readonly kind: 'notice' } & (
  | {
      readonly type: 'connected';
      readonly clientId: string;
      /** Pusher's socket id for this connection, for Pusher auth endpoints. */
      readonly socketId?: string;
      readonly projectId: string;
      readonly clientType?: string;
      readonly clientCount: number;
      readonly timestamp: string;
    }
  | {
      readonly type: 'client_left';
      readonly clientId: string;
      readonly clientType: string;
      readonly projectId: string;
      readonly timestamp: string;
    }
  | { readonly type: 'member_added' | 'member_removed'; readonly channel: string; readonly member: Member }
  /** A channel's subscriber count changed (projects with `subscriptionCount` on; at most one every 2 s or more). */
  | { readonly type: 'subscription_count'; readonly channel: string; readonly count: number }
  /** Watched users who came online or went offline (Pusher's watchlists: signed-in Pusher connections only). */
  | {
      readonly type: 'watchlist_events';
      readonly events: readonly { readonly name: 'online' | 'offline'; readonly user_ids: readonly string[] }[];
    }
);

/**
 * Anything the server sends as JSON, told apart by `kind`.
 * @example
 * const message = JSON.parse(text) as ServerMessage;
 */
export type ServerMessage = ChannelMessage | RoutedMessage | Reply | Notice;
