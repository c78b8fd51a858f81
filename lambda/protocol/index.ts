/**
 * The wire contract, split by concern: errors (errors.ts), what clients and backends send
 * (inbound.ts), what the server sends on a connection (outbound.ts) and the shapes of HTTP answers
 * and connect refusals (responses.ts). Nothing else builds what a client sees.
 */
export * from './errors';
export * from './inbound';
export * from './outbound';
export * from './responses';
export * from './pusher';
