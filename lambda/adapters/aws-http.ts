/**
 * Signed AWS requests without an SDK client: SigV4 (`sigv4.ts`) with Node's own hashing, sent over
 * a keep-alive pool of sockets per endpoint (`http1-pool.ts`). For the calls a fan-out makes
 * thousands of times, where the SDK's middleware stack costs 5–20× the CPU (see the bench).
 */
import { createHash } from 'node:crypto';
import { markTemporary, retrying } from '../contract/retry';
import { Http1Pool, NoResponseError } from './http1-pool';
import { AwsCredentials, RequestSigner } from './sigv4';

export type { AwsCredentials };
export { NoResponseError };

/** The execution role's credentials, as the Lambda runtime puts them in the environment. */
export function credentialsFromEnv(env: Record<string, string | undefined> = process.env): AwsCredentials {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken } = env;
  if (!accessKeyId || !secretAccessKey) throw new Error('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set');
  return { accessKeyId, secretAccessKey, ...(sessionToken && { sessionToken }) };
}

export const sha256Hex = (body: string): string => createHash('sha256').update(body, 'utf8').digest('hex');

export interface AwsHttpOptions {
  /** `https://host[:port][/base path]`; the base path is prefixed to every request's path. */
  readonly endpoint: string;
  readonly service: string;
  readonly region: string;
  readonly credentials: AwsCredentials;
  /** Sockets kept open to the endpoint. @default 256 */
  readonly maxSockets?: number;
  /** Headers every request carries and signs, names in lower case (default `content-type: application/json`). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface AwsResponse {
  readonly status: number;
  readonly body: string;
  /** AWS's error name (`x-amzn-ErrorType`, without its `:…` suffix), when the answer is an error. */
  readonly errorType?: string;
}

export class AwsHttp {
  private readonly url: URL;
  private readonly basePath: string;
  private readonly signer: RequestSigner;
  /** The fixed headers, signed on every request, as the start of each request's head. */
  private readonly fixedHead: string;
  private readonly pool: Http1Pool;

  constructor(options: AwsHttpOptions) {
    this.url = new URL(options.endpoint);
    this.basePath = this.url.pathname.replace(/\/$/, '');
    const headers = { host: this.url.host, 'content-type': 'application/json', ...options.headers };
    this.signer = new RequestSigner({ ...options, headers });
    this.fixedHead = Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    this.pool = new Http1Pool(this.url, { maxSockets: options.maxSockets ?? 256 });
  }

  /**
   * Signs and sends one request; resolves with any answer, rejects with {@link NoResponseError}
   * when there is none within `timeoutMs` (counted from when the request has a socket).
   * `bodyHash` (hex SHA-256 of the body) saves hashing a body sent many times.
   */
  async request(method: string, path: string, options: { body?: string; bodyHash?: string; timeoutMs: number }): Promise<AwsResponse> {
    const body = options.body ?? '';
    const fullPath = `${this.basePath}${path}`;
    let head = `${method} ${fullPath} HTTP/1.1\r\n${this.fixedHead}`;
    for (const [name, value] of Object.entries(this.signer.sign(method, fullPath, options.bodyHash ?? sha256Hex(body))))
      head += `${name}: ${value}\r\n`;
    head += `content-length: ${Buffer.byteLength(body, 'utf8')}\r\n\r\n`;
    const answer = await this.pool.request(head, body, options.timeoutMs);
    const errorType = answer.headers['x-amzn-errortype'];
    return { status: answer.status, body: answer.body, ...(errorType !== undefined && { errorType: errorType.split(':')[0] }) };
  }

  /** Closes the kept-alive sockets (tests and the local stack's shutdown). */
  destroy(): void {
    this.pool.destroy();
  }
}

/** An AWS API's refusal, by its error name (`ResourceNotFoundException`, …); never its body. */
export class AwsError extends Error {
  constructor(
    readonly errorType: string,
    readonly status: number,
  ) {
    super(`AWS answered ${status} ${errorType}`);
    this.name = 'AwsError';
    // Throttling and the service's own failures pass; anything else is an answer.
    if (status === 429 || status >= 500 || THROTTLING.has(errorType)) markTemporary(this);
  }
}

/**
 * One call to an AWS JSON API that is not on the hot path (Lambda Invoke, Secrets Manager), with
 * what the SDK would do for it: throttling (429 or a throttling error name), 5xx, timeouts and network failures get three attempts
 * with jittered backoff; another non-2xx throws {@link AwsError}.
 */
export async function callAws(
  http: AwsHttp,
  method: string,
  path: string,
  body: string,
  options: { attempts?: number; timeoutMs?: number; sleep?: (ms: number) => Promise<void> } = {},
): Promise<AwsResponse> {
  return retrying(
    async () => {
      const answer = await http.request(method, path, { body, timeoutMs: options.timeoutMs ?? 5000 });
      if (answer.status < 300) return answer;
      throw new AwsError(answer.errorType ?? errorTypeOf(answer.body) ?? 'UnknownError', answer.status);
    },
    { attempts: options.attempts ?? 3, backoff: AWS_CALL_BACKOFF, sleep: options.sleep },
  );
}

/** As the SDK's standard retry strategy: 100 ms base, full jitter. */
const AWS_CALL_BACKOFF = { baseMs: 100, maxMs: 20_000 };

/** Throttling some services answer with 400, as the SDK's retry strategy knows. */
const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
]);

/** JSON protocols name the error in the body too: `__type` (`prefix#Name`) or `Type`. */
function errorTypeOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { __type?: unknown };
    return typeof parsed.__type === 'string' ? parsed.__type.split('#').pop() : undefined;
  } catch {
    return undefined;
  }
}
