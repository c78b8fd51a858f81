/**
 * System messages about who is connected: `connected` to each new connection, and `client_left`
 * to the project's typed clients when one goes.
 *
 * `connected` cannot be posted from `$connect` (API Gateway answers 410 until `$connect` returns),
 * so `$connect` hands it to a background task — on AWS an asynchronous invocation of this same
 * function — which posts it, retrying while the connection is not open yet.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { outbound, pusherOut } from '../protocol';
import type { ChannelFanout, GoneConnection } from './fanout';
import { INTERNAL } from './internal-channels';
import { backoffCeiling, sleep } from '../contract/retry';
import type { AsyncInvoker, ConnectionRecord, Delivery, DeliveryOutcome } from '../ports';
import type { WelcomeTask } from '../tasks';
import { claimTask, Holder } from './task-lease';

export interface PresenceDependencies {
  /** Only channel fan-out: `client_left` goes to the project's typed clients. */
  readonly fanout: Pick<ChannelFanout, 'toChannel'>;
  readonly delivery: Pick<Delivery, 'post' | 'close'>;
  readonly invoker: AsyncInvoker;
  readonly logger: Logger;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** How long the welcome keeps retrying a connection that is not open yet. @default 10000 */
  readonly welcomeDeadlineMs?: number;
}

/** How long a refused Pusher connection's error waits for API Gateway to open it (it opens within milliseconds). */
const REFUSAL_DEADLINE_MS = 3_000;

/** A connection not open yet is tried again soon, then less often: 25 ms doubling to 1 s. */
const WELCOME_BACKOFF = { baseMs: 25, maxMs: 1000 };

export class Presence {
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly deps: PresenceDependencies) {
    this.now = deps.now ?? Date.now;
    this.sleep = deps.sleep ?? sleep;
  }

  /** Asks for the `connected` message to be sent once `$connect` has returned. Never fails `$connect`; says whether it was asked. */
  async scheduleWelcome(task: WelcomeTask): Promise<boolean> {
    try {
      await this.deps.invoker.invoke(task);
      return true;
    } catch (error) {
      this.deps.logger.warn('welcome not scheduled', { connectionId: task.connectionId, error: error as Error });
      return false;
    }
  }

  /**
   * Posts `connected`, retrying with backoff while API Gateway still answers 410 — once, however
   * often Lambda runs the task: its record in the ledger keeps a duplicate from posting again.
   * Throws if the connection could not be reached (Lambda retries the task).
   */
  async welcome(task: WelcomeTask, holder: Holder): Promise<DeliveryOutcome | 'duplicate'> {
    const key = `welcome#${task.connectionId}`;
    const claim = await claimTask(holder, key, 0);
    if (claim.kind !== 'claimed') return 'duplicate';
    const message =
      task.protocol !== 'pusher'
        ? JSON.stringify(outbound.connected(task, task.clientCount, this.timestamp()))
        : task.refusal
          ? pusherOut.error(task.refusal.code, task.refusal.message)
          : pusherOut.connectionEstablished(task.connectionId);
    // A refusal waits less for the connection to open: it costs its caller nothing, so it is kept cheap.
    const waitMs = task.refusal ? REFUSAL_DEADLINE_MS : (this.deps.welcomeDeadlineMs ?? 10_000);
    const deadline = Math.min(this.now() + waitMs, holder.deadline - 1_000);
    let outcome: DeliveryOutcome;
    for (let attempt = 0; ; attempt++) {
      const delay = backoffCeiling(attempt, WELCOME_BACKOFF);
      outcome = await this.deps.delivery.post(task.connectionId, message, deadline);
      // Gone before the deadline means "not open yet"; after it, the client really left.
      if (outcome !== 'gone' || this.now() + delay > deadline) break;
      await this.sleep(delay);
    }
    if (task.refusal) {
      // Told or not, a refused connection goes now: it is not worth a retry a minute later.
      await holder.ledger.end(key, holder.owner, outcome, {
        sent: outcome === 'sent' ? 1 : 0,
        failed: outcome === 'sent' ? 0 : 1,
        stale: 0,
      });
      if (outcome !== 'gone') await this.deps.delivery.close(task.connectionId);
      return outcome;
    }
    if (outcome === 'failed' || outcome === 'deferred') {
      await holder.ledger.release(key, holder.owner);
      throw new Error(`welcome: ${task.connectionId} could not be reached (${outcome})`);
    }
    await holder.ledger.end(key, holder.owner, outcome, { sent: outcome === 'sent' ? 1 : 0, failed: 0, stale: outcome === 'gone' ? 1 : 0 });
    return outcome;
  }

  /**
   * Tells the project's remaining typed clients that a typed client left. Returns those found
   * gone on the way, for the caller to purge.
   */
  async left(connection: ConnectionRecord): Promise<readonly GoneConnection[]> {
    const { clientType } = connection;
    if (!clientType) return [];
    const body = JSON.stringify(outbound.clientLeft({ ...connection, clientType }, this.timestamp()));
    const reached = await this.deps.fanout.toChannel(connection.projectId, INTERNAL.typed, body, new Set([connection.connectionId]));
    return reached.gone;
  }

  private timestamp(): string {
    return new Date(this.now()).toISOString();
  }
}
