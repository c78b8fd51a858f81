/**
 * The interfaces the domain modules depend on. Adapters in `adapters/` implement them over
 * DynamoDB, the API Gateway Management API and Secrets Manager; tests and the local stack can
 * pass their own.
 */
import type { ProjectSettings } from './contract/limits';
import type { NamespaceConfig } from './contract/namespaces';
import type { BackgroundTask } from './tasks';

export type { BackgroundTask };

export interface NewConnection {
  readonly connectionId: string;
  readonly projectId: string;
  /** Epoch milliseconds, from API Gateway's `connectedAt`. */
  readonly connectedAt: number;
  /** From `?type=` on connect: `runtime`, `admin`, … */
  readonly clientType?: string;
  /** From a verified client token (`sub`); never from anything the client merely claims. */
  readonly userId?: string;
  readonly sourceIp?: string;
  readonly userAgent?: string;
  /** The project key that signed the connection's token: revoking it closes the connection. */
  readonly keyPrefix?: string;
  /** Patterns of restricted (`private-`, `presence-`) channels its token lets it join. */
  readonly channelGrants?: readonly string[];
  /** Patterns of channels its token lets it publish to, where the project requires a grant. */
  readonly publishGrants?: readonly string[];
  /** Gets copies of every routed message: granted by a token's `monitor`, or `?type=admin` in an open project. */
  readonly monitor?: boolean;
  /** What its token says about the user, for presence. */
  readonly info?: Record<string, unknown>;
  /** Its messages' rate limit, fixed when it connects; absent, the open projects' default. */
  readonly rateLimit?: RateLimit;
  /** When its token expires (epoch seconds): after, it may no longer join restricted channels or publish. */
  readonly tokenExpiresAt?: number;
  /** Its token makes it an observer: it watches presence channels without joining their members. */
  readonly observer?: boolean;
  /** It speaks Pusher's protocol (it came through the Pusher endpoint); absent: ours. */
  readonly protocol?: 'pusher';
  /** The message budget its user's connections share (token users), fixed when it connects. */
  readonly userRateLimit?: RateLimit;
}

/** A token bucket: refilled at `perSecond`, holding at most `burst`. */
export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

export interface ConnectionRecord extends NewConnection {
  readonly channels: readonly string[];
  /** The project keys whose Pusher channel auth let it join a channel: revoking one closes it. */
  readonly authKeys?: readonly string[];
  /** The user it signed in as (Pusher's user authentication): it is in that user's channel. */
  readonly signedIn?: string;
  /**
   * Pusher connections not yet signed in: where each history channel's stream was when it joined
   * (what it gets live comes after), so a later sign-in replays only what came before.
   */
  readonly joinedAt?: Readonly<Record<string, StreamPosition>>;
}

/** What adding a channel to a connection did. */
export type AddChannelOutcome =
  /** Added; `first` is true on the connection's first subscribe ever. */
  | { readonly status: 'added'; readonly first: boolean; readonly connection: ConnectionRecord }
  /** No such connection (closed, or `$connect` never stored it). */
  | { readonly status: 'missing' }
  /** The connection already holds the maximum number of channels. */
  | { readonly status: 'full' };

/** What taking one message from a connection's rate limit did. */
export type TakeOutcome =
  | { readonly status: 'allowed'; readonly connection: ConnectionRecord }
  /** `refusals`: frames refused since its bucket was last full, this one included. */
  | { readonly status: 'limited'; readonly refusals: number }
  | { readonly status: 'missing' };

export interface ConnectionStore {
  put(connection: NewConnection): Promise<void>;
  get(connectionId: string): Promise<ConnectionRecord | undefined>;
  /**
   * Looks the connection up and takes one message from its rate limit in the same write (a
   * conditional update): `limited` if its bucket is empty.
   */
  take(connectionId: string, nowMs: number): Promise<TakeOutcome>;
  /**
   * Takes `tokens` more from a connection's bucket after a `take`. Without `ifHeldAt` whether or not
   * it holds them (a call that cost more than one message leaves the connection waiting that much
   * longer); with it (the time now, epoch ms) only if it holds them, saying whether it did.
   */
  charge(connectionId: string, tokens: number, rateLimit?: RateLimit, ifHeldAt?: number): Promise<boolean>;
  /** The project's live connections this key let in: it signed their token, or Pusher channel auth they joined with. */
  signedBy(projectId: string, keyPrefix: string): Promise<string[]>;
  /** The project's live connections that came without a token (whatever channel auth they showed since). */
  anonymousOf(projectId: string): Promise<string[]>;
  /** Adds a channel; `authKey` is the key whose Pusher channel auth let it in, if that is how. */
  addChannel(connectionId: string, channel: string, maxChannels: number, authKey?: string): Promise<AddChannelOutcome>;
  removeChannel(connectionId: string, channel: string): Promise<void>;
  /** Notes where a history channel's stream was when the connection joined it (see `joinedAt`); the connection as it is now. */
  noteJoined(connectionId: string, channel: string, position: StreamPosition): Promise<ConnectionRecord | undefined>;
  /**
   * Gives a connection without a user the one a backend vouched for (Pusher channel auth with
   * `channel_data`); false if the connection is gone or already is another user.
   */
  adopt(connectionId: string, user: { userId: string; info?: Record<string, unknown> }): Promise<boolean>;
  /**
   * Signs a connection in as a user (Pusher's user authentication), as one user only: the user
   * becomes its user, and the key that signed it one that closes it when revoked. The record as it
   * was before, or undefined if it is gone or already another user's.
   */
  signIn(
    connectionId: string,
    user: { userId: string; info?: Record<string, unknown> },
    authKey: string,
    userRateLimit: RateLimit,
  ): Promise<ConnectionRecord | undefined>;
  /** Deletes the connection and returns what it was, or undefined if it was already gone. */
  delete(connectionId: string): Promise<ConnectionRecord | undefined>;
  /** The project's live connections (type and connect time only), by Query on an index. */
  listByProject(projectId: string): Promise<{ clientType?: string; connectedAt: number }[]>;
}

export interface SubscriptionKey {
  readonly projectId: string;
  readonly channel: string;
  readonly connectionId: string;
}

/** Connection ids from `from` to `to` (inclusive, by byte order), resuming after `after`. */
export interface SubscriberRange {
  readonly from: string;
  readonly to: string;
  readonly after?: string;
}

/** Connections to deliver to, a page at a time; `pusher` names those that speak Pusher's protocol (absent: none do). */
export interface RecipientPage {
  readonly ids: readonly string[];
  readonly pusher?: ReadonlySet<string>;
}

export interface SubscriberPage extends RecipientPage {
  /** Where the next page starts; undefined after the last. */
  readonly after?: string;
}

/** The protocol a connection speaks: ours, or Pusher's (it came through the Pusher endpoint). */
export type WireProtocol = 'native' | 'pusher';

export interface SubscriptionStore {
  /** `protocol`: what the subscriber speaks, kept with the subscription so a fan-out reads it with the id. */
  add(key: SubscriptionKey, expiresAt: number, protocol?: WireProtocol): Promise<void>;
  remove(key: SubscriptionKey): Promise<void>;
  removeMany(keys: readonly SubscriptionKey[]): Promise<void>;
  /** The channel's live subscribers, a page at a time, so fan-out can start before the last page is read. */
  subscribers(projectId: string, channel: string): AsyncIterable<RecipientPage>;
  /**
   * The live subscribers whose connection ids fall in a range, a page at a time, each page with the
   * key to resume after it (undefined on the last): how a shard reads its part of a big channel.
   */
  slice(projectId: string, channel: string, range: SubscriberRange, pageSize?: number): AsyncIterable<SubscriberPage>;
  /** How many live subscribers a channel has. */
  count(projectId: string, channel: string): Promise<number>;
  /** Every channel of the project with its live subscriber count, by Query on an index. */
  channelsOf(projectId: string): Promise<Map<string, number>>;
}

export interface ApiKeyRecord {
  readonly projectId: string;
  /** The key's first characters, to tell keys apart and a client token's `kid`; not enough to use it. */
  readonly keyPrefix: string;
  readonly description: string;
  readonly createdAt: string;
  /** False for keys created before keys could sign client tokens: they authenticate HTTP requests only. */
  readonly signsTokens: boolean;
}

/** A key as stored: its hash, and the key itself sealed with the deployment's sealing secret. */
export interface StoredKey extends ApiKeyRecord {
  readonly keyHash: string;
  /** Absent for keys from before sealing (`signsTokens: false`). */
  readonly sealedKey?: string;
}

export interface ApiKeyStore {
  /** Stores a key in a free slot of its project; false if the project already holds the maximum. */
  add(key: StoredKey): Promise<boolean>;
  /** The project's keys, read consistently: a revoke or a new key shows at once. */
  ofProject(projectId: string): Promise<StoredKey[]>;
  /** The keys with this prefix (normally one, never more than a collision), confirmed by a consistent read. */
  withPrefix(keyPrefix: string): Promise<StoredKey[]>;
  /** The project of a key from before sealing whose hash this is; none once revoked. */
  legacyProjectForHash(keyHash: string): Promise<string | undefined>;
  /** Every key of every project. */
  list(): Promise<ApiKeyRecord[]>;
  /** False if the project had no such key. */
  remove(projectId: string, keyPrefix: string): Promise<boolean>;
}

export interface UsageCounts {
  readonly requests?: number;
  readonly deliveries?: number;
  /** Connections opened. */
  readonly connections?: number;
  /** Change in connections open now: +1 on connect, -1 on disconnect; with `liveSince`. */
  readonly live?: number;
  /** When the connection `live` counts opened (epoch ms): it is counted until API Gateway's 2-hour limit has closed it. */
  readonly liveSince?: number;
}

export interface UsageReport {
  readonly totalRequests: number;
  readonly totalDeliveries: number;
  readonly totalConnections: number;
  readonly lastActivityAt?: string;
  /** Oldest first; days without traffic are absent. */
  readonly daily: { date: string; requests: number; deliveries: number }[];
}

export interface UsageStore {
  /**
   * Adds one invocation's counts to the project's total and today's figures: two writes however
   * many deliveries, one when only `live` changes. Returns the connections open now, as counted.
   */
  record(projectId: string, counts: UsageCounts, at: number): Promise<{ live: number }>;
  /** Totals and the last `days` days (none read when 0); undefined if the project has never been seen. */
  read(projectId: string, days: number, now: number): Promise<UsageReport | undefined>;
}

/** `deferred`: still throttled (or failing) when the deadline came; worth another try later. */
export type DeliveryOutcome = 'sent' | 'gone' | 'failed' | 'deferred';

/** Sends one message to one connection. Never throws: every outcome is a value. */
export interface Delivery {
  /**
   * Sends, retrying throttling and transient failures: with a `deadline` (epoch ms) until then,
   * without one a few times.
   */
  post(connectionId: string, message: string, deadline?: number): Promise<DeliveryOutcome>;
  /** Closes a connection (API Gateway then sends its `$disconnect`); `sent` when closed. */
  close(connectionId: string): Promise<DeliveryOutcome>;
}

/** What a delivery reached: subscribers sent to, failing, and found gone. */
export interface DeliveryCounts {
  readonly sent: number;
  readonly failed: number;
  readonly stale: number;
}

/** A publish as recorded for `GET /broadcast/{id}`. */
export interface PublishRecord extends DeliveryCounts {
  readonly id: string;
  readonly projectId: string;
  readonly channel?: string;
  readonly connectionId?: string;
  readonly event: string;
  /** Subscribers it set out to reach. */
  readonly queued: number;
  /** Every background task has ended (false while any is pending, or was lost). */
  readonly done: boolean;
  readonly createdAt: string;
  /**
   * A background publish's tasks not ended yet, each with the time (epoch ms) after which Lambda
   * can no longer start it: its event's maximum age has passed. Absent for a publish delivered at once.
   */
  readonly pending?: Readonly<Record<string, number>>;
}

/** A background publish's tasks as they start: each task's id and the time Lambda may still start it until. */
export type PendingTasks = Readonly<Record<string, number>>;

export interface PublishStore {
  put(record: PublishRecord): Promise<void>;
  /** The record, its counts the sum of its ended tasks' counts for a background publish. */
  get(id: string): Promise<PublishRecord | undefined>;
  /**
   * Claims an idempotency key for a publish id until `expiresAt` (epoch seconds); returns the id
   * that already holds it, or undefined if this one now does.
   */
  claim(projectId: string, key: string, publishId: string, expiresAt: number): Promise<string | undefined>;
  /** Gives up a claim this publish holds (it delivered nothing): the key is free again at once. */
  release(projectId: string, key: string, publishId: string): Promise<void>;
  /**
   * Records that a background task ended with these counts, handing its work on to `continuations`
   * (pending from now): idempotent, so a retry or a duplicate of the task changes nothing. The
   * publish is done when no task is pending. `again`: the ending is being carried out a second time
   * (its continuations start only now), so those still pending get the new start-by times.
   */
  taskEnded(id: string, taskId: string, counts: DeliveryCounts, continuations: PendingTasks, again?: boolean): Promise<void>;
}

/** A background task's own record, so a retry or a duplicate resumes it instead of repeating it. */
export interface TaskProgress extends DeliveryCounts {
  /** Invocations that have claimed it so far. */
  readonly attempts: number;
  /** The last subscriber of the last page delivered: the range resumes after it. */
  readonly after?: string;
  /** Every page of the range has been delivered. */
  readonly rangeDone: boolean;
  /** The task's list of subscribers to try again has been delivered. */
  readonly retried: boolean;
  /** Subscribers still throttled when their page's time ran out: for the task's continuation. */
  readonly deferred: readonly string[];
  /** How the task ended, once it has: opaque to the store (what its continuations are). */
  readonly ending?: string;
  /** Its ending has been recorded in its publish and its continuations started. */
  readonly settled: boolean;
}

/** What claiming a task found. */
export type TaskClaim =
  | { readonly kind: 'claimed'; readonly progress: TaskProgress }
  /** Another invocation holds it until `leaseUntil` (epoch ms). */
  | { readonly kind: 'held'; readonly leaseUntil: number }
  /** It has ended (`settled`: and its ending was carried out). */
  | { readonly kind: 'ended'; readonly progress: TaskProgress };

/**
 * Background tasks' progress. One invocation at a time holds a task, by a lease it renews while it
 * runs (the lease ends with the invocation's own deadline, so a killed one frees it); every write
 * is conditional on holding it, so an invocation that lost it changes nothing.
 */
export interface TaskLedger {
  /** Takes the task for `owner` until `leaseUntil`, unless another holds it or it has ended. */
  claim(key: string, owner: string, leaseUntil: number, now: number): Promise<TaskClaim>;
  /** Extends the lease; false if `owner` no longer holds it. */
  renew(key: string, owner: string, leaseUntil: number): Promise<boolean>;
  /** Records progress (and renews the lease); false if `owner` no longer holds it. */
  advance(
    key: string,
    owner: string,
    leaseUntil: number,
    progress: Pick<TaskProgress, 'after' | 'rangeDone' | 'retried' | 'deferred' | 'sent' | 'failed' | 'stale'>,
  ): Promise<boolean>;
  /** Records how the task ended; false if `owner` no longer holds it. */
  end(key: string, owner: string, ending: string, counts: DeliveryCounts): Promise<boolean>;
  /** Marks an ended task's ending carried out: later duplicates do nothing. */
  settle(key: string): Promise<void>;
  /** Gives the lease up at once (the invocation is failing), so its retry need not wait for it. */
  release(key: string, owner: string): Promise<void>;
  /** Where the task stands: when its lease ends (epoch ms) and what it delivered so far; undefined if it never started. */
  inspect(key: string): Promise<{ readonly leaseUntil: number; readonly counts: DeliveryCounts } | undefined>;
}

/** A project's settings as stored, and when they were last changed. */
export interface StoredSettings {
  readonly settings: ProjectSettings;
  readonly updatedAt: string;
}

export interface SettingsStore {
  get(projectId: string): Promise<StoredSettings | undefined>;
  put(projectId: string, stored: StoredSettings): Promise<void>;
  /** Stores settings only if the project has none yet; false if it had. */
  putIfAbsent(projectId: string, stored: StoredSettings): Promise<boolean>;
}

/** Hears how each fan-out went: the telemetry's metrics. */
export interface FanoutObserver {
  fanout(result: { sent: number; failed: number; stale: number; durationMs: number }): void;
}

/** Where a secret comes from: the master access key, the sealing secret. */
export interface KeySource {
  /** The current key; `forceRefresh` bypasses any cache. */
  get(options?: { forceRefresh?: boolean }): Promise<string>;
  /** The key before the last rotation, while its grace window lasts; undefined after, or if there is none. */
  previous?(): Promise<string | undefined>;
}

export interface RetainedMessage {
  readonly id: string;
  /** The delivered message, as sent to subscribers. */
  readonly message: Record<string, unknown>;
  /** When it stops being the channel's (epoch ms): a cache channel's last event lasts 30 minutes. Absent: until replaced or cleared. */
  readonly expiresAt?: number;
}

export interface RetainedStore {
  /** Makes this the channel's active broadcast, replacing any other. */
  put(projectId: string, channel: string, retained: RetainedMessage): Promise<void>;
  get(projectId: string, channel: string): Promise<RetainedMessage | undefined>;
  /** False if there was nothing to clear. */
  clear(projectId: string, channel: string): Promise<boolean>;
  ack(projectId: string, channel: string, userId: string, messageId: string): Promise<void>;
  /** The id of the message this user last acknowledged on the channel. */
  ackedBy(projectId: string, channel: string, userId: string): Promise<string | undefined>;
}

/** A project's own configuration of one namespace. */
export interface StoredNamespace {
  readonly namespace: string;
  readonly config: NamespaceConfig;
  readonly updatedAt: string;
}

export interface NamespaceStore {
  list(projectId: string): Promise<StoredNamespace[]>;
  put(projectId: string, stored: StoredNamespace): Promise<void>;
  /** False if there was nothing to remove. */
  remove(projectId: string, namespace: string): Promise<boolean>;
}

/** Where a channel's stream is: its last offset, in an epoch. */
export interface StreamPosition {
  readonly offset: number;
  readonly epoch: string;
}

export interface StoredMessage {
  readonly offset: number;
  /** The message as delivered (JSON text). */
  readonly body: string;
}

/** Channel streams: offsets, epochs and stored messages (the channels table). */
export interface StreamStore {
  /**
   * Takes the channel's next offset, creating its head with `freshEpoch` if it has none (never
   * published, or expired), and keeps the head for `ttlSeconds` more.
   */
  next(projectId: string, channel: string, freshEpoch: string, ttlSeconds: number): Promise<StreamPosition>;
  /** The same head without taking an offset: where a new subscriber starts. */
  current(projectId: string, channel: string, freshEpoch: string, ttlSeconds: number): Promise<StreamPosition>;
  /** The head as it is, if there is one (a consistent read). */
  head(projectId: string, channel: string): Promise<StreamPosition | undefined>;
  put(projectId: string, channel: string, message: StoredMessage, ttlSeconds: number): Promise<void>;
  /**
   * Stored messages after `offset`, oldest first, at most `limit` of them and — when `maxBytes` is
   * given — no more than fit in it (the first always does), expired ones left out. Reading stops
   * there too: `spent` says the bytes ran out before the limit did.
   */
  after(
    projectId: string,
    channel: string,
    offset: number,
    limit: number,
    maxBytes?: number,
  ): Promise<{ messages: StoredMessage[]; spent: boolean }>;
}

/** One presence member as stored: its connections, each with when it was last heard from. */
export interface MemberRecord {
  readonly userId: string;
  readonly info?: Record<string, unknown>;
  readonly connections: Readonly<Record<string, number>>;
  /** Changes with every write: a removal is conditional on it, so a join in between is never lost. */
  readonly version: number;
}

/** Presence members of channels (the channels table). */
export interface MemberStore {
  /** Adds (or refreshes) one connection of a user; returns the member as it was before. */
  join(
    projectId: string,
    channel: string,
    member: { userId: string; info?: Record<string, unknown> },
    connectionId: string,
    now: number,
  ): Promise<MemberRecord | undefined>;
  /** Removes one connection of a user; returns the member as it is after, undefined if the connection was not there. */
  leave(projectId: string, channel: string, userId: string, connectionId: string): Promise<MemberRecord | undefined>;
  /** Notes that a connection is still there; false if it is no longer a member. */
  touch(projectId: string, channel: string, userId: string, connectionId: string, now: number): Promise<boolean>;
  list(projectId: string, channel: string): Promise<MemberRecord[]>;
  /** Deletes a member unless it changed since `version` was read; true if deleted. */
  remove(projectId: string, channel: string, userId: string, version: number): Promise<boolean>;
}

/** Users (a token's `sub`): the connections each holds open, and the message budget they share. */
export interface UserStore {
  /**
   * Adds a connection to the user's, unless the user already holds `max` live ones (those past
   * `expiresAt` times, whose `$disconnect` never came, are dropped first); false if full.
   */
  admit(projectId: string, userId: string, connectionId: string, expiresAt: number, max: number, nowSeconds: number): Promise<boolean>;
  leave(projectId: string, userId: string, connectionId: string): Promise<void>;
  /** Which of these users hold a live connection now (online, as a watchlist says). */
  live(projectId: string, userIds: readonly string[], nowSeconds: number): Promise<string[]>;
  /** Takes one message from the user's bucket; false if it is empty. `expiresAt` keeps the item that long at least. */
  take(projectId: string, userId: string, nowMs: number, rate: RateLimit, expiresAt: number): Promise<boolean>;
}

/** The deployment's delivery budget, which every big publish's shards share. */
export interface DeliveryBudgetStore {
  /**
   * Takes `posts` from a bucket refilled at `perSecond`, holding `burst`: 0 if taken, else how many
   * milliseconds to wait before asking again (nothing is taken then).
   */
  take(posts: number, perSecond: number, burst: number, nowMs: number): Promise<number>;
}

/** Subscriber counts per channel, kept only for lifecycle events. */
export interface OccupancyStore {
  /** Adds `delta` to the channel's count; returns the new count. */
  change(projectId: string, channel: string, delta: number): Promise<number>;
  /**
   * A count notice for the channel, at most one per `windowMs`: `now` if this caller sends it;
   * `later` (with when) if it must schedule the one that follows the window; `pending` if one is.
   */
  claimNotice(
    projectId: string,
    channel: string,
    nowMs: number,
    windowMs: number,
  ): Promise<{ claim: 'now' | 'pending' } | { claim: 'later'; at: number }>;
  /** The scheduled notice's turn: the count now, its window starting now. */
  settleNotice(projectId: string, channel: string, nowMs: number): Promise<number | undefined>;
}

export type LifecycleEventName = 'channel_occupied' | 'channel_vacated' | 'member_added' | 'member_removed';

export interface LifecycleEvent {
  readonly name: LifecycleEventName;
  readonly projectId: string;
  readonly channel: string;
  readonly userId?: string;
  /** ISO-8601. */
  readonly time: string;
}

/** Where lifecycle events go: EventBridge on AWS, a file locally. */
export interface EventSink {
  emit(events: readonly LifecycleEvent[]): Promise<void>;
}

/** Runs work after the current invocation returns: on AWS an asynchronous self-invocation. */
export interface AsyncInvoker {
  invoke(task: BackgroundTask): Promise<void>;
}

/** A connection found gone (410), and the subscription it was found through, if any. */
export interface GoneConnection {
  readonly connectionId: string;
  readonly foundThrough?: SubscriptionKey;
  /** How it closed, when API Gateway said (`$disconnect`); absent, it was found gone (or closed by us). */
  readonly closed?: Closed;
}

/** How a connection closed: when (epoch ms) and whether cleanly (all that was posted before reached it). */
export interface Closed {
  readonly at: number;
  readonly clean: boolean;
}

/**
 * Where a signed-in user's connection left a channel that keeps history: the stream's head when
 * its departure was handled, when it closed and how. Its user's next subscribe takes it.
 */
export interface AwayMark {
  readonly epoch: string;
  readonly offset: number;
  readonly leftAt: number;
  readonly clean: boolean;
}

/** Away marks (the channels table), one per user and channel: the earliest kept until taken. */
export interface AwayStore {
  /**
   * Keeps `mark` unless an earlier one of the same epoch is there, or — after a close that was not
   * clean, which API Gateway may report minutes late — another connection of the user came back to
   * the channel since the departing one opened, within those minutes (its successor was first: a
   * mark now would only replay to a later session what it has seen). It expires with the history.
   */
  mark(
    projectId: string,
    channel: string,
    userId: string,
    mark: AwayMark,
    departed: { readonly connectionId: string; readonly connectedAt: number },
    ttlSeconds: number,
  ): Promise<void>;
  /** Returns the user's mark, if any, and notes in its place which connection came back when: one subscribe gets it. */
  take(projectId: string, channel: string, userId: string, connectionId: string): Promise<AwayMark | undefined>;
  /** Puts a taken mark back, as it was (its replay could not be sent). */
  putBack(projectId: string, channel: string, userId: string, mark: AwayMark, ttlSeconds: number): Promise<void>;
}

/** A webhook attempt that failed, as the console and `GET /projects/{id}/webhooks` show it. */
export interface WebhookFailure {
  /** ISO time. */
  readonly at: string;
  readonly url: string;
  /** The receiver's status, or what went wrong before one came (a timeout, a refused connection). */
  readonly status?: number;
  readonly error?: string;
  readonly events: number;
}

/** The last failed webhook attempts of each project (the channels table). */
export interface WebhookFailureStore {
  record(projectId: string, failure: WebhookFailure, keep: number): Promise<void>;
  recent(projectId: string): Promise<readonly WebhookFailure[]>;
}

/** Posts a webhook's body; resolves to the receiver's status, rejects if none came in `timeoutMs`. */
export interface WebhookSender {
  post(url: string, body: string, headers: Readonly<Record<string, string>>, timeoutMs: number): Promise<number>;
}

/** Who watches whom (Pusher's watchlists), in the channels table: kept while the watcher's connection may live. */
export interface WatchStore {
  /** The watcher watches each of `watched` until `expiresAt` (epoch seconds). */
  watch(projectId: string, watcher: string, watched: readonly string[], expiresAt: number): Promise<void>;
  /** Up to `limit` of the users who watch `watched` (unexpired). */
  watchers(projectId: string, watched: string, limit: number, nowSeconds: number): Promise<string[]>;
  /** Records that the watched user's watchers are told `state`; false if that is what they were last told. */
  told(projectId: string, watched: string, state: 'online' | 'offline', expiresAt: number): Promise<boolean>;
}
