/**
 * One retry policy for everything that waits and tries again — `@connections` posts, AWS calls,
 * DynamoDB's unprocessed batch items, a big channel's failed reads, the welcome message — and one
 * way to say an error is worth trying again: a `temporary` flag set where the error is met (by the
 * adapter that knows the service), read wherever it is handled. Pure code, no dependencies.
 */

/** Exponential backoff with full jitter: attempt n waits a random time up to min(maxMs, baseMs × 2ⁿ). */
export interface Backoff {
  readonly baseMs: number;
  readonly maxMs: number;
}

/** How long to wait before retry `attempt` (1 for the first retry). */
export function backoffDelay(attempt: number, policy: Backoff, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(policy.maxMs, policy.baseMs * 2 ** attempt));
}

/** The same without jitter: for waits that must grow steadily (a connection not open yet). */
export const backoffCeiling = (attempt: number, policy: Backoff): number => Math.min(policy.maxMs, policy.baseMs * 2 ** attempt);

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** An error a caller may retry later without changing anything: throttling, a 5xx, no answer. */
export interface TemporaryError {
  readonly temporary: true;
}

/** Whether an error was marked temporary where it was met. */
export const isTemporary = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && (error as Partial<TemporaryError>).temporary === true;

/** Marks an error temporary (and returns it, to throw). */
export function markTemporary<E>(error: E): E {
  if (typeof error === 'object' && error !== null)
    Object.defineProperty(error, 'temporary', { value: true, enumerable: false, configurable: true });
  return error;
}

/**
 * Runs `attempt` until it succeeds, at most `attempts` times, waiting between tries while the error
 * is temporary; throws the last error (or a lasting one at once).
 */
export async function retrying<T>(
  attempt: (n: number) => Promise<T>,
  options: {
    readonly attempts: number;
    readonly backoff: Backoff;
    readonly sleep?: (ms: number) => Promise<void>;
    readonly retryable?: (error: unknown) => boolean;
  },
): Promise<T> {
  const retryable = options.retryable ?? isTemporary;
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      if (n >= options.attempts || !retryable(error)) throw error;
      await (options.sleep ?? sleep)(backoffDelay(n, options.backoff));
    }
  }
}
