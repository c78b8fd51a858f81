/**
 * API Gateway's throttles as token buckets: a steady rate and a burst. The local gateway keeps one
 * per stage (both APIs) and one for the account (everything, `@connections` included), so code that
 * never meets a 429 locally is not surprised by one on AWS.
 */
export interface ThrottleLimits {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly limits: ThrottleLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = limits.burstLimit;
    this.updatedAt = now();
  }

  /** Takes one request's token; false when over the limit. */
  take(): boolean {
    const now = this.now();
    this.tokens = Math.min(this.limits.burstLimit, this.tokens + ((now - this.updatedAt) / 1000) * this.limits.rateLimit);
    this.updatedAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** The buckets a request passes through, in order; false at the first that is empty (those before it are charged). */
export function admit(buckets: readonly (TokenBucket | undefined)[]): boolean {
  return buckets.every((bucket) => bucket === undefined || bucket.take());
}

/** A promise's value, or `'timeout'` if it takes longer than `ms` (the promise keeps running, as a Lambda does). */
export function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
