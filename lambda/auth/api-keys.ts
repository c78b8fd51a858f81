/**
 * Project API keys and who a presented key or connect token belongs to. Keys are random
 * (192 bits) and shown once; only their SHA-256 is stored.
 */
import { randomBytes } from 'node:crypto';
import { AccessKeyVerifier, hashKey } from './secrets';
import type { ApiKeyRecord, ApiKeyStore, KeySource } from '../ports';
import { ErrorCode, Result, fail, ok } from '../protocol';
import { tokenSigningKey, verifyConnectToken } from './tokens';

/** Recognisable in logs, configs and secret scanners. */
export const API_KEY_PREFIX = 'rbk_';
const PREFIX_SHOWN = API_KEY_PREFIX.length + 8;


export function generateApiKey(): string {
  return `${API_KEY_PREFIX}${randomBytes(24).toString('base64url')}`;
}

/** Who made a request: the master key (any project) or one project's key. */
export type Principal = { readonly kind: 'master' } | { readonly kind: 'project'; readonly projectId: string };

/** Whether a principal may act on a project. */
export const mayAccess = (principal: Principal, projectId: string): boolean =>
  principal.kind === 'master' || principal.projectId === projectId;

export class Authorizer {
  private readonly master: AccessKeyVerifier;

  constructor(
    private readonly masterKey: KeySource,
    private readonly keys: ApiKeyStore,
    private readonly now: () => number = Date.now,
  ) {
    this.master = new AccessKeyVerifier(masterKey);
  }

  /** The user a connect token names, if the project's key or the master key signed it. */
  async verifyToken(token: string, projectId: string): Promise<Result<string>> {
    const [projectHash, master] = await Promise.all([this.keys.hashOf(projectId), this.masterKey.get()]);
    const signingKeys = [...(projectHash ? [projectHash] : []), tokenSigningKey(master)];
    return verifyConnectToken(token, signingKeys, Math.floor(this.now() / 1000));
  }

  /** The principal a presented key stands for, or undefined if it is no valid key. */
  async identify(presented: string | undefined): Promise<Principal | undefined> {
    if (!presented) return undefined;
    if (presented.startsWith(API_KEY_PREFIX)) {
      const projectId = await this.keys.projectForHash(hashKey(presented));
      if (projectId) return { kind: 'project', projectId };
    }
    return (await this.master.verify(presented)) ? { kind: 'master' } : undefined;
  }
}

/** Creates, lists and revokes project keys. */
export class ApiKeys {
  constructor(
    private readonly store: ApiKeyStore,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new key for a project that has none; the key itself is in the result and nowhere else. */
  async create(projectId: string, description: string): Promise<Result<ApiKeyRecord & { apiKey: string }>> {
    const apiKey = generateApiKey();
    const record: ApiKeyRecord = {
      projectId,
      keyPrefix: apiKey.slice(0, PREFIX_SHOWN),
      description,
      createdAt: new Date(this.now()).toISOString(),
    };
    if (!(await this.store.create(record, hashKey(apiKey)))) {
      return fail(ErrorCode.keyExists, `Project ${projectId} already has a key; revoke it (DELETE /api-keys/${projectId}) to issue a new one`);
    }
    return ok({ ...record, apiKey });
  }

  list(): Promise<ApiKeyRecord[]> {
    return this.store.list();
  }

  async get(projectId: string): Promise<Result<ApiKeyRecord>> {
    const record = await this.store.get(projectId);
    return record ? ok(record) : projectNotFound(projectId);
  }

  async revoke(projectId: string): Promise<Result<{ projectId: string }>> {
    return (await this.store.delete(projectId)) ? ok({ projectId }) : projectNotFound(projectId);
  }
}

export const projectNotFound = (projectId: string): Result<never> =>
  fail(ErrorCode.projectNotFound, `No project ${projectId}`);
