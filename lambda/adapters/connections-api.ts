/**
 * Delivery over API Gateway's `@connections` API with signed requests on a keep-alive pool
 * (`aws-http.ts`): `POST` sends, `DELETE` closes. 410 is `gone`; throttling (429), 5xx, timeouts
 * and network failures are retried with jittered backoff; any other answer is `failed`.
 */
import type { Delivery, DeliveryOutcome } from '../ports';
import { AwsHttp, NoResponseError, sha256Hex } from './aws-http';

export interface ConnectionsApiOptions {
  /** Attempts per message for throttling, 5xx, timeouts and network failures. @default 3 */
  readonly attempts?: number;
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
  private readonly attemptTimeoutMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  /** The last body posted and its hash: a fan-out posts one body to every subscriber, hashed once. */
  private last = { body: '', hash: sha256Hex('') };

  constructor(
    private readonly http: AwsHttp,
    options: ConnectionsApiOptions = {},
  ) {
    this.attempts = options.attempts ?? 3;
    this.baseDelayMs = options.baseDelayMs ?? 50;
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? 1000;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
  }

  post(connectionId: string, message: string): Promise<DeliveryOutcome> {
    if (this.last.body !== message) this.last = { body: message, hash: sha256Hex(message) };
    return this.withRetries('POST', connectionId, { body: message, bodyHash: this.last.hash });
  }

  close(connectionId: string): Promise<DeliveryOutcome> {
    return this.withRetries('DELETE', connectionId, {});
  }

  private async withRetries(method: string, connectionId: string, payload: { body?: string; bodyHash?: string }): Promise<DeliveryOutcome> {
    for (let attempt = 0; attempt < this.attempts; attempt++) {
      if (attempt > 0) await this.sleep(Math.floor(this.random() * this.baseDelayMs * 2 ** attempt));
      try {
        const { status } = await this.http.request(method, pathOf(connectionId), { ...payload, timeoutMs: this.attemptTimeoutMs });
        if (status >= 200 && status < 300) return 'sent';
        if (status === 410) return 'gone';
        if (!retryable(status)) return 'failed';
      } catch (error) {
        if (!(error instanceof NoResponseError)) throw error;
      }
    }
    return 'failed';
  }
}
