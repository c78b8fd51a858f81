/**
 * The interfaces the domain modules depend on. Adapters in `adapters/` implement them over
 * DynamoDB, the API Gateway Management API and Secrets Manager; tests and the local stack can
 * pass their own.
 */

export interface NewConnection {
  readonly connectionId: string;
  readonly projectId: string;
  /** Epoch milliseconds, from API Gateway's `connectedAt`. */
  readonly connectedAt: number;
  /** From `?type=` on connect: `runtime`, `admin`, … */
  readonly clientType?: string;
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
}

export interface UsageCounts {
  readonly requests?: number;
  readonly deliveries?: number;
  readonly connections?: number;
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
  /** Adds one invocation's counts to the project's total and today's figures: two writes, whatever the counts. */
  record(projectId: string, counts: UsageCounts, at: number): Promise<void>;
  /** Totals and the last `days` days; undefined if the project has never been seen. */
  read(projectId: string, days: number, now: number): Promise<UsageReport | undefined>;
}

export type DeliveryOutcome = 'sent' | 'gone' | 'failed';

/** Sends one message to one connection. Never throws: every outcome is a value. */
export interface Delivery {
  post(connectionId: string, message: string): Promise<DeliveryOutcome>;
}

/** Where the HTTP API's access key comes from. */
export interface KeySource {
  /** The current key; `forceRefresh` bypasses any cache. */
  get(options?: { forceRefresh?: boolean }): Promise<string>;
}
