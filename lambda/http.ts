/**
 * The HTTP API's routes, as a lookup table from API Gateway route key to a small function.
 * Every route but `GET /health` takes `Authorization: Bearer <key>`: the master key (any project)
 * or a project's API key (that project only).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { ApiKeys, Authorizer, mayAccess, Principal } from './api-keys';
import { bearerToken } from './auth';
import { bodyText, HttpEvent, HttpResult } from './events';
import type { Projects } from './projects';
import {
  broadcastRequest,
  byteLength,
  checkChannel,
  createApiKeyRequest,
  DEFAULT_PROJECT_ID,
  ErrorCode,
  Failure,
  HTTP_STATUS,
  MAX_MESSAGE_BYTES,
  parseMessage,
  projectIdSchema,
  Result,
} from './protocol';
import type { Publisher } from './publish';
import type { HttpRouteKey } from './routes';

export interface HttpDependencies {
  readonly publisher: Publisher;
  readonly authorizer: Authorizer;
  readonly apiKeys: ApiKeys;
  readonly projects: Projects;
  readonly logger: Logger;
}

type Route = (event: HttpEvent, deps: HttpDependencies) => Promise<HttpResult>;

export const jsonResponse = (statusCode: number, body: object): HttpResult => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/** `{success:false, error, code, errors:[{code,message}]}`: the seed's shape and the list shape in one. */
export const errorResponse = (failure: Failure): HttpResult =>
  jsonResponse(HTTP_STATUS[failure.code], {
    success: false,
    error: failure.message,
    code: failure.code,
    errors: [{ code: failure.code, message: failure.message }],
  });

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
    const requested = event.queryStringParameters?.projectId;
    if (requested !== undefined && !projectIdSchema.safeParse(requested).success) {
      return errorResponse({ code: ErrorCode.invalidProject, message: 'projectId must be 1-64 characters of A-Z a-z 0-9 and _ - .' });
    }
    const projectId = requested ?? defaultProject(principal);
    return mayAccess(principal, projectId) ? route(projectId, event, deps) : unauthorized();
  };

const defaultProject = (principal: Principal) => (principal.kind === 'project' ? principal.projectId : DEFAULT_PROJECT_ID);

const health: Route = async () => jsonResponse(200, { status: 'ok' });

const broadcast: Route = async (event, deps) => {
  const principal = await identify(event, deps);
  if (!principal) return unauthorized();
  const text = bodyText(event);
  // Anything larger cannot be delivered over WebSocket, so refuse it before parsing.
  if (byteLength(text) > MAX_MESSAGE_BYTES) {
    return errorResponse({ code: ErrorCode.payloadTooLarge, message: `Body is over ${MAX_MESSAGE_BYTES} bytes` });
  }
  const request = parseMessage(broadcastRequest, text);
  if (!request.ok) return errorResponse(request.error);
  const { projectId = defaultProject(principal), channel, connectionId, event: name, data } = request.value;
  if (!mayAccess(principal, projectId)) return unauthorized();
  const message = { event: name, data };
  const result = channel
    ? await deps.publisher.toChannel(projectId, channel, message)
    : await deps.publisher.toConnection(projectId, connectionId!, message);
  if (!result.ok) return errorResponse(result.error);
  await deps.projects.record(projectId, { requests: 1, deliveries: result.value.sent });
  return jsonResponse(200, { success: true, ...(channel ? { channel } : { connectionId }), event: name, ...result.value });
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
  'GET /health': health,
  'POST /api-keys': masterOnly(createKey),
  'GET /api-keys': masterOnly(listKeys),
  'GET /api-keys/{projectId}': masterOnly(getKey),
  'DELETE /api-keys/{projectId}': masterOnly(revokeKey),
  'GET /usage': usage,
  'GET /status': status,
  'GET /channels/{channel+}': channel,
};
