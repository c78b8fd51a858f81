/**
 * Project API keys: created, listed and revoked by the master key. Keys are random (192 bits) and
 * shown once; what is stored is their SHA-256 (to check a presented key) and the key sealed with
 * the deployment's sealing secret (to verify the client tokens it signs). A project holds at most
 * two at once, so a key can be replaced without downtime: create the new one, deploy it, revoke the old.
 */
import { randomBytes } from 'node:crypto';
import { MAX_KEYS_PER_PROJECT } from '../contract/tables';
import { hashKey, secretsEqual } from './secrets';
import type { KeySealer } from './sealing';
import { keyPrefixOf, SigningKey } from './tokens';
import type { ApiKeyRecord, ApiKeyStore } from '../ports';
import { ErrorCode, Result, fail, ok, projectNotFound } from '../protocol';

/** Recognisable in logs, configs and secret scanners. */
export const API_KEY_PREFIX = 'rbk_';

export function generateApiKey(): string {
  return `${API_KEY_PREFIX}${randomBytes(24).toString('base64url')}`;
}

/** Creates, lists and revokes project keys, and finds the key a presented secret or a token's `kid` names. */
export class ApiKeys {
  constructor(
    private readonly store: ApiKeyStore,
    private readonly sealer: KeySealer,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new key for the project (its first or second); the key itself is in the result and nowhere else. */
  async create(projectId: string, description: string): Promise<Result<ApiKeyRecord & { apiKey: string }>> {
    let apiKey = generateApiKey();
    // A prefix is 48 random bits: a clash is all but impossible, and cheap to rule out.
    while ((await this.store.withPrefix(keyPrefixOf(apiKey))).length > 0) apiKey = generateApiKey();
    const keyPrefix = keyPrefixOf(apiKey);
    const record: ApiKeyRecord = { projectId, keyPrefix, description, createdAt: new Date(this.now()).toISOString(), signsTokens: true };
    const sealedKey = await this.sealer.seal(apiKey, projectId, keyPrefix);
    if (!(await this.store.add({ ...record, keyHash: hashKey(apiKey), sealedKey }))) {
      return fail(
        ErrorCode.keyExists,
        `Project ${projectId} already holds ${MAX_KEYS_PER_PROJECT} keys; revoke one (DELETE /api-keys/${projectId}/{keyPrefix}) first`,
      );
    }
    return ok({ ...record, apiKey });
  }

  list(): Promise<ApiKeyRecord[]> {
    return this.store.list();
  }

  /** The project's keys, oldest first. */
  async of(projectId: string): Promise<Result<ApiKeyRecord[]>> {
    const keys = await this.store.ofProject(projectId);
    if (keys.length === 0) return projectNotFound(projectId);
    return ok(keys.map(({ keyHash: _, sealedKey: __, ...record }) => record).sort((a, b) => a.createdAt.localeCompare(b.createdAt)));
  }

  /** Revokes one key (by prefix) or, without one, every key of the project; returns those revoked. */
  async revoke(projectId: string, keyPrefix?: string): Promise<Result<ApiKeyRecord[]>> {
    const keys = await this.of(projectId);
    if (!keys.ok) return keys;
    const chosen = keyPrefix === undefined ? keys.value : keys.value.filter((key) => key.keyPrefix === keyPrefix);
    if (chosen.length === 0) return fail(ErrorCode.keyNotFound, `Project ${projectId} has no key ${keyPrefix}`);
    const removed = await Promise.all(chosen.map((key) => this.store.remove(projectId, key.keyPrefix)));
    return ok(chosen.filter((_, i) => removed[i]));
  }

  /** The project a presented key belongs to, if it is a current key. */
  async projectOf(presented: string): Promise<string | undefined> {
    const keyHash = hashKey(presented);
    const candidates = await this.store.withPrefix(keyPrefixOf(presented));
    const match = candidates.find((key) => secretsEqual(key.keyHash, keyHash));
    return match ? match.projectId : this.store.legacyProjectForHash(keyHash);
  }

  /** The project of the current key with this prefix (a Pusher app key), if there is one. */
  async projectOfPrefix(keyPrefix: string): Promise<string | undefined> {
    return (await this.store.withPrefix(keyPrefix))[0]?.projectId;
  }

  /** Whether the project holds any key. */
  async hasKeys(projectId: string): Promise<boolean> {
    return (await this.store.ofProject(projectId)).length > 0;
  }

  /** The key a project's webhooks are signed with (Pusher's app key and secret): its oldest current key. */
  async webhookKey(projectId: string): Promise<SigningKey | undefined> {
    const keys = (await this.store.ofProject(projectId)).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    for (const key of keys) {
      if (!key.sealedKey) continue;
      const apiKey = await this.sealer.unseal(key.sealedKey, key.projectId, key.keyPrefix);
      if (apiKey !== undefined) return { projectId, keyPrefix: key.keyPrefix, apiKey };
    }
    return undefined;
  }

  /** The key a client token's `kid` names, unsealed, if it is current and signs tokens. */
  async signingKey(kid: string): Promise<SigningKey | undefined> {
    for (const key of await this.store.withPrefix(kid)) {
      if (!key.sealedKey) continue;
      const apiKey = await this.sealer.unseal(key.sealedKey, key.projectId, key.keyPrefix);
      if (apiKey !== undefined) return { projectId: key.projectId, keyPrefix: key.keyPrefix, apiKey };
    }
    return undefined;
  }
}
