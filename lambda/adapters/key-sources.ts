import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { KeySource } from '../ports';

export interface SecretsManagerKeySourceOptions {
  /**
   * After a rotation, the `AWSPREVIOUS` version is accepted until the `AWSCURRENT` one is this
   * old, so clients holding the old key keep working while they are updated. 0 turns it off.
   */
  readonly graceSeconds?: number;
  readonly now?: () => number;
}

/**
 * A key from Secrets Manager, cached in memory by Powertools Parameters for `cacheSeconds`. The
 * secret holds the key as a plain string.
 */
export class SecretsManagerKeySource implements KeySource {
  private readonly provider: SecretsProvider;
  private readonly graceSeconds: number;
  private readonly now: () => number;
  private previousCache?: { value: string | undefined; until: number };

  constructor(
    private readonly secretId: string,
    private readonly client: SecretsManagerClient,
    private readonly cacheSeconds: number,
    options: SecretsManagerKeySourceOptions = {},
  ) {
    this.provider = new SecretsProvider({ awsSdkV3Client: client });
    this.graceSeconds = options.graceSeconds ?? 0;
    this.now = options.now ?? Date.now;
  }

  /** The `AWSPREVIOUS` version, if the current one was created less than the grace window ago. */
  async previous(): Promise<string | undefined> {
    if (this.graceSeconds <= 0) return undefined;
    const now = this.now();
    if (this.previousCache && this.previousCache.until > now) return this.previousCache.value;
    const current = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId, VersionStage: 'AWSCURRENT' }));
    const rotatedAt = current.CreatedDate?.getTime() ?? 0;
    let value: string | undefined;
    if (now - rotatedAt < this.graceSeconds * 1000) {
      try {
        const previous = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId, VersionStage: 'AWSPREVIOUS' }));
        value = previous.SecretString?.trim() || undefined;
      } catch (error) {
        // A secret never rotated has no AWSPREVIOUS version.
        if (!(error instanceof ResourceNotFoundException)) throw error;
      }
    }
    // Never cached past the end of the grace window.
    const until = Math.min(now + this.cacheSeconds * 1000, value !== undefined ? rotatedAt + this.graceSeconds * 1000 : Infinity);
    this.previousCache = { value, until };
    return value;
  }

  async get(options: { forceRefresh?: boolean } = {}): Promise<string> {
    const value = await this.provider.get(this.secretId, { maxAge: this.cacheSeconds, forceFetch: options.forceRefresh });
    if (typeof value !== 'string' || value.length === 0) {
      // Never include the value: this message may be logged.
      throw new Error('The access key secret is empty or not a string');
    }
    return value.trim();
  }
}

/** A key fixed at start-up: the local stack's `BROADCAST_ACCESS_KEY`, and tests. */
export class StaticKeySource implements KeySource {
  constructor(private readonly key: string) {}

  async get(): Promise<string> {
    return this.key;
  }
}
