/**
 * The interfaces the domain modules depend on. Adapters in `adapters/` implement them over
 * DynamoDB, the API Gateway Management API and Secrets Manager; tests and the local stack can
 * pass their own.
 */
import type { ProjectSettings } from './contract/limits';

export interface NewConnection {
  readonly connectionId: string;
  readonly projectId: string;
  /** Epoch milliseconds, from API Gateway's `connectedAt`. */
  readonly connectedAt: number;
  /** From `?type=` on connect: `runtime`, `admin`, … */
  readonly clientType?: string;
  /** From a verified `?token=`; never from anything the client merely claims. */
  readonly userId?: string;
  readonly sourceIp?: string;
  readonly userAgent?: string;
}

export interface ConnectionRecord extends NewConnection {
  readonly channels: readonly string[];
}

/** What adding a channel to a connection did. */
export type AddChannelOutcome =
  /** Added; `first` is true on the connection's first subscribe ever. */
  | { readonly status: 'added'; readonly first: boolean; readonly connection: ConnectionRecord }
  /** No such connection (closed, or `$connect` never stored it). */
  | { readonly status: 'missing' }
  /** The connection already holds the maximum number of channels. */
  | { readonly status: 'full' };

export interface ConnectionStore {
  put(connection: NewConnection): Promise<void>;
  get(connectionId: string): Promise<ConnectionRecord | undefined>;
  addChannel(connectionId: string, channel: string, maxChannels: number): Promise<AddChannelOutcome>;
  removeChannel(connectionId: string, channel: string): Promise<void>;
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

export interface SubscriptionStore {
  add(key: SubscriptionKey, expiresAt: number): Promise<void>;
  remove(key: SubscriptionKey): Promise<void>;
  removeMany(keys: readonly SubscriptionKey[]): Promise<void>;
  /** The channel's live subscribers, a page at a time, so fan-out can start before the last page is read. */
  subscribers(projectId: string, channel: string): AsyncIterable<readonly string[]>;
  /** How many live subscribers a channel has. */
  count(projectId: string, channel: string): Promise<number>;
  /** Every channel of the project with its live subscriber count, by Query on an index. */
  channelsOf(projectId: string): Promise<Map<string, number>>;
}

export interface ApiKeyRecord {
  readonly projectId: string;
  /** The key's first characters, to tell keys apart; not enough to use it. */
  readonly keyPrefix: string;
  readonly description: string;
  readonly createdAt: string;
}

export interface ApiKeyStore {
  /** Stores a project's key (its hash); false if the project already has one. */
  create(record: ApiKeyRecord, keyHash: string): Promise<boolean>;
  get(projectId: string): Promise<ApiKeyRecord | undefined>;
  list(): Promise<ApiKeyRecord[]>;
  /** False if the project had no key. */
  delete(projectId: string): Promise<boolean>;
  /** The project whose current key has this hash; a revoked key finds none, at once. */
  projectForHash(keyHash: string): Promise<string | undefined>;
  /** The hash of the project's current key, if it has one. */
  hashOf(projectId: string): Promise<string | undefined>;
}

export interface UsageCounts {
  readonly requests?: number;
  readonly deliveries?: number;
  /** Connections opened. */
  readonly connections?: number;
  /** Change in connections open now: +1 on connect, -1 on disconnect. */
  readonly live?: number;
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

export type DeliveryOutcome = 'sent' | 'gone' | 'failed';

/** Sends one message to one connection. Never throws: every outcome is a value. */
export interface Delivery {
  post(connectionId: string, message: string): Promise<DeliveryOutcome>;
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

/** Where the HTTP API's access key comes from. */
export interface KeySource {
  /** The current key; `forceRefresh` bypasses any cache. */
  get(options?: { forceRefresh?: boolean }): Promise<string>;
}

export interface RetainedMessage {
  readonly id: string;
  /** The delivered message, as sent to subscribers. */
  readonly message: Record<string, unknown>;
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

/** Runs work after the current invocation returns: on AWS an asynchronous self-invocation. */
export interface AsyncInvoker {
  invoke(task: BackgroundTask): Promise<void>;
}

/** Work done outside the request that asked for it. */
export type BackgroundTask = {
  readonly task: 'welcome';
  readonly connectionId: string;
  readonly projectId: string;
  readonly clientType?: string;
};
