/**
 * The native HTTP codec: each route reads its request (key, path, query, body) into an operation
 * call and answers in the seed's shapes. Every route but `GET /health` and the console's files takes
 * `Authorization: Bearer <key>`: the master key (any project) or a project's key (that project only).
 */
import { MAX_BATCH_MESSAGES, MAX_MESSAGE_BYTES } from '../contract/limits';
import type { HttpRouteKey } from '../contract/routes';
import { Backend, isQueued, Operation, OPERATIONS, Operations, PublishInput } from '../operations';
import {
  batchRequest,
  broadcastRequest,
  byteLength,
  checkChannel,
  clearRequest,
  createApiKeyRequest,
  DEFAULT_HISTORY_LIMIT,
  ErrorCode,
  failure,
  historyJson,
  historyQuery,
  httpJson,
  MAX_HISTORY_LIMIT,
  optionalParam,
  parseJson,
  parseMessage,
  projectIdSchema,
  Result,
  settingsRequest,
  validate,
} from '../protocol';
import { CONSOLE_ROUTES } from './console';
import { bodyText, HttpEvent, HttpResult } from './gateway-events';
import { bearerToken, errorResponse, keyed, respond, Route } from './http-kit';
import { PUSHER_ROUTES } from './pusher';

export { bearerToken, errorResponse };

/** A project named in the query string or a body: checked, or absent. */
const projectParam = (value: unknown) => optionalParam(projectIdSchema, value, ErrorCode.invalidProject);

/** The project named in the path (`/projects/{projectId}/…`, `/api-keys/{projectId}`): present and well-formed. */
function pathProject(event: HttpEvent): Result<string> {
  const project = projectParam(event.pathParameters?.projectId ?? '');
  if (!project.ok) return project;
  return project.value === undefined
    ? { ok: false, error: failure(ErrorCode.invalidProject, 'The path names no project') }
    : { ok: true, value: project.value };
}

/** A route whose call is read from the request, answered `{success, data}`. */
const call = <I, O>(op: Operation<I, O>, read: (event: HttpEvent) => Result<I>, status = 200): Route =>
  keyed(async (caller, event, ops) => respond(await ops.asBackend(caller, op, read(event)), status));

const ok = <T>(value: T): Result<T> => ({ ok: true, value });
const onQueryProject = (event: HttpEvent) => {
  const project = projectParam(event.queryStringParameters?.projectId);
  return project.ok ? ok({ projectId: project.value }) : project;
};
const onPathProject = (event: HttpEvent) => {
  const project = pathProject(event);
  return project.ok ? ok({ projectId: project.value }) : project;
};
/** A channel in the path, checked, on the project named in the query. */
const onPathChannel = (event: HttpEvent) => {
  const project = onQueryProject(event);
  const channel = checkChannel(event.pathParameters?.channel ?? '');
  return !project.ok ? project : channel.ok ? ok({ ...project.value, channel: channel.value }) : channel;
};

const broadcast = keyed(async (caller, event, ops) => {
  const text = bodyText(event);
  const parsed = parseJson(text);
  if (!parsed.ok) return errorResponse(parsed.error);
  const messages = (parsed.value as { messages?: unknown } | null)?.messages;
  if (messages !== undefined) {
    const body = validate(batchRequest, parsed.value);
    return body.ok ? batch(caller, body.value, messages, ops) : errorResponse(body.error);
  }
  // Anything larger cannot be delivered over WebSocket.
  if (byteLength(text) > MAX_MESSAGE_BYTES)
    return errorResponse(failure(ErrorCode.payloadTooLarge, `Body is over ${MAX_MESSAGE_BYTES} bytes`));
  const request = validate(broadcastRequest, parsed.value);
  if (!request.ok) return errorResponse(request.error);
  const result = await ops.asBackend(caller, OPERATIONS.publish, request);
  if (!result.ok) return errorResponse(result.error);
  const { channel, connectionId, event: name } = request.value;
  return httpJson(isQueued(result.value) ? 202 : 200, {
    success: true,
    ...(channel ? { channel } : { connectionId }),
    event: name,
    ...result.value,
  });
});

/** Up to 25 messages in order; a bad one fails alone and the rest are delivered. */
async function batch(caller: Backend, body: { projectId?: unknown }, messages: unknown, ops: Operations): Promise<HttpResult> {
  if (!Array.isArray(messages) || messages.length === 0)
    return errorResponse(failure(ErrorCode.invalidMessage, 'messages must be a non-empty array'));
  if (messages.length > MAX_BATCH_MESSAGES) {
    return errorResponse(
      failure(ErrorCode.tooManyMessages, `A batch holds at most ${MAX_BATCH_MESSAGES} messages, got ${messages.length}`),
    );
  }
  const project = projectParam(body.projectId);
  if (!project.ok) return errorResponse(project.error);
  const items: Result<PublishInput>[] = messages.map((item) => validate(broadcastRequest, item));
  const result = await ops.asBackend(caller, OPERATIONS.publishBatch, ok({ projectId: project.value, messages: items }));
  if (!result.ok) return errorResponse(result.error);
  return httpJson(200, {
    success: true,
    results: result.value.map((r) => (r.ok ? r.value : { error: r.error.message, code: r.error.code })),
  });
}

const clear = keyed(async (caller, event, ops) => {
  const result = await ops.asBackend(caller, OPERATIONS.clearRetained, parseMessage(clearRequest, bodyText(event)));
  return result.ok ? httpJson(200, { success: true, ...result.value }) : errorResponse(result.error);
});

/** A channel's stored messages, oldest first: `?projectId=&channel=&since=&limit=`. */
const history = keyed(async (caller, event, ops) => {
  const project = onQueryProject(event);
  if (!project.ok) return errorResponse(project.error);
  const query = validate(historyQuery, event.queryStringParameters ?? {});
  if (!query.ok) return errorResponse(query.error);
  const { channel, since, limit } = query.value;
  const count = limit === undefined ? DEFAULT_HISTORY_LIMIT : Number(limit);
  if (count < 1 || count > MAX_HISTORY_LIMIT)
    return errorResponse(failure(ErrorCode.invalidRequest, `limit must be a whole number from 1 to ${MAX_HISTORY_LIMIT}`));
  const input = { ...project.value, channel, since: since === undefined ? undefined : Number(since), limit: count };
  const page = await ops.asBackend(caller, OPERATIONS.history, ok(input));
  if (!page.ok) return errorResponse(page.error);
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: `{"success":true,"data":${historyJson({ channel }, page.value)}}`,
  };
});

const publishStatus = call(OPERATIONS.publishStatus, (event) => ok({ id: event.pathParameters?.id ?? '' }));

/** A JSON body, or a failure naming what is wrong with it. */
const body = (event: HttpEvent) => parseJson(bodyText(event));

export const HTTP_ROUTES: Record<HttpRouteKey, Route> = {
  'POST /broadcast': broadcast,
  'POST /broadcast/clear': clear,
  'GET /broadcast/{id}': publishStatus,
  'GET /health': () => Promise.resolve(httpJson(200, { status: 'ok' })),
  'POST /api-keys': call(
    OPERATIONS.createKey,
    (event) => {
      const request = parseMessage(createApiKeyRequest, bodyText(event));
      return request.ok ? ok({ projectId: request.value.projectId, description: request.value.description ?? '' }) : request;
    },
    201,
  ),
  'GET /api-keys': call(OPERATIONS.listKeys, () => ok(undefined)),
  'GET /api-keys/{projectId}': call(OPERATIONS.projectKeys, onPathProject),
  'DELETE /api-keys/{projectId}': call(OPERATIONS.revokeKey, onPathProject),
  'DELETE /api-keys/{projectId}/{keyPrefix}': call(OPERATIONS.revokeKey, (event) => {
    const project = onPathProject(event);
    return project.ok ? ok({ ...project.value, keyPrefix: event.pathParameters?.keyPrefix }) : project;
  }),
  'GET /usage': call(OPERATIONS.usage, onQueryProject),
  'GET /status': call(OPERATIONS.status, onQueryProject),
  'GET /channels/{channel}/users': call(OPERATIONS.members, onPathChannel),
  'GET /channels/{channel+}': call(OPERATIONS.channelInfo, onPathChannel),
  'GET /history': history,
  'GET /projects/{projectId}/settings': call(OPERATIONS.getSettings, onPathProject),
  'PUT /projects/{projectId}/settings': call(OPERATIONS.putSettings, (event) => {
    const project = pathProject(event);
    const change = parseMessage(settingsRequest, bodyText(event));
    return !project.ok ? project : change.ok ? ok({ projectId: project.value, change: change.value }) : change;
  }),
  'GET /projects/{projectId}/webhooks': call(OPERATIONS.webhooks, onPathProject),
  'GET /projects/{projectId}/namespaces': call(OPERATIONS.listNamespaces, onPathProject),
  'PUT /projects/{projectId}/namespaces/{namespace}': call(OPERATIONS.putNamespace, (event) => {
    const project = pathProject(event);
    const config = body(event);
    return !project.ok
      ? project
      : config.ok
        ? ok({ projectId: project.value, namespace: event.pathParameters?.namespace ?? '', config: config.value })
        : config;
  }),
  'DELETE /projects/{projectId}/namespaces/{namespace}': call(OPERATIONS.deleteNamespace, (event) => {
    const project = pathProject(event);
    return project.ok ? ok({ projectId: project.value, namespace: event.pathParameters?.namespace ?? '' }) : project;
  }),
  ...PUSHER_ROUTES,
  ...CONSOLE_ROUTES,
};
