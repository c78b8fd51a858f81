/**
 * The wire protocol in one place: every error a client can get (its code, HTTP status, metric and
 * default message), every frame a client may send (validated with zod/mini), and every message the
 * server sends. Nothing else builds what a client sees.
 */
import * as z from 'zod/mini';
import { pusherSocketId } from './contract/socket-ids';
import { MAX_JSON_DEPTH, MAX_MESSAGE_BYTES, SETTINGS_BOUNDS } from './contract/limits';
import { METRIC, MetricName } from './contract/metrics';

interface ErrorSpec {
  /** The stable code. Clients may switch on it; messages are for people and may change. */
  readonly code: string;
  /** The status on the HTTP API (WebSocket errors are messages on the open connection). */
  readonly status: number;
  /** The metric a request that fails with it is counted under, if any. */
  readonly metric?: MetricName;
  /** What is said when nothing more specific is. */
  readonly message: string;
}

const invalidInput = METRIC.invalidInputs;

/** Every error the product answers with. */
export const ERRORS = {
  invalidJson: { code: 'invalid_json', status: 400, metric: invalidInput, message: 'Body is not valid JSON' },
  unknownAction: { code: 'unknown_action', status: 400, metric: invalidInput, message: 'Unknown action' },
  invalidMessage: { code: 'invalid_message', status: 400, metric: invalidInput, message: 'Message must be a JSON object' },
  invalidChannel: { code: 'invalid_channel', status: 400, metric: invalidInput, message: 'Invalid channel name' },
  reservedChannel: { code: 'reserved_channel', status: 400, metric: invalidInput, message: 'Channel names starting with $ are reserved' },
  reservedType: { code: 'reserved_type', status: 400, metric: invalidInput, message: 'This type or event is one the server sends; clients may not send it' },
  invalidProject: { code: 'invalid_project', status: 400, metric: invalidInput, message: 'Invalid projectId' },
  invalidRequest: { code: 'invalid_request', status: 400, metric: invalidInput, message: 'Invalid request' },
  tooManyMessages: { code: 'too_many_messages', status: 400, metric: invalidInput, message: 'Too many messages in one batch' },
  payloadTooLarge: { code: 'payload_too_large', status: 413, metric: invalidInput, message: 'Message too large' },
  projectNotFound: { code: 'project_not_found', status: 404, message: 'No such project' },
  keyExists: { code: 'key_exists', status: 409, message: 'The project already holds two keys; revoke one first' },
  keyNotFound: { code: 'key_not_found', status: 404, message: 'No such key in this project' },
  invalidToken: { code: 'invalid_token', status: 401, metric: METRIC.unauthorized, message: 'Invalid token' },
  identityRequired: { code: 'identity_required', status: 403, message: 'This needs a user: connect with a client token' },
  publishNotFound: { code: 'publish_not_found', status: 404, message: 'No such publish (they are kept for two hours)' },
  connectionNotFound: { code: 'connection_not_found', status: 404, message: 'No such connection in this project' },
  notConnected: { code: 'not_connected', status: 409, message: 'This connection is not registered; reconnect' },
  tooManySubscriptions: { code: 'too_many_subscriptions', status: 409, message: 'Too many subscriptions on this connection' },
  unauthorized: { code: 'unauthorized', status: 401, metric: METRIC.unauthorized, message: 'Unauthorized' },
  tokenRequired: { code: 'token_required', status: 401, metric: METRIC.unauthorized, message: 'This project needs a client token: ?token= or the rb.token.<jwt> subprotocol' },
  subscriptionForbidden: { code: 'subscription_forbidden', status: 403, metric: METRIC.unauthorized, message: "Your token does not grant this channel" },
  publishForbidden: { code: 'publish_forbidden', status: 403, metric: METRIC.unauthorized, message: 'This connection may not publish here' },
  rateLimited: { code: 'rate_limited', status: 429, message: 'Too many messages from this connection; slow down' },
  invalidNamespace: { code: 'invalid_namespace', status: 400, metric: invalidInput, message: 'A namespace is _ or up to 64 letters, digits, - and _' },
  invalidNamespaceConfig: { code: 'invalid_namespace_config', status: 400, metric: invalidInput, message: 'Invalid namespace configuration' },
  historyNotEnabled: {
    code: 'history_not_enabled',
    status: 400,
    message: "This channel's namespace keeps no history: PUT /projects/{projectId}/namespaces/{namespace} with history",
  },
  presenceNotEnabled: {
    code: 'presence_not_enabled',
    status: 400,
    message: 'This channel tracks no members: use a presence-… channel, or a namespace with presence',
  },
  notFound: { code: 'not_found', status: 404, message: 'Not found' },
  unavailable: { code: 'unavailable', status: 503, message: 'The service is busy or a part of it is unavailable; nothing was done, retry with backoff' },
  internalError: { code: 'internal_error', status: 500, message: 'Internal error' },
} as const satisfies Record<string, ErrorSpec>;

type ErrorName = keyof typeof ERRORS;
export type ErrorCode = (typeof ERRORS)[ErrorName]['code'];

/** The codes by name: `ErrorCode.invalidJson` is `'invalid_json'`. */
export const ErrorCode = Object.fromEntries(Object.entries(ERRORS).map(([name, spec]) => [name, spec.code])) as {
  readonly [N in ErrorName]: (typeof ERRORS)[N]['code'];
};

const BY_CODE = new Map<string, ErrorSpec>(Object.values(ERRORS).map((spec) => [spec.code, spec]));
/** What the product says about a code; undefined for a code it does not know. */
export const errorSpec = (code: string): ErrorSpec | undefined => BY_CODE.get(code);

/** An expected failure, returned (not thrown) by the domain modules. */
export interface Failure {
  readonly code: ErrorCode;
  readonly message: string;
}

export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: Failure };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
/** A failure with the code's default message unless a more specific one is given. */
export const failure = (code: ErrorCode, message?: string): Failure => ({ code, message: message ?? BY_CODE.get(code)!.message });
export const fail = <T = never>(code: ErrorCode, message?: string): Result<T> => ({ ok: false, error: failure(code, message) });

const NAME_PATTERN = /^[A-Za-z0-9_\-=@,.;:/]+$/;

// zod/mini rather than zod: the same validation at ~15 KB of bundle instead of ~450 KB.
/** Channel names: 1–128 of `A–Z a–z 0–9 _ - = @ , . ; : /`. Names starting with `$` are reserved for the server. */
const channel = z.string().check(
  z.minLength(1, { error: 'channel must not be empty' }),
  z.maxLength(128, { error: 'channel must be at most 128 characters' }),
  z.regex(NAME_PATTERN, { error: 'channel may only contain A-Z a-z 0-9 and _ - = @ , . ; : /' }),
);

/** API Gateway connection ids are base64-like (`L0SM9cOFvHcCIhw=`). */
const connectionId = z.string().check(
  z.regex(/^[A-Za-z0-9+/=_-]{1,128}$/, { error: 'connectionId is not a valid connection id' }),
);

export const projectIdSchema = z.string().check(
  z.regex(/^[A-Za-z0-9_\-.]{1,64}$/, { error: 'projectId must be 1-64 characters of A-Z a-z 0-9 and _ - .' }),
);

const event = z.string().check(
  z.minLength(1, { error: 'event must not be empty' }),
  z.maxLength(128, { error: 'event must be at most 128 characters' }),
);

/** Where a message goes: a channel or one connection, never both. */
const target = {
  channel: z.optional(channel),
  connectionId: z.optional(connectionId),
  event,
  data: z.optional(z.unknown()),
};
const exactlyOneTarget = z.refine<{ channel?: string; connectionId?: string }>((m) => (m.channel === undefined) !== (m.connectionId === undefined), {
  error: 'give exactly one of channel or connectionId',
});

/** A publish over HTTP (`POST /broadcast`, or one message of a batch). */
const publication = z
  .object({
    projectId: z.optional(projectIdSchema),
    ...target,
    /** Keep as the channel's active broadcast, sent to every later subscriber. */
    retain: z.optional(z.boolean()),
    /** A repeat with the same key within 10 minutes returns the first publish and delivers nothing. */
    idempotencyKey: z.optional(
      z.string().check(z.regex(/^[\x21-\x7e]{1,128}$/, { error: 'idempotencyKey must be 1-128 printable ASCII characters without spaces' })),
    ),
  })
  .check(
    exactlyOneTarget,
    z.refine((m) => !(m.retain && m.connectionId !== undefined), { error: 'retain applies to channels, not to a connectionId' }),
  );

/** Fields a publish over HTTP may carry but a `send` frame must not: refused, not silently ignored. */
const notOnSend = (field: 'projectId' | 'retain', why: string) =>
  z.refine<Record<string, unknown>>((m) => m[field] === undefined, { error: `${field} is not allowed on send: ${why}`, path: [field] });

/** `?type=` on connect: a client type such as `runtime` or `admin`. */
export const clientTypeSchema = z.string().check(
  z.regex(/^[A-Za-z0-9_\-.]{1,64}$/, { error: 'type must be 1-64 characters of A-Z a-z 0-9 and _ - .' }),
);

/** The body of `POST /api-keys`. */
export const createApiKeyRequest = z.object({
  projectId: projectIdSchema,
  description: z.optional(z.string().check(z.maxLength(256, { error: 'description must be at most 256 characters' }))),
});

const messageId = z.string().check(
  z.minLength(1, { error: 'id must not be empty' }),
  z.maxLength(128, { error: 'id must be at most 128 characters' }),
);

/**
 * A routed message (a frame with no `action`): `{id?, type, payload?, to?: {type?, id?}}`.
 * `from` is always set by the server, so a client's own is ignored.
 */
export const routedFrame = z.object({
  id: z.optional(messageId),
  type: z.string().check(
    z.minLength(1, { error: 'type must not be empty' }),
    z.maxLength(128, { error: 'type must be at most 128 characters' }),
  ),
  payload: z.optional(z.unknown()),
  to: z.optional(z.object({ type: z.optional(clientTypeSchema), id: z.optional(connectionId) })),
});
export type RoutedFrame = z.infer<typeof routedFrame>;

export const ackFrame = z.object({ action: z.literal('ack'), channel, id: messageId });
export const getRetainedFrame = z.object({ action: z.literal('get_retained'), channel });

const boundedInt = (field: string, bounds: { readonly min: number; readonly max: number }) =>
  z.int().check(
    z.gte(bounds.min, { error: `${field} must be at least ${bounds.min}` }),
    z.lte(bounds.max, { error: `${field} must be at most ${bounds.max}` }),
  );

/** The body of `PUT /projects/{projectId}/settings`: the fields to change. Unknown fields are refused, so a typo is not silently ignored. */
export const settingsRequest = z.strictObject({
  anonymousConnect: z.optional(z.boolean()),
  clientPublish: z.optional(z.enum(['all', 'granted', 'none'], { error: 'clientPublish must be all, granted or none' })),
  rateLimit: z.optional(
    z.strictObject({
      perSecond: boundedInt('rateLimit.perSecond', SETTINGS_BOUNDS.perSecond),
      burst: boundedInt('rateLimit.burst', SETTINGS_BOUNDS.burst),
    }),
  ),
  maxTokenTtlSeconds: z.optional(boundedInt('maxTokenTtlSeconds', SETTINGS_BOUNDS.maxTokenTtlSeconds)),
});

/** `POST /broadcast/clear`. */
export const clearRequest = z.object({ projectId: z.optional(projectIdSchema), channel });

/** Offsets in a channel's stream. */
const offset = boundedInt('offset', { min: 0, max: 999_999_999_999 });
/** The most one history page may ask for: a channel keeps at most this many. */
export const MAX_HISTORY_LIMIT = 1000;
export const DEFAULT_HISTORY_LIMIT = 100;
const historyLimit = boundedInt('limit', { min: 1, max: MAX_HISTORY_LIMIT });

/** `since`: the offset and epoch of the last message the client has, to recover what followed. */
export const subscribeFrame = z.object({
  action: z.literal('subscribe'),
  channel,
  /** Pusher's channel auth, `<key prefix>:<hex HMAC-SHA256>`, from an existing Pusher auth endpoint. */
  auth: z.optional(z.string().check(z.maxLength(256, { error: 'auth is at most 256 characters' }))),
  /** Pusher's presence `channel_data`, `{"user_id", "user_info"}` as JSON text, covered by `auth`. */
  channel_data: z.optional(z.string().check(z.maxLength(2048, { error: 'channel_data is at most 2048 characters' }))),
  since: z.optional(
    z.object({
      offset,
      epoch: z.string().check(z.minLength(1, { error: 'since.epoch must not be empty' }), z.maxLength(64, { error: 'since.epoch is at most 64 characters' })),
    }),
  ),
});
export const historyFrame = z.object({ action: z.literal('history'), channel, since: z.optional(offset), limit: z.optional(historyLimit) });
export const presenceFrame = z.object({ action: z.literal('presence'), channel });
/** `GET /history` query parameters, as numbers once checked. */
export const historyQuery = z.object({
  channel,
  since: z.optional(z.string().check(z.regex(/^\d{1,12}$/, { error: 'since must be an offset (a whole number)' }))),
  limit: z.optional(z.string().check(z.regex(/^\d{1,4}$/, { error: `limit must be a whole number from 1 to ${MAX_HISTORY_LIMIT}` }))),
});
export const unsubscribeFrame = z.object({ action: z.literal('unsubscribe'), channel });
export const sendFrame = z
  .object({ action: z.literal('send'), ...target, projectId: z.optional(z.unknown()), retain: z.optional(z.unknown()) })
  .check(
    exactlyOneTarget,
    notOnSend('projectId', 'a connection publishes to its own project'),
    notOnSend('retain', 'retained broadcasts are published with POST /broadcast'),
  );
/** The body of `POST /broadcast`. */
export const broadcastRequest = publication;

export type Publication = z.infer<typeof publication>;

/**
 * Checks an optional parameter (a query string value, a body field) on its own: absent stays
 * absent, a bad one fails with `code` and the schema's message.
 */
export function optionalParam(schema: z.ZodMiniType<string>, value: unknown, code: ErrorCode): Result<string | undefined> {
  if (value === undefined) return ok(undefined);
  const parsed = schema.safeParse(value);
  return parsed.success ? ok(parsed.data) : fail(code, parsed.error.issues[0]?.message ?? 'invalid value');
}

const channelOnly = z.object({ channel });
/** Checks a channel name on its own (a path parameter, say), with the same codes as in a message. */
export const checkChannel = (name: string): Result<string> => {
  const checked = validate(channelOnly, { channel: name });
  return checked.ok ? ok(checked.value.channel) : checked;
};

/** Parses JSON text, or fails with `invalid_json`; nesting deeper than {@link MAX_JSON_DEPTH} fails with `invalid_message`. */
export function parseJson(text: string): Result<unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail(ErrorCode.invalidJson);
  }
  return depthOf(value) > MAX_JSON_DEPTH ? fail(ErrorCode.invalidMessage, `JSON is nested deeper than ${MAX_JSON_DEPTH} levels`) : ok(value);
}

/** How deeply arrays and objects nest in a parsed value (a scalar is 0); iterative, so no input can overflow the stack. */
function depthOf(value: unknown): number {
  let deepest = 0;
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    deepest = Math.max(deepest, depth + 1);
    if (deepest > MAX_JSON_DEPTH) return deepest;
    for (const child of Array.isArray(current) ? current : Object.values(current)) pending.push([child, depth + 1]);
  }
  return deepest;
}

/** Validates a parsed value against a schema, turning the first issue into a stable code and a readable message. */
export function validate<S extends z.ZodMiniType>(schema: S, value: unknown): Result<z.infer<S>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail(ErrorCode.invalidMessage);
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return ok(parsed.data);
  const issue = parsed.error.issues[0];
  const field = issue.path.join('.');
  if (field === 'channel') {
    const raw = (value as { channel?: unknown }).channel;
    if (typeof raw === 'string' && raw.startsWith('$')) {
      return fail(ErrorCode.reservedChannel);
    }
    return fail(ErrorCode.invalidChannel, typeof raw === 'string' ? issue.message : 'channel must be a string');
  }
  if (field === 'projectId') return fail(ErrorCode.invalidProject, issue.message);
  const message = issue.code === 'invalid_type' && field ? `${field} is missing or has the wrong type` : issue.message;
  return fail(ErrorCode.invalidMessage, field && !message.startsWith(field) ? `${field}: ${message}` : message);
}

/** Parses JSON text and validates it against a schema. */
export function parseMessage<S extends z.ZodMiniType>(schema: S, text: string): Result<z.infer<S>> {
  const parsed = parseJson(text);
  return parsed.ok ? validate(schema, parsed.value) : parsed;
}

export const projectNotFound = (projectId: string): Result<never> => fail(ErrorCode.projectNotFound, `No project ${projectId}`);

/**
 * Message types and events the server sends. A client may send none of them (nor any `*_succeeded`),
 * so no client can forge a system message.
 */
export const SERVER_NAMES: readonly string[] = [
  'connected',
  'client_left',
  'connection_id',
  'subscription_succeeded',
  'unsubscribe_succeeded',
  'send_success',
  'pong',
  'ack_succeeded',
  'no_retained',
  'error',
  'broadcast_cleared',
  'member_added',
  'member_removed',
];

/** Fails with `reserved_type` if a client-sent type or event is one of the server's. */
export function checkClientName(name: string, field: 'type' | 'event'): Result<string> {
  return SERVER_NAMES.includes(name) || name.endsWith('_succeeded')
    ? fail(ErrorCode.reservedType, `${field} ${JSON.stringify(name)} is one the server sends; clients may not send it`)
    : ok(name);
}

/** Byte length of a string as UTF-8, which is what API Gateway meters. */
export const byteLength = (text: string): number => Buffer.byteLength(text, 'utf8');

// ---- Server → client messages ----------------------------------------------------------------

/** A message delivered to subscribers (`channel` set) or to one connection (`channel` absent). */
export interface Delivered {
  readonly id: string;
  readonly timestamp: string;
  readonly channel?: string;
  readonly event: string;
  readonly data: unknown;
  /** The sending connection; absent when published over HTTP. */
  readonly from?: string;
  /** Set on a channel's retained broadcast when it is sent to a new subscriber or on request. */
  readonly retained?: true;
  /** On channels that keep history: the message's place in the channel's stream. */
  readonly offset?: number;
  readonly epoch?: string;
}

export interface FanoutCounts {
  readonly sent: number;
  readonly failed: number;
  readonly stale: number;
}

export const reply = {
  /** With the connection's Pusher-style socket id, for Pusher auth endpoints. */
  connectionId: (id: string, socketId?: string) => ({ type: 'connection_id', connection_id: id, ...(socketId && { socket_id: socketId }) }),
  /** With the stream's position on channels that keep history, and the outcome of a recovery asked for. */
  subscribed: (channelName: string, stream?: { offset: number; epoch: string; recovered?: boolean; reason?: string }) => ({
    type: 'subscription_succeeded',
    channel: channelName,
    ...stream,
  }),
  unsubscribed: (channelName: string) => ({ type: 'unsubscribe_succeeded', channel: channelName }),
  sent: (target: { channel?: string; connectionId?: string }, id: string, counts: FanoutCounts) => ({
    type: 'send_success',
    ...target,
    id,
    ...counts,
  }),
  pong: () => ({ type: 'pong' }),
  acked: (channelName: string, id: string) => ({ type: 'ack_succeeded', channel: channelName, id }),
  noRetained: (channelName: string) => ({ type: 'no_retained', channel: channelName }),
  error: (failure: Failure) => ({ type: 'error', code: failure.code, message: failure.message }),
  /** `members` may be the first of `count` (as many as fit in one message). */
  presence: (channelName: string, members: readonly { userId: string; info?: Record<string, unknown> }[], count: number) => ({
    type: 'presence',
    channel: channelName,
    members,
    count,
  }),
};

/**
 * A page of stored messages as JSON text, the messages spliced in as stored (no re-parsing):
 * `{ ...head, "epoch", "offset", "messages": [...], "more" }`.
 */
export function historyJson(head: Record<string, unknown>, page: { position?: { offset: number; epoch: string }; messages: readonly { body: string }[]; more: boolean }): string {
  const start = JSON.stringify({ ...head, ...(page.position && { epoch: page.position.epoch, offset: page.position.offset }) }).slice(0, -1);
  return `${start},"messages":[${page.messages.map((m) => m.body).join(',')}],"more":${page.more}}`;
}

/** What every message the server originates carries: a fresh id and the time it was made. */
export interface Stamp {
  readonly id: string;
  readonly timestamp: string;
}

/** The connection a system message is about. */
interface ClientRef {
  readonly connectionId: string;
  readonly projectId: string;
  readonly clientType?: string;
}

/** Messages the server pushes (not replies to a frame). */
export const outbound = {
  /** A publish as its subscribers (or its one addressee) receive it. */
  delivered: (
    stamp: Stamp,
    message: { channel?: string; event: string; data?: unknown; from?: string },
    position?: { offset: number; epoch: string },
  ): Delivered => ({
    ...stamp,
    ...(message.channel !== undefined && { channel: message.channel }),
    event: message.event,
    data: message.data ?? null,
    ...(message.from !== undefined && { from: message.from }),
    ...(position && { offset: position.offset, epoch: position.epoch }),
  }),
  /** A channel's retained broadcast, sent to a new subscriber or on request. */
  retained: (message: Record<string, unknown>) => ({ ...message, retained: true as const }),
  broadcastCleared: (stamp: Stamp, channelName: string) => ({ ...stamp, channel: channelName, event: 'broadcast_cleared' }),
  /** The first message on every connection. */
  connected: (client: ClientRef, clientCount: number, timestamp: string) => ({
    type: 'connected',
    clientId: client.connectionId,
    ...socketIdOf(client.connectionId),
    projectId: client.projectId,
    ...(client.clientType && { clientType: client.clientType }),
    clientCount,
    timestamp,
  }),
  /** To the project's typed clients, when one of them goes. */
  clientLeft: (client: ClientRef & { clientType: string }, timestamp: string) => ({
    type: 'client_left',
    clientId: client.connectionId,
    clientType: client.clientType,
    projectId: client.projectId,
    timestamp,
  }),
  /** A routed message between typed clients; `from` is always the server's word, never the client's. */
  routed: (stamp: Stamp, frame: RoutedFrame, sender: { connectionId: string; clientType?: string }) => ({
    id: frame.id ?? stamp.id,
    type: frame.type,
    payload: frame.payload ?? null,
    ...(frame.to && { to: frame.to }),
    from: { id: sender.connectionId, type: sender.clientType ?? null },
    timestamp: stamp.timestamp,
  }),
};

/** `{ socketId }`: the connection's Pusher-style socket id, for Pusher auth endpoints (none for an id that has none). */
function socketIdOf(connectionId: string): { socketId?: string } {
  const socketId = pusherSocketId(connectionId);
  return socketId ? { socketId } : {};
}

/** A message as sent on the wire, or `payload_too_large` if API Gateway could not deliver it. */
export function encode(message: object): Result<string> {
  const body = JSON.stringify(message);
  const size = byteLength(body);
  if (size > MAX_MESSAGE_BYTES) {
    return fail(ErrorCode.payloadTooLarge, `Message is ${size} bytes with its envelope; API Gateway delivers at most ${MAX_MESSAGE_BYTES}`);
  }
  return ok(body);
}
