/**
 * The HTTP API's routes, as a lookup table from API Gateway route key to a small function.
 * Every route but `GET /health` takes `Authorization: Bearer <key>`: the master key (any project)
 * or a project's API key (that project only).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { ApiKeys, Authorizer, mayAccess, Principal } from '../auth/api-keys';
import { bearerToken } from '../auth/secrets';
import { bodyText, HttpEvent, HttpResult } from './gateway-events';
import type { Projects } from '../domain/projects';
import {
  broadcastRequest,
  byteLength,
  checkChannel,
  clearRequest,
  createApiKeyRequest,
  fail,
  MAX_BATCH_MESSAGES,
  ok,
  optionalParam,
  parseJson,
  validate,
  DEFAULT_PROJECT_ID,
  ErrorCode,
  Failure,
  HTTP_STATUS,
  MAX_MESSAGE_BYTES,
  parseMessage,
  projectIdSchema,
  Publication,
  Result,
} from '../protocol';
import type { Published, Publisher } from '../domain/publish';
import type { Retention } from '../domain/retention';
import { noteFailure, Telemetry } from './telemetry';
import type { HttpRouteKey } from '../contract/routes';

export interface HttpDependencies {
  readonly publisher: Publisher;
  readonly authorizer: Authorizer;
  readonly apiKeys: ApiKeys;
  readonly projects: Projects;
  readonly retention: Retention;
  readonly logger: Logger;
  readonly telemetry: Telemetry;
}

type Route = (event: HttpEvent, deps: HttpDependencies) => Promise<HttpResult>;

const jsonResponse = (statusCode: number, body: object): HttpResult => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/** `{success:false, error, code, errors:[{code,message}]}`: the seed's shape and the list shape in one. */
export const errorResponse = (failure: Failure): HttpResult => {
  noteFailure(failure.code);
  return jsonResponse(HTTP_STATUS[failure.code], {
    success: false,
    error: failure.message,
    code: failure.code,
    errors: [{ code: failure.code, message: failure.message }],
  });
};

const UNAUTHORIZED: Failure = { code: ErrorCode.unauthorized, message: 'Unauthorized' };
const unauthorized = () => errorResponse(UNAUTHORIZED);

const respond = <T>(result: Result<T>, status = 200): HttpResult =>
  result.ok ? jsonResponse(status, { success: true, data: result.value }) : errorResponse(result.error);

const identify = (event: HttpEvent, deps: HttpDependencies) => deps.authorizer.identify(bearerToken(event.headers?.authorization));

/** Runs a route only for the master key. */
const masterOnly =
  (route: Route): Route =>
  async (event, deps) =>
    (await identify(event, deps))?.kind === 'master' ? route(event, deps) : unauthorized();

/**
 * Runs a route for a principal allowed on the project named by `?projectId=`; without one, a
 * project key means its own project and the master key means `default`.
 */
const forProject =
  (route: (projectId: string, event: HttpEvent, deps: HttpDependencies) => Promise<HttpResult>): Route =>
  async (event, deps) => {
    const principal = await identify(event, deps);
    if (!principal) return unauthorized();
    const requested = optionalParam(projectIdSchema, event.queryStringParameters?.projectId, ErrorCode.invalidProject);
    if (!requested.ok) return errorResponse(requested.error);
    const projectId = requested.value ?? defaultProject(principal);
    return mayAccess(principal, projectId) ? route(projectId, event, deps) : unauthorized();
  };

const defaultProject = (principal: Principal) => (principal.kind === 'project' ? principal.projectId : DEFAULT_PROJECT_ID);

const health: Route = async () => jsonResponse(200, { status: 'ok' });

/** One publish request; a batch is `{projectId?, messages: [these…]}`. */
const parsePublication = (value: unknown) => validate(broadcastRequest, value);

const broadcast: Route = async (event, deps) => {
  const principal = await identify(event, deps);
  if (!principal) return unauthorized();
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
  const projectId = request.value.projectId ?? defaultProject(principal);
  if (!mayAccess(principal, projectId)) return unauthorized();
  deps.telemetry.annotate({ projectId, channel: request.value.channel });
  const [result] = await publishAll(projectId, [request], deps);
  if (!result.ok) return errorResponse(result.error);
  const { channel, connectionId, event: name } = request.value;
  return jsonResponse(200, { success: true, ...(channel ? { channel } : { connectionId }), event: name, ...result.value });
};

async function publish(projectId: string, request: Publication, deps: HttpDependencies): Promise<Result<Published>> {
  const { channel, connectionId, event: name, data, retain } = request;
  if (!channel) return deps.publisher.toConnection(projectId, connectionId!, { event: name, data });
  const result = await deps.publisher.toChannel(projectId, channel, { event: name, data });
  if (!result.ok) return result;
  if (retain) await deps.retention.retain(projectId, channel, result.value.delivered);
  const { delivered: _, ...published } = result.value;
  return ok(published);
}

/** Up to 25 messages in order; a bad one fails alone and the rest are delivered. */
async function batch(body: { projectId?: unknown }, messages: unknown, principal: Principal, deps: HttpDependencies): Promise<HttpResult> {
  if (!Array.isArray(messages) || messages.length === 0) {
    return errorResponse({ code: ErrorCode.invalidMessage, message: 'messages must be a non-empty array' });
  }
  if (messages.length > MAX_BATCH_MESSAGES) {
    return errorResponse({ code: ErrorCode.tooManyMessages, message: `A batch holds at most ${MAX_BATCH_MESSAGES} messages, got ${messages.length}` });
  }
  const project = optionalParam(projectIdSchema, body.projectId, ErrorCode.invalidProject);
  if (!project.ok) return errorResponse(project.error);
  const projectId = project.value ?? defaultProject(principal);
  if (!mayAccess(principal, projectId)) return unauthorized();

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
async function publishAll(projectId: string, requests: Result<Publication>[], deps: HttpDependencies): Promise<Result<Published>[]> {
  const results: Result<Published>[] = [];
  for (const request of requests) results.push(request.ok ? await publish(projectId, request.value, deps) : request);
  const published = results.flatMap((result) => (result.ok ? [result.value] : []));
  if (published.length > 0) {
    deps.telemetry.published('HTTP', published.length);
    await deps.projects.record(projectId, { requests: published.length, deliveries: published.reduce((sum, p) => sum + p.sent, 0) });
  }
  return results;
}

const clear: Route = async (event, deps) => {
  const principal = await identify(event, deps);
  if (!principal) return unauthorized();
  const request = parseMessage(clearRequest, bodyText(event));
  if (!request.ok) return errorResponse(request.error);
  const projectId = request.value.projectId ?? defaultProject(principal);
  if (!mayAccess(principal, projectId)) return unauthorized();
  const result = await deps.retention.clear(projectId, request.value.channel);
  return jsonResponse(200, { success: true, channel: request.value.channel, ...result });
};

const createKey: Route = async (event, deps) => {
  const request = parseMessage(createApiKeyRequest, bodyText(event));
  if (!request.ok) return errorResponse(request.error);
  const created = await deps.apiKeys.create(request.value.projectId, request.value.description ?? '');
  if (created.ok) deps.logger.info('api key created', { projectId: created.value.projectId, keyPrefix: created.value.keyPrefix });
  return respond(created, 201);
};

const listKeys: Route = async (_, deps) => jsonResponse(200, { success: true, data: await deps.apiKeys.list() });

const getKey: Route = async (event, deps) => respond(await deps.apiKeys.get(event.pathParameters?.projectId ?? ''));

const revokeKey: Route = async (event, deps) => {
  const revoked = await deps.apiKeys.revoke(event.pathParameters?.projectId ?? '');
  if (revoked.ok) deps.logger.info('api key revoked', { projectId: revoked.value.projectId });
  return respond(revoked);
};

const usage = forProject(async (projectId, _, deps) => respond(await deps.projects.usage(projectId)));
const status = forProject(async (projectId, _, deps) => respond(await deps.projects.status(projectId)));
const channel = forProject(async (projectId, event, deps) => {
  const name = event.pathParameters?.channel ?? '';
  const checked = checkChannel(name);
  if (!checked.ok) return errorResponse(checked.error);
  return respond(await deps.projects.channel(projectId, name));
});

export const HTTP_ROUTES: Record<HttpRouteKey, Route> = {
  'POST /broadcast': broadcast,
  'POST /broadcast/clear': clear,
  'GET /health': health,
  'POST /api-keys': masterOnly(createKey),
  'GET /api-keys': masterOnly(listKeys),
  'GET /api-keys/{projectId}': masterOnly(getKey),
  'DELETE /api-keys/{projectId}': masterOnly(revokeKey),
  'GET /usage': usage,
  'GET /status': status,
  'GET /channels/{channel+}': channel,
};
