/**
 * Client tokens: what a browser or device presents to connect. A JWT (HS256) that the project's
 * backend signs with its project key — the raw key string as the HMAC secret, so any JWT library
 * can sign one — with the header's `kid` naming the key by its `keyPrefix`.
 *
 * Claims: `sub` (the user, required), `exp` (required; at most the project's `maxTokenTtlSeconds`
 * away), `iat`, and optionally `channels` (patterns of private-/presence- channels it may join),
 * `publish` (patterns it may send to), `info` (≤ 1 KB of JSON about the user) and `monitor`
 * (`true`: copies of every routed message). A pattern is a name, `*` matching any run of characters.
 *
 * @example
 * const token = await signClientToken({ sub: 'alice', channels: ['private-user-alice'] }, { apiKey, keyPrefix }, 3600);
 * new WebSocket(url, ['rb.v1', `rb.token.${token}`]);
 */
import { SignJWT, decodeProtectedHeader, jwtVerify, errors } from 'jose';
import * as z from 'zod/mini';
import { API_KEY_PREFIX_LENGTH } from '../contract/limits';
import { ErrorCode, Result, fail, ok } from '../protocol';

const ALGORITHM = 'HS256';
/** A JWT longer than this is refused unread: it could only be padding. */
export const MAX_TOKEN_CHARS = 4096;
export const MAX_INFO_BYTES = 1024;
const MAX_PATTERNS = 32;
/** Clocks differ: a token a few seconds early or late is still good. */
const CLOCK_TOLERANCE_SECONDS = 30;

const pattern = z
  .string()
  .check(z.regex(/^[A-Za-z0-9_\-=@,.;:/*]{1,128}$/, { error: 'patterns are 1-128 characters of a channel name or *' }));
const patterns = z.optional(z.array(pattern).check(z.maxLength(MAX_PATTERNS, { error: `at most ${MAX_PATTERNS} patterns` })));

const claimsSchema = z.object({
  sub: z.string().check(z.minLength(1), z.maxLength(256, { error: 'sub must be at most 256 characters' })),
  exp: z.number(),
  channels: patterns,
  publish: patterns,
  info: z.optional(z.record(z.string(), z.unknown())),
  monitor: z.optional(z.boolean()),
  /** An observer watches presence channels without joining their members (the debug console). */
  observe: z.optional(z.boolean()),
});

export type ClientClaims = Omit<z.infer<typeof claimsSchema>, 'exp'>;

/** What a verified token lets its connection do. */
export interface ClientGrant {
  readonly userId: string;
  readonly projectId: string;
  /** The key that signed it: revoking that key closes the connection. */
  readonly keyPrefix: string;
  readonly channels: readonly string[];
  readonly publish: readonly string[];
  readonly info?: Record<string, unknown>;
  readonly monitor: boolean;
  readonly observe: boolean;
  /** When the token expires (epoch seconds): the connection it let in is restricted after. */
  readonly expiresAt: number;
}

/** A project key able to sign tokens, as the verifier needs it. */
export interface SigningKey {
  readonly projectId: string;
  readonly keyPrefix: string;
  readonly apiKey: string;
}

export async function signClientToken(
  claims: ClientClaims,
  key: Pick<SigningKey, 'apiKey' | 'keyPrefix'>,
  ttlSeconds: number,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<string> {
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT', kid: key.keyPrefix })
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + ttlSeconds)
    .sign(new TextEncoder().encode(key.apiKey));
}

/** The `keyPrefix` of a project key: what a token's `kid` carries. */
export const keyPrefixOf = (apiKey: string): string => apiKey.slice(0, API_KEY_PREFIX_LENGTH);

export interface VerifyOptions {
  /** The key a `kid` names, if it exists and signs tokens. */
  readonly keyFor: (kid: string) => Promise<SigningKey | undefined>;
  /** The longest lifetime the key's project accepts. */
  readonly maxTtlSeconds: (projectId: string) => Promise<number>;
  readonly nowSeconds: number;
}

/** What a token grants, if a current key of its project signed it and it is in date and well-formed. */
export async function verifyClientToken(token: string, options: VerifyOptions): Promise<Result<ClientGrant>> {
  const invalid = (why: string) => fail<ClientGrant>(ErrorCode.invalidToken, `Invalid token: ${why}`);
  if (token.length > MAX_TOKEN_CHARS) return invalid(`longer than ${MAX_TOKEN_CHARS} characters`);
  let kid: unknown;
  try {
    const header = decodeProtectedHeader(token);
    // Checked before any key is looked up: `alg: none` and public-key algorithms never get that far.
    if (header.alg !== ALGORITHM) return invalid(`alg must be ${ALGORITHM}`);
    kid = header.kid;
  } catch {
    return invalid('not a JWT');
  }
  if (typeof kid !== 'string' || kid.length !== API_KEY_PREFIX_LENGTH) return invalid('kid must be the signing key’s keyPrefix');
  const key = await options.keyFor(kid);
  if (!key) return invalid('no current key of any project has this kid (revoked?)');

  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(token, new TextEncoder().encode(key.apiKey), {
      algorithms: [ALGORITHM],
      requiredClaims: ['sub', 'exp'],
      currentDate: new Date(options.nowSeconds * 1000),
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    }));
  } catch (error) {
    if (error instanceof errors.JWTExpired) return invalid('expired');
    if (error instanceof errors.JWSSignatureVerificationFailed) return invalid('bad signature');
    if (error instanceof errors.JWTClaimValidationFailed) return invalid(error.message);
    return invalid('malformed');
  }
  const claims = claimsSchema.safeParse(payload);
  if (!claims.success) return invalid(claims.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
  const { sub, exp, channels = [], publish = [], info, monitor = false, observe = false } = claims.data;
  const maxTtl = await options.maxTtlSeconds(key.projectId);
  if (exp - options.nowSeconds > maxTtl + CLOCK_TOLERANCE_SECONDS) {
    return invalid(`expires more than ${maxTtl} s from now, the project's maximum`);
  }
  if (info !== undefined && Buffer.byteLength(JSON.stringify(info), 'utf8') > MAX_INFO_BYTES) {
    return invalid(`info is over ${MAX_INFO_BYTES} bytes of JSON`);
  }
  return ok({
    userId: sub,
    projectId: key.projectId,
    keyPrefix: key.keyPrefix,
    channels,
    publish,
    ...(info && { info }),
    monitor,
    observe,
    expiresAt: exp,
  });
}

/** Whether a name matches any of the patterns (`*` matches any run of characters, `private-*`). */
export function matchesAny(patterns: readonly string[], name: string): boolean {
  return patterns.some((p) => matchesPattern(p, name));
}

/**
 * Whether a name matches one pattern, in time linear in their lengths (a regular expression would
 * backtrack: `*a*a*a*a*b` against a long run of `a` takes seconds, and a tenant chooses patterns).
 * Split on `*`: the first part is a prefix, the last a suffix, and the parts between are found in
 * order, each as early as it occurs — the earliest place never rules out a later match.
 */
export function matchesPattern(pattern: string, name: string): boolean {
  const parts = pattern.split('*');
  if (parts.length === 1) return pattern === name;
  const first = parts[0];
  const last = parts[parts.length - 1];
  if (name.length < first.length + last.length || !name.startsWith(first) || !name.endsWith(last)) return false;
  const end = name.length - last.length;
  let at = first.length;
  for (const part of parts.slice(1, -1)) {
    if (part === '') continue;
    const found = name.indexOf(part, at);
    if (found < 0 || found + part.length > end) return false;
    at = found + part.length;
  }
  return true;
}
