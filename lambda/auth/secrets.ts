/** Secrets handled safely: constant-time comparison and the one-way hash stored for keys. */
import { createHash, timingSafeEqual } from 'node:crypto';

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
