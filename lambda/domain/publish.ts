/**
 * Publishing: builds the delivered message (id, timestamp, sender), checks it fits API Gateway's
 * limit, fans it out, and purges connections that turned out to be gone.
 */
import { randomUUID } from 'node:crypto';
import pLimit from 'p-limit';
import { fanOut, FanoutResult, onePage } from './fanout';
import type { Membership } from './membership';
import type { ConnectionStore, Delivery, SubscriptionStore } from '../ports';
import { Delivered, ErrorCode, FanoutCounts, MAX_MESSAGE_BYTES, Result, byteLength, fail, ok } from '../protocol';

export interface PublisherDependencies {
  readonly connections: ConnectionStore;
  readonly subscriptions: SubscriptionStore;
  readonly delivery: Delivery;
  readonly membership: Membership;
  readonly concurrency: number;
  readonly newId?: () => string;
  readonly now?: () => number;
  /** Told of every fan-out, for metrics. */
  readonly observe?: (fanout: FanoutCounts & { durationMs: number }) => void;
}

export interface Message {
  readonly event: string;
  readonly data?: unknown;
  /** The sending connection, when published over WebSocket. */
  readonly from?: string;
}

export interface Published extends FanoutCounts {
  readonly id: string;
}

/** Purges of gone connections run a few at a time: each is a delete and a batch write. */
const PURGE_CONCURRENCY = 8;

export class Publisher {
  readonly newId: () => string;
  readonly now: () => number;

  constructor(private readonly deps: PublisherDependencies) {
    this.newId = deps.newId ?? randomUUID;
    this.now = deps.now ?? Date.now;
  }

  /** Sends to every subscriber of a project's channel, the sender included if subscribed. */
  async toChannel(projectId: string, channel: string, message: Message): Promise<Result<Published & { delivered: Delivered }>> {
    const delivered = this.envelope({ channel, ...message });
    const body = serialize(delivered);
    if (!body.ok) return body;
    const counts = await this.deliverToChannel(projectId, channel, body.value);
    return ok({ id: delivered.id, delivered, ...counts });
  }

  /** Sends to one connection of the project; `connection_not_found` if it is not there. */
  async toConnection(projectId: string, connectionId: string, message: Message): Promise<Result<Published>> {
    const delivered = this.envelope(message);
    const body = serialize(delivered);
    if (!body.ok) return body;
    const counts = await this.deliverToConnection(projectId, connectionId, body.value);
    return counts.ok ? ok({ id: delivered.id, ...counts.value }) : counts;
  }

  /** Fans a ready message out to a channel's subscribers, skipping `exclude`. */
  async deliverToChannel(projectId: string, channel: string, body: string, exclude?: ReadonlySet<string>): Promise<FanoutCounts> {
    const subscribers = this.deps.subscriptions.subscribers(projectId, channel);
    const result = await this.fanOut(exclude ? without(subscribers, exclude) : subscribers, body, this.deps.concurrency);
    await this.purge(result.gone, (connectionId) => ({ projectId, channel, connectionId }));
    return { sent: result.sent, failed: result.failed, stale: result.gone.length };
  }

  /** Sends a ready message to one connection of the project. */
  async deliverToConnection(projectId: string, connectionId: string, body: string): Promise<Result<FanoutCounts>> {
    const target = await this.deps.connections.get(connectionId);
    // Another project's connection is reported exactly like a missing one: nothing leaks across projects.
    if (!target || target.projectId !== projectId) return notFound(connectionId);
    const result = await this.fanOut(onePage([connectionId]), body, 1);
    if (result.gone.length > 0) {
      await this.purge(result.gone);
      return notFound(connectionId);
    }
    return ok({ sent: result.sent, failed: result.failed, stale: 0 });
  }

  /** A message's id and timestamp, given to everything delivered. */
  stamp(): { id: string; timestamp: string } {
    return { id: this.newId(), timestamp: new Date(this.now()).toISOString() };
  }

  /** Fans out and reports how it went to `observe`. */
  private async fanOut(recipients: AsyncIterable<readonly string[]>, body: string, concurrency: number): Promise<FanoutResult> {
    const started = performance.now();
    const result = await fanOut(recipients, body, this.deps.delivery, concurrency);
    const durationMs = Math.round(performance.now() - started);
    this.deps.observe?.({ sent: result.sent, failed: result.failed, stale: result.gone.length, durationMs });
    return result;
  }

  private envelope(message: Message & { channel?: string }): Delivered {
    return {
      ...this.stamp(),
      ...(message.channel !== undefined && { channel: message.channel }),
      event: message.event,
      data: message.data ?? null,
      ...(message.from !== undefined && { from: message.from }),
    };
  }

  private async purge(
    gone: readonly string[],
    foundThrough?: (connectionId: string) => { projectId: string; channel: string; connectionId: string },
  ): Promise<void> {
    const limit = pLimit(PURGE_CONCURRENCY);
    await Promise.all(
      gone.map((connectionId) =>
        limit(() => this.deps.membership.disconnect(connectionId, foundThrough?.(connectionId))),
      ),
    );
  }
}

/** Serializes a message, failing if API Gateway could not deliver it. */
export function serialize(message: object): Result<string> {
  const body = JSON.stringify(message);
  const size = byteLength(body);
  if (size > MAX_MESSAGE_BYTES) {
    return fail(ErrorCode.payloadTooLarge, `Message is ${size} bytes with its envelope; API Gateway delivers at most ${MAX_MESSAGE_BYTES}`);
  }
  return ok(body);
}

async function* without(pages: AsyncIterable<readonly string[]>, exclude: ReadonlySet<string>): AsyncIterable<readonly string[]> {
  for await (const page of pages) {
    const kept = page.filter((id) => !exclude.has(id));
    if (kept.length > 0) yield kept;
  }
}

const notFound = (connectionId: string): Result<never> =>
  fail(ErrorCode.connectionNotFound, `No connection ${connectionId} in this project`);
