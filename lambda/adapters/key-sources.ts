import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { KeySource } from '../ports';

/**
 * The access key from Secrets Manager, cached in memory by Powertools Parameters for
 * `cacheSeconds`. The secret holds the key as a plain string.
 */
export class SecretsManagerKeySource implements KeySource {
  private readonly provider: SecretsProvider;

  constructor(
    private readonly secretId: string,
    client: SecretsManagerClient,
    private readonly cacheSeconds: number,
  ) {
    this.provider = new SecretsProvider({ awsSdkV3Client: client });
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
