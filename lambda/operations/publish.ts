/**
 * Publishing, whoever publishes: a backend (`POST /broadcast`, a batch, Pusher's trigger) or a
 * connection (`send`, a routed message). One path for all of them: the idempotency claim, the
 * big-channel probe (a big channel goes to background shards), history, retain and usage.
 */
import { ACCESS } from '../auth/access';
import { pusherSocketId } from '../contract/socket-ids';
import { IDEMPOTENCY_WINDOW_SECONDS } from '../contract/tables';
import type { Published } from '../domain/publish';
import { positionOf } from '../domain/publish';
import { routeMessage } from '../domain/routed-messages';
import type { PublishRecord } from '../ports';
import { CACHE_TTL_MS, type Delivered, ErrorCode, fail, failure, FanoutCounts, isCacheChannel, ok, Result, RoutedFrame } from '../protocol';
import type { Transport } from '../telemetry';
import { FLAT, operation, Scope } from './operation';
import type { Services } from './services';

/** One message: to a channel, or to one connection, of the project. */
export interface PublishInput {
  /** The project a backend publishes to (default: its own, or `default` for the master key). */
  readonly projectId?: string;
  readonly channel?: string;
  readonly connectionId?: string;
  readonly event: string;
  readonly data?: unknown;
  /** Keep as the channel's active broadcast (channels only). */
  readonly retain?: boolean;
  /** A repeat with the same key within 10 minutes returns the first publish and delivers nothing. */
  readonly idempotencyKey?: string;
  /** A connection of the channel not to deliver to (Pusher's `socket_id`). */
  readonly exclude?: string;
  /** The sending user, named on a client event on a presence channel (set by the server, never read from input). */
  readonly userId?: string;
}

/** A publish that continues in the background: its outcome is at `GET /broadcast/{id}`. */
export interface Queued {
  readonly id: string;
  readonly queued: number;
  readonly offset?: number;
  readonly epoch?: string;
}

export type PublishOutcome = Published | Queued | (Published & { duplicate: true }) | (Queued & { duplicate: true });

export const isQueued = (outcome: PublishOutcome): outcome is Queued => 'queued' in outcome;

/** Who counts as the sender: a connection's id, never a backend. */
const senderOf = (scope: Scope) => (scope.caller.kind === 'connection' ? scope.caller.connection.connectionId : undefined);
const transportOf = (scope: Scope): Transport => (scope.caller.kind === 'connection' ? 'WebSocket' : 'HTTP');

/**
 * One publish: a repeated idempotency key returns the first publish; a big channel (when allowed)
 * goes to the background; the rest is delivered now. Nothing after the first delivery can turn the
 * answer into an error: what follows is logged, not thrown.
 */
async function publishOne(input: PublishInput, scope: Scope, services: Services, mayQueue: boolean): Promise<Result<PublishOutcome>> {
  const { channel, event, data, idempotencyKey } = input;
  const { projectId } = scope;
  const { publisher } = services;
  const from = senderOf(scope);
  const message = { event, data, ...(from !== undefined && { from }), ...(input.userId !== undefined && { userId: input.userId }) };
  const id = publisher.stamp().id;
  if (idempotencyKey !== undefined) {
    // Checked before the key is claimed: a message that cannot be sent must not hold its key.
    const fits = channel ? publisher.check(channel, message) : publisher.prepare(undefined, message, id);
    if (!fits.ok) return fits;
    // The store's clock, as its expiry check: the wall clock.
    const expiresAt = Math.floor(Date.now() / 1000) + IDEMPOTENCY_WINDOW_SECONDS;
    const first = await services.publishes.claim(projectId, idempotencyKey, id, expiresAt);
    if (first !== undefined) return ok(await repeated(first, services));
    const progress = { delivering: false };
    try {
      const result = await deliverOne(input, message, id, scope, services, mayQueue, progress);
      // Nothing delivered (no such connection, say): the key is free again, for the retry that fixes it.
      if (!result.ok) await services.publishes.release(projectId, idempotencyKey, id);
      return result;
    } catch (error) {
      // Failed before anything was sent (a throttled read, say): free for the retry. Once sending
      // began, a retry could deliver twice: the key stays taken.
      if (!progress.delivering) await services.publishes.release(projectId, idempotencyKey, id).catch(() => undefined);
      throw error;
    }
  }
  return deliverOne(input, message, id, scope, services, mayQueue, { delivering: false });
}

/** The delivery of one publish, its idempotency key (if any) already claimed. */
async function deliverOne(
  input: PublishInput,
  message: { event: string; data?: unknown; from?: string; userId?: string },
  id: string,
  scope: Scope,
  services: Services,
  mayQueue: boolean,
  /** Set once sending may have begun. */
  progress: { delivering: boolean },
): Promise<Result<PublishOutcome>> {
  const { channel, connectionId, event, retain, idempotencyKey } = input;
  const { projectId } = scope;
  const { publisher, bigChannels } = services;
  const base = { id, projectId, ...(channel ? { channel } : { connectionId }), event, createdAt: new Date().toISOString() };
  if (!channel) {
    progress.delivering = true;
    const sent = await publisher.toConnection(projectId, connectionId!, message, id);
    if (sent.ok) await afterDelivery(services, 'record publish', () => remember(idempotencyKey, base, sent.value, services));
    return sent;
  }
  const probe = await bigChannels.probe(projectId, channel, services.backgroundFanoutAbove);
  if (!probe.small && mayQueue && !retain) {
    const prepared = await publisher.prepareForChannel(projectId, channel, message, id);
    if (!prepared.ok) return prepared;
    progress.delivering = true;
    await bigChannels.start({ ...base, queued: probe.count }, prepared.value.body, input.exclude);
    if (isCacheChannel(channel)) await cacheLast(services, projectId, channel, prepared.value.delivered);
    return ok({ id, queued: probe.count, ...positionOf(prepared.value.delivered) });
  }
  const exclude = input.exclude === undefined ? undefined : new Set([input.exclude]);
  progress.delivering = true;
  const result = await publisher.toChannel(projectId, channel, message, { id, exclude, ...(probe.small && { recipients: probe.ids }) });
  if (!result.ok) return result;
  const { delivered, ...published } = result.value;
  if (retain) await afterDelivery(services, 'retain', () => services.retention.retain(projectId, channel, delivered));
  else if (isCacheChannel(channel)) await cacheLast(services, projectId, channel, delivered);
  await afterDelivery(services, 'record publish', () => remember(idempotencyKey, base, published, services));
  return ok(published);
}

/** A cache channel keeps its last event for 30 minutes, as its retained message (one write per publish). */
function cacheLast(services: Services, projectId: string, channel: string, delivered: Delivered): Promise<void> {
  return afterDelivery(services, 'cache', () => services.retention.retain(projectId, channel, delivered, services.now() + CACHE_TTL_MS));
}

/** What a repeated idempotency key answers: the first publish's id and, once known, its outcome. */
async function repeated(firstId: string, services: Services): Promise<PublishOutcome> {
  const record = await services.publishes.get(firstId);
  if (!record) return { id: firstId, sent: 0, failed: 0, stale: 0, duplicate: true };
  const { sent, failed, stale, queued, done } = record;
  return done ? { id: firstId, sent, failed, stale, duplicate: true } : { id: firstId, queued, duplicate: true };
}

type RecordBase = Omit<PublishRecord, 'queued' | 'sent' | 'failed' | 'stale' | 'done' | 'pending'>;

/** Keeps a delivered publish's outcome where a repeat of its idempotency key can find it. */
async function remember(key: string | undefined, base: RecordBase, counts: FanoutCounts, services: Services) {
  if (key === undefined) return;
  const { sent, failed, stale } = counts;
  await services.publishes.put({ ...base, queued: sent + failed + stale, sent, failed, stale, done: true });
}

/** Work after a delivery: a failure is logged, never answered as a 5xx the caller would retry (and so deliver twice). */
async function afterDelivery(services: Services, what: string, work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch (error) {
    services.logger.error('after delivery: failed', { what, error: error as Error });
  }
}

/**
 * Publishes in order, a bad item failing alone, and counts the call once: one metric and one usage
 * record however many messages and deliveries.
 */
async function publishAll(
  inputs: readonly Result<PublishInput>[],
  scope: Scope,
  services: Services,
  mayQueue: boolean,
): Promise<Result<PublishOutcome>[]> {
  const results: Result<PublishOutcome>[] = [];
  for (const input of inputs) {
    try {
      results.push(input.ok ? await publishOne(input.value, scope, services, mayQueue) : input);
    } catch (error) {
      // Once an earlier item was delivered, a 5xx would have the caller repeat it: this item fails alone.
      if (!results.some((result) => result.ok)) throw error;
      services.logger.error('batch item failed', { error: error as Error });
      results.push({ ok: false, error: failure(ErrorCode.internalError) });
    }
  }
  const published = results.flatMap((result) => (result.ok && !('duplicate' in result.value) ? [result.value] : []));
  if (published.length > 0) {
    services.telemetry.published(transportOf(scope), published.length);
    const deliveries = published.reduce((sum, p) => sum + ('sent' in p ? p.sent : 0), 0);
    await afterDelivery(services, 'usage', () => services.projects.record(scope.projectId, { requests: published.length, deliveries }));
  }
  return results;
}

/** One message, to a channel (a big one in the background) or one connection. */
export const publish = operation<PublishInput, PublishOutcome>({
  name: 'publish',
  callers: ['backend', 'connection'],
  access: ACCESS.publish((input: PublishInput) => input),
  cost: FLAT,
  async run(input, scope, services) {
    if (input.channel) services.telemetry.annotate({ channel: input.channel });
    const [result] = await publishAll([ok(input)], scope, services, true);
    return result;
  },
});

/** A Pusher client event: a `client-*` event on a private or presence channel the sender has joined. */
export interface ClientEventInput {
  readonly channel: string;
  readonly event: string;
  readonly data?: unknown;
}

/**
 * A Pusher client event, delivered as any publish (to native subscribers too) but never back to its
 * sender, and on a presence channel with the sender's user. Paid from the connection's rate limit
 * like every frame (Pusher allows 10 a second; the project's `rateLimit` says here).
 */
export const clientEvent = operation<ClientEventInput, PublishOutcome & { readonly webhooks?: number }>({
  name: 'client event',
  callers: ['connection'],
  access: ACCESS.clientEvent,
  // Each webhook that asks for client events makes a request of it: the sender pays one message each.
  cost: { before: 1, after: (sent) => sent.webhooks ?? 0 },
  async run(input, scope, services) {
    if (scope.caller.kind !== 'connection') return fail(ErrorCode.invalidRequest);
    const { connection } = scope.caller;
    services.telemetry.annotate({ channel: input.channel });
    const presence = (await services.namespaces.of(scope.projectId, input.channel)).presence;
    const [result] = await publishAll(
      [
        ok({
          ...input,
          exclude: connection.connectionId,
          ...(presence && connection.userId !== undefined && { userId: connection.userId }),
        }),
      ],
      scope,
      services,
      true,
    );
    if (result.ok) {
      const userId = presence ? connection.userId : undefined;
      const webhooks = await services.lifecycle.clientEvent(scope.projectId, {
        channel: input.channel,
        event: input.event,
        data: typeof input.data === 'string' ? input.data : JSON.stringify(input.data ?? null),
        socketId: pusherSocketId(connection.connectionId),
        ...(userId !== undefined && { userId }),
      });
      if (webhooks > 0) return ok({ ...result.value, webhooks });
    }
    return result;
  },
});

/** The most messages one batch holds (AppSync Events takes 5, Pusher 10). */
export interface BatchInput {
  readonly projectId?: string;
  /** Each message as parsed: one that did not parse fails alone. */
  readonly messages: readonly Result<PublishInput>[];
}

/** Up to 25 messages in order, each delivered inside the request; a bad one fails alone and the rest are delivered. */
export const publishBatch = operation<BatchInput, Result<PublishOutcome>[]>({
  name: 'publish batch',
  callers: ['backend'],
  access: ACCESS.project((input) => input.projectId),
  cost: FLAT,
  async run({ messages }, scope, services) {
    const inputs = messages.map((message) =>
      message.ok && message.value.projectId !== undefined && message.value.projectId !== scope.projectId
        ? fail<PublishInput>(ErrorCode.invalidProject, 'Give projectId once, at the top of the batch')
        : message,
    );
    return ok(await publishAll(inputs, scope, services, false));
  },
});

/** Pusher's trigger: events, each to one or more channels, optionally skipping one connection. */
export interface TriggerInput {
  readonly events: readonly {
    readonly event: string;
    readonly data: unknown;
    readonly channels: readonly string[];
    readonly exclude?: string;
  }[];
}

/**
 * Several events to several channels (Pusher's `events` and `batch_events`): every message is
 * checked before any is delivered, so a refusal never follows a partial delivery; big channels go
 * to the background like any publish.
 */
export const trigger = operation<TriggerInput, { published: number }>({
  name: 'trigger',
  callers: ['backend'],
  access: ACCESS.project(() => undefined),
  cost: FLAT,
  async run({ events }, scope, services) {
    const inputs = events.flatMap(({ event, data, channels, exclude }) =>
      channels.map((channel) => ({ channel, event, data, ...(exclude && { exclude }) })),
    );
    for (const input of inputs) {
      const fits = services.publisher.check(input.channel, { event: input.event, data: input.data });
      if (!fits.ok) return fits;
    }
    const results = await publishAll(inputs.map(ok), scope, services, true);
    const refused = results.find((result) => !result.ok);
    return refused && !refused.ok ? refused : ok({ published: results.length });
  },
});

/** A routed message between typed clients (a frame with no `action`): fire-and-forget. */
export const route = operation<RoutedFrame, FanoutCounts>({
  name: 'route',
  callers: ['connection'],
  access: ACCESS.publish((_: RoutedFrame) => ({})),
  cost: FLAT,
  async run(frame, scope, services) {
    if (scope.caller.kind !== 'connection') return fail(ErrorCode.invalidRequest);
    const result = await routeMessage(scope.caller.connection, frame, services.publisher);
    if (!result.ok) return result;
    services.telemetry.published('WebSocket');
    await services.projects.record(scope.projectId, { requests: 1, deliveries: result.value.sent });
    return result;
  },
});
