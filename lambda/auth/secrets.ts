import { createHash, timingSafeEqual } from 'node:crypto';
import type { KeySource } from '../ports';

/** Compares two secrets in constant time, whatever their lengths (hashing first equalises them). */
export function secretsEqual(a: string, b: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * SHA-256 (hex) of a key: what is stored for project keys, and the HMAC key for connect tokens.
 * A fast hash is enough: these keys are random, so unlike passwords they cannot be guessed from a list.
 */
export const hashKey = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

export interface AccessKeyVerifierOptions {
  /** At most one forced refetch per this interval, so bad keys cannot hammer Secrets Manager. @default 30000 */
  readonly refetchIntervalMs?: number;
  readonly now?: () => number;
}

/**
 * Checks presented keys against the current access key. On a mismatch it refetches the key (at
 * most once per interval) before rejecting, so a rotated secret works without a redeploy.
 */
export class AccessKeyVerifier {
  private lastRefetch = Number.NEGATIVE_INFINITY;
  private readonly refetchIntervalMs: number;
  private readonly now: () => number;

  constructor(
    private readonly source: KeySource,
    options: AccessKeyVerifierOptions = {},
  ) {
    this.refetchIntervalMs = options.refetchIntervalMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  async verify(presented: string | undefined): Promise<boolean> {
    if (!presented) return false;
    if (secretsEqual(presented, await this.source.get())) return true;
    const now = this.now();
    if (now - this.lastRefetch < this.refetchIntervalMs) return false;
    this.lastRefetch = now;
    return secretsEqual(presented, await this.source.get({ forceRefresh: true }));
  }
}
