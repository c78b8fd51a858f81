/**
 * Pusher's REST API, so a backend that calls `pusher.trigger(…)` publishes here by changing only
 * its host settings: app id = project id, app key = a project key's prefix, app secret = that key.
 * Requests are authenticated exactly as Pusher does (see auth/pusher.ts); answers and errors take
 * Pusher's shapes (JSON on success, a plain-text reason on failure).
 */
import { MAX_MESSAGE_BYTES } from '../contract/limits';
import type { SigningKey } from '../auth/tokens';
import { connectionIdOf, verifyPusherRequest } from '../auth/pusher';
import { byteLength, checkChannel } from '../protocol';
import type { ApiKeys } from '../auth/api-keys';
import type { Members } from '../domain/members';
import type { Namespaces } from '../domain/namespaces';
import type { Projects } from '../domain/projects';
import type { Publisher } from '../domain/publish';
import { bodyText, HttpEvent, HttpResult } from './gateway-events';
import type { Telemetry } from './telemetry';

/** What these routes use (a part of the HTTP API's dependencies). */
export interface PusherDependencies {
  readonly apiKeys: ApiKeys;
  readonly publisher: Publisher;
  readonly projects: Projects;
  readonly members: Members;
  readonly namespaces: Namespaces;
  readonly telemetry: Telemetry;
}

type Route = (event: HttpEvent, deps: PusherDependencies) => Promise<HttpResult>;

/** Pusher's limits: 100 channels per event, 10 events per batch, 200-character event names. */
const MAX_CHANNELS_PER_EVENT = 100;
const MAX_BATCH_EVENTS = 10;
const MAX_EVENT_NAME = 200;

const text = (statusCode: number, body: string): HttpResult => ({ statusCode, headers: { 'content-type': 'text/plain; charset=utf-8' }, body });
const json = (body: object): HttpResult => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** A Pusher-signed request for the app (project) in the path. */
const signed =
  (route: (key: SigningKey, event: HttpEvent, deps: PusherDependencies) => Promise<HttpResult>): Route =>
  async (event, deps) => {
    const verified = await verifyPusherRequest(
      { method: event.requestContext.http.method, path: event.rawPath, query: (event.queryStringParameters ?? {}) as Record<string, string>, body: bodyText(event) },
      (prefix) => deps.apiKeys.signingKey(prefix),
      Math.floor(Date.now() / 1000),
    );
    if (!verified.ok) {
      deps.telemetry.annotate({ errorCode: 'unauthorized' });
      return text(401, `401 Unauthorized: ${verified.error.message}`);
    }
    if (verified.value.projectId !== event.pathParameters?.appId) return text(401, '401 Unauthorized: the key is not one of this app');
    deps.telemetry.annotate({ projectId: verified.value.projectId });
    return route(verified.value, event, deps);
  };

interface PusherEvent {
  readonly name: string;
  readonly data: unknown;
  readonly channels: string[];
  readonly exclude?: string;
}

/** Checks one event as Pusher would; the reason if it is refused. */
function readEvent(value: unknown): PusherEvent | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'The event must be a JSON object';
  const { name, data, channels, channel, socket_id: socketId } = value as Record<string, unknown>;
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_EVENT_NAME) return `name must be 1 to ${MAX_EVENT_NAME} characters`;
  if (name.startsWith('pusher:') || name.startsWith('pusher_internal:')) return 'Event names starting with pusher: are reserved';
  if (typeof data !== 'string') return 'data must be a string (the event data, usually JSON)';
  const list = channels !== undefined ? channels : channel !== undefined ? [channel] : undefined;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_CHANNELS_PER_EVENT) return `Give 1 to ${MAX_CHANNELS_PER_EVENT} channels`;
  for (const name of list) {
    if (typeof name !== 'string' || !checkChannel(name).ok) return `Invalid channel name ${JSON.stringify(name).slice(0, 140)}`;
  }
  let exclude: string | undefined;
  if (socketId !== undefined) {
    exclude = typeof socketId === 'string' ? connectionIdOf(socketId) : undefined;
    if (exclude === undefined) return 'Invalid socket_id';
  }
  // Pusher carries data as text; subscribers here get the JSON it holds, or the text itself.
  let parsed: unknown = data;
  try {
    parsed = JSON.parse(data);
  } catch {
    // Not JSON: delivered as the string it is.
  }
  return { name, data: parsed, channels: list as string[], ...(exclude && { exclude }) };
}

async function trigger(projectId: string, events: readonly PusherEvent[], deps: PusherDependencies): Promise<HttpResult | undefined> {
  let deliveries = 0;
  let published = 0;
  for (const event of events) {
    for (const channel of event.channels) {
      const result = await deps.publisher.toChannel(projectId, channel, { event: event.name, data: event.data }, event.exclude ? { exclude: new Set([event.exclude]) } : {});
      if (!result.ok) return text(result.error.code === 'payload_too_large' ? 413 : 400, `${result.error.message}`);
      deliveries += result.value.sent;
      published++;
    }
  }
  deps.telemetry.published('HTTP', published);
  await deps.projects.record(projectId, { requests: published, deliveries }).catch(() => undefined);
  return undefined;
}

const events = signed(async (key, event, deps) => {
  const body = bodyText(event);
  if (byteLength(body) > MAX_MESSAGE_BYTES) return text(413, '413 Payload Too Large');
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return text(400, 'Invalid JSON');
  }
  const read = readEvent(value);
  if (typeof read === 'string') return text(400, read);
  return (await trigger(key.projectId, [read], deps)) ?? json({});
});

const batchEvents = signed(async (key, event, deps) => {
  let value: unknown;
  try {
    value = JSON.parse(bodyText(event));
  } catch {
    return text(400, 'Invalid JSON');
  }
  const batch = (value as { batch?: unknown } | null)?.batch;
  if (!Array.isArray(batch) || batch.length === 0 || batch.length > MAX_BATCH_EVENTS) return text(400, `batch must hold 1 to ${MAX_BATCH_EVENTS} events`);
  const read = batch.map(readEvent);
  const refused = read.find((r) => typeof r === 'string');
  if (refused !== undefined) return text(400, refused as string);
  return (await trigger(key.projectId, read as PusherEvent[], deps)) ?? json({ batch: read.map(() => ({})) });
});

/** `info=user_count,subscription_count` as a set. */
const infoOf = (event: HttpEvent) => new Set((event.queryStringParameters?.info ?? '').split(',').filter(Boolean));

const channels = signed(async (key, event, deps) => {
  const prefix = event.queryStringParameters?.filter_by_prefix ?? '';
  const info = infoOf(event);
  if (info.has('user_count') && !prefix.startsWith('presence-')) return text(400, 'user_count may only be requested with filter_by_prefix=presence-');
  const status = await deps.projects.status(key.projectId);
  const list = status.ok ? status.value.channels.filter((c) => c.channel.startsWith(prefix) && c.subscribers > 0) : [];
  const entries = await Promise.all(
    list.map(async ({ channel }) => [channel, info.has('user_count') ? { user_count: (await deps.members.list(key.projectId, channel)).length } : {}] as const),
  );
  return json({ channels: Object.fromEntries(entries) });
});

const channel = signed(async (key, event, deps) => {
  const name = event.pathParameters?.channel ?? '';
  if (!checkChannel(name).ok) return text(400, 'Invalid channel name');
  const info = infoOf(event);
  if (info.has('user_count') && !name.startsWith('presence-')) return text(400, 'user_count is only for presence channels');
  const counted = await deps.projects.channel(key.projectId, name);
  const subscribers = counted.ok ? counted.value.subscribers : 0;
  return json({
    occupied: subscribers > 0,
    ...(info.has('subscription_count') && { subscription_count: subscribers }),
    ...(info.has('user_count') && { user_count: (await deps.members.list(key.projectId, name)).length }),
  });
});

const users = signed(async (key, event, deps) => {
  const name = event.pathParameters?.channel ?? '';
  if (!checkChannel(name).ok || !(await deps.namespaces.of(key.projectId, name)).presence) return text(400, 'Users can only be listed for presence channels');
  const members = await deps.members.list(key.projectId, name);
  return json({ users: members.map((m) => ({ id: m.userId })) });
});

export const PUSHER_ROUTES = {
  'POST /apps/{appId}/events': events,
  'POST /apps/{appId}/batch_events': batchEvents,
  'GET /apps/{appId}/channels': channels,
  'GET /apps/{appId}/channels/{channel}': channel,
  'GET /apps/{appId}/channels/{channel}/users': users,
} as const;
