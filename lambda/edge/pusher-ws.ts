/**
 * Pusher's WebSocket protocol as a codec over the operations, for connections that came through
 * the Pusher endpoint (pusher-js, Laravel Echo). Pusher's frames carry `event`, not `action`, so API
 * Gateway routes them all to `$default`, which hands them here. Each frame is one operation call:
 * its access rule and its cost are the operation's, as for every other codec.
 */
import {
  checkChannel,
  CLIENT_EVENT_PREFIX,
  ErrorCode,
  fail,
  Failure,
  isCacheChannel,
  failure,
  ok,
  parseJson,
  pusherBodyOf,
  pusherFrame,
  PusherFrame,
  pusherOut,
  pusherSigninData,
  pusherSubscribeData,
  PUSHER_CODE,
  PUSHER_USER_CHANNEL_PREFIX,
  userChannelOf,
  pusherCodeOf,
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

/** `data` as pusher-js sends it: an object, or (from older clients) JSON text, held to the same depth as a frame. */
function dataObject(data: unknown): unknown {
  if (typeof data !== 'string') return data;
  const parsed = parseJson(data);
  return parsed.ok ? parsed.value : undefined;
}

/**
 * A frame from a Pusher connection: already parsed as JSON (an object with `event` and no
 * `action`). Replies go back as the route's response, as Pusher's server answers on the socket.
 */
export async function pusherRoute(event: WebSocketEvent, value: object, ops: Operations): Promise<WebSocketResult> {
  return pusherFrameRoute(event.requestContext.connectionId, value, ops);
}

/**
 * The answer to a Pusher frame whose handling failed unexpectedly (the handler's error boundary
 * asks; undefined for any other frame): in Pusher's form, which pusher-js reads, where ours it
 * ignores — a subscription it would wait on for ever gets its error.
 */
export function pusherFailure(event: WebSocketEvent, failed: Failure): WebSocketResult | undefined {
  let value: { event?: unknown; action?: unknown; type?: unknown; data?: unknown } | undefined;
  try {
    value = JSON.parse(event.body ?? '') as typeof value;
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || value.action !== undefined || value.type !== undefined) return undefined;
  if (typeof value.event !== 'string') return undefined;
  const channel = value.event === 'pusher:subscribe' ? (dataObject(value.data) as { channel?: unknown } | undefined)?.channel : undefined;
  return typeof channel === 'string'
    ? frame(pusherOut.subscriptionError(channel, failed, statusOf(failed)))
    : frame(pusherOut.error(pusherCodeOf(failed), failed.message));
}

async function pusherFrameRoute(connectionId: string, value: object, ops: Operations): Promise<WebSocketResult> {
  const parsed = validate(pusherFrame, value);
  if (!parsed.ok) return refusedFrame(connectionId, await ops.refuse(connectionId, parsed.error), null, ops);
  const message = parsed.value;
  if (message.event === 'pusher:ping') return ping(connectionId, ops);
  if (message.event === 'pusher:pong') return OK;
  if (message.event === 'pusher:subscribe') return subscribe(connectionId, message, ops);
  if (message.event === 'pusher:unsubscribe') return unsubscribe(connectionId, message, ops);
  if (message.event === 'pusher:signin') return signin(connectionId, message, ops);
  if (message.event.startsWith(CLIENT_EVENT_PREFIX)) return clientEvent(connectionId, message, ops);
  const unsupported = failure(
    ErrorCode.unknownAction,
    message.event.startsWith('pusher:')
      ? `${message.event.slice(0, 64)} is not supported here`
      : `Clients may send pusher:subscribe, pusher:unsubscribe, pusher:signin, pusher:ping and client-* events, not ${JSON.stringify(message.event.slice(0, 64))}`,
  );
  return refusedFrame(connectionId, await ops.refuse(connectionId, unsupported), null, ops);
}

/**
 * pusher-js pings only after two minutes without a message, so a ping is answered without the
 * store. A connection pinging faster than that cadence allows, as seen by this instance, is no
 * pusher-js: its pings go through the ping operation, and so through its rate limit.
 */
export const PUSHER_PINGS_FREE = { perWindow: 3, windowMs: 60_000, tracked: 10_000 };
const recentPings = new Map<string, { since: number; count: number }>();

async function ping(connectionId: string, ops: Operations, now = Date.now()): Promise<WebSocketResult> {
  let seen = recentPings.get(connectionId);
  if (!seen || now - seen.since > PUSHER_PINGS_FREE.windowMs) {
    // Bounded: past the limit the oldest entries go first (a Map keeps insertion order).
    if (!seen && recentPings.size >= PUSHER_PINGS_FREE.tracked) recentPings.delete(recentPings.keys().next().value!);
    seen = { since: now, count: 0 };
    recentPings.set(connectionId, seen);
  }
  if (++seen.count <= PUSHER_PINGS_FREE.perWindow) return frame(pusherOut.pong());
  const result = await ops.asConnection(connectionId, OPERATIONS.ping, ok(undefined));
  return result.ok ? frame(pusherOut.pong()) : refusedFrame(connectionId, result.error, null, ops);
}

/** A refused frame; one that ends the connection (too many refusals) is told, then closed. */
async function refusedFrame(connectionId: string, failed: Failure, code: number | null, ops: Operations): Promise<WebSocketResult> {
  if (!failed.closing) return pusherError(failed, code);
  noteFailure(failed.code);
  await ops.post(connectionId, pusherOut.error(code, failed.message));
  await ops.close(connectionId);
  return OK;
}

/** Pusher's user sign-in: `pusher:signin_success`, or `pusher:error` saying why not. */
async function signin(connectionId: string, message: PusherFrame, ops: Operations): Promise<WebSocketResult> {
  const data = validate(pusherSigninData, dataObject(message.data) ?? {});
  if (!data.ok) return refusedFrame(connectionId, await ops.refuse(connectionId, data.error), null, ops);
  const signed = await ops.asConnection(connectionId, OPERATIONS.signin, ok(data.value));
  if (!signed.ok) return refusedFrame(connectionId, signed.error, pusherCodeOf(signed.error), ops);
  const { userData, replays, online } = signed.value;
  if (replays.length === 0 && online.length === 0) return frame(pusherOut.signedIn(userData));
  await ops.post(connectionId, pusherOut.signedIn(userData));
  // The watched users online now, then (continuity) what it missed on channels it rejoined before signing in.
  if (online.length > 0) await ops.post(connectionId, pusherOut.watchlist(online));
  for (const { messages } of replays) await postReplay(connectionId, messages, ops);
  return OK;
}

/** Replayed messages, in Pusher's form, in order, one PostToConnection each. */
async function postReplay(connectionId: string, messages: readonly { readonly body: string }[], ops: Operations): Promise<void> {
  for (const message of messages) {
    const body = pusherBodyOf(message.body);
    if (body) await ops.post(connectionId, body);
  }
}

/** pusher-js's `#server-to-user-{id}` subscription once signed in: confirmed for its own user only. */
async function userChannel(connectionId: string, channel: string, ops: Operations): Promise<WebSocketResult> {
  const userId = channel.slice(PUSHER_USER_CHANNEL_PREFIX.length);
  const confirmed = await ops.asConnection(connectionId, OPERATIONS.userChannel, ok({ userId }));
  if (confirmed.ok) return frame(pusherOut.subscribed(channel));
  if (confirmed.error.closing) return refusedFrame(connectionId, confirmed.error, PUSHER_CODE.overCapacity, ops);
  noteFailure(confirmed.error.code);
  return frame(pusherOut.subscriptionError(channel, confirmed.error, statusOf(confirmed.error)));
}

async function subscribe(connectionId: string, message: PusherFrame, ops: Operations): Promise<WebSocketResult> {
  const value = dataObject(message.data);
  const requested = (value as { channel?: unknown } | undefined)?.channel;
  if (typeof requested === 'string' && userChannelOf(requested) !== undefined) return userChannel(connectionId, requested, ops);
  const data = validate(pusherSubscribeData, value ?? {});
  if (!data.ok) return refusedFrame(connectionId, await ops.refuse(connectionId, data.error), null, ops);
  const { channel, auth, channel_data } = data.value;
  // A presence channel's members come with the confirmation, as pusher-js expects them: one call.
  const subscribed = await ops.asConnection(connectionId, OPERATIONS.subscribe, ok({ channel, auth, channel_data, withMembers: true }));
  if (!subscribed.ok) {
    if (subscribed.error.closing) return refusedFrame(connectionId, subscribed.error, PUSHER_CODE.overCapacity, ops);
    noteFailure(subscribed.error.code);
    return frame(pusherOut.subscriptionError(channel, subscribed.error, statusOf(subscribed.error)));
  }
  const { members } = subscribed.value;
  // pusher-js reads the members of any presence- channel's confirmation.
  const presence = members
    ? { members: members.list, count: members.count }
    : channel.startsWith('presence-')
      ? { members: [], count: 0 }
      : undefined;
  const confirmation = pusherOut.subscribed(channel, presence);
  const { retained, replay } = subscribed.value;
  if (replay.length > 0) {
    // Continuity for a signed-in user: what it missed, after the confirmation and before anything new.
    await ops.post(connectionId, confirmation);
    await postReplay(connectionId, replay, ops);
    return OK;
  }
  if (!retained && isCacheChannel(channel)) {
    // Nothing in the last 30 minutes: the miss follows the confirmation, in order.
    await ops.post(connectionId, confirmation);
    return frame(pusherOut.cacheMiss(channel));
  }
  if (!retained) return frame(confirmation);
  // The retained broadcast follows the confirmation, in Pusher's form: both by PostToConnection, in order.
  await ops.post(connectionId, confirmation);
  const retainedFrame = pusherBodyOf(JSON.stringify(retained));
  if (retainedFrame) await ops.post(connectionId, retainedFrame);
  return OK;
}

async function unsubscribe(connectionId: string, message: PusherFrame, ops: Operations): Promise<WebSocketResult> {
  const data = dataObject(message.data) as { channel?: unknown } | undefined;
  const checked =
    typeof data?.channel === 'string'
      ? checkChannel(data.channel)
      : fail(ErrorCode.invalidMessage, 'pusher:unsubscribe needs data.channel');
  if (!checked.ok) return refusedFrame(connectionId, await ops.refuse(connectionId, checked.error), null, ops);
  const left = await ops.asConnection(connectionId, OPERATIONS.unsubscribe, ok({ channel: checked.value }));
  // Pusher answers nothing to an unsubscribe.
  return left.ok ? OK : refusedFrame(connectionId, left.error, null, ops);
}

async function clientEvent(connectionId: string, message: PusherFrame, ops: Operations): Promise<WebSocketResult> {
  if (message.channel === undefined) {
    return refusedFrame(
      connectionId,
      await ops.refuse(connectionId, failure(ErrorCode.invalidMessage, 'A client event needs a channel')),
      null,
      ops,
    );
  }
  const sent = await ops.asConnection(
    connectionId,
    OPERATIONS.clientEvent,
    ok({ channel: message.channel, event: message.event, data: dataObject(message.data) ?? message.data }),
  );
  if (sent.ok) return OK;
  // As Pusher: over the rate, 4301 (pusher-js reports it and stays connected).
  return refusedFrame(connectionId, sent.error, sent.error.code === ErrorCode.rateLimited ? PUSHER_CODE.clientEventRejected : null, ops);
}
