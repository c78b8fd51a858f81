/**
 * The WebSocket API's routes, as a lookup table from route key to a small function. Each returns
 * what API Gateway sends back to the caller (the route response), or nothing.
 */
import type * as z from 'zod/mini';
import { DEFAULT_PROJECT_ID } from '../contract/limits';
import { WEBSOCKET_ACTIONS, WebSocketRouteKey } from '../contract/routes';
import { Authorizer, mayAccess } from '../auth/principals';
import type { Membership } from '../domain/membership';
import type { Presence } from '../domain/presence';
import type { Projects } from '../domain/projects';
import type { Publisher } from '../domain/publish';
import type { Retention } from '../domain/retention';
import { routeMessage } from '../domain/routed-messages';
import type { ConnectionRecord, ConnectionStore, Delivery } from '../ports';
import {
  ackFrame,
  checkClientName,
  clientTypeSchema,
  ErrorCode,
  Failure,
  failure,
  getRetainedFrame,
  optionalParam,
  parseJson,
  parseMessage,
  projectIdSchema,
  reply,
  routedFrame,
  RoutedFrame,
  sendFrame,
  subscribeFrame,
  unsubscribeFrame,
  validate,
} from '../protocol';
import { bodyText, WebSocketEvent, WebSocketResult } from './gateway-events';
import { noteFailure, Telemetry } from './telemetry';

export interface WebSocketDependencies {
  readonly membership: Membership;
  readonly publisher: Publisher;
  readonly connections: ConnectionStore;
  readonly delivery: Delivery;
  readonly authorizer: Authorizer;
  readonly projects: Projects;
  readonly presence: Presence;
  readonly retention: Retention;
  readonly telemetry: Telemetry;
  readonly requireApiKey: boolean;
}

type Route = (event: WebSocketEvent, deps: WebSocketDependencies) => Promise<WebSocketResult>;

const OK: WebSocketResult = { statusCode: 200 };
const json = (message: object): WebSocketResult => ({ statusCode: 200, body: JSON.stringify(message) });
/** Errors go back as a message on the open connection; the status stays 200 so API Gateway delivers it. */
export const errorReply = (failed: Failure): WebSocketResult => {
  noteFailure(failed.code);
  return json(reply.error(failed));
};

/** Runs a route on a frame that parsed against its schema; a bad frame gets an error reply. */
const withFrame =
  <S extends z.ZodMiniType>(schema: S, route: (frame: z.infer<S>, event: WebSocketEvent, deps: WebSocketDependencies) => Promise<WebSocketResult>): Route =>
  async (event, deps) => {
    const frame = parseMessage(schema, bodyText(event));
    return frame.ok ? route(frame.value, event, deps) : errorReply(frame.error);
  };

/**
 * Runs a route for the registered connection the frame came from, its project noted on the
 * request's log line; `not_connected` if there is none.
 */
const fromSender =
  <F>(route: (frame: F, sender: ConnectionRecord, deps: WebSocketDependencies) => Promise<WebSocketResult>) =>
  async (frame: F, event: WebSocketEvent, deps: WebSocketDependencies): Promise<WebSocketResult> => {
    const sender = await deps.connections.get(event.requestContext.connectionId);
    if (!sender) return errorReply(failure(ErrorCode.notConnected));
    deps.telemetry.annotate({ projectId: sender.projectId });
    return route(frame, sender, deps);
  };

/** Counts one publish from a connection: a metric and the project's usage. */
async function countPublish(projectId: string, deliveries: number, { telemetry, projects }: WebSocketDependencies) {
  telemetry.published('WebSocket');
  await projects.record(projectId, { requests: 1, deliveries });
}

/** A non-2xx from $connect refuses the upgrade; the client sees this status and body. */
const refuse = (statusCode: number, failed: Failure): WebSocketResult => {
  noteFailure(failed.code);
  return { statusCode, body: JSON.stringify({ error: failed.message, code: failed.code }) };
};

/** Header names keep the client's case on `$connect`. */
const header = (event: WebSocketEvent, name: string): string | undefined =>
  Object.entries(event.headers ?? {}).find(([key]) => key.toLowerCase() === name)?.[1];

const connect: Route = async (event, deps) => {
  const { connectionId, connectedAt, identity } = event.requestContext;
  const query = event.queryStringParameters ?? {};
  const project = optionalParam(projectIdSchema, query.projectId, ErrorCode.invalidProject);
  if (!project.ok) return refuse(400, project.error);
  const type = optionalParam(clientTypeSchema, query.type, ErrorCode.invalidRequest);
  if (!type.ok) return refuse(400, type.error);

  const presented = query.apiKey ?? header(event, 'x-api-key');
  let projectId = project.value;
  if (presented !== undefined) {
    const principal = await deps.authorizer.identify(presented);
    // A project key without ?projectId= connects to its own project.
    projectId ??= principal?.kind === 'project' ? principal.projectId : undefined;
    if (!principal || !mayAccess(principal, projectId ?? DEFAULT_PROJECT_ID)) {
      return refuse(401, failure(ErrorCode.unauthorized));
    }
  } else if (deps.requireApiKey) {
    return refuse(401, failure(ErrorCode.unauthorized, 'An API key is required: ?apiKey= or an x-api-key header'));
  }
  projectId ??= DEFAULT_PROJECT_ID;
  deps.telemetry.annotate({ projectId });

  // Identity only from a signed token: an unsigned ?user_id= is ignored.
  let userId: string | undefined;
  if (query.token !== undefined) {
    const verified = await deps.authorizer.verifyToken(query.token, projectId);
    if (!verified.ok) return refuse(401, verified.error);
    userId = verified.value;
  }

  const clientType = type.value;
  await deps.membership.connect({ connectionId, projectId, connectedAt, clientType, userId, sourceIp: identity?.sourceIp, userAgent: identity?.userAgent });
  const counted = await deps.projects.record(projectId, { connections: 1, live: 1 });
  await deps.presence.scheduleWelcome({ task: 'welcome', connectionId, projectId, clientType, clientCount: counted?.live ?? 1 });
  return OK;
};

const disconnect: Route = async (event, { membership }) => {
  await membership.disconnect(event.requestContext.connectionId);
  return OK;
};

const subscribe = withFrame(subscribeFrame, async ({ channel }, event, { membership, delivery, retention, telemetry }) => {
  const { connectionId } = event.requestContext;
  const result = await membership.subscribe(connectionId, channel);
  if (!result.ok) return errorReply(result.error);
  const { first, projectId, userId } = result.value;
  telemetry.annotate({ projectId, channel });
  const retained = await retention.pendingFor(projectId, channel, userId);
  if (first) await delivery.post(connectionId, JSON.stringify(reply.connectionId(connectionId)));
  if (!retained) return json(reply.subscribed(channel));
  // The retained broadcast must follow the confirmation, and a route response always arrives
  // last, so both go by PostToConnection, in order.
  await delivery.post(connectionId, JSON.stringify(reply.subscribed(channel)));
  await delivery.post(connectionId, JSON.stringify(retained));
  return OK;
});

const unsubscribe = withFrame(unsubscribeFrame, async ({ channel }, event, { membership }) => {
  const result = await membership.unsubscribe(event.requestContext.connectionId, channel);
  return result.ok ? json(reply.unsubscribed(channel)) : errorReply(result.error);
});

const send = withFrame(
  sendFrame,
  fromSender(async ({ channel, connectionId, event: name, data }, sender, deps) => {
    const named = checkClientName(name, 'event');
    if (!named.ok) return errorReply(named.error);
    // The sender's project, always: a connection cannot publish elsewhere.
    deps.telemetry.annotate({ channel });
    const message = { event: name, data, from: sender.connectionId };
    const result = channel
      ? await deps.publisher.toChannel(sender.projectId, channel, message)
      : await deps.publisher.toConnection(sender.projectId, connectionId!, message);
    if (!result.ok) return errorReply(result.error);
    await countPublish(sender.projectId, result.value.sent, deps);
    const { id, sent, failed, stale } = result.value;
    return json(reply.sent(channel ? { channel } : { connectionId }, id, { sent, failed, stale }));
  }),
);

const ping: Route = async () => json(reply.pong());

const ack = withFrame(
  ackFrame,
  fromSender(async ({ channel, id }, sender, deps) => {
    if (!sender.userId) {
      return errorReply(failure(ErrorCode.identityRequired, 'Acknowledgements need a user: connect with a signed ?token='));
    }
    await deps.retention.ack(sender.projectId, channel, sender.userId, id);
    return json(reply.acked(channel, id));
  }),
);

const getRetained = withFrame(
  getRetainedFrame,
  fromSender(async ({ channel }, sender, deps) => {
    const retained = await deps.retention.pendingFor(sender.projectId, channel, sender.userId);
    return json(retained ?? reply.noRetained(channel));
  }),
);

/** A routed message between typed clients: fire-and-forget, as in the systems it comes from, so no reply on success. */
const relay = fromSender<RoutedFrame>(async (frame, sender, deps) => {
  const result = await routeMessage(sender, frame, deps.publisher);
  if (!result.ok) return errorReply(result.error);
  await countPublish(sender.projectId, result.value.sent, deps);
  return OK;
});

function routed(event: WebSocketEvent, value: object, deps: WebSocketDependencies): Promise<WebSocketResult> {
  const frame = validate(routedFrame, value);
  if (frame.ok) {
    const named = checkClientName(frame.value.type, 'type');
    return named.ok ? relay(frame.value, event, deps) : Promise.resolve(errorReply(named.error));
  }
  const hint = `send {"action": …} (${WEBSOCKET_ACTIONS.join(', ')}) or a routed message {"type", "payload", "to"?}`;
  return Promise.resolve(errorReply({ code: frame.error.code, message: `${frame.error.message}; ${hint}` }));
}

/**
 * Frames API Gateway could not route: the text `ping`, invalid JSON, an unknown action, or a
 * routed message between typed clients (an object with `type` and no `action`).
 */
const fallback: Route = async (event, deps) => {
  const text = bodyText(event);
  if (text.trim() === 'ping') return { statusCode: 200, body: 'pong' };
  const parsed = parseJson(text);
  if (!parsed.ok) return errorReply(parsed.error);
  if (typeof parsed.value !== 'object' || parsed.value === null || Array.isArray(parsed.value)) {
    return errorReply(failure(ErrorCode.invalidMessage));
  }
  const action = (parsed.value as { action?: unknown }).action;
  if (action === undefined) return routed(event, parsed.value, deps);
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
  ack,
  get_retained: getRetained,
};
