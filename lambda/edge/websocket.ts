/**
 * The native WebSocket codec: each route parses its frame into an operation call and encodes the
 * result as replies (`reply.*`, the route response) and, where a reply cannot carry it, posts.
 * Access, costs and fan-out are the operations' business.
 */
import type * as z from 'zod/mini';
import { WEBSOCKET_ACTIONS, WebSocketRouteKey } from '../contract/routes';
import { pusherSocketId } from '../contract/socket-ids';
import { OPERATIONS, isQueued, Operation, Operations } from '../operations';
import {
  ackFrame,
  checkClientName,
  DEFAULT_HISTORY_LIMIT,
  ErrorCode,
  Failure,
  failure,
  getRetainedFrame,
  historyFrame,
  ok,
  parseJson,
  parseMessage,
  presenceFrame,
  reply,
  Result,
  routedFrame,
  RoutedFrame,
  sendFrame,
  subscribeFrame,
  unsubscribeFrame,
  validate,
} from '../protocol';
import { noteFailure } from '../telemetry';
import { connectRoute } from './connect';
import { pusherRoute } from './pusher-ws';
import { bodyText, WebSocketEvent, WebSocketResult } from './gateway-events';

type Route = (event: WebSocketEvent, ops: Operations) => Promise<WebSocketResult>;

const OK: WebSocketResult = { statusCode: 200 };
const json = (message: object): WebSocketResult => ({ statusCode: 200, body: JSON.stringify(message) });
/**
 * A refusal on this connection: the error as its reply — or, when the connection is being closed
 * (it kept exceeding its rate limit), the error posted first and then the connection closed, since a
 * route response would arrive after the close.
 */
async function refusal(event: WebSocketEvent, ops: Operations, failed: Failure): Promise<WebSocketResult> {
  if (!failed.closing) return errorReply(failed);
  noteFailure(failed.code);
  const { connectionId } = event.requestContext;
  await ops.post(connectionId, JSON.stringify(reply.error(failed)));
  await ops.close(connectionId);
  return OK;
}

/** Errors go back as a message on the open connection; the status stays 200 so API Gateway delivers it. */
export const errorReply = (failed: Failure): WebSocketResult => {
  noteFailure(failed.code);
  return json(reply.error(failed));
};

/** A frame for an operation: parsed with its schema, the input made from it, the result encoded. */
const frameRoute =
  <S extends z.ZodMiniType, I, O>(
    schema: S,
    op: Operation<I, O>,
    input: (frame: z.infer<S>) => Result<I>,
    encode: (output: O, input: I, ops: Operations) => WebSocketResult | Promise<WebSocketResult>,
  ): Route =>
  async (event, ops) => {
    const frame = parseMessage(schema, bodyText(event), 'Frame');
    const call = frame.ok ? input(frame.value) : frame;
    const result = await ops.asConnection(event.requestContext.connectionId, op, call);
    // A call runs only on an input that parsed: a result means `call` held one.
    return result.ok ? encode(result.value, (call as { value: I }).value, ops) : refusal(event, ops, result.error);
  };

const subscribe = frameRoute(
  subscribeFrame,
  OPERATIONS.subscribe,
  ({ channel, since, auth, channel_data }) => ok({ channel, since, auth, channel_data }),
  async ({ channel, connectionId, first, stream, replay, retained }, _, ops) => {
    if (first) await ops.post(connectionId, JSON.stringify(reply.connectionId(connectionId, pusherSocketId(connectionId))));
    // What was missed, in order, before the confirmation (a route response always arrives last).
    for (const message of replay) await ops.post(connectionId, message.body);
    if (!retained) return json(reply.subscribed(channel, stream));
    // The retained broadcast follows the confirmation: both go by PostToConnection, in order.
    await ops.post(connectionId, JSON.stringify(reply.subscribed(channel, stream)));
    await ops.post(connectionId, JSON.stringify(retained));
    return OK;
  },
);

const unsubscribe = frameRoute(
  unsubscribeFrame,
  OPERATIONS.unsubscribe,
  ({ channel }) => ok({ channel }),
  ({ channel }) => json(reply.unsubscribed(channel)),
);

const send = frameRoute(
  sendFrame,
  OPERATIONS.publish,
  ({ channel, connectionId, event, data }) => {
    const named = checkClientName(event, 'event');
    return named.ok ? ok({ channel, connectionId, event, data }) : named;
  },
  (outcome, { channel, connectionId }) => {
    const target = channel ? { channel } : { connectionId };
    const { id, offset, epoch } = outcome;
    const position = offset !== undefined ? { offset, epoch } : undefined;
    if (isQueued(outcome)) return json(reply.sent(target, id, { queued: outcome.queued }, position));
    const { sent, failed, stale } = outcome;
    return json(reply.sent(target, id, { sent, failed, stale }, position));
  },
);

const ping: Route = async (event, ops) => {
  const result = await ops.asConnection(event.requestContext.connectionId, OPERATIONS.ping, ok(undefined));
  return result.ok ? json(reply.pong()) : refusal(event, ops, result.error);
};

const history = frameRoute(
  historyFrame,
  OPERATIONS.history,
  ({ channel, since, limit }) => ok({ channel, since, limit: limit ?? DEFAULT_HISTORY_LIMIT }),
  (page) => ({ statusCode: 200, body: reply.history(page.channel, page) }),
);

const presence = frameRoute(
  presenceFrame,
  OPERATIONS.members,
  ({ channel }) => ok({ channel }),
  ({ channel, members, count }) => json(reply.presence(channel, members, count)),
);

const ack = frameRoute(
  ackFrame,
  OPERATIONS.ack,
  ({ channel, id }) => ok({ channel, id }),
  ({ channel, id }) => json(reply.acked(channel, id)),
);

const getRetained = frameRoute(
  getRetainedFrame,
  OPERATIONS.getRetained,
  ({ channel }) => ok({ channel }),
  ({ channel, retained }) => json(retained ?? reply.noRetained(channel)),
);

const ROUTED_HINT = `send {"action": …} (${WEBSOCKET_ACTIONS.join(', ')}) or a routed message {"type", "payload", "to"?}`;

/** A routed message's frame: its `type` may not be one the server sends. */
function routedInput(value: object): Result<RoutedFrame> {
  const frame = validate(routedFrame, value);
  if (!frame.ok) return { ok: false, error: { code: frame.error.code, message: `${frame.error.message}; ${ROUTED_HINT}` } };
  const named = checkClientName(frame.value.type, 'type');
  return named.ok ? frame : named;
}

/** A routed message between typed clients: fire-and-forget, as in the systems it comes from, so no reply on success. */
async function routed(event: WebSocketEvent, value: object, ops: Operations): Promise<WebSocketResult> {
  const result = await ops.asConnection(event.requestContext.connectionId, OPERATIONS.route, routedInput(value));
  return result.ok ? OK : refusal(event, ops, result.error);
}

/**
 * Frames API Gateway could not route: the text `ping`, invalid JSON, an unknown action, or a
 * routed message between typed clients (an object with `type` and no `action`).
 */
const fallback: Route = async (event, ops) => {
  const text = bodyText(event);
  const { connectionId } = event.requestContext;
  if (text.trim() === 'ping') {
    const result = await ops.asConnection(connectionId, OPERATIONS.ping, ok(undefined));
    return result.ok ? { statusCode: 200, body: 'pong' } : refusal(event, ops, result.error);
  }
  const parsed = parseJson(text, 'Frame');
  if (!parsed.ok) return refusal(event, ops, await ops.refuse(connectionId, parsed.error));
  if (typeof parsed.value !== 'object' || parsed.value === null || Array.isArray(parsed.value)) {
    return refusal(event, ops, await ops.refuse(connectionId, failure(ErrorCode.invalidMessage)));
  }
  const action = (parsed.value as { action?: unknown }).action;
  // Pusher's frames name an `event` (pusher-js, Laravel Echo); ours an `action`, routed ones a `type`.
  if (action === undefined && 'event' in parsed.value && !('type' in parsed.value)) return pusherRoute(event, parsed.value, ops);
  if (action === undefined) return routed(event, parsed.value, ops);
  const message = `Unknown action ${JSON.stringify(action).slice(0, 64)}; expected one of ${WEBSOCKET_ACTIONS.join(', ')}`;
  return refusal(event, ops, await ops.refuse(connectionId, { code: ErrorCode.unknownAction, message }));
};

const disconnect: Route = async (event, ops) => {
  const { connectionId, disconnectStatusCode: code, requestTimeEpoch: at } = event.requestContext;
  await ops.disconnect(connectionId, { code, at });
  return OK;
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
  $connect: connectRoute,
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
