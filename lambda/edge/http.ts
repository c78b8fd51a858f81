/**
 * The HTTP API's routes, as a lookup table from API Gateway route key to a small function.
 * Every route but `GET /health` takes `Authorization: Bearer <key>`: the master key (any project)
 * or a project's API key (that project only).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { MAX_BATCH_MESSAGES, MAX_MESSAGE_BYTES } from '../contract/limits';
import type { HttpRouteKey } from '../contract/routes';
import type { ApiKeys } from '../auth/api-keys';
import { signClientToken } from '../auth/tokens';
import { Authorizer, mayAccess, Principal, resolveProject } from '../auth/principals';
import type { Projects } from '../domain/projects';
import { positionOf, type Published, type Publisher } from '../domain/publish';
import type { Retention } from '../domain/retention';
import type { Revocation } from '../domain/revocation';
import type { Settings } from '../domain/settings';
import type { BigChannels } from '../domain/big-channels';
import type { ChannelHistory } from '../domain/history';
import type { Members } from '../domain/members';
import type { Namespaces } from '../domain/namespaces';
import { IDEMPOTENCY_WINDOW_SECONDS } from '../contract/tables';
import type { PublishRecord, PublishStore } from '../ports';
import {
  broadcastRequest,
  byteLength,
  checkChannel,
  clearRequest,
  createApiKeyRequest,
  DEFAULT_HISTORY_LIMIT,
  errorSpec,
  historyJson,
  historyQuery,
  MAX_HISTORY_LIMIT,
  fail,
  failure,
  ok,
  optionalParam,
  parseJson,
  parseMessage,
  projectIdSchema,
  settingsRequest,
  validate,
  ErrorCode,
  Failure,
  Publication,
  Result,
} from '../protocol';
import { bodyText, HttpEvent, HttpResult } from './gateway-events';
import { consoleAssets } from './console-assets';
import { PUSHER_ROUTES } from './pusher';
import { noteFailure, Telemetry } from './telemetry';

export interface HttpDependencies {
  readonly publisher: Publisher;
  readonly authorizer: Authorizer;
  readonly apiKeys: ApiKeys;
  readonly projects: Projects;
  readonly retention: Retention;
  readonly settings: Settings;
  readonly revocation: Revocation;
  readonly bigChannels: BigChannels;
  readonly publishes: PublishStore;
  readonly namespaces: Namespaces;
  readonly history: ChannelHistory;
  readonly members: Members;
  /** Channels with more subscribers are published in the background (202). */
  readonly backgroundFanoutAbove: number;
  /** The WebSocket stage's URL (`wss://…/production`), which the console connects to. */
  readonly webSocketUrl: string;
  readonly logger: Logger;
  readonly telemetry: Telemetry;
}

type Route = (event: HttpEvent, deps: HttpDependencies) => Promise<HttpResult>;

/** A history page over HTTP stays well under Lambda's 6 MB response. */
const MAX_HTTP_HISTORY_BYTES = 5 * 1024 * 1024;

const jsonResponse = (statusCode: number, body: object): HttpResult => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/** `{success:false, error, code, errors:[{code,message}]}`: the seed's shape and the list shape in one. */
export const errorResponse = (failed: Failure): HttpResult => {
  noteFailure(failed.code);
  return jsonResponse(errorSpec(failed.code)?.status ?? 500, {
    success: false,
    error: failed.message,
    code: failed.code,
    errors: [{ code: failed.code, message: failed.message }],
  });
};

const unauthorized = () => errorResponse(failure(ErrorCode.unauthorized));

const respond = <T>(result: Result<T>, status = 200): HttpResult =>
  result.ok ? jsonResponse(status, { success: true, data: result.value }) : errorResponse(result.error);

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

/** Runs a route for any valid key, with the principal it stands for. */
const authenticated =
  (route: (principal: Principal, event: HttpEvent, deps: HttpDependencies) => Promise<HttpResult>): Route =>
  async (event, deps) => {
    const principal = await deps.authorizer.identify(bearerToken(event.headers?.authorization));
    return principal ? route(principal, event, deps) : unauthorized();
  };

/** Runs a route only for the master key. */
const masterOnly = (route: Route): Route =>
  authenticated(async (principal, event, deps) => (principal.kind === 'master' ? route(event, deps) : unauthorized()));

/** A `projectId` given in a body or the query string, checked, and the project it makes the principal act on. */
const projectFor = (principal: Principal, requested: unknown): Result<string> => {
  const checked = optionalParam(projectIdSchema, requested, ErrorCode.invalidProject);
  return checked.ok ? resolveProject(principal, checked.value) : checked;
};

/** Runs a route on the project named by `?projectId=` (by default the principal's own, or `default`). */
const forProject = (route: (projectId: string, event: HttpEvent, deps: HttpDependencies) => Promise<HttpResult>): Route =>
  authenticated(async (principal, event, deps) => {
    const project = projectFor(principal, event.queryStringParameters?.projectId);
    return project.ok ? route(project.value, event, deps) : errorResponse(project.error);
  });

const health: Route = async () => jsonResponse(200, { status: 'ok' });

/** One publish request; a batch is `{projectId?, messages: [these…]}`. */
const parsePublication = (value: unknown) => validate(broadcastRequest, value);

const broadcast = authenticated(async (principal, event, deps) => {
  const text = bodyText(event);
  const parsed = parseJson(text);
  if (!parsed.ok) return errorResponse(parsed.error);
  const messages = (parsed.value as { messages?: unknown } | null)?.messages;
  if (messages !== undefined) return batch(parsed.value as { projectId?: unknown }, messages, principal, deps);
  // Anything larger cannot be delivered over WebSocket.
  if (byteLength(text) > MAX_MESSAGE_BYTES) {
    return errorResponse({ code: ErrorCode.payloadTooLarge, message: `Body is over ${MAX_MESSAGE_BYTES} bytes` });
  }
  const request = parsePublication(parsed.value);
  if (!request.ok) return errorResponse(request.error);
  const project = resolveProject(principal, request.value.projectId);
  if (!project.ok) return errorResponse(project.error);
  deps.telemetry.annotate({ projectId: project.value, channel: request.value.channel });
  const [result] = await publishAll(project.value, [request], deps, true);
  if (!result.ok) return errorResponse(result.error);
  const { channel, connectionId, event: name } = request.value;
  const target = channel ? { channel } : { connectionId };
  if ('queued' in result.value) return jsonResponse(202, { success: true, ...target, event: name, ...result.value });
  return jsonResponse(200, { success: true, ...target, event: name, ...result.value });
});

/** A publish that continues in the background: its outcome is at `GET /broadcast/{id}`. */
interface Queued {
  readonly id: string;
  readonly queued: number;
}

type Outcome = Published | Queued | (Published & { duplicate: true }) | (Queued & { duplicate: true });

/**
 * One publish: a repeated idempotency key returns the first publish; a big channel (when the
 * caller allows it) goes to the background; the rest is delivered now. Nothing after the first
 * delivery can turn the answer into an error: what follows is logged, not thrown.
 */
async function publish(projectId: string, request: Publication, deps: HttpDependencies, mayQueue: boolean): Promise<Result<Outcome>> {
  const { channel, connectionId, event: name, data, retain, idempotencyKey } = request;
  const id = deps.publisher.stamp().id;
  if (idempotencyKey !== undefined) {
    const expiresAt = Math.floor(Date.now() / 1000) + IDEMPOTENCY_WINDOW_SECONDS;
    const first = await deps.publishes.claim(projectId, idempotencyKey, id, expiresAt);
    if (first !== undefined) return ok(await repeated(first, deps));
  }
  const base = { id, projectId, ...(channel ? { channel } : { connectionId }), event: name, createdAt: new Date().toISOString() };
  if (!channel) {
    const sent = await deps.publisher.toConnection(projectId, connectionId!, { event: name, data }, id);
    if (sent.ok) await afterDelivery(deps, 'record publish', () => remember(idempotencyKey, base, sent.value, deps));
    return sent;
  }
  const probe = await deps.bigChannels.probe(projectId, channel, deps.backgroundFanoutAbove);
  if (!probe.small && mayQueue && !retain) {
    const prepared = await deps.publisher.prepareForChannel(projectId, channel, { event: name, data }, id);
    if (!prepared.ok) return prepared;
    await deps.bigChannels.start({ ...base, queued: probe.count }, prepared.value.body);
    return ok({ id, queued: probe.count, ...positionOf(prepared.value.delivered) });
  }
  const result = await deps.publisher.toChannel(projectId, channel, { event: name, data }, { id, ...(probe.small && { recipients: probe.ids }) });
  if (!result.ok) return result;
  const { delivered, ...published } = result.value;
  if (retain) await afterDelivery(deps, 'retain', () => deps.retention.retain(projectId, channel, delivered));
  await afterDelivery(deps, 'record publish', () => remember(idempotencyKey, base, published, deps));
  return ok(published);
}

/** What a repeated idempotency key answers: the first publish's id and, once known, its outcome. */
async function repeated(firstId: string, deps: HttpDependencies): Promise<Outcome> {
  const record = await deps.publishes.get(firstId);
  if (!record) return { id: firstId, sent: 0, failed: 0, stale: 0, duplicate: true };
  const { sent, failed, stale, queued, done } = record;
  return done ? { id: firstId, sent, failed, stale, duplicate: true } : { id: firstId, queued, duplicate: true };
}

/** Keeps a delivered publish's outcome where a repeat of its idempotency key can find it. */
async function remember(key: string | undefined, base: Omit<PublishRecord, 'queued' | 'sent' | 'failed' | 'stale' | 'shardsPending' | 'done'>, counts: Published, deps: HttpDependencies) {
  if (key === undefined) return;
  const { sent, failed, stale } = counts;
  await deps.publishes.put({ ...base, queued: sent + failed + stale, sent, failed, stale, shardsPending: 0, done: true });
}

/** Work after a delivery: a failure is logged, never answered as a 5xx the caller would retry (and so deliver twice). */
async function afterDelivery(deps: HttpDependencies, what: string, work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch (error) {
    deps.logger.error('after delivery: failed', { what, error: error as Error });
  }
}

/** Up to 25 messages in order; a bad one fails alone and the rest are delivered. */
async function batch(body: { projectId?: unknown }, messages: unknown, principal: Principal, deps: HttpDependencies): Promise<HttpResult> {
  if (!Array.isArray(messages) || messages.length === 0) {
    return errorResponse({ code: ErrorCode.invalidMessage, message: 'messages must be a non-empty array' });
  }
  if (messages.length > MAX_BATCH_MESSAGES) {
    return errorResponse({ code: ErrorCode.tooManyMessages, message: `A batch holds at most ${MAX_BATCH_MESSAGES} messages, got ${messages.length}` });
  }
  const project = projectFor(principal, body.projectId);
  if (!project.ok) return errorResponse(project.error);
  const projectId = project.value;

  deps.telemetry.annotate({ projectId });
  const requests = messages.map((item) => {
    const request = parsePublication(item);
    return request.ok && request.value.projectId !== undefined && request.value.projectId !== projectId
      ? fail<Publication>(ErrorCode.invalidProject, 'Give projectId once, at the top of the batch')
      : request;
  });
  const results = await publishAll(projectId, requests, deps);
  return jsonResponse(200, {
    success: true,
    results: results.map((result) => (result.ok ? result.value : { error: result.error.message, code: result.error.code })),
  });
}

/**
 * Publishes in order, a bad request failing alone, and counts the invocation once: one metric
 * and one usage record however many messages and deliveries.
 */
async function publishAll(projectId: string, requests: Result<Publication>[], deps: HttpDependencies, mayQueue = false): Promise<Result<Outcome>[]> {
  const results: Result<Outcome>[] = [];
  for (const request of requests) {
    try {
      results.push(request.ok ? await publish(projectId, request.value, deps, mayQueue) : request);
    } catch (error) {
      // Once an earlier item was delivered, a 5xx would have the caller repeat it: this item fails alone.
      if (!results.some((result) => result.ok)) throw error;
      deps.logger.error('batch item failed', { error: error as Error });
      results.push({ ok: false, error: failure(ErrorCode.internalError) });
    }
  }
  const published = results.flatMap((result) => (result.ok && !('duplicate' in result.value) ? [result.value] : []));
  if (published.length > 0) {
    deps.telemetry.published('HTTP', published.length);
    const deliveries = published.reduce((sum, p) => sum + ('sent' in p ? p.sent : 0), 0);
    await afterDelivery(deps, 'usage', () => deps.projects.record(projectId, { requests: published.length, deliveries }));
  }
  return results;
}

const clear = authenticated(async (principal, event, deps) => {
  const request = parseMessage(clearRequest, bodyText(event));
  if (!request.ok) return errorResponse(request.error);
  const project = resolveProject(principal, request.value.projectId);
  if (!project.ok) return errorResponse(project.error);
  const result = await deps.retention.clear(project.value, request.value.channel);
  return jsonResponse(200, { success: true, channel: request.value.channel, ...result });
});

const createKey: Route = async (event, deps) => {
  const request = parseMessage(createApiKeyRequest, bodyText(event));
  if (!request.ok) return errorResponse(request.error);
  const { projectId, description = '' } = request.value;
  // First, so there is no moment when a project has a key and is still open; unless the master
  // key has chosen otherwise, a project with a key needs tokens and grants.
  await deps.settings.protect(projectId);
  const created = await deps.apiKeys.create(projectId, description);
  if (created.ok) deps.logger.info('api key created', { projectId, keyPrefix: created.value.keyPrefix });
  return respond(created, 201);
};

const listKeys: Route = async (_, deps) => jsonResponse(200, { success: true, data: await deps.apiKeys.list() });

/** A route on the project named in the path (`/projects/{projectId}/…`, `/api-keys/{projectId}`), checked: present and well-formed. */
const onPathProject = (route: (projectId: string, event: HttpEvent, deps: HttpDependencies) => Promise<HttpResult>): Route =>
  async (event, deps) => {
    const project = optionalParam(projectIdSchema, event.pathParameters?.projectId ?? '', ErrorCode.invalidProject);
    if (!project.ok) return errorResponse(project.error);
    if (project.value === undefined) return errorResponse(failure(ErrorCode.invalidProject, 'The path names no project'));
    return route(project.value, event, deps);
  };

/** The project's keys; the newest's fields at the top, as when a project had only one. */
const getKey = onPathProject(async (projectId, _, deps) => {
  const keys = await deps.apiKeys.of(projectId);
  return respond(keys.ok ? ok({ ...keys.value[keys.value.length - 1], keys: keys.value }) : keys);
});

/** Revokes one key, or every key of the project, and closes the connections their tokens let in. */
const revokeKey = onPathProject(async (projectId, event, deps) => {
  const keyPrefix = event.pathParameters?.keyPrefix;
  const revoked = await deps.apiKeys.revoke(projectId, keyPrefix);
  if (!revoked.ok) return errorResponse(revoked.error);
  const prefixes = revoked.value.map((key) => key.keyPrefix);
  const disconnected = await deps.revocation.closeSignedBy(projectId, prefixes);
  deps.logger.info('api key revoked', { projectId, keyPrefixes: prefixes, disconnected });
  return respond(ok({ projectId, revoked: prefixes, disconnected }));
});

/** A publish's outcome, for the master key or the key of the publish's project. */
const publishStatus = authenticated(async (principal, event, deps) => {
  const id = event.pathParameters?.id ?? '';
  // Ids are short printable strings; anything else names no publish (and is never a store key).
  if (!/^[\x21-\x7e]{1,128}$/.test(id)) return errorResponse(failure(ErrorCode.publishNotFound));
  const record = await deps.publishes.get(id);
  if (!record || !mayAccess(principal, record.projectId)) return errorResponse(failure(ErrorCode.publishNotFound));
  const { shardsPending: _, ...status } = record;
  return jsonResponse(200, { success: true, data: status });
});

const usage = forProject(async (projectId, _, deps) => respond(await deps.projects.usage(projectId)));
const status = forProject(async (projectId, _, deps) => respond(await deps.projects.status(projectId)));
const channel = forProject(async (projectId, event, deps) => {
  const name = event.pathParameters?.channel ?? '';
  const checked = checkChannel(name);
  if (!checked.ok) return errorResponse(checked.error);
  return respond(await deps.projects.channel(projectId, name));
});

const getSettings = onPathProject(async (projectId, _, deps) => respond(ok(await deps.settings.read(projectId))));

const putSettings = onPathProject(async (projectId, event, deps) => {
  const change = parseMessage(settingsRequest, bodyText(event));
  if (!change.ok) return errorResponse(change.error);
  const updated = await deps.settings.update(projectId, change.value);
  deps.logger.info('project settings changed', { projectId, fields: Object.keys(change.value) });
  return respond(ok(updated));
});

/** A channel's stored messages, oldest first: `?projectId=&channel=&since=&limit=`. */
const history = forProject(async (projectId, event, deps) => {
  const query = validate(historyQuery, event.queryStringParameters ?? {});
  if (!query.ok) return errorResponse(query.error);
  const { channel: name, since, limit } = query.value;
  const checked = checkChannel(name);
  if (!checked.ok) return errorResponse(checked.error);
  const count = limit === undefined ? DEFAULT_HISTORY_LIMIT : Number(limit);
  if (count < 1 || count > MAX_HISTORY_LIMIT) return errorResponse(failure(ErrorCode.invalidRequest, `limit must be a whole number from 1 to ${MAX_HISTORY_LIMIT}`));
  const kept = (await deps.namespaces.of(projectId, name)).history;
  if (!kept) return errorResponse(failure(ErrorCode.historyNotEnabled));
  const page = await deps.history.read(projectId, name, kept, since === undefined ? undefined : Number(since), count, MAX_HTTP_HISTORY_BYTES);
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: `{"success":true,"data":${historyJson({ channel: name }, page)}}` };
});

/** A presence channel's members: `GET /channels/{channel}/users?projectId=`. */
const users = forProject(async (projectId, event, deps) => {
  const name = event.pathParameters?.channel ?? '';
  const checked = checkChannel(name);
  if (!checked.ok) return errorResponse(checked.error);
  if (!(await deps.namespaces.of(projectId, name)).presence) return errorResponse(failure(ErrorCode.presenceNotEnabled));
  const members = await deps.members.list(projectId, name);
  return respond(ok({ channel: name, members, count: members.length }));
});

/** The master key, or the key of the project in the path. */
const ownProject = (route: Route): Route =>
  authenticated(async (principal, event, deps) => (mayAccess(principal, event.pathParameters?.projectId ?? '') ? route(event, deps) : unauthorized()));

const listNamespaces = onPathProject(async (projectId, _, deps) => respond(ok({ projectId, namespaces: await deps.namespaces.list(projectId) })));

const putNamespace = onPathProject(async (projectId, event, deps) => {
  const body = parseJson(bodyText(event));
  if (!body.ok) return errorResponse(body.error);
  const namespace = event.pathParameters?.namespace ?? '';
  const stored = await deps.namespaces.put(projectId, namespace, body.value);
  if (stored.ok) deps.logger.info('namespace configured', { projectId, namespace });
  return respond(stored);
});

const deleteNamespace = onPathProject(async (projectId, event, deps) => {
  const namespace = event.pathParameters?.namespace ?? '';
  const removed = await deps.namespaces.remove(projectId, namespace);
  if (removed.ok && removed.value.removed) deps.logger.info('namespace configuration removed', { projectId, namespace });
  return respond(removed);
});

/** How long a console's WebSocket token lasts: it asks again for each channel it watches. */
const CONSOLE_TOKEN_SECONDS = 300;

/** A console file, gzipped for clients that accept it (every browser), as API Gateway passes it on. */
function consoleFile(event: HttpEvent, file: { plain: string; gzipped: string }, headers: Record<string, string>): HttpResult {
  const gzip = /\bgzip\b/.test(event.headers?.['accept-encoding'] ?? '');
  return gzip
    ? { statusCode: 200, headers: { ...headers, 'content-encoding': 'gzip', vary: 'accept-encoding' }, body: file.gzipped, isBase64Encoded: true }
    : { statusCode: 200, headers: { ...headers, vary: 'accept-encoding' }, body: file.plain };
}

/**
 * The console page, with a policy that lets it load only its own script and style and talk only
 * to this API and the WebSocket stage: no CDN, no other site, no framing.
 */
const consolePage: Route = async (event, deps) => {
  const assets = consoleAssets();
  return consoleFile(event, assets.html, {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': `default-src 'none'; script-src 'self'; style-src 'sha256-${assets.styleHash}'; connect-src 'self' ${new URL(deps.webSocketUrl).origin}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
  });
};

const consoleScript: Route = async (event) =>
  consoleFile(event, consoleAssets().js, { 'content-type': 'text/javascript; charset=utf-8', 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' });

/**
 * A short-lived client token for the console's live view of a project the key may read: signed
 * with the project's newest key (no token for a project without keys, which takes anonymous
 * connections). It grants nothing the key could not grant itself.
 */
const consoleToken = authenticated(async (principal, event, deps) => {
  const body = parseJson(bodyText(event) || '{}');
  const project = projectFor(principal, body.ok ? (body.value as { projectId?: unknown } | null)?.projectId : undefined);
  if (!project.ok) return errorResponse(project.error);
  const keys = await deps.apiKeys.of(project.value);
  const newest = keys.ok ? keys.value.at(-1) : undefined;
  const signing = newest && (await deps.apiKeys.signingKey(newest.keyPrefix));
  const token = signing ? await signClientToken({ sub: 'console', channels: ['*'] }, signing, CONSOLE_TOKEN_SECONDS) : null;
  return respond(ok({ projectId: project.value, webSocketUrl: deps.webSocketUrl, token, expiresIn: token ? CONSOLE_TOKEN_SECONDS : null }));
});

export const HTTP_ROUTES: Record<HttpRouteKey, Route> = {
  'POST /broadcast': broadcast,
  'POST /broadcast/clear': clear,
  'GET /broadcast/{id}': publishStatus,
  'GET /health': health,
  'POST /api-keys': masterOnly(createKey),
  'GET /api-keys': masterOnly(listKeys),
  'GET /api-keys/{projectId}': masterOnly(getKey),
  'DELETE /api-keys/{projectId}': masterOnly(revokeKey),
  'DELETE /api-keys/{projectId}/{keyPrefix}': masterOnly(revokeKey),
  'GET /usage': usage,
  'GET /status': status,
  'GET /channels/{channel}/users': users,
  'GET /channels/{channel+}': channel,
  'GET /history': history,
  // A project's backend may read its own settings (its token lifetime, say), never change them.
  'GET /projects/{projectId}/settings': authenticated(async (principal, event, deps) =>
    mayAccess(principal, event.pathParameters?.projectId ?? '') ? getSettings(event, deps) : unauthorized(),
  ),
  'PUT /projects/{projectId}/settings': masterOnly(putSettings),
  // Namespaces are the project's own business: its key may change them too.
  'GET /projects/{projectId}/namespaces': ownProject(listNamespaces),
  'PUT /projects/{projectId}/namespaces/{namespace}': ownProject(putNamespace),
  'DELETE /projects/{projectId}/namespaces/{namespace}': ownProject(deleteNamespace),
  ...PUSHER_ROUTES,
  'GET /console': consolePage,
  'GET /console/app.js': consoleScript,
  'POST /console/token': consoleToken,
};
