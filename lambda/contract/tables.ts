/**
 * DynamoDB table definitions: key schema, indexes, attribute names and TTL attribute. The CDK
 * construct and the local stack both build their tables from these, and the stores read and write
 * these names.
 */
import { API_GATEWAY } from './limits';

export interface KeyAttribute {
  readonly name: string;
  readonly type: 'S' | 'N';
}

export interface IndexDefinition {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  /** Non-key attributes copied into the index; the table's keys always are. */
  readonly include?: readonly string[];
}

export interface TableDefinition {
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  /** Epoch-seconds attribute DynamoDB's TTL deletes on, if any. */
  readonly ttlAttribute?: string;
  readonly indexes?: readonly IndexDefinition[];
}

/**
 * Connections, one item per WebSocket connection:
 * `{ connectionId, projectId, clientType?, connectedAt, channels (string set), greeted, sourceIp, userAgent, expiresAt }`.
 * `byProject` lists a project's connections for its status, by Query.
 */
export const CONNECTIONS_TABLE = {
  partitionKey: { name: 'connectionId', type: 'S' },
  ttlAttribute: 'expiresAt',
  indexes: [
    {
      indexName: 'byProject',
      partitionKey: { name: 'projectId', type: 'S' },
      sortKey: { name: 'connectedAt', type: 'N' },
      include: ['clientType', 'expiresAt'],
    },
  ],
} as const satisfies TableDefinition;

/**
 * Subscriptions, one small item per (project, channel, connection):
 * `{ pk: "<project>#<channel>", sk: <connectionId>, p: <project>, ttl }`.
 * Short attribute names keep an item near 70 bytes for typical names, so one 4 KB read unit
 * returns ~60 subscribers during fan-out. `byProject` lists a project's channels for its status.
 */
export const SUBSCRIPTIONS_TABLE = {
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  ttlAttribute: 'ttl',
  indexes: [{ indexName: 'byProject', partitionKey: { name: 'p', type: 'S' }, include: ['ttl'] }],
} as const satisfies TableDefinition;

/**
 * Project API keys from before keys moved to the projects table, one per project:
 * `{ projectId, keyHash, keyPrefix, description, createdAt, listing }`. Read (a key here still
 * authenticates HTTP requests until revoked) and deleted, never written: only the key's SHA-256 is
 * stored, so these keys cannot verify client tokens. `byKeyHash` finds the project a presented key belongs to;
 * `listing` (a constant partition) lists every key without a Scan.
 */
export const API_KEYS_TABLE = {
  partitionKey: { name: 'projectId', type: 'S' },
  indexes: [
    { indexName: 'byKeyHash', partitionKey: { name: 'keyHash', type: 'S' } },
    {
      indexName: 'listing',
      partitionKey: { name: 'listing', type: 'S' },
      sortKey: { name: 'projectId', type: 'S' },
      include: ['keyPrefix', 'description', 'createdAt'],
    },
  ],
} as const satisfies TableDefinition;

/**
 * Usage per project: `{ projectId, period: "total" | "day#YYYY-MM-DD", requests, deliveries, lastActivityAt, expiresAt }`.
 * Day items expire after {@link USAGE_RETENTION_DAYS}.
 */
export const USAGE_TABLE = {
  partitionKey: { name: 'projectId', type: 'S' },
  sortKey: { name: 'period', type: 'S' },
  ttlAttribute: 'expiresAt',
} as const satisfies TableDefinition;

export const USAGE_RETENTION_DAYS = 35;

/**
 * Retained broadcasts and their acknowledgements, per project and channel:
 * `{ pk: "<project>#<channel>", sk: "message", message (JSON text), retainedAt }` — one per channel, replaced by the next —
 * and `{ pk, sk: "ack#<userId>", messageId, ttl }` for each user who acknowledged it.
 */
export const RETAINED_TABLE = {
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  ttlAttribute: 'ttl',
} as const satisfies TableDefinition;

/**
 * Per-project configuration and credentials, a few items per project:
 * - `{ projectId, item: "settings", settings, updatedAt }`, read through a short cache and written
 *   only by the master key (and once when a project gets its first key);
 * - `{ projectId, item: "key#1" | "key#2", keyPrefix, keyHash, sealedKey, description, createdAt, listing }`:
 *   a project's keys, at most two (two fixed slots, so a third cannot be written even by racing
 *   requests). `keyHash` (SHA-256) checks a presented key; `sealedKey` is the key encrypted with the
 *   deployment's sealing secret, which client tokens are verified with, so the table alone cannot
 *   mint tokens. `byKeyPrefix` finds the key a token's `kid` or a presented key names; `listing`
 *   (a constant partition) lists every key without a Scan.
 */
export const PROJECTS_TABLE = {
  partitionKey: { name: 'projectId', type: 'S' },
  sortKey: { name: 'item', type: 'S' },
  indexes: [
    { indexName: 'byKeyPrefix', partitionKey: { name: 'keyPrefix', type: 'S' } },
    {
      indexName: 'listing',
      partitionKey: { name: 'listing', type: 'S' },
      sortKey: { name: 'projectId', type: 'S' },
      include: ['keyPrefix', 'description', 'createdAt'],
    },
  ],
} as const satisfies TableDefinition;

/** A project holds at most this many keys at once: the one in use and its replacement. */
export const MAX_KEYS_PER_PROJECT = 2;

/**
 * Publishes a caller may ask about, idempotency keys and background tasks' progress, one item each:
 * `{ id, projectId, channel?, connectionId?, event, queued, sent, failed, stale, done, createdAt, ttl }`
 * for a publish (`GET /broadcast/{id}`; a background one adds `tasks: { taskId: [sent, failed, stale] }`
 * and `pending: { taskId: startsUntil | 0 }`), `{ id: "idem#<project>#<key>", publishId, ttl }` for
 * a key, `{ id: "task#<key>", owner, leaseUntil, attempts, after, …, ending, settled, ttl }` for a task.
 */
export const PUBLISHES_TABLE = {
  partitionKey: { name: 'id', type: 'S' },
  ttlAttribute: 'ttl',
} as const satisfies TableDefinition;

/**
 * Per-channel state, for channels whose namespace keeps history or tracks presence, and for
 * lifecycle events. One partition per channel, `pk: "<project>#<channel>"`:
 * - `{ sk: "head", seq, epoch, ttl }`: the stream's last offset and its epoch (a new one whenever
 *   the head is created, so a client can tell a reset or expired stream from "nothing missed");
 * - `{ sk: "m#<offset, 12 digits>", body (the delivered JSON text), ttl }`: one stored message;
 * - `{ sk: "u#<userId>", info, conns: { <connectionId>: lastSeenMs }, v, ttl }`: one presence member,
 *   however many connections it has;
 * - `{ sk: "occupancy", n }`: subscribers, counted only when lifecycle events are on;
 * - `{ sk: "a#<userId>", epoch, seq, leftAt, clean, ttl }`: where a signed-in Pusher user's
 *   connection left the channel's stream, for its next subscribe (continuity).
 */
export const CHANNELS_TABLE = {
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  ttlAttribute: 'ttl',
} as const satisfies TableDefinition;

/**
 * Open connections are counted in the usage table by the hour in which API Gateway will have closed
 * them at the latest (`live#2026112314`): the count is the sum of the buckets not yet past, so a
 * connection whose `$disconnect` never came stops counting within three hours instead of forever.
 */
export const LIVE_PERIOD_PREFIX = 'live#';

/** A publish's outcome stays readable this long (at least an hour, as promised). */
export const PUBLISH_STATUS_SECONDS = 2 * 60 * 60;
/** A repeated idempotency key within this window returns the first publish. */
export const IDEMPOTENCY_WINDOW_SECONDS = 10 * 60;

/** How long an acknowledgement is remembered. */
export const ACK_RETENTION_DAYS = 90;

/**
 * How long a connection's items outlive it if `$disconnect` never arrives: API Gateway closes
 * every connection after 2 hours, so anything older than that plus a margin is certainly dead.
 */
export const CONNECTION_TTL_SECONDS = API_GATEWAY.maxConnectionMs / 1000 + 10 * 60;

/** When a connection's items expire (epoch seconds), given when it connected (epoch milliseconds). */
export const connectionExpiry = (connectedAtMs: number): number => Math.floor(connectedAtMs / 1000) + CONNECTION_TTL_SECONDS;

/** The DynamoDB calls the stores make: each table is granted exactly its own, and notably never Scan. */
export type DynamoAction = 'GetItem' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'Query' | 'BatchGetItem' | 'BatchWriteItem';

export interface TableSpec {
  /** The construct id, which fixes the table's logical id: changing it would replace the table. */
  readonly construct: string;
  readonly definition: TableDefinition;
  /**
   * `live data` is rebuilt as clients reconnect (deleted with the stack, no point-in-time recovery:
   * a restore would bring back dead connections); `configuration` nobody can rebuild (kept, with
   * point-in-time recovery).
   */
  readonly holds: 'live data' | 'configuration';
  /** The calls its stores make, so the handler is granted these and nothing more. */
  readonly calls: readonly DynamoAction[];
}

/**
 * Every table, by the name the handler's configuration knows it by (`<name>Table`): the construct
 * builds, grants, backs up and watches each from this list, and the local stack creates the same.
 */
export const TABLES = {
  connections: {
    construct: 'Connections',
    definition: CONNECTIONS_TABLE,
    holds: 'live data',
    // BatchGetItem: revoking a key finds the connections it signed in.
    calls: ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query', 'BatchGetItem'],
  },
  subscriptions: {
    construct: 'Subscriptions',
    definition: SUBSCRIPTIONS_TABLE,
    holds: 'live data',
    calls: ['Query', 'PutItem', 'DeleteItem', 'BatchWriteItem'],
  },
  usage: { construct: 'Usage', definition: USAGE_TABLE, holds: 'live data', calls: ['GetItem', 'UpdateItem', 'Query'] },
  retained: { construct: 'Retained', definition: RETAINED_TABLE, holds: 'live data', calls: ['GetItem', 'PutItem', 'DeleteItem'] },
  publishes: { construct: 'Publishes', definition: PUBLISHES_TABLE, holds: 'live data', calls: ['GetItem', 'PutItem', 'UpdateItem'] },
  // Streams, members and occupancy: read by Query, written item by item.
  channels: {
    construct: 'Channels',
    definition: CHANNELS_TABLE,
    holds: 'live data',
    calls: ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query'],
  },
  // The old keys table is read and emptied, never written.
  apiKeys: { construct: 'ApiKeys', definition: API_KEYS_TABLE, holds: 'configuration', calls: ['GetItem', 'DeleteItem', 'Query'] },
  projects: {
    construct: 'Projects',
    definition: PROJECTS_TABLE,
    holds: 'configuration',
    calls: ['GetItem', 'PutItem', 'DeleteItem', 'Query', 'BatchGetItem'],
  },
} as const satisfies Record<string, TableSpec>;

export type TableName = keyof typeof TABLES;

/** The handler's table settings (`connectionsTable`, …), each table named by `nameOf`. */
export function tableSettings<T>(nameOf: (name: TableName) => T): { readonly [N in TableName as `${N}Table`]: T } {
  return Object.fromEntries((Object.keys(TABLES) as TableName[]).map((name) => [`${name}Table`, nameOf(name)])) as {
    [N in TableName as `${N}Table`]: T;
  };
}
