/**
 * What clients and backends may send: every frame and request body, validated with zod/mini, and
 * the checks that turn a bad one into a stable code and a message that says what to do.
 */
import * as z from 'zod/mini';
import { MAX_JSON_DEPTH, SETTINGS_BOUNDS, WEBHOOK_EVENTS, WEBHOOK_LIMITS } from '../contract/limits';
import type { Notice, Reply } from '../../client/src/messages';
import { ErrorCode, Result, fail, ok } from './errors';

const NAME_PATTERN = /^[A-Za-z0-9_\-=@,.;:/]+$/;

// zod/mini rather than zod: the same validation at ~15 KB of bundle instead of ~450 KB.
/** Channel names: 1–128 of `A–Z a–z 0–9 _ - = @ , . ; : /`. Names starting with `$` are reserved for the server. */
const channel = z
  .string()
  .check(
    z.minLength(1, { error: 'channel must not be empty' }),
    z.maxLength(128, { error: 'channel must be at most 128 characters' }),
    z.regex(NAME_PATTERN, { error: 'channel may only contain A-Z a-z 0-9 and _ - = @ , . ; : /' }),
  );

/** A channel name as every codec takes it (Pusher's frames too). */
export const channelSchema = channel;

/** API Gateway connection ids are base64-like (`L0SM9cOFvHcCIhw=`). */
const connectionId = z.string().check(z.regex(/^[A-Za-z0-9+/=_-]{1,128}$/, { error: 'connectionId is not a valid connection id' }));

export const projectIdSchema = z.string().check(
  z.regex(/^[A-Za-z0-9_\-.]{1,64}$/, { error: 'projectId must be 1-64 characters of A-Z a-z 0-9 and _ - .' }),
  // `.` and `..` are path segments a URL normalizes away: a project by those names could never be addressed.
  z.refine((id) => id !== '.' && id !== '..', { error: 'projectId may not be . or ..' }),
);

const event = z
  .string()
  .check(z.minLength(1, { error: 'event must not be empty' }), z.maxLength(128, { error: 'event must be at most 128 characters' }));

/** Where a message goes: a channel or one connection, never both. */
const target = {
  channel: z.optional(channel),
  connectionId: z.optional(connectionId),
  event,
  data: z.optional(z.unknown()),
};
const exactlyOneTarget = z.refine<{ channel?: string; connectionId?: string }>(
  (m) => (m.channel === undefined) !== (m.connectionId === undefined),
  {
    error: 'give exactly one of channel or connectionId',
  },
);

/**
 * A publish over HTTP (`POST /broadcast`, or one message of a batch). Unknown fields are refused by
 * name: `"message"` for `"data"` would otherwise deliver `data: null` and answer success.
 */
const publication = z
  .strictObject({
    projectId: z.optional(projectIdSchema),
    ...target,
    /** Keep as the channel's active broadcast, sent to every later subscriber. */
    retain: z.optional(z.boolean()),
    /** A repeat with the same key within 10 minutes returns the first publish and delivers nothing. */
    idempotencyKey: z.optional(
      z
        .string()
        .check(z.regex(/^[\x21-\x7e]{1,128}$/, { error: 'idempotencyKey must be 1-128 printable ASCII characters without spaces' })),
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
export const clientTypeSchema = z
  .string()
  .check(z.regex(/^[A-Za-z0-9_\-.]{1,64}$/, { error: 'type must be 1-64 characters of A-Z a-z 0-9 and _ - .' }));

/** The body of `POST /api-keys`. */
export const createApiKeyRequest = z.object({
  projectId: projectIdSchema,
  description: z.optional(z.string().check(z.maxLength(256, { error: 'description must be at most 256 characters' }))),
});

const messageId = z
  .string()
  .check(z.minLength(1, { error: 'id must not be empty' }), z.maxLength(128, { error: 'id must be at most 128 characters' }));

/**
 * A routed message (a frame with no `action`): `{id?, type, payload?, to?: {type?, id?}}`.
 * `from` is always set by the server, so a client's own is ignored.
 */
export const routedFrame = z.object({
  id: z.optional(messageId),
  type: z
    .string()
    .check(z.minLength(1, { error: 'type must not be empty' }), z.maxLength(128, { error: 'type must be at most 128 characters' })),
  payload: z.optional(z.unknown()),
  to: z.optional(z.object({ type: z.optional(clientTypeSchema), id: z.optional(connectionId) })),
});
export type RoutedFrame = z.infer<typeof routedFrame>;

export const ackFrame = z.object({ action: z.literal('ack'), channel, id: messageId });
export const getRetainedFrame = z.object({ action: z.literal('get_retained'), channel });

const boundedInt = (field: string, bounds: { readonly min: number; readonly max: number }) =>
  z
    .int()
    .check(
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
  maxConnectionsPerUser: z.optional(boundedInt('maxConnectionsPerUser', SETTINGS_BOUNDS.maxConnectionsPerUser)),
  clientEvents: z.optional(z.boolean()),
  subscriptionCount: z.optional(z.boolean()),
  webhooks: z.optional(
    z
      .array(
        z.strictObject({
          url: z.string().check(
            z.maxLength(WEBHOOK_LIMITS.urlLength, { error: `a webhook url is at most ${WEBHOOK_LIMITS.urlLength} characters` }),
            z.refine((url) => /^https?:\/\/[^/?#\s]+/.test(url) && URL.canParse(url), {
              error: 'a webhook url must be an absolute https:// URL',
            }),
            // Credentials in a URL would be logged by whatever refuses it: the receiver checks X-Pusher-Signature instead.
            z.refine((url) => !URL.canParse(url) || (new URL(url).username === '' && new URL(url).password === ''), {
              error: 'a webhook url may not hold a user or password: the receiver checks X-Pusher-Signature',
            }),
          ),
          events: z
            .array(z.enum(WEBHOOK_EVENTS, { error: `webhook events are among ${WEBHOOK_EVENTS.join(', ')}` }))
            .check(z.minLength(1, { error: 'a webhook names at least one event' })),
        }),
      )
      .check(
        z.maxLength(WEBHOOK_LIMITS.perProject, { error: `a project has at most ${WEBHOOK_LIMITS.perProject} webhooks` }),
        z.refine((hooks) => new Set(hooks.map((hook) => hook.url)).size === hooks.length, {
          error: 'each webhook url appears once: list all its events on it',
        }),
      ),
  ),
  userRateLimit: z.optional(
    z.strictObject({
      perSecond: boundedInt('userRateLimit.perSecond', SETTINGS_BOUNDS.perSecond),
      burst: boundedInt('userRateLimit.burst', SETTINGS_BOUNDS.burst),
    }),
  ),
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
      epoch: z
        .string()
        .check(
          z.minLength(1, { error: 'since.epoch must not be empty' }),
          z.maxLength(64, { error: 'since.epoch is at most 64 characters' }),
        ),
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
/** The body of a batch `POST /broadcast`: its messages (each a {@link broadcastRequest}) and their project. */
export const batchRequest = z.strictObject({ projectId: z.optional(z.unknown()), messages: z.unknown() });

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

/**
 * Parses JSON text, or fails with `invalid_json` saying where it goes wrong; nesting deeper than
 * {@link MAX_JSON_DEPTH} fails with `invalid_message`. `what` names the text for the message: an
 * HTTP body, or a WebSocket frame.
 */
export function parseJson(text: string, what: 'Body' | 'Frame' = 'Body'): Result<unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail(ErrorCode.invalidJson, `${what} is not valid JSON: ${jsonSyntaxError(text)}`);
  }
  return depthOf(value) > MAX_JSON_DEPTH
    ? fail(ErrorCode.invalidMessage, `JSON is nested deeper than ${MAX_JSON_DEPTH} levels`)
    : ok(value);
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const LITERALS = ['true', 'false', 'null'];

/**
 * Where JSON text that `JSON.parse` refused first goes wrong, as a sentence with a position (0 is
 * the first character). Node's own messages name a position in some cases only, and word it
 * differently from version to version. Iterative, so no nesting can overflow the stack.
 */
export function jsonSyntaxError(text: string): string {
  let i = 0;
  const open: string[] = [];
  const space = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const inString = () =>
    i >= text.length
      ? `it ends at position ${i}, inside a string`
      : `a string goes wrong at position ${i} (a bad escape, or a control character that must be escaped)`;
  const problem = (expected: string) =>
    i >= text.length
      ? `it ends at position ${i}, where ${expected} should follow`
      : `unexpected ${JSON.stringify(text[i])} at position ${i}, where ${expected} should be`;
  /** At a `"`: past the string, or false with `i` on the offending character. */
  const string = (): boolean => {
    for (i++; i < text.length; i++) {
      const c = text[i];
      if (c === '"') {
        i++;
        return true;
      }
      if (c < ' ') return false;
      if (c !== '\\') continue;
      i++;
      if (text[i] === 'u') {
        if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) return false;
        i += 4;
      } else if (!'"\\/bfnrt'.includes(text[i] ?? 'x')) return false;
    }
    return false;
  };
  /** A value, or the opening of one; false where none starts. */
  const value = (): boolean => {
    const c = text[i];
    if (c === '{' || c === '[') {
      open.push(c === '{' ? '}' : ']');
      i++;
      return true;
    }
    if (c === '"') return string();
    const literal = LITERALS.find((word) => text.startsWith(word, i));
    if (literal) {
      i += literal.length;
      return true;
    }
    NUMBER.lastIndex = i;
    const number = NUMBER.exec(text);
    if (!number) return false;
    i += number[0].length;
    return true;
  };
  // `expect`: what may come next. After an opening bracket, its closing one may too.
  let expect: 'value' | 'key' | 'after' = 'value';
  let justOpened = false;
  for (;;) {
    space();
    if (justOpened && text[i] === open[open.length - 1]) {
      open.pop();
      i++;
      expect = 'after';
    } else if (expect === 'key') {
      if (text[i] !== '"') return problem('a property name in double quotes');
      if (!string()) return inString();
      space();
      if (text[i] !== ':') return problem('":"');
      i++;
      expect = 'value';
    } else if (expect === 'value') {
      const before = open.length;
      const quoted = text[i] === '"';
      if (!value()) return quoted ? inString() : problem('a value');
      expect = open.length > before ? (open[open.length - 1] === '}' ? 'key' : 'value') : 'after';
      justOpened = open.length > before;
      continue;
    } else if (open.length === 0) {
      return i >= text.length
        ? 'it is not a single JSON value'
        : `unexpected ${JSON.stringify(text[i])} at position ${i}, after the JSON value`;
    } else if (text[i] === ',') {
      i++;
      expect = open[open.length - 1] === '}' ? 'key' : 'value';
    } else if (text[i] === open[open.length - 1]) {
      open.pop();
      i++;
    } else {
      return problem(`"," or "${open[open.length - 1]}"`);
    }
    justOpened = false;
  }
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
  if (issue.code === 'unrecognized_keys') {
    const names = issue.keys.map((key) => JSON.stringify(key)).join(', ');
    return fail(
      ErrorCode.invalidMessage,
      `Unknown field${issue.keys.length > 1 ? 's' : ''} ${names}${field ? ` in ${field}` : ''}; allowed: ${fieldsAt(schema, issue.path).join(', ')}`,
    );
  }
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

/** What zod/mini keeps of a schema's definition: enough to find an object's fields. */
interface SchemaDefinition {
  readonly _zod: { readonly def: { readonly type: string; readonly shape?: Record<string, unknown>; readonly innerType?: unknown } };
}

/** The field names an object schema allows at a path (through optional wrappers), for messages. */
function fieldsAt(schema: z.ZodMiniType, path: readonly PropertyKey[]): string[] {
  let def = (schema as unknown as SchemaDefinition)._zod.def;
  const unwrap = () => {
    while (def.innerType !== undefined) def = (def.innerType as SchemaDefinition)._zod.def;
  };
  unwrap();
  for (const key of path) {
    const next = def.shape?.[String(key)];
    if (next === undefined) return [];
    def = (next as SchemaDefinition)._zod.def;
    unwrap();
  }
  return Object.keys(def.shape ?? {});
}

/** Parses JSON text and validates it against a schema. */
export function parseMessage<S extends z.ZodMiniType>(schema: S, text: string, what: 'Body' | 'Frame' = 'Body'): Result<z.infer<S>> {
  const parsed = parseJson(text, what);
  return parsed.ok ? validate(schema, parsed.value) : parsed;
}

/**
 * Message types and events the server sends. A client may send none of them (nor any `*_succeeded`,
 * nor anything of Pusher's own `pusher:` and `pusher_internal:`), so no client can forge a system
 * message or a reply.
 */
export const SERVER_NAMES = [
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
  'subscription_count',
  'watchlist_events',
  'history',
  'presence',
] as const;

/** Every reply and notice type the client's types know is reserved: a new one cannot be forgotten here. */
type Unreserved = Exclude<Reply['type'] | Notice['type'], (typeof SERVER_NAMES)[number]>;
const everyServerTypeReserved: Unreserved extends never ? true : Unreserved = true;
void everyServerTypeReserved;

const RESERVED_PREFIXES = ['pusher:', 'pusher_internal:'];

/** Fails with `reserved_type` if a client-sent type or event is one of the server's. */
export function checkClientName(name: string, field: 'type' | 'event'): Result<string> {
  const reserved =
    (SERVER_NAMES as readonly string[]).includes(name) || name.endsWith('_succeeded') || RESERVED_PREFIXES.some((p) => name.startsWith(p));
  return reserved
    ? fail(ErrorCode.reservedType, `${field} ${JSON.stringify(name)} is one the server sends; clients may not send it`)
    : ok(name);
}
