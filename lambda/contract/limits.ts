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
/** The project of connections and publishes that name none. */
export const DEFAULT_PROJECT_ID = 'default';
/** Deeper JSON is refused: nothing a client sends needs more, and deep values cost every reader. */
export const MAX_JSON_DEPTH = 32;
