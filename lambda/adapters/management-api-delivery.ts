import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { ApiGatewayManagementApiClient, DeleteConnectionCommand, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Delivery, DeliveryOutcome } from '../ports';

export interface DeliveryOptions {
  /** Attempts per message for throttling (429), 5xx and timeouts. @default 3 */
  readonly attempts?: number;
  /** Backoff base; attempt n waits a random time up to base × 2ⁿ (full jitter). @default 50 */
  readonly baseDelayMs?: number;
  /** Each attempt is aborted after this long. @default 3000 */
  readonly timeoutMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

/** Sockets per endpoint; the SDK's default of 50 would queue a large fan-out behind itself. */
export const MAX_SOCKETS = 256;

const clients = new Map<string, ApiGatewayManagementApiClient>();

/**
 * One Management API client per endpoint for the life of the execution environment, with
 * keep-alive and more sockets than the SDK default. Retries are ours (see {@link ManagementApiDelivery}).
 */
export function managementClientFor(
  endpoint: string,
  extra: Partial<ConstructorParameters<typeof ApiGatewayManagementApiClient>[0]> = {},
): ApiGatewayManagementApiClient {
  let client = clients.get(endpoint);
  if (!client) {
    const agentOptions = { keepAlive: true, maxSockets: MAX_SOCKETS };
    client = new ApiGatewayManagementApiClient({
      endpoint,
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler({
        httpAgent: new HttpAgent(agentOptions),
        httpsAgent: new HttpsAgent(agentOptions),
      }),
      ...extra,
    });
    clients.set(endpoint, client);
  }
  return client;
}

const statusOf = (error: unknown): number | undefined =>
  (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;

const isGone = (error: unknown) => (error as Error)?.name === 'GoneException' || statusOf(error) === 410;

/** Throttling, server errors, timeouts and network failures may pass; 4xx other than 429 will not. */
const isRetryable = (error: unknown): boolean => {
  const status = statusOf(error);
  if (status === undefined) return true;
  return status === 429 || status >= 500;
};

/** Delivers with `PostToConnection`: 410 is `gone`, retryable failures are retried with backoff, the rest `failed`. */
export class ManagementApiDelivery implements Delivery {
  private readonly attempts: number;
  private readonly baseDelayMs: number;
  private readonly timeoutMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(
    private readonly client: ApiGatewayManagementApiClient,
    options: DeliveryOptions = {},
  ) {
    this.attempts = options.attempts ?? 3;
    this.baseDelayMs = options.baseDelayMs ?? 50;
    this.timeoutMs = options.timeoutMs ?? 3000;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
  }

  post(connectionId: string, message: string): Promise<DeliveryOutcome> {
    return this.withRetries(new PostToConnectionCommand({ ConnectionId: connectionId, Data: message }));
  }

  /** Closes a connection with `DeleteConnection`: `sent` when closed, `gone` if it already was. */
  close(connectionId: string): Promise<DeliveryOutcome> {
    return this.withRetries(new DeleteConnectionCommand({ ConnectionId: connectionId }));
  }

  private async withRetries(command: PostToConnectionCommand | DeleteConnectionCommand): Promise<DeliveryOutcome> {
    for (let attempt = 0; attempt < this.attempts; attempt++) {
      if (attempt > 0) await this.sleep(Math.floor(this.random() * this.baseDelayMs * 2 ** attempt));
      try {
        // The client's requestTimeout is not honoured for this call; without a signal a stuck
        // request would hold the fan-out until the Lambda times out.
        await this.client.send(command as PostToConnectionCommand, { abortSignal: AbortSignal.timeout(this.timeoutMs) });
        return 'sent';
      } catch (error) {
        if (isGone(error)) return 'gone';
        if (!isRetryable(error)) return 'failed';
      }
    }
    return 'failed';
  }
}
