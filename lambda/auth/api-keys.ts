/**
 * Project API keys: created, listed and revoked by the master key. Keys are random (192 bits) and
 * shown once; only their SHA-256 is stored.
 */
import { randomBytes } from 'node:crypto';
import { hashKey } from './secrets';
import type { ApiKeyRecord, ApiKeyStore } from '../ports';
import { ErrorCode, Result, fail, ok, projectNotFound } from '../protocol';

/** Recognisable in logs, configs and secret scanners. */
export const API_KEY_PREFIX = 'rbk_';
const PREFIX_SHOWN = API_KEY_PREFIX.length + 8;


export function generateApiKey(): string {
  return `${API_KEY_PREFIX}${randomBytes(24).toString('base64url')}`;
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
