/**
 * Project keys sealed for storage: AES-256-GCM under a key derived from the deployment's sealing
 * secret, bound to the key's project and prefix. The server needs the project key itself to verify
 * the client tokens it signs (HS256); sealing means that reading the table is not enough to mint
 * tokens — the sealing secret, in Secrets Manager, is needed too.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { KeySource } from '../ports';

const VERSION = 's1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Unsealed keys kept in memory, so verifying a token costs no decryption; bounded against floods. */
const MAX_CACHED = 1_000;

/** What a sealed key is bound to: it cannot be moved to another project's item or slot. */
const context = (projectId: string, keyPrefix: string) => Buffer.from(`${projectId}\n${keyPrefix}`, 'utf8');

export class KeySealer {
  private readonly cache = new Map<string, string>();

  constructor(private readonly secret: KeySource) {}

  async seal(apiKey: string, projectId: string, keyPrefix: string): Promise<string> {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', await this.key(), iv);
    cipher.setAAD(context(projectId, keyPrefix));
    const sealed = Buffer.concat([cipher.update(apiKey, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${VERSION}.${iv.toString('base64url')}.${sealed.toString('base64url')}`;
  }

  /** The key, or undefined if the seal is not intact or not for this project and prefix. */
  async unseal(sealed: string, projectId: string, keyPrefix: string): Promise<string | undefined> {
    const cacheKey = `${projectId}\n${keyPrefix}\n${sealed}`;
    const cached = this.cache.get(cacheKey);
    if (cached !== undefined) return cached;
    const [version, iv, body] = sealed.split('.');
    if (version !== VERSION || !iv || !body) return undefined;
    const bytes = Buffer.from(body, 'base64url');
    if (bytes.length <= TAG_BYTES) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', await this.key(), Buffer.from(iv, 'base64url'));
      decipher.setAAD(context(projectId, keyPrefix));
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      const apiKey = Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - TAG_BYTES)), decipher.final()]).toString('utf8');
      if (this.cache.size >= MAX_CACHED) this.cache.clear();
      this.cache.set(cacheKey, apiKey);
      return apiKey;
    } catch {
      return undefined;
    }
  }

  /** The AES key: SHA-256 of the secret, so any secret string of enough entropy serves. */
  private async key(): Promise<Buffer> {
    return createHash('sha256')
      .update(await this.secret.get(), 'utf8')
      .digest();
  }
}
