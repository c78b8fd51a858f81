/**
 * DynamoDB table definitions: key schema, attribute names and TTL attribute. The CDK construct and
 * the local stack both build their tables from these, and the stores read and write these names.
 */

export interface TableDefinition {
  readonly partitionKey: string;
  readonly sortKey?: string;
  /** Epoch-seconds attribute DynamoDB's TTL deletes on. */
  readonly ttlAttribute: string;
}

/**
 * Connections, one item per WebSocket connection:
 * `{ connectionId, projectId, connectedAt, channels (string set), greeted, sourceIp, userAgent, expiresAt }`.
 */
export const CONNECTIONS_TABLE = {
  partitionKey: 'connectionId',
  ttlAttribute: 'expiresAt',
} as const satisfies TableDefinition;

/**
 * Subscriptions, one small item per (project, channel, connection): `{ pk: "<project>#<channel>", sk: <connectionId>, ttl }`.
 * Short attribute names keep an item near 60 bytes for typical names, so one 4 KB read unit
 * returns ~60 subscribers during fan-out.
 */
export const SUBSCRIPTIONS_TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'ttl',
} as const satisfies TableDefinition;

/**
 * How long a connection's items outlive it if `$disconnect` never arrives: API Gateway closes
 * every connection after 2 hours, so anything older than that plus a margin is certainly dead.
 */
export const CONNECTION_TTL_SECONDS = 2 * 60 * 60 + 10 * 60;

/** When a connection's items expire (epoch seconds), given when it connected (epoch milliseconds). */
export const connectionExpiry = (connectedAtMs: number): number => Math.floor(connectedAtMs / 1000) + CONNECTION_TTL_SECONDS;
