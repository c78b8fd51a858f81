/**
 * Who is asking: the master key (any project) or one project's key, and the user a connect token
 * names. Privileges come from these credentials only, never from what a client claims.
 */
import { DEFAULT_PROJECT_ID } from '../contract/limits';
import type { KeySource } from '../ports';
import { ErrorCode, Result, fail, ok } from '../protocol';
import { API_KEY_PREFIX, ApiKeys } from './api-keys';
import { secretsEqual } from './secrets';
import { ClientGrant, verifyClientToken } from './tokens';

/** Who made a request: the master key (any project) or one project's key. */
export type Principal = { readonly kind: 'master' } | { readonly kind: 'project'; readonly projectId: string };

/** Whether a principal may act on a project. */
export const mayAccess = (principal: Principal, projectId: string): boolean =>
  principal.kind === 'master' || principal.projectId === projectId;

export class Authorizer {
  private readonly master: AccessKeyVerifier;

  constructor(
    masterKey: KeySource,
    private readonly keys: ApiKeys,
    private readonly maxTokenTtl: (projectId: string) => Promise<number>,
    private readonly now: () => number = Date.now,
  ) {
    this.master = new AccessKeyVerifier(masterKey);
  }

  /** What a client token grants, if a current key of its project signed it. The master key never signs tokens. */
  verifyToken(token: string): Promise<Result<ClientGrant>> {
    return verifyClientToken(token, {
      keyFor: (kid) => this.keys.signingKey(kid),
      maxTtlSeconds: this.maxTokenTtl,
      nowSeconds: Math.floor(this.now() / 1000),
    });
  }

  /** The principal a presented key stands for, or undefined if it is no valid key. */
  async identify(presented: string | undefined): Promise<Principal | undefined> {
    if (!presented) return undefined;
    if (presented.startsWith(API_KEY_PREFIX)) {
      const projectId = await this.keys.projectOf(presented);
      if (projectId) return { kind: 'project', projectId };
    }
    return (await this.master.verify(presented)) ? { kind: 'master' } : undefined;
  }
}

/**
 * The project a principal acts on: the one it asked for, else its own (a project key) or
 * `default` (the master key); `unauthorized` if it may not act there.
 */
export function resolveProject(principal: Principal, requested: string | undefined): Result<string> {
  const projectId = requested ?? (principal.kind === 'project' ? principal.projectId : DEFAULT_PROJECT_ID);
  return mayAccess(principal, projectId)
    ? ok(projectId)
    : fail(
        ErrorCode.unauthorized,
        `This key is project ${principal.kind === 'project' ? principal.projectId : '?'}'s: a project key acts on its own project only`,
      );
}

export interface AccessKeyVerifierOptions {
  /** At most one forced refetch per this interval, so bad keys cannot hammer Secrets Manager. @default 30000 */
  readonly refetchIntervalMs?: number;
  readonly now?: () => number;
}

/**
 * Checks presented keys against the current access key, and the previous one while the source
 * still offers it. On a mismatch it refetches the key (at most once per interval) before
 * rejecting, so a rotated secret works without a redeploy.
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
    // After a rotation, the previous key keeps working for the grace window the source allows.
    const previous = await this.source.previous?.();
    if (previous !== undefined && secretsEqual(presented, previous)) return true;
    const now = this.now();
    if (now - this.lastRefetch < this.refetchIntervalMs) return false;
    this.lastRefetch = now;
    return secretsEqual(presented, await this.source.get({ forceRefresh: true }));
  }
}
