/**
 * Publishing from a backend (Node ≥ 18, Deno, Bun, workers: anything with `fetch`): `POST
 * /broadcast` with the project key, retried with capped, jittered backoff on 429, 5xx and network
 * failures. Every message carries an idempotency key (yours, or a new one), so a retry after an
 * answer that was lost never delivers twice.
 *
 * @example
 * const publisher = createPublisher({ url: 'https://abc.execute-api.eu-west-1.amazonaws.com', key: process.env.RB_KEY! });
 * await publisher.publish('chat:room-1', 'say', { text: 'hi' });
 */

/**
 * @example
 * createPublisher({ url: 'http://localhost:3000', key: process.env.RB_KEY!, attempts: 3 });
 */
export interface PublisherOptions {
  /** The HTTP API's base URL (`https://…amazonaws.com`, or `http://localhost:3000`). */
  readonly url: string;
  /** A project key (`rbk_…`) or the master key. */
  readonly key: string;
  /** With the master key: the project to publish to. */
  readonly projectId?: string;
  /** Attempts per call, the first included. @default 5 */
  readonly attempts?: number;
  /** Backoff: full jitter between 0 and min(max, initial × 2^attempt). @default { initialMs: 200, maxMs: 5000 } */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  readonly fetch?: typeof fetch;
}

/**
 * One message of a batch, or a publish's extras.
 * @example
 * await publisher.publishBatch([{ channel: 'news', event: 'update', data: { id: 1 } }]);
 */
export interface Publication {
  readonly channel?: string;
  readonly connectionId?: string;
  readonly event: string;
  readonly data?: unknown;
  readonly retain?: boolean;
  /** A repeat within 10 minutes answers the first publish instead of delivering again. @default a new random key */
  readonly idempotencyKey?: string;
}

/**
 * The answer to a publish.
 * @example
 * const { sent, offset } = await publisher.publish('chat:room-1', 'say', 'hi');
 */
export interface Published {
  readonly success: true;
  readonly id: string;
  readonly sent?: number;
  readonly failed?: number;
  readonly stale?: number;
  /** A big channel, published in the background (`GET /broadcast/{id}`). */
  readonly queued?: number;
  readonly offset?: number;
  readonly epoch?: string;
}

/**
 * An answer that will not change by retrying (400, 401, 403, 404, 413, …).
 * @example
 * try { await publisher.publish('news', 'e'); } catch (error) { if (error instanceof PublishError && error.status === 401) rotateKey(); }
 */
export class PublishError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'PublishError';
  }
}

const newKey = (): string => globalThis.crypto.randomUUID();

/**
 * A publisher for backends: see the module's description.
 * @example
 * const publisher = createPublisher({ url: process.env.RB_URL!, key: process.env.RB_KEY! });
 * await publisher.publish('news', 'update', { id: 1 });
 */
export function createPublisher(options: PublisherOptions) {
  const base = options.url.replace(/\/+$/, '');
  const doFetch = options.fetch ?? fetch;
  const attempts = options.attempts ?? 5;
  const { initialMs = 200, maxMs = 5000 } = options.backoff ?? {};

  /** Posts until answered, retrying what may pass later; resolves with the answer's body as `T`. */
  async function post<T>(body: object): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let status = 0;
      let answer: unknown;
      try {
        const response = await doFetch(`${base}/broadcast`, {
          method: 'POST',
          headers: { authorization: `Bearer ${options.key}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        status = response.status;
        answer = await response.json().catch(() => ({}));
      } catch (error) {
        if (attempt >= attempts) throw error;
      }
      if (status >= 200 && status < 300) return answer as T;
      const retryable = status === 0 || status === 429 || status >= 500;
      if (!retryable || attempt >= attempts) {
        // An error's body, if it has one: `{ error, code }` from the API, `{ message }` from API Gateway.
        const failed = answer as { code?: string; error?: string; message?: string } | undefined;
        throw new PublishError(status, failed?.code, failed?.error ?? failed?.message ?? `HTTP ${status}`);
      }
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(maxMs, initialMs * 2 ** attempt)));
    }
  }

  const withKey = (message: Publication) => ({ ...message, idempotencyKey: message.idempotencyKey ?? newKey() });

  return {
    /** Publishes one message; resolves with the counts (or `queued` for a big channel). */
    publish(
      channel: string,
      event: string,
      data?: unknown,
      extra: Omit<Publication, 'channel' | 'event' | 'data'> = {},
    ): Promise<Published> {
      return post<Published>({
        ...(options.projectId && { projectId: options.projectId }),
        ...withKey({ channel, event, data, ...extra }),
      });
    },
    /** Up to 25 messages in one request, in order; each result is its own (an item can fail alone). */
    async publishBatch(messages: readonly Publication[]): Promise<(Published | { error: string; code: string })[]> {
      const answer = await post<{ results: (Published | { error: string; code: string })[] }>({
        ...(options.projectId && { projectId: options.projectId }),
        messages: messages.map(withKey),
      });
      return answer.results;
    },
  };
}

/**
 * What `createPublisher` returns.
 * @example
 * const publisher: Publisher = createPublisher({ url, key });
 */
export type Publisher = ReturnType<typeof createPublisher>;
