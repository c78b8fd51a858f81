/**
 * Publishing: builds the delivered message (id, timestamp, sender), checks it fits API Gateway's
 * limit, fans it out, and purges connections that turned out to be gone.
 */
import { randomUUID } from 'node:crypto';
import { fanOut, onePage } from './fanout';
import type { Membership } from './membership';
import type { ConnectionStore, Delivery, SubscriptionStore } from './ports';
import { Delivered, ErrorCode, FanoutCounts, MAX_MESSAGE_BYTES, Result, byteLength, fail, ok } from './protocol';

export interface PublisherDependencies {
  readonly connections: ConnectionStore;
  readonly subscriptions: SubscriptionStore;
  readonly delivery: Delivery;
  readonly membership: Membership;
  readonly concurrency: number;
  readonly newId?: () => string;
  readonly now?: () => number;
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

export class Publisher {
  private readonly newId: () => string;
  private readonly now: () => number;

  constructor(private readonly deps: PublisherDependencies) {
    this.newId = deps.newId ?? randomUUID;
    this.now = deps.now ?? Date.now;
  }

  /** Sends to every subscriber of a project's channel, the sender included if subscribed. */
  async toChannel(projectId: string, channel: string, message: Message): Promise<Result<Published>> {
    const envelope = this.envelope({ channel, ...message });
    if (!envelope.ok) return envelope;
    const { id, body } = envelope.value;
    const result = await fanOut(
      this.deps.subscriptions.subscribers(projectId, channel),
      body,
      this.deps.delivery,
      this.deps.concurrency,
    );
    await this.purge(result.gone, (connectionId) => ({ projectId, channel, connectionId }));
    return ok({ id, sent: result.sent, failed: result.failed, stale: result.gone.length });
  }

  /** Sends to one connection of the project; `connection_not_found` if it is not there. */
  async toConnection(projectId: string, connectionId: string, message: Message): Promise<Result<Published>> {
    const envelope = this.envelope(message);
    if (!envelope.ok) return envelope;
    const target = await this.deps.connections.get(connectionId);
    // Another project's connection is reported exactly like a missing one: nothing leaks across projects.
    if (!target || target.projectId !== projectId) return notFound(connectionId);
    const { id, body } = envelope.value;
    const result = await fanOut(onePage([connectionId]), body, this.deps.delivery, 1);
    if (result.gone.length > 0) {
      await this.purge(result.gone);
      return notFound(connectionId);
    }
    return ok({ id, sent: result.sent, failed: result.failed, stale: 0 });
  }

  private envelope(message: Message & { channel?: string }): Result<{ id: string; body: string }> {
    const delivered: Delivered = {
      id: this.newId(),
      timestamp: new Date(this.now()).toISOString(),
      ...(message.channel !== undefined && { channel: message.channel }),
      event: message.event,
      data: message.data ?? null,
      ...(message.from !== undefined && { from: message.from }),
    };
    const body = JSON.stringify(delivered);
    const size = byteLength(body);
    if (size > MAX_MESSAGE_BYTES) {
      return fail(
        ErrorCode.payloadTooLarge,
        `Message is ${size} bytes with its envelope; API Gateway delivers at most ${MAX_MESSAGE_BYTES}`,
      );
    }
    return ok({ id: delivered.id, body });
  }

  private async purge(
    gone: readonly string[],
    foundThrough?: (connectionId: string) => { projectId: string; channel: string; connectionId: string },
  ): Promise<void> {
    await Promise.all(gone.map((connectionId) => this.deps.membership.disconnect(connectionId, foundThrough?.(connectionId))));
  }
}

const notFound = (connectionId: string): Result<never> =>
  fail(ErrorCode.connectionNotFound, `No connection ${connectionId} in this project`);
