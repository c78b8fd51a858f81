/**
 * The WebSocket API's routes, as a lookup table from route key to a small function. Each returns
 * what API Gateway sends back to the caller (the route response), or nothing.
 */
import type * as z from 'zod/mini';
import { DEFAULT_PROJECT_ID } from '../contract/limits';
import { WEBSOCKET_ACTIONS, WebSocketRouteKey } from '../contract/routes';
import { isOpen, isRestricted, mayPublish, maySubscribe } from '../auth/access';
import type { ApiKeys } from '../auth/api-keys';
import type { Authorizer } from '../auth/principals';
import { channelAuthValid, pusherSocketId } from '../auth/pusher';
import type { ClientGrant } from '../auth/tokens';
import type { ChannelHistory } from '../domain/history';
import type { Lifecycle } from '../domain/lifecycle';
import type { Members } from '../domain/members';
import type { Membership } from '../domain/membership';
import type { ChannelConfig, Namespaces } from '../domain/namespaces';
import type { Presence } from '../domain/presence';
import type { Projects } from '../domain/projects';
import type { Publisher } from '../domain/publish';
import type { Retention } from '../domain/retention';
import type { Settings } from '../domain/settings';
import { MONITOR_TYPE } from '../domain/internal-channels';
import { routeMessage } from '../domain/routed-messages';
import type { ConnectionRecord, ConnectionStore, Delivery } from '../ports';
import {
  ackFrame,
  checkClientName,
  clientTypeSchema,
  DEFAULT_HISTORY_LIMIT,
  ErrorCode,
  fail,
  Failure,
  failure,
  getRetainedFrame,
  historyFrame,
  historyJson,
  ok,
  presenceFrame,
  Result,
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
  readonly apiKeys: ApiKeys;
  readonly projects: Projects;
  readonly presence: Presence;
  readonly retention: Retention;
  readonly settings: Settings;
  readonly namespaces: Namespaces;
  readonly history: ChannelHistory;
  readonly members: Members;
  readonly lifecycle: Lifecycle;
  readonly telemetry: Telemetry;
  /** Every connection needs a client token, in every project. */
  readonly requireToken: boolean;
  readonly now?: () => number;
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
 * request's log line, if its rate limit allows one more message: the look-up and the count are
 * one conditional write. `not_connected` if there is no such connection, `rate_limited` if its
 * bucket is empty (nothing is done; the connection stays open).
 */
const fromSender =
  <F>(route: (frame: F, sender: ConnectionRecord, deps: WebSocketDependencies) => Promise<WebSocketResult>) =>
  async (frame: F, event: WebSocketEvent, deps: WebSocketDependencies): Promise<WebSocketResult> => {
    const taken = await deps.connections.take(event.requestContext.connectionId, (deps.now ?? Date.now)());
    if (taken.status === 'missing') return errorReply(failure(ErrorCode.notConnected));
    if (taken.status === 'limited') return errorReply(failure(ErrorCode.rateLimited));
    deps.telemetry.annotate({ projectId: taken.connection.projectId });
    return route(frame, taken.connection, deps);
  };

/** Refuses a message the sender may not publish, by its project's settings and its token. */
async function publishRefusal(sender: ConnectionRecord, deps: WebSocketDependencies, channel?: string): Promise<WebSocketResult | undefined> {
  const allowed = mayPublish(sender, await deps.settings.of(sender.projectId), channel);
  return allowed.ok ? undefined : errorReply(allowed.error);
}

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

/** The subprotocol a client speaking ours offers; `$connect` echoes it, as browsers require. */
export const SUBPROTOCOL = 'rb.v1';
/** A token offered as a subprotocol, where browsers can put it (they cannot set headers). */
const TOKEN_SUBPROTOCOL = 'rb.token.';

/** The subprotocols a client offered: `rb.v1` and perhaps a token. */
function offeredProtocols(event: WebSocketEvent): { speaksOurs: boolean; offered: boolean; token?: string } {
  const offered = (header(event, 'sec-websocket-protocol') ?? '').split(',').map((p) => p.trim()).filter(Boolean);
  const token = offered.find((p) => p.startsWith(TOKEN_SUBPROTOCOL))?.slice(TOKEN_SUBPROTOCOL.length);
  return { speaksOurs: offered.includes(SUBPROTOCOL), offered: offered.length > 0, ...(token !== undefined && { token }) };
}

/**
 * Who is connecting, decided only by credentials: a client token (`?token=` or the
 * `rb.token.<jwt>` subprotocol) signed by a current key of the project, or nothing — accepted only
 * where the project takes anonymous connections and the deployment does not require tokens.
 * A project key or the master key is never a way to connect: those belong on servers.
 */
const connect: Route = async (event, deps) => {
  const { connectionId, connectedAt, identity } = event.requestContext;
  const query = event.queryStringParameters ?? {};
  const project = optionalParam(projectIdSchema, query.projectId, ErrorCode.invalidProject);
  if (!project.ok) return refuse(400, project.error);
  const type = optionalParam(clientTypeSchema, query.type, ErrorCode.invalidRequest);
  if (!type.ok) return refuse(400, type.error);
  const protocols = offeredProtocols(event);
  if (protocols.offered && !protocols.speaksOurs) {
    return refuse(400, failure(ErrorCode.invalidRequest, `Offer the ${SUBPROTOCOL} subprotocol (with rb.token.<jwt>), or none`));
  }
  if (query.apiKey !== undefined || header(event, 'x-api-key') !== undefined) {
    return refuse(401, failure(ErrorCode.unauthorized, 'Keys are for servers and are not accepted here: connect with a client token signed by your backend'));
  }

  const token = protocols.token ?? query.token;
  let grant: ClientGrant | undefined;
  if (token !== undefined) {
    const verified = await deps.authorizer.verifyToken(token);
    if (!verified.ok) return refuse(401, verified.error);
    grant = verified.value;
    if (project.value !== undefined && project.value !== grant.projectId) {
      return refuse(401, failure(ErrorCode.invalidToken, `Invalid token: it is for another project than ${project.value}`));
    }
  }
  const projectId = grant?.projectId ?? project.value ?? DEFAULT_PROJECT_ID;
  deps.telemetry.annotate({ projectId });
  const settings = await deps.settings.of(projectId);
  if (!grant && (deps.requireToken || !settings.anonymousConnect)) return refuse(401, failure(ErrorCode.tokenRequired));

  const clientType = type.value;
  // Monitoring copies are granted by a token, or by the label only where everything is open anyway.
  const monitor = grant ? grant.monitor : clientType === MONITOR_TYPE && isOpen(settings);
  await deps.membership.connect({
    connectionId,
    projectId,
    connectedAt,
    clientType,
    sourceIp: identity?.sourceIp,
    userAgent: identity?.userAgent,
    rateLimit: settings.rateLimit,
    monitor,
    ...(grant && {
      userId: grant.userId,
      keyPrefix: grant.keyPrefix,
      channelGrants: grant.channels,
      publishGrants: grant.publish,
      ...(grant.info && { info: grant.info }),
    }),
  });
  const counted = await deps.projects.record(projectId, { connections: 1, live: 1, liveSince: connectedAt });
  await deps.presence.scheduleWelcome({ task: 'welcome', connectionId, projectId, clientType, clientCount: counted?.live ?? 1 });
  return protocols.speaksOurs ? { statusCode: 200, headers: { 'Sec-WebSocket-Protocol': SUBPROTOCOL } } : OK;
};

const disconnect: Route = async (event, { membership }) => {
  await membership.disconnect(event.requestContext.connectionId);
  return OK;
};

/**
 * Presence needs a user: an anonymous connection is refused before anything is stored, unless a
 * Pusher `channel_data` signed by the project's key (checked already) names one.
 */
async function admitTo(
  channel: string,
  connection: ConnectionRecord,
  deps: WebSocketDependencies,
  signedChannelData?: string,
): Promise<Result<{ config: ChannelConfig; connection: ConnectionRecord }>> {
  const config = await deps.namespaces.of(connection.projectId, channel);
  if (!config.presence) return ok({ config, connection });
  if (signedChannelData !== undefined) {
    const user = pusherUser(signedChannelData);
    if (!user) return fail(ErrorCode.invalidMessage, 'channel_data must be JSON with a user_id (a string or number)');
    if (!(await deps.connections.adopt(connection.connectionId, user))) {
      return fail(ErrorCode.subscriptionForbidden, 'channel_data names another user than this connection’s');
    }
    return ok({ config, connection: { ...connection, ...user } });
  }
  if (connection.userId === undefined) {
    return fail(ErrorCode.identityRequired, 'Presence channels need a user: connect with a client token (its sub is the member), or Pusher auth with channel_data');
  }
  return ok({ config, connection });
}

/** Pusher's `channel_data`: `{"user_id": "…", "user_info": {…}}`. */
function pusherUser(channelData: string): { userId: string; info?: Record<string, unknown> } | undefined {
  try {
    const { user_id: id, user_info: info } = JSON.parse(channelData) as { user_id?: unknown; user_info?: unknown };
    if ((typeof id !== 'string' && typeof id !== 'number') || String(id).length === 0 || String(id).length > 128) return undefined;
    const valid = typeof info === 'object' && info !== null && !Array.isArray(info);
    return { userId: String(id), ...(valid && { info: info as Record<string, unknown> }) };
  } catch {
    return undefined;
  }
}

/** A restricted channel joined with Pusher's `auth`: signed for this socket and channel (and channel data) by a key of the connection's project. */
function pusherAuthorized(channel: string, auth: string, channelData: string | undefined, deps: WebSocketDependencies) {
  return async (connection: ConnectionRecord): Promise<Result<unknown>> => {
    const socketId = pusherSocketId(connection.connectionId);
    const valid = socketId !== undefined && (await channelAuthValid(auth, socketId, channel, channelData, (prefix) => deps.apiKeys.signingKey(prefix), connection.projectId));
    return valid ? ok(channel) : fail(ErrorCode.subscriptionForbidden, `Invalid auth for ${channel}: sign socket_id:channel${channelData === undefined ? '' : ':channel_data'} with a key of this project`);
  };
}

const subscribe = withFrame(subscribeFrame, async ({ channel, since, auth, channel_data: channelData }, event, deps) => {
  const { membership, delivery, retention, telemetry } = deps;
  const { connectionId } = event.requestContext;
  // Pusher auth counts only where a grant is needed, and only then is its channel_data trusted.
  const viaPusher = isRestricted(channel) && auth !== undefined;
  const result = await membership.subscribe(
    connectionId,
    channel,
    viaPusher ? pusherAuthorized(channel, auth, channelData, deps) : isRestricted(channel) ? (c) => maySubscribe(c, channel) : undefined,
    (c) => admitTo(channel, c, deps, viaPusher ? channelData : undefined),
  );
  if (!result.ok) return errorReply(result.error);
  const { first, joined, projectId, admitted } = result.value;
  const { config, connection } = admitted!;
  const userId = connection.userId;
  telemetry.annotate({ projectId, channel });
  if (joined) await deps.lifecycle.subscribed(projectId, channel);
  if (config.presence) await purgeLater(deps, await deps.members.join(projectId, channel, connection));
  if (first) await delivery.post(connectionId, JSON.stringify(reply.connectionId(connectionId, pusherSocketId(connectionId))));

  // On a channel with history: where the stream is, and what this subscriber missed, replayed in
  // order before the confirmation (a route response always arrives last).
  let stream: Parameters<typeof reply.subscribed>[1];
  const history = config.history;
  if (history && since) {
    const recovery = await deps.history.recover(projectId, channel, history, since);
    if (recovery.recovered) for (const message of recovery.messages) await delivery.post(connectionId, message.body);
    stream = { ...recovery.position, recovered: recovery.recovered, ...(!recovery.recovered && { reason: recovery.reason }) };
  } else if (history) {
    stream = await deps.history.position(projectId, channel, history);
  }

  const retained = await retention.pendingFor(projectId, channel, userId);
  if (!retained) return json(reply.subscribed(channel, stream));
  // The retained broadcast must follow the confirmation, and a route response always arrives
  // last, so both go by PostToConnection, in order.
  await delivery.post(connectionId, JSON.stringify(reply.subscribed(channel, stream)));
  await delivery.post(connectionId, JSON.stringify(retained));
  return OK;
});

/** Connections found gone while announcing go to a background purge, as a publish's do. */
async function purgeLater(deps: WebSocketDependencies, gone: readonly { connectionId: string }[]): Promise<void> {
  if (gone.length > 0) await deps.publisher.purge(gone);
}

const unsubscribe = withFrame(unsubscribeFrame, async ({ channel }, event, deps) => {
  const { connectionId } = event.requestContext;
  const result = await deps.membership.unsubscribe(connectionId, channel);
  if (!result.ok) return errorReply(result.error);
  const { connection, left } = result.value;
  if (left) {
    if (connection.userId !== undefined && (await deps.namespaces.of(connection.projectId, channel)).presence) {
      await purgeLater(deps, await deps.members.leave(connection.projectId, channel, connection.userId, connectionId));
    }
    await deps.lifecycle.unsubscribed(connection.projectId, channel);
  }
  return json(reply.unsubscribed(channel));
});

const send = withFrame(
  sendFrame,
  fromSender(async ({ channel, connectionId, event: name, data }, sender, deps) => {
    const named = checkClientName(name, 'event');
    if (!named.ok) return errorReply(named.error);
    const refused = await publishRefusal(sender, deps, channel);
    if (refused) return refused;
    // The sender's project, always: a connection cannot publish elsewhere.
    deps.telemetry.annotate({ channel });
    const message = { event: name, data, from: sender.connectionId };
    const result = channel
      ? await deps.publisher.toChannel(sender.projectId, channel, message)
      : await deps.publisher.toConnection(sender.projectId, connectionId!, message);
    if (!result.ok) return errorReply(result.error);
    await countPublish(sender.projectId, result.value.sent, deps);
    const { id, sent, failed, stale, offset, epoch } = result.value;
    return json({ ...reply.sent(channel ? { channel } : { connectionId }, id, { sent, failed, stale }), ...(offset !== undefined && { offset, epoch }) });
  }),
);

/**
 * A ping keeps the connection open past API Gateway's idle timeout and, for a user, keeps its
 * presence alive in every presence channel it is in.
 */
async function stillHere(connectionId: string, deps: WebSocketDependencies): Promise<void> {
  const connection = await deps.connections.get(connectionId);
  if (!connection?.userId || connection.channels.length === 0) return;
  const configs = await Promise.all(connection.channels.map((channel) => deps.namespaces.of(connection.projectId, channel)));
  const present = connection.channels.filter((_, i) => configs[i].presence);
  if (present.length > 0) await deps.members.touch(connection.projectId, present, connection.userId, connectionId);
}

const ping: Route = async (event, deps) => {
  await stillHere(event.requestContext.connectionId, deps);
  return json(reply.pong());
};

/** Stored messages of a channel the sender may read, oldest first, in pages that fit one reply. */
const history = withFrame(
  historyFrame,
  fromSender(async ({ channel, since, limit }, sender, deps) => {
    const allowed = maySubscribe(sender, channel);
    if (!allowed.ok) return errorReply(allowed.error);
    const kept = (await deps.namespaces.of(sender.projectId, channel)).history;
    if (!kept) return errorReply(failure(ErrorCode.historyNotEnabled));
    const page = await deps.history.read(sender.projectId, channel, kept, since, limit ?? DEFAULT_HISTORY_LIMIT, MAX_REPLY_HISTORY_BYTES);
    return { statusCode: 200, body: historyJson({ type: 'history', channel }, page) };
  }),
);

/** A presence channel's members, for a connection that may join it. */
const presence = withFrame(
  presenceFrame,
  fromSender(async ({ channel }, sender, deps) => {
    const allowed = maySubscribe(sender, channel);
    if (!allowed.ok) return errorReply(allowed.error);
    if (!(await deps.namespaces.of(sender.projectId, channel)).presence) return errorReply(failure(ErrorCode.presenceNotEnabled));
    const members = await deps.members.list(sender.projectId, channel);
    // A reply is one message (128 KB): as many members as fit, and where to go on from.
    const page = membersThatFit(members, MAX_REPLY_BYTES);
    return json(reply.presence(channel, page, members.length));
  }),
);

/** Leaves room in a 128 KB message for the envelope. */
const MAX_REPLY_BYTES = 120 * 1024;
const MAX_REPLY_HISTORY_BYTES = MAX_REPLY_BYTES;

function membersThatFit<T>(members: readonly T[], maxBytes: number): T[] {
  let bytes = 0;
  const page: T[] = [];
  for (const member of members) {
    bytes += Buffer.byteLength(JSON.stringify(member)) + 1;
    if (bytes > maxBytes) break;
    page.push(member);
  }
  return page;
}

const ack = withFrame(
  ackFrame,
  fromSender(async ({ channel, id }, sender, deps) => {
    if (!sender.userId) {
      return errorReply(failure(ErrorCode.identityRequired, 'Acknowledgements need a user: connect with a client token'));
    }
    const acked = await deps.retention.ack(sender.projectId, channel, sender.userId, id);
    return acked.ok ? json(reply.acked(channel, id)) : errorReply(acked.error);
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
  const refused = await publishRefusal(sender, deps);
  if (refused) return refused;
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
  if (text.trim() === 'ping') {
    await stillHere(event.requestContext.connectionId, deps);
    return { statusCode: 200, body: 'pong' };
  }
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

/** A request id a client may put on a frame (`"rid"`): up to 64 letters, digits, `-`, `_` and `.`. */
const REQUEST_ID = /^[\w.-]{1,64}$/;

/**
 * Echoes a frame's `rid` on its reply, so a client with several requests in flight can tell which
 * answer is whose (route responses carry nothing else that says). Replies that are not a JSON
 * object (the text `pong`) and frames without a valid `rid` are left as they are.
 */
export function echoRequestId(event: WebSocketEvent, result: WebSocketResult): WebSocketResult {
  const text = bodyText(event);
  if (result.body === undefined || !result.body.startsWith('{') || !text.includes('"rid"')) return result;
  let rid: unknown;
  try {
    rid = (JSON.parse(text) as { rid?: unknown } | null)?.rid;
  } catch {
    return result;
  }
  if (typeof rid !== 'string' || !REQUEST_ID.test(rid)) return result;
  const rest = result.body.slice(1).trimStart();
  return { ...result, body: `{"rid":${JSON.stringify(rid)}${rest.startsWith('}') ? '' : ','}${rest}` };
}

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
  history,
  presence,
};
