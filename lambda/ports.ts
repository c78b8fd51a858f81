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
