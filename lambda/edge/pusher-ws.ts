/**
 * Pusher's WebSocket protocol as a codec over the operations, for connections that came through
 * the Pusher endpoint (pusher-js, Laravel Echo). Pusher's frames carry `event`, not `action`, so API
 * Gateway routes them all to `$default`, which hands them here. Each frame is one operation call:
 * its access rule and its cost are the operation's, as for every other codec.
 */
import {
  CLIENT_EVENT_PREFIX,
  ErrorCode,
  Failure,
  failure,
  ok,
  pusherBodyOf,
  pusherFrame,
  PusherFrame,
  pusherOut,
  pusherSubscribeData,
  PUSHER_CODE,
  statusOf,
  validate,
} from '../protocol';
import { OPERATIONS, type Operations } from '../operations';
import { noteFailure } from '../telemetry';
import type { WebSocketEvent, WebSocketResult } from './gateway-events';

const OK: WebSocketResult = { statusCode: 200 };
const frame = (body: string): WebSocketResult => ({ statusCode: 200, body });

/** A refusal of a frame, as pusher-js's connection reports it (`pusher.connection.bind('error', …)`). */
function pusherError(failed: Failure, code: number | null = null): WebSocketResult {
  noteFailure(failed.code);
  return frame(pusherOut.error(code, failed.message));
}

/** `data` as pusher-js sends it: an object, or (from older clients) a JSON string. */
function dataObject(data: unknown): unknown {
  if (typeof data !== 'string') return data;
  try {
    return JSON.parse(data) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * A frame from a Pusher connection: already parsed as JSON (an object with `event` and no
 * `action`). Replies go back as the route's response, as Pusher's server answers on the socket.
 */
export async function pusherRoute(event: WebSocketEvent, value: object, ops: Operations): Promise<WebSocketResult> {
  const { connectionId } = event.requestContext;
  const parsed = validate(pusherFrame, value);
  if (!parsed.ok) return pusherError(await ops.refuse(connectionId, parsed.error));
  const message = parsed.value;
  if (message.event === 'pusher:ping') return frame(pusherOut.pong());
  if (message.event === 'pusher:pong') return OK;
  if (message.event === 'pusher:subscribe') return subscribe(connectionId, message, ops);
  if (message.event === 'pusher:unsubscribe') return unsubscribe(connectionId, message, ops);
  if (message.event.startsWith(CLIENT_EVENT_PREFIX)) return clientEvent(connectionId, message, ops);
  const unsupported = failure(
    ErrorCode.unknownAction,
    message.event.startsWith('pusher:')
      ? `${message.event.slice(0, 64)} is not supported here`
      : `Clients may send pusher:subscribe, pusher:unsubscribe, pusher:ping and client-* events, not ${JSON.stringify(message.event.slice(0, 64))}`,
  );
  return pusherError(await ops.refuse(connectionId, unsupported));
}

async function subscribe(connectionId: string, message: PusherFrame, ops: Operations): Promise<WebSocketResult> {
  const data = validate(pusherSubscribeData, dataObject(message.data) ?? {});
  if (!data.ok) return pusherError(await ops.refuse(connectionId, data.error));
  const { channel, auth, channel_data } = data.value;
  const subscribed = await ops.asConnection(connectionId, OPERATIONS.subscribe, ok({ channel, auth, channel_data }));
  if (!subscribed.ok) {
    noteFailure(subscribed.error.code);
    if (subscribed.error.closing) {
      await ops.post(connectionId, pusherOut.error(PUSHER_CODE.overCapacity, subscribed.error.message));
      await ops.close(connectionId);
      return OK;
    }
    return frame(pusherOut.subscriptionError(channel, subscribed.error, statusOf(subscribed.error)));
  }
  // A presence channel's members come with the confirmation, as pusher-js expects them.
  let presence: { members: readonly { userId: string; info?: Record<string, unknown> }[]; count: number } | undefined;
  if (channel_data !== undefined) {
    const members = await ops.asConnection(connectionId, OPERATIONS.members, ok({ channel }));
    if (members.ok) presence = { members: members.value.members, count: members.value.count };
  }
  const confirmation = pusherOut.subscribed(channel, presence);
  const { retained } = subscribed.value;
  if (!retained) return frame(confirmation);
  // The retained broadcast follows the confirmation, in Pusher's form: both by PostToConnection, in order.
  await ops.post(connectionId, confirmation);
  const retainedFrame = pusherBodyOf(JSON.stringify(retained));
  if (retainedFrame) await ops.post(connectionId, retainedFrame);
  return OK;
}

async function unsubscribe(connectionId: string, message: PusherFrame, ops: Operations): Promise<WebSocketResult> {
  const data = dataObject(message.data) as { channel?: unknown } | undefined;
  if (typeof data?.channel !== 'string')
    return pusherError(await ops.refuse(connectionId, failure(ErrorCode.invalidMessage, 'pusher:unsubscribe needs data.channel')));
  const left = await ops.asConnection(connectionId, OPERATIONS.unsubscribe, ok({ channel: data.channel }));
  // Pusher answers nothing to an unsubscribe.
  return left.ok ? OK : pusherError(left.error);
}

async function clientEvent(connectionId: string, message: PusherFrame, ops: Operations): Promise<WebSocketResult> {
  if (message.channel === undefined) {
    return pusherError(await ops.refuse(connectionId, failure(ErrorCode.invalidMessage, 'A client event needs a channel')));
  }
  const sent = await ops.asConnection(
    connectionId,
    OPERATIONS.clientEvent,
    ok({ channel: message.channel, event: message.event, data: dataObject(message.data) ?? message.data }),
  );
  if (sent.ok) return OK;
  // As Pusher: over the rate, 4301 (pusher-js reports it and stays connected).
  const code = sent.error.code === ErrorCode.rateLimited ? PUSHER_CODE.clientEventRejected : null;
  if (sent.error.closing) {
    noteFailure(sent.error.code);
    await ops.post(connectionId, pusherOut.error(code, sent.error.message));
    await ops.close(connectionId);
    return OK;
  }
  return pusherError(sent.error, code);
}
