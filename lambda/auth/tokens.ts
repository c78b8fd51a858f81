/**
 * User identity a backend vouches for: a connect token `?token=`, signed with HMAC-SHA256.
 *
 * Format: `v1.<userId, base64url>.<expiry, epoch seconds>.<signature, base64url>`, where the
 * signature is HMAC-SHA256 over `v1.<userId, base64url>.<expiry>` and the HMAC key is the SHA-256
 * (hex) of the project's API key — or of the master key, which signs for any project. The server
 * stores only that hash, never the key, so it can check tokens without being able to sign as you
 * from a key it does not hold.
 *
 * @example
 * const token = signConnectToken({ userId: 'user-42', expiresAt: Math.floor(Date.now() / 1000) + 3600, apiKey });
 * new WebSocket(`${url}?token=${encodeURIComponent(token)}`);
 */
import { createHmac } from 'node:crypto';
import { hashKey, secretsEqual } from './secrets';
import { MAX_TOKEN_LIFETIME_SECONDS } from '../contract/limits';
import { ErrorCode, Result, fail, ok } from '../protocol';

const VERSION = 'v1';

/** The HMAC key for tokens: the SHA-256 (hex) of the API key, which is also what the server stores. */
export const tokenSigningKey = hashKey;

const signature = (signingKey: string, payload: string) => createHmac('sha256', signingKey).update(payload).digest('base64url');

export function signConnectToken(options: { userId: string; expiresAt: number; apiKey: string }): string {
  const payload = `${VERSION}.${Buffer.from(options.userId, 'utf8').toString('base64url')}.${options.expiresAt}`;
  return `${payload}.${signature(tokenSigningKey(options.apiKey), payload)}`;
}

/**
 * The user a token names, if one of `signingKeys` signed it and it has not expired. The keys
 * are SHA-256 hashes of API keys, as {@link tokenSigningKey} makes them.
 */
export function verifyConnectToken(token: string, signingKeys: readonly string[], nowSeconds: number): Result<string> {
  const invalid = (why: string) => fail<string>(ErrorCode.invalidToken, `Invalid token: ${why}`);
  const parts = token.split('.');
  if (parts.length !== 4 || parts[0] !== VERSION) return invalid('expected v1.<user>.<expiry>.<signature>');
  const [, user, expiry, presented] = parts;
  const expiresAt = Number(expiry);
  if (!/^\d{1,12}$/.test(expiry)) return invalid('expiry is not epoch seconds');
  if (expiresAt <= nowSeconds) return invalid('expired');
  if (expiresAt > nowSeconds + MAX_TOKEN_LIFETIME_SECONDS) return invalid('expires too far in the future (7 days at most)');
  const payload = `${VERSION}.${user}.${expiry}`;
  if (!signingKeys.some((key) => secretsEqual(signature(key, payload), presented))) return invalid('bad signature');
  const userId = Buffer.from(user, 'base64url').toString('utf8');
  if (userId.length === 0 || userId.length > 256) return invalid('user id must be 1-256 characters');
  return ok(userId);
}
