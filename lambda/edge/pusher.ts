/**
 * Pusher's REST API as a codec over the operations, so a backend that calls `pusher.trigger(…)`
 * publishes here by changing only its host settings: app id = project id, app key = a project key's
 * prefix, app secret = that key. Requests are authenticated exactly as Pusher does (see
 * auth/pusher.ts, through the operations' door); answers and errors take Pusher's shapes (JSON on
 * success, a plain-text reason on failure).
 */
import { MAX_MESSAGE_BYTES } from '../contract/limits';
import { connectionIdOf } from '../contract/socket-ids';
import { Backend, Operations, OPERATIONS } from '../operations';
import { byteLength, checkChannel, ErrorCode, Failure, ok, Result, userChannelOf } from '../protocol';
import { noteFailure } from '../telemetry';
import { bodyText, HttpEvent, HttpResult } from './gateway-events';

type Route = (event: HttpEvent, ops: Operations) => Promise<HttpResult>;

/** Pusher's limits: 100 channels per event, 10 events per batch, 200-character event names; 128 KB a request (API Gateway's message). */
const MAX_CHANNELS_PER_EVENT = 100;
const MAX_BATCH_EVENTS = 10;
const MAX_EVENT_NAME = 200;
/** `info` on a trigger counts each channel (a read of its subscribers): for a few channels only. */
const MAX_INFO_CHANNELS = 10;

const text = (statusCode: number, body: string): HttpResult => ({
  statusCode,
  headers: { 'content-type': 'text/plain; charset=utf-8' },
  body,
});
const json = (body: object): HttpResult => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});
/** A refusal as Pusher words it: the status, and the reason as text. */
const refusal = (failed: Failure): HttpResult => {
  noteFailure(failed.code);
  const status = failed.code === ErrorCode.unauthorized ? 401 : failed.code === ErrorCode.payloadTooLarge ? 413 : 400;
  return text(status, status === 401 ? `401 Unauthorized: ${failed.message}` : failed.message);
};
const answer = <T>(result: Result<T>, encode: (value: T) => object): HttpResult =>
  result.ok ? json(encode(result.value)) : refusal(result.error);

/** A Pusher-signed request for the app (project) in the path. */
const signed =
  (route: (caller: Backend, event: HttpEvent, ops: Operations) => Promise<HttpResult>): Route =>
  async (event, ops) => {
    const request = {
      method: event.requestContext.http.method,
      path: event.rawPath,
      query: (event.queryStringParameters ?? {}) as Record<string, string>,
      body: bodyText(event),
    };
    const caller = await ops.pusherSigned(request, event.pathParameters?.appId);
    return caller.ok ? route(caller.value, event, ops) : refusal(caller.error);
  };

interface PusherEvent {
  readonly event: string;
  readonly data: unknown;
  readonly channels: string[];
  readonly exclude?: string;
  /** Pusher's `info` (`subscription_count`, `user_count`): answered per channel after the trigger. */
  readonly info?: ReadonlySet<string>;
}

const invalid = (message: string): Result<never> => ({ ok: false, error: { code: ErrorCode.invalidMessage, message } });

/** Reads one event as Pusher would. */
function readEvent(value: unknown): Result<PusherEvent> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return invalid('The event must be a JSON object');
  const { name, data, channels, channel, socket_id: socketId, info } = value as Record<string, unknown>;
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_EVENT_NAME)
    return invalid(`name must be 1 to ${MAX_EVENT_NAME} characters`);
  if (name.startsWith('pusher:') || name.startsWith('pusher_internal:')) return invalid('Event names starting with pusher: are reserved');
  if (typeof data !== 'string') return invalid('data must be a string (the event data, usually JSON)');
  const list = channels !== undefined ? channels : channel !== undefined ? [channel] : undefined;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_CHANNELS_PER_EVENT)
    return invalid(`Give 1 to ${MAX_CHANNELS_PER_EVENT} channels`);
  // `sendToUser` publishes to `#server-to-user-{id}`: inside, the user's reserved channel.
  const names = (list as unknown[]).map((item) => (typeof item === 'string' ? (userChannelOf(item) ?? item) : item));
  for (const [i, item] of names.entries()) {
    const userChannel = typeof item === 'string' && item !== list[i];
    if (typeof item !== 'string' || (!userChannel && !checkChannel(item).ok)) {
      return invalid(`Invalid channel name ${JSON.stringify(list[i]).slice(0, 140)}`);
    }
  }
  let exclude: string | undefined;
  if (socketId !== undefined) {
    exclude = typeof socketId === 'string' ? connectionIdOf(socketId) : undefined;
    if (exclude === undefined) return invalid('Invalid socket_id');
  }
  // Pusher carries data as text; subscribers here get the JSON it holds, or the text itself.
  let parsed: unknown = data;
  try {
    parsed = JSON.parse(data);
  } catch {
    // Not JSON: delivered as the string it is.
  }
  const asked = typeof info === 'string' ? new Set(info.split(',').filter(Boolean)) : undefined;
  if (asked && names.length > MAX_INFO_CHANNELS) return invalid(`info may be asked for at most ${MAX_INFO_CHANNELS} channels`);
  return ok({ event: name, data: parsed, channels: names as string[], ...(exclude && { exclude }), ...(asked && { info: asked }) });
}

/** A triggered channel's `info` as Pusher answers it: its subscription count, and a presence channel's user count. */
async function infoOf(caller: Backend, channel: string, info: ReadonlySet<string>, ops: Operations): Promise<Record<string, number>> {
  const users = info.has('user_count') && channel.startsWith('presence-');
  const counted = await ops.asBackend(caller, OPERATIONS.channelInfo, ok({ channel, users }));
  if (!counted.ok) return {};
  return {
    ...(info.has('subscription_count') && { subscription_count: counted.value.subscribers }),
    ...(counted.value.users !== undefined && { user_count: counted.value.users }),
  };
}

/** The request's JSON body, or Pusher's refusal. */
function jsonBody(event: HttpEvent): Result<unknown> {
  try {
    return ok(JSON.parse(bodyText(event)));
  } catch {
    return invalid('Invalid JSON');
  }
}

const events = signed(async (caller, event, ops) => {
  if (byteLength(bodyText(event)) > MAX_MESSAGE_BYTES) return text(413, '413 Payload Too Large');
  const body = jsonBody(event);
  const read = body.ok ? readEvent(body.value) : body;
  const triggered = await ops.asBackend(caller, OPERATIONS.trigger, read.ok ? ok({ events: [read.value] }) : read);
  const info = read.ok ? read.value.info : undefined;
  if (!triggered.ok || !info) return answer(triggered, () => ({}));
  const counts = await Promise.all(read.ok ? read.value.channels.map((c) => infoOf(caller, c, info, ops)) : []);
  return json({ channels: Object.fromEntries(read.ok ? read.value.channels.map((c, i) => [c, counts[i]]) : []) });
});

const batchEvents = signed(async (caller, event, ops) => {
  // The same limit per request as /events: a batch is no way around it.
  if (byteLength(bodyText(event)) > MAX_MESSAGE_BYTES) return text(413, '413 Payload Too Large');
  const body = jsonBody(event);
  if (!body.ok) return refusal(body.error);
  const batch = (body.value as { batch?: unknown } | null)?.batch;
  if (!Array.isArray(batch) || batch.length === 0 || batch.length > MAX_BATCH_EVENTS)
    return text(400, `batch must hold 1 to ${MAX_BATCH_EVENTS} events`);
  const read = batch.map(readEvent);
  const refused = read.find((r) => !r.ok);
  const input: Result<{ events: PusherEvent[] }> =
    refused && !refused.ok ? refused : ok({ events: read.map((r) => (r as { value: PusherEvent }).value) });
  const triggered = await ops.asBackend(caller, OPERATIONS.trigger, input);
  if (!triggered.ok || !input.ok) return answer(triggered, () => ({}));
  // Each event's info is its (one) channel's, as Pusher answers a batch.
  const infos = await Promise.all(
    input.value.events.map((e) => (e.info ? infoOf(caller, e.channels[0], e.info, ops) : Promise.resolve({}))),
  );
  return json({ batch: infos });
});

/** `info=user_count,subscription_count` as a set. */
const queriedInfo = (event: HttpEvent) => new Set((event.queryStringParameters?.info ?? '').split(',').filter(Boolean));

const channels = signed(async (caller, event, ops) => {
  const prefix = event.queryStringParameters?.filter_by_prefix ?? '';
  const users = queriedInfo(event).has('user_count');
  if (users && !prefix.startsWith('presence-')) return text(400, 'user_count may only be requested with filter_by_prefix=presence-');
  const listed = await ops.asBackend(caller, OPERATIONS.listChannels, ok({ prefix, users }));
  return answer(listed, (list) => ({
    channels: Object.fromEntries(list.map((c) => [c.channel, c.users !== undefined ? { user_count: c.users } : {}])),
  }));
});

const channel = signed(async (caller, event, ops) => {
  const name = event.pathParameters?.channel ?? '';
  if (!checkChannel(name).ok) return text(400, 'Invalid channel name');
  const info = queriedInfo(event);
  if (info.has('user_count') && !name.startsWith('presence-')) return text(400, 'user_count is only for presence channels');
  const counted = await ops.asBackend(caller, OPERATIONS.channelInfo, ok({ channel: name, users: info.has('user_count') }));
  return answer(counted, ({ subscribers, users }) => ({
    occupied: subscribers > 0,
    ...(info.has('subscription_count') && { subscription_count: subscribers }),
    ...(users !== undefined && { user_count: users }),
  }));
});

const users = signed(async (caller, event, ops) => {
  const name = event.pathParameters?.channel ?? '';
  const listed = checkChannel(name).ok ? await ops.asBackend(caller, OPERATIONS.members, ok({ channel: name })) : undefined;
  if (!listed?.ok) return text(400, 'Users can only be listed for presence channels');
  return json({ users: listed.value.members.map((m) => ({ id: m.userId })) });
});

/** `terminateUserConnections`: Pusher answers `{}` at once; the connections close within seconds. */
const terminate = signed(async (caller, event, ops) => {
  const closed = await ops.asBackend(caller, OPERATIONS.terminateUser, ok({ userId: event.pathParameters?.userId ?? '' }));
  return answer(closed, () => ({}));
});

export const PUSHER_ROUTES = {
  'POST /apps/{appId}/events': events,
  'POST /apps/{appId}/batch_events': batchEvents,
  'GET /apps/{appId}/channels': channels,
  'GET /apps/{appId}/channels/{channel}': channel,
  'GET /apps/{appId}/channels/{channel}/users': users,
  'POST /apps/{appId}/users/{userId}/terminate_connections': terminate,
} as const;
