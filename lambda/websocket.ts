/**
 * The WebSocket API's routes, as a lookup table from route key to a small function. Each returns
 * what API Gateway sends back to the caller (the route response), or nothing.
 */
import { Authorizer, mayAccess } from './api-keys';
import type { Membership } from './membership';
import type { Delivery, ConnectionStore } from './ports';
import type { Projects } from './projects';
import {
  clientTypeSchema,
  DEFAULT_PROJECT_ID,
  ErrorCode,
  Failure,
  parseJson,
  projectIdSchema,
  reply,
  sendFrame,
  subscribeFrame,
  unsubscribeFrame,
  parseMessage,
} from './protocol';
import type { Publisher } from './publish';
import { WEBSOCKET_ACTIONS, WebSocketRouteKey } from './routes';
import { bodyText, WebSocketEvent, WebSocketResult } from './events';

export interface WebSocketDependencies {
  readonly membership: Membership;
  readonly publisher: Publisher;
  readonly connections: ConnectionStore;
  readonly delivery: Delivery;
  readonly authorizer: Authorizer;
  readonly projects: Projects;
  readonly requireApiKey: boolean;
}

type Route = (event: WebSocketEvent, deps: WebSocketDependencies) => Promise<WebSocketResult>;

const OK: WebSocketResult = { statusCode: 200 };
const json = (message: object): WebSocketResult => ({ statusCode: 200, body: JSON.stringify(message) });
/** Errors go back as a message on the open connection; the status stays 200 so API Gateway delivers it. */
export const errorReply = (failure: Failure): WebSocketResult => json(reply.error(failure));


/** A non-2xx from $connect refuses the upgrade; the client sees this status and body. */
const refuse = (statusCode: number, failure: Failure): WebSocketResult => ({
  statusCode,
  body: JSON.stringify({ error: failure.message, code: failure.code }),
});

/** Header names keep the client's case on `$connect`. */
const header = (event: WebSocketEvent, name: string): string | undefined =>
  Object.entries(event.headers ?? {}).find(([key]) => key.toLowerCase() === name)?.[1];

const connect: Route = async (event, deps) => {
  const { connectionId, connectedAt, identity } = event.requestContext;
  const query = event.queryStringParameters ?? {};
  const project = query.projectId === undefined ? undefined : projectIdSchema.safeParse(query.projectId);
  if (project && !project.success) return refuse(400, { code: ErrorCode.invalidProject, message: project.error.issues[0].message! });
  const type = query.type === undefined ? undefined : clientTypeSchema.safeParse(query.type);
  if (type && !type.success) return refuse(400, { code: ErrorCode.invalidRequest, message: type.error.issues[0].message! });

  const presented = query.apiKey ?? header(event, 'x-api-key');
  let projectId = project?.data;
  if (presented !== undefined) {
    const principal = await deps.authorizer.identify(presented);
    // A project key without ?projectId= connects to its own project.
    projectId ??= principal?.kind === 'project' ? principal.projectId : undefined;
    if (!principal || !mayAccess(principal, projectId ?? DEFAULT_PROJECT_ID)) {
      return refuse(401, { code: ErrorCode.unauthorized, message: 'Unauthorized' });
    }
  } else if (deps.requireApiKey) {
    return refuse(401, { code: ErrorCode.unauthorized, message: 'An API key is required: ?apiKey= or an x-api-key header' });
  }
  projectId ??= DEFAULT_PROJECT_ID;
  await deps.membership.connect({
    connectionId,
    projectId,
    connectedAt,
    clientType: type?.data,
    sourceIp: identity?.sourceIp,
    userAgent: identity?.userAgent,
  });
  await deps.projects.record(projectId, { connections: 1 });
  return OK;
};

const disconnect: Route = async (event, { membership }) => {
  await membership.disconnect(event.requestContext.connectionId);
  return OK;
};

const subscribe: Route = async (event, { membership, delivery }) => {
  const request = parseMessage(subscribeFrame, bodyText(event));
  if (!request.ok) return errorReply(request.error);
  const { connectionId } = event.requestContext;
  const { channel } = request.value;
  const result = await membership.subscribe(connectionId, channel);
  if (!result.ok) return errorReply(result.error);
  if (result.value.first) {
    // Two replies: the id goes first by PostToConnection, the confirmation as the route response.
    await delivery.post(connectionId, JSON.stringify(reply.connectionId(connectionId)));
  }
  return json(reply.subscribed(channel));
};

const unsubscribe: Route = async (event, { membership }) => {
  const request = parseMessage(unsubscribeFrame, bodyText(event));
  if (!request.ok) return errorReply(request.error);
  const result = await membership.unsubscribe(event.requestContext.connectionId, request.value.channel);
  return result.ok ? json(reply.unsubscribed(request.value.channel)) : errorReply(result.error);
};

const send: Route = async (event, { publisher, connections, projects }) => {
  const request = parseMessage(sendFrame, bodyText(event));
  if (!request.ok) return errorReply(request.error);
  const from = event.requestContext.connectionId;
  const sender = await connections.get(from);
  if (!sender) return errorReply({ code: ErrorCode.notConnected, message: 'This connection is not registered; reconnect' });
  const { channel, connectionId, event: name, data } = request.value;
  const message = { event: name, data, from };
  const result = channel
    ? await publisher.toChannel(sender.projectId, channel, message)
    : await publisher.toConnection(sender.projectId, connectionId!, message);
  if (!result.ok) return errorReply(result.error);
  await projects.record(sender.projectId, { requests: 1, deliveries: result.value.sent });
  const { id, ...counts } = result.value;
  return json(reply.sent(channel ? { channel } : { connectionId }, id, counts));
};

const ping: Route = async () => json(reply.pong());

/** Frames API Gateway could not route: the text `ping`, invalid JSON, or an unknown action. */
const fallback: Route = async (event) => {
  const text = bodyText(event);
  if (text.trim() === 'ping') return { statusCode: 200, body: 'pong' };
  const parsed = parseJson(text);
  if (!parsed.ok) return errorReply(parsed.error);
  const action = (parsed.value as { action?: unknown } | null)?.action;
  if (typeof parsed.value !== 'object' || parsed.value === null || Array.isArray(parsed.value)) {
    return errorReply({ code: ErrorCode.invalidMessage, message: 'Message must be a JSON object' });
  }
  if (action === undefined) {
    return errorReply({ code: ErrorCode.invalidMessage, message: `action is required: one of ${WEBSOCKET_ACTIONS.join(', ')}` });
  }
  return errorReply({
    code: ErrorCode.unknownAction,
    message: `Unknown action ${JSON.stringify(action).slice(0, 64)}; expected one of ${WEBSOCKET_ACTIONS.join(', ')}`,
  });
};

export const WEBSOCKET_ROUTES: Record<WebSocketRouteKey, Route> = {
  $connect: connect,
  $disconnect: disconnect,
  $default: fallback,
  subscribe,
  unsubscribe,
  send,
  ping,
};
