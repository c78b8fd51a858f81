/**
 * Delivery over API Gateway's `@connections` API with signed requests on a keep-alive pool
 * (`aws-http.ts`): `POST` sends, `DELETE` closes. 410 is `gone`; throttling (429), 5xx, timeouts
 * and network failures are retried with jittered backoff; any other answer is `failed`.
 */
import { backoffDelay, isTemporary, sleep } from '../contract/retry';
import type { Delivery, DeliveryOutcome } from '../ports';
import { AwsHttp, sha256Hex } from './aws-http';

export interface ConnectionsApiOptions {
  /** Attempts per message for throttling, 5xx, timeouts and network failures, when no deadline is given. @default 3 */
  readonly attempts?: number;
  /** The longest wait between attempts. @default 1000 */
  readonly maxDelayMs?: number;
  /** Backoff base; attempt n waits a random time up to base × 2ⁿ (full jitter). @default 50 */
  readonly baseDelayMs?: number;
  /** A hung attempt is abandoned after this long. @default 1000 */
  readonly attemptTimeoutMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

const retryable = (status: number) => status === 429 || status >= 500;
/** `@connections/{id}`: ids are base64-like, so `=`, `+` and `/` are escaped as the SDK does. */
const pathOf = (connectionId: string) => `/@connections/${encodeURIComponent(connectionId)}`;

export class ConnectionsApiDelivery implements Delivery {
  private readonly attempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly attemptTimeoutMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  /**
   * The last two bodies posted and their hashes: a fan-out posts one body to every subscriber (two
   * on a channel with Pusher subscribers too), each hashed once.
   */
  private last = { body: '', hash: sha256Hex('') };
  private previous = this.last;

  constructor(
    private readonly http: AwsHttp,
    options: ConnectionsApiOptions = {},
  ) {
    this.attempts = options.attempts ?? 3;
    this.baseDelayMs = options.baseDelayMs ?? 50;
    this.maxDelayMs = options.maxDelayMs ?? 1000;
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? 1000;
    this.sleep = options.sleep ?? sleep;
    this.random = options.random ?? Math.random;
  }

  post(connectionId: string, message: string, deadline?: number): Promise<DeliveryOutcome> {
    if (this.last.body !== message) {
      const known = this.previous.body === message ? this.previous : { body: message, hash: sha256Hex(message) };
      this.previous = this.last;
      this.last = known;
    }
    return this.withRetries('POST', connectionId, { body: message, bodyHash: this.last.hash }, deadline);
  }

  close(connectionId: string): Promise<DeliveryOutcome> {
    return this.withRetries('DELETE', connectionId, {});
  }

  /**
   * Throttling (429) is retried until the deadline when there is one: it is the account's shared
   * budget running out, it passes, and giving up would lose the message. Server errors, timeouts
   * and network failures get a few attempts: a connection that keeps failing is not waited for.
   */
  private async withRetries(
    method: string,
    connectionId: string,
    payload: { body?: string; bodyHash?: string },
    deadline?: number,
  ): Promise<DeliveryOutcome> {
    let failures = 0;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) {
        const wait = backoffDelay(attempt, { baseMs: this.baseDelayMs, maxMs: this.maxDelayMs }, this.random);
        if (deadline !== undefined && Date.now() + wait + this.attemptTimeoutMs > deadline) return 'deferred';
        await this.sleep(wait);
      }
      let throttled = false;
      try {
        const { status } = await this.http.request(method, pathOf(connectionId), { ...payload, timeoutMs: this.attemptTimeoutMs });
        if (status >= 200 && status < 300) return 'sent';
        if (status === 410) return 'gone';
        if (!retryable(status)) return 'failed';
        throttled = status === 429;
      } catch (error) {
        if (!isTemporary(error)) throw error;
      }
      if ((!throttled || deadline === undefined) && ++failures >= this.attempts) return 'failed';
    }
  }
}
