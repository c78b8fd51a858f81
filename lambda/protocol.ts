/**
 * The wire protocol as data: error codes, the frames clients send (validated with zod), and the
 * messages the server sends. Everything a client can see is defined here.
 */
import * as z from 'zod/mini';

/** Stable error codes. Clients may switch on these; messages are for people and may change. */
export const ErrorCode = {
  invalidJson: 'invalid_json',
  unknownAction: 'unknown_action',
  invalidMessage: 'invalid_message',
  invalidChannel: 'invalid_channel',
  reservedChannel: 'reserved_channel',
  invalidProject: 'invalid_project',
  invalidRequest: 'invalid_request',
  projectNotFound: 'project_not_found',
  keyExists: 'key_exists',
  invalidToken: 'invalid_token',
  identityRequired: 'identity_required',
  tooManyMessages: 'too_many_messages',
  payloadTooLarge: 'payload_too_large',
  connectionNotFound: 'connection_not_found',
  notConnected: 'not_connected',
  tooManySubscriptions: 'too_many_subscriptions',
  unauthorized: 'unauthorized',
  notFound: 'not_found',
  internalError: 'internal_error',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The HTTP status each code maps to on the HTTP API. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  invalid_json: 400,
  unknown_action: 400,
  invalid_message: 400,
  invalid_channel: 400,
  reserved_channel: 400,
  invalid_project: 400,
  invalid_request: 400,
  project_not_found: 404,
  key_exists: 409,
  invalid_token: 401,
  identity_required: 403,
  too_many_messages: 400,
  payload_too_large: 413,
  connection_not_found: 404,
  not_connected: 409,
  too_many_subscriptions: 409,
  unauthorized: 401,
  not_found: 404,
  internal_error: 500,
};

/** An expected failure, returned (not thrown) by the domain modules. */
export interface Failure {
  readonly code: ErrorCode;
  readonly message: string;
}

export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: Failure };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = <T = never>(code: ErrorCode, message: string): Result<T> => ({ ok: false, error: { code, message } });

/** API Gateway's WebSocket message limit; a delivered message must fit in it, envelope included. */
export const MAX_MESSAGE_BYTES = 128 * 1024;
/** Bounds each connection's subscriptions, so its item and its `$disconnect` clean-up stay small. */
export const MAX_CHANNELS_PER_CONNECTION = 100;
export const DEFAULT_PROJECT_ID = 'default';

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

/** A message addressed to a channel or to one connection, never both. */
const publication = z
  .object({
    projectId: z.optional(projectIdSchema),
    channel: z.optional(channel),
    connectionId: z.optional(connectionId),
    event,
    data: z.optional(z.unknown()),
    /** Keep as the channel's active broadcast, sent to every later subscriber. */
    retain: z.optional(z.boolean()),
  })
  .check(
    z.refine((m) => (m.channel === undefined) !== (m.connectionId === undefined), {
      error: 'give exactly one of channel or connectionId',
    }),
    z.refine((m) => !(m.retain && m.connectionId !== undefined), { error: 'retain applies to channels, not to a connectionId' }),
  );

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

/** `POST /broadcast/clear`. */
export const clearRequest = z.object({ projectId: z.optional(projectIdSchema), channel });

/** AppSync Events takes 5 per batch and Pusher 10. */
export const MAX_BATCH_MESSAGES = 25;

export const subscribeFrame = z.object({ action: z.literal('subscribe'), channel });
export const unsubscribeFrame = z.object({ action: z.literal('unsubscribe'), channel });
export const sendFrame = z.intersection(z.object({ action: z.literal('send') }), publication);
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

/** Parses JSON text, or fails with `invalid_json`. */
export function parseJson(text: string): Result<unknown> {
  try {
    return ok(JSON.parse(text));
  } catch {
    return fail(ErrorCode.invalidJson, 'Body is not valid JSON');
  }
}

/** Validates a parsed value against a schema, turning the first issue into a stable code and a readable message. */
export function validate<S extends z.ZodMiniType>(schema: S, value: unknown): Result<z.infer<S>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail(ErrorCode.invalidMessage, 'Message must be a JSON object');
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return ok(parsed.data);
  const issue = parsed.error.issues[0];
  const field = issue.path.join('.');
  if (field === 'channel') {
    const raw = (value as { channel?: unknown }).channel;
    if (typeof raw === 'string' && raw.startsWith('$')) {
      return fail(ErrorCode.reservedChannel, 'Channel names starting with $ are reserved');
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
}

export interface FanoutCounts {
  readonly sent: number;
  readonly failed: number;
  readonly stale: number;
}

export const reply = {
  connectionId: (id: string) => ({ type: 'connection_id', connection_id: id }),
  subscribed: (channelName: string) => ({ type: 'subscription_succeeded', channel: channelName }),
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
};
