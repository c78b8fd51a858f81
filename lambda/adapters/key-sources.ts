import type { KeySource } from '../ports';
import { AwsCredentials, AwsError, AwsHttp, callAws } from './aws-http';

export interface SecretsManagerKeySourceOptions {
  /**
   * After a rotation, the `AWSPREVIOUS` version is accepted until the `AWSCURRENT` one is this
   * old, so clients holding the old key keep working while they are updated. 0 turns it off.
   */
  readonly graceSeconds?: number;
  readonly now?: () => number;
}

interface SecretVersion {
  readonly value: string | undefined;
  /** When this version was created (epoch ms). */
  readonly createdAt: number;
}

/**
 * A key from Secrets Manager (`GetSecretValue`, a plain-string secret), cached in memory for
 * `cacheSeconds`. One signed request over {@link AwsHttp}: the SDK client and Powertools
 * Parameters would add ~20 KB to the bundle for this call, made once per container and cache period.
 */
export class SecretsManagerKeySource implements KeySource {
  private readonly graceSeconds: number;
  private readonly now: () => number;
  private currentCache?: { value: string; until: number };
  private previousCache?: { value: string | undefined; until: number };

  /** `http` signs for `secretsmanager` as `GetSecretValue` (see {@link secretsManagerHttp}). */
  constructor(
    private readonly secretId: string,
    private readonly http: AwsHttp,
    private readonly cacheSeconds: number,
    options: SecretsManagerKeySourceOptions = {},
  ) {
    this.graceSeconds = options.graceSeconds ?? 0;
    this.now = options.now ?? Date.now;
  }

  async get(options: { forceRefresh?: boolean } = {}): Promise<string> {
    const now = this.now();
    if (!options.forceRefresh && this.currentCache && this.currentCache.until > now) return this.currentCache.value;
    const { value } = await this.version('AWSCURRENT');
    if (value === undefined) {
      // Never include the value: this message may be logged.
      throw new Error('The access key secret is empty or not a string');
    }
    this.currentCache = { value, until: now + this.cacheSeconds * 1000 };
    return value;
  }

  /** The `AWSPREVIOUS` version, if the current one was created less than the grace window ago. */
  async previous(): Promise<string | undefined> {
    if (this.graceSeconds <= 0) return undefined;
    const now = this.now();
    if (this.previousCache && this.previousCache.until > now) return this.previousCache.value;
    const rotatedAt = (await this.version('AWSCURRENT')).createdAt;
    let value: string | undefined;
    if (now - rotatedAt < this.graceSeconds * 1000) {
      try {
        value = (await this.version('AWSPREVIOUS')).value;
      } catch (error) {
        // A secret never rotated has no AWSPREVIOUS version.
        if (!(error instanceof AwsError && error.errorType === 'ResourceNotFoundException')) throw error;
      }
    }
    // Never cached past the end of the grace window.
    const until = Math.min(now + this.cacheSeconds * 1000, value !== undefined ? rotatedAt + this.graceSeconds * 1000 : Infinity);
    this.previousCache = { value, until };
    return value;
  }

  private async version(stage: 'AWSCURRENT' | 'AWSPREVIOUS'): Promise<SecretVersion> {
    const answer = await callAws(this.http, 'POST', '/', JSON.stringify({ SecretId: this.secretId, VersionStage: stage }));
    const { SecretString: secret, CreatedDate: created } = JSON.parse(answer.body) as { SecretString?: unknown; CreatedDate?: unknown };
    return {
      value: typeof secret === 'string' && secret.trim() !== '' ? secret.trim() : undefined,
      // The JSON protocol sends timestamps as epoch seconds.
      createdAt: typeof created === 'number' ? created * 1000 : 0,
    };
  }
}

/** Secrets Manager in `region`, every request a `GetSecretValue`. */
export const secretsManagerHttp = (region: string, credentials: AwsCredentials, endpoint?: string) =>
  new AwsHttp({
    endpoint: endpoint ?? `https://secretsmanager.${region}.amazonaws.com`,
    service: 'secretsmanager',
    region,
    credentials,
    maxSockets: 4,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.GetSecretValue' },
  });

/** A key fixed at start-up: the local stack's `BROADCAST_ACCESS_KEY`, and tests. */
export class StaticKeySource implements KeySource {
  constructor(private readonly key: string) {}

  get(): Promise<string> {
    return Promise.resolve(this.key);
  }
}
