/**
 * Limits and fixed names a client, the handler and the local gateway must agree on. Pure data.
 */

/** API Gateway's WebSocket message limit; a delivered message must fit in it, envelope included. */
export const MAX_MESSAGE_BYTES = 128 * 1024;
/** Bounds each connection's subscriptions, so its item and its `$disconnect` clean-up stay small. */
export const MAX_CHANNELS_PER_CONNECTION = 100;
/** AppSync Events takes 5 per batch and Pusher 10. */
export const MAX_BATCH_MESSAGES = 25;
/** Longer-lived connect tokens are refused: a leaked token should not be good for long. */
export const MAX_TOKEN_LIFETIME_SECONDS = 7 * 24 * 60 * 60;
/** Project keys start `rbk_`; this many characters (`rbk_` and 8 more) are the key's `keyPrefix`, a client token's `kid`. */
export const API_KEY_PREFIX_LENGTH = 12;
/** The project of connections and publishes that name none. */
export const DEFAULT_PROJECT_ID = 'default';
/** Deeper JSON is refused: nothing a client sends needs more, and deep values cost every reader. */
export const MAX_JSON_DEPTH = 32;

/** Who may publish from a WebSocket connection: anyone, connections whose token grants it, or nobody (HTTP only). */
export type ClientPublish = 'all' | 'granted' | 'none';

/** A project's access rules and limits, as the master key sets them. */
export interface ProjectSettings {
  /** Connections without a valid token are accepted. */
  readonly anonymousConnect: boolean;
  readonly clientPublish: ClientPublish;
  /** Each connection's messages: a token bucket refilled at `perSecond`, holding at most `burst`. */
  readonly rateLimit: { readonly perSecond: number; readonly burst: number };
  /** The longest-lived client token accepted. */
  readonly maxTokenTtlSeconds: number;
  /** Connections one user (a token's `sub`) may hold open at once. */
  readonly maxConnectionsPerUser: number;
  /** One user's messages, all its connections together: a token bucket as `rateLimit` is for each. */
  readonly userRateLimit: { readonly perSecond: number; readonly burst: number };
  /**
   * Pusher's client events (`client-*`): a connection may send them on the private and presence
   * channels it has joined, to the channel's other subscribers. Off, as on Pusher.
   */
  readonly clientEvents: boolean;
  /**
   * Webhooks in Pusher's format: each URL gets the events it names, batched, signed with the
   * project's key. Empty: none. They ride on lifecycle events (the deployment must send them).
   */
  readonly webhooks: readonly Webhook[];
  /**
   * `pusher_internal:subscription_count` (a `subscription_count` notice natively) to a channel's
   * subscribers when its count changes: at most one every 2 s (longer on bigger channels), never
   * on channels over 1,000 subscribers. Off, as on Pusher. Needs lifecycle events (the counts).
   */
  readonly subscriptionCount: boolean;
}

export const SUBSCRIPTION_COUNT_LIMITS = {
  /** The least time between two notices to one channel. */
  windowMs: 2000,
  /** Per subscriber the window grows by this, so a channel's notices cost at most 50 posts a second. */
  windowMsPerSubscriber: 20,
  /** Channels with more subscribers get no notices (the REST query still answers). */
  maxSubscribers: 1000,
} as const;

/** The events a webhook may ask for: Pusher's names. */
export const WEBHOOK_EVENTS = [
  'channel_occupied',
  'channel_vacated',
  'member_added',
  'member_removed',
  'client_event',
  'cache_miss',
  'subscription_count',
] as const;
export type WebhookEventName = (typeof WEBHOOK_EVENTS)[number];

export interface Webhook {
  readonly url: string;
  readonly events: readonly WebhookEventName[];
}

export const WEBHOOK_LIMITS = {
  /** Webhooks one project may have. */
  perProject: 5,
  urlLength: 2048,
  /** Events in one request; more are sent in several. */
  eventsPerRequest: 100,
  /** How long a receiver has to answer 2xx before the attempt counts as failed. */
  timeoutMs: 5000,
  /** Last failed attempts kept per project, for the console and `GET /projects/{id}/webhooks`. */
  failuresKept: 10,
} as const;

/** A project without a key is open, for development and trusted networks. */
export const OPEN_PROJECT_SETTINGS: ProjectSettings = {
  anonymousConnect: true,
  clientPublish: 'all',
  rateLimit: { perSecond: 10, burst: 20 },
  maxTokenTtlSeconds: 24 * 60 * 60,
  // A user with a few tabs open, not a user with sixty sockets.
  maxConnectionsPerUser: 10,
  userRateLimit: { perSecond: 20, burst: 40 },
  clientEvents: false,
  webhooks: [],
  subscriptionCount: false,
};

/** What a project gets when its first key is created: clients need tokens, and publish only where granted. */
export const KEYED_PROJECT_SETTINGS: ProjectSettings = { ...OPEN_PROJECT_SETTINGS, anonymousConnect: false, clientPublish: 'granted' };

export const SETTINGS_BOUNDS = {
  perSecond: { min: 1, max: 1000 },
  burst: { min: 1, max: 1000 },
  maxTokenTtlSeconds: { min: 60, max: MAX_TOKEN_LIFETIME_SECONDS },
  maxConnectionsPerUser: { min: 1, max: 1000 },
} as const;

/** How long the handler trusts a project's settings before reading them again. */
export const SETTINGS_CACHE_SECONDS = 30;

/** The handler's Lambda timeout: just under API Gateway's 29 s integration timeout, since a slower answer reaches nobody. */
export const HANDLER_TIMEOUT_SECONDS = 29;

/**
 * API Gateway's limits and timeouts that a client or the handler can observe: the local gateway
 * enforces these, and docs/operations.md's Limits state them (see aws-facts).
 */
export const API_GATEWAY = {
  /** A WebSocket message, client → server or `PostToConnection`; larger closes with 1009. */
  messageBytes: MAX_MESSAGE_BYTES,
  /** A single client WebSocket frame; larger closes with 1009. Browsers send a message as one frame. */
  frameBytes: 32 * 1024,
  idleTimeoutMs: 10 * 60 * 1000,
  maxConnectionMs: 2 * 60 * 60 * 1000,
  webSocketIntegrationTimeoutMs: 29_000,
  httpIntegrationTimeoutMs: 30_000,
  httpBodyBytes: 10 * 1024 * 1024,
  /** The construct's default stage throttle, for both APIs. */
  stageThrottle: { rateLimit: 1000, burstLimit: 500 },
  /** The account's request budget per region, shared by every API and `@connections`. */
  accountThrottle: { rateLimit: 10_000, burstLimit: 5_000 },
} as const;

/**
 * What a frame costs a connection beyond its own message, by the work it causes: one more message
 * of its rate limit per this much (the first of each free). Each is owed after the frame ran, so a
 * connection that causes much waits longer for its next frame.
 */
export const WORK_PER_MESSAGE = {
  /** Presence notices (`member_added`, `member_removed`) a subscribe or unsubscribe sent. */
  notices: 10,
  /** Bytes of stored messages a history page carried. */
  historyBytes: 64 * 1024,
  /** Members a presence list carried. */
  members: 100,
  /** Messages a recovery replayed (paid before replaying: a connection without them gets `replay_limited`). */
  replayed: 64,
  /** Bytes a recovery replayed. */
  replayedBytes: 64 * 1024,
} as const;

/** The most one subscribe with `since` replays; past it the subscriber is told `replay_limited` and pages with `history`. */
export const MAX_REPLAY = { messages: 1000, bytes: 1024 * 1024 } as const;
