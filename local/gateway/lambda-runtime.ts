/**
 * Runs the handler the way Lambda does. Each invocation runs in a sandbox — an instance of the
 * handler with credentials of its own — reused while warm, with a fresh context and a deadline
 * that is enforced: at the function's timeout the invocation is abandoned and its sandbox ended,
 * its credentials revoked, so nothing it does afterwards reaches AWS (as a frozen, then recycled,
 * sandbox's work never does). Invocations run concurrently up to the function's concurrency.
 *
 * Asynchronous (`Event`) invocations are queued as Lambda queues them: started when concurrency
 * allows, retried after a function error or a timeout (twice, after a minute and two; the waits can
 * be scaled down for tests), optionally delivered twice (Lambda promises at-least-once), dropped
 * when older than the maximum event age or out of retries — and then handed to the failure
 * destination as Lambda's on-failure record.
 */
import { randomUUID } from 'node:crypto';
import { HANDLER_TIMEOUT_SECONDS } from '../../lambda/contract/limits';

/** The function behind the APIs: the same signature as a Lambda handler. */
export type LocalHandler = (event: unknown, context: LocalContext) => Promise<unknown>;

export interface LocalContext {
  readonly awsRequestId: string;
  readonly functionName: string;
  getRemainingTimeInMillis(): number;
}

/** One execution environment: a handler instance, and how to end it (its credentials stop working). */
export interface Sandbox {
  readonly id: string;
  readonly handler: LocalHandler;
  destroy(): void;
}

/** The local function's name (`AWS_LAMBDA_FUNCTION_NAME`), which background tasks invoke. */
export const LOCAL_FUNCTION_NAME = 'realtime-broadcast-local';
const FUNCTION_ARN = `arn:aws:lambda:us-east-1:000000000000:function:${LOCAL_FUNCTION_NAME}:$LATEST`;

/** Lambda's waits before an asynchronous event's second and third attempts. */
export const ASYNC_RETRY_DELAYS_MS = [60_000, 120_000] as const;
/** Lambda's default maximum event age: six hours. */
const DEFAULT_MAX_EVENT_AGE_MS = 6 * 60 * 60 * 1000;
/** The account's default concurrency. */
const ACCOUNT_CONCURRENCY = 1_000;

export interface LocalLambdaOptions {
  /** The function's timeout. @default 29000 (the construct's) */
  readonly timeoutMs?: number;
  /** Invocations at once: the function's reserved concurrency. @default 1000 (the account's) */
  readonly concurrency?: number;
  /** Retries of an asynchronous event after a failure (the function's asynchronous invocation config). @default 2 */
  readonly retries?: number;
  /** An asynchronous event not started by then is dropped. @default six hours */
  readonly maxEventAgeMs?: number;
  /** Scales Lambda's retry waits (one and two minutes): 0.01 makes them 0.6 s and 1.2 s. @default 1 */
  readonly retryDelayScale?: number;
  /** The chance each asynchronous event is delivered twice. @default 0 */
  readonly duplicateEvents?: number;
  /** The failure destination: each event Lambda gave up, as its on-failure record. */
  readonly onFailure?: (record: FailedInvocation) => void;
  /** Told of each failure the handler threw, which Lambda would log. */
  readonly onError?: (error: unknown) => void;
}

/** What Lambda sends an on-failure destination (SQS, EventBridge…) for an event it gave up. */
export interface FailedInvocation {
  readonly version: '1.0';
  readonly timestamp: string;
  readonly requestContext: {
    readonly requestId: string;
    readonly functionArn: string;
    readonly condition: 'RetriesExhausted' | 'EventAgeExceeded';
    readonly approximateInvokeCount: number;
  };
  readonly requestPayload: unknown;
  readonly responseContext?: { readonly statusCode: 200; readonly executedVersion: '$LATEST'; readonly functionError: 'Unhandled' };
  readonly responsePayload?: { readonly errorType: string; readonly errorMessage: string };
}

/** An invocation running now, for tests that kill one in the middle. */
export interface RunningInvocation {
  readonly requestId: string;
  readonly sandboxId: string;
  readonly event: unknown;
  /** 1 for the first attempt of an asynchronous event, 2 and 3 for its retries; 0 for a synchronous one. */
  readonly attempt: number;
}

/** How an invocation can end other than by its handler's answer. */
class InvocationFailure extends Error {
  constructor(
    readonly errorType: 'Sandbox.Timedout' | 'Runtime.ExitError' | 'TooManyRequestsException',
    message: string,
  ) {
    super(message);
    this.name = errorType;
  }
}

interface QueuedEvent {
  readonly payload: unknown;
  readonly requestId: string;
  readonly enqueuedAt: number;
  attempts: number;
  notBefore: number;
  lastError?: unknown;
}

interface Running extends RunningInvocation {
  readonly end: (failure: InvocationFailure) => void;
}

export class LocalLambda {
  private readonly idle: Sandbox[] = [];
  private readonly running = new Map<string, Running>();
  private readonly queue: QueuedEvent[] = [];
  /** Everything not finished yet — invocations, and events queued or waiting for a retry. */
  private readonly pending = new Set<Promise<unknown>>();
  private wake?: { timer: NodeJS.Timeout; at: number };
  private queueDrained?: () => void;
  private queueEmpty?: Promise<void>;
  private readonly timeoutMs: number;
  private readonly concurrency: number;
  private stopping = false;
  /** The chance each asynchronous event is delivered twice (tests change it as they go). */
  duplicateEvents: number;

  constructor(
    private readonly createSandbox: () => Sandbox,
    private readonly options: LocalLambdaOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? HANDLER_TIMEOUT_SECONDS * 1000;
    this.concurrency = options.concurrency ?? ACCOUNT_CONCURRENCY;
    this.duplicateEvents = options.duplicateEvents ?? 0;
  }

  /** One sandbox for every invocation, and nothing to revoke: for a handler that is a plain function. */
  static sharing(handler: LocalHandler, options?: LocalLambdaOptions): LocalLambda {
    return new LocalLambda(() => ({ id: 'shared', handler, destroy: () => undefined }), options);
  }

  /** A synchronous invocation, as API Gateway makes: refused at once (429) when concurrency is used up. */
  invoke(event: unknown): Promise<unknown> {
    if (this.running.size >= this.concurrency) {
      const throttled = new InvocationFailure('TooManyRequestsException', 'Rate Exceeded.');
      this.options.onError?.(throttled);
      return Promise.reject(throttled);
    }
    return this.track(this.run(event, randomUUID(), 0));
  }

  /** An asynchronous (`Event`) invocation: accepted (202), queued, and perhaps delivered twice. */
  invokeAsync(payload: unknown): void {
    const requestId = randomUUID();
    const copies = Math.random() < this.duplicateEvents ? 2 : 1;
    for (let i = 0; i < copies; i++) this.queue.push({ payload, requestId, enqueuedAt: Date.now(), attempts: 0, notBefore: Date.now() });
    this.queueEmpty ??= this.track(new Promise<void>((resolve) => (this.queueDrained = resolve)));
    // In its own turn, as an asynchronous invocation starts after the caller's answer.
    setImmediate(() => this.pump());
  }

  /** The invocations running now. */
  inFlight(): RunningInvocation[] {
    return [...this.running.values()].map(({ requestId, sandboxId, event, attempt }) => ({ requestId, sandboxId, event, attempt }));
  }

  /**
   * Ends the invocation running in a sandbox, as a timeout does (`timeout`) or as the runtime
   * process dying does (`crash`): abandoned, its sandbox ended, an asynchronous one retried.
   */
  kill(sandboxId: string, how: 'timeout' | 'crash'): boolean {
    const running = [...this.running.values()].find((r) => r.sandboxId === sandboxId);
    running?.end(
      how === 'timeout' ? this.timedOut() : new InvocationFailure('Runtime.ExitError', 'Runtime exited with error: signal: killed'),
    );
    return running !== undefined;
  }

  /** Resolves when nothing is in flight or queued: every invocation ended, every event run or given up. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /**
   * Stops retrying: events waiting for a retry are given up, failures from now on are not retried.
   * Running invocations and events due now still run (`settled` waits for them).
   */
  stopRetrying(): void {
    this.stopping = true;
    for (const queued of this.queue.filter((q) => q.attempts > 0)) this.giveUp(queued, 'RetriesExhausted');
    this.queue.splice(0, this.queue.length, ...this.queue.filter((q) => q.attempts === 0));
    this.pump();
  }

  /** Ends every idle sandbox (the stack has stopped). */
  stop(): void {
    this.stopRetrying();
    if (this.wake) clearTimeout(this.wake.timer);
    for (const sandbox of this.idle.splice(0)) sandbox.destroy();
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.pending.add(promise);
    void promise.then(
      () => this.pending.delete(promise),
      () => this.pending.delete(promise),
    );
    return promise;
  }

  private timedOut() {
    return new InvocationFailure('Sandbox.Timedout', `Task timed out after ${(this.timeoutMs / 1000).toFixed(2)} seconds`);
  }

  /** Runs one invocation in a warm sandbox, or a new one; a sandbox that timed out or crashed is ended. */
  private async run(event: unknown, requestId: string, attempt: number): Promise<unknown> {
    const sandbox = this.idle.pop() ?? this.createSandbox();
    const deadline = Date.now() + this.timeoutMs;
    const context: LocalContext = {
      awsRequestId: requestId,
      functionName: LOCAL_FUNCTION_NAME,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    let end!: (failure: InvocationFailure) => void;
    const ended = new Promise<never>((_, reject) => (end = reject));
    const key = randomUUID();
    this.running.set(key, { requestId, sandboxId: sandbox.id, event, attempt, end });
    const timer = setTimeout(() => end(this.timedOut()), this.timeoutMs);
    try {
      const result = await Promise.race([Promise.resolve().then(() => sandbox.handler(event, context)), ended]);
      this.idle.push(sandbox);
      return result;
    } catch (error) {
      if (error instanceof InvocationFailure) {
        // The sandbox is gone: whatever its abandoned work does next is refused.
        sandbox.destroy();
      } else {
        this.idle.push(sandbox);
      }
      this.options.onError?.(error);
      throw error;
    } finally {
      clearTimeout(timer);
      this.running.delete(key);
      // A slot is free: a queued event may start.
      setImmediate(() => this.pump());
    }
  }

  /** Starts the queued events that may start, drops those too old, and wakes when the next may. */
  private pump(): void {
    const now = Date.now();
    const maxAge = this.options.maxEventAgeMs ?? DEFAULT_MAX_EVENT_AGE_MS;
    for (let i = 0; i < this.queue.length;) {
      const queued = this.queue[i];
      if (now - queued.enqueuedAt > maxAge) {
        this.queue.splice(i, 1);
        this.giveUp(queued, 'EventAgeExceeded');
      } else if (queued.notBefore <= now && this.running.size < this.concurrency) {
        this.queue.splice(i, 1);
        this.attempt(queued);
      } else i++;
    }
    if (this.queue.length === 0) {
      if (this.wake) clearTimeout(this.wake.timer);
      this.wake = undefined;
      this.queueDrained?.();
      this.queueDrained = undefined;
      this.queueEmpty = undefined;
      return;
    }
    // Wake for the next retry not yet due, or to drop an event when it ages out; events already due
    // are waiting for a slot, and a slot coming free pumps (a timer for them would spin).
    let next = Infinity;
    for (const q of this.queue) next = Math.min(next, q.enqueuedAt + maxAge + 1, q.notBefore > now ? q.notBefore : Infinity);
    if (this.wake && this.wake.at <= next) return;
    if (this.wake) clearTimeout(this.wake.timer);
    const timer = setTimeout(
      () => {
        this.wake = undefined;
        this.pump();
      },
      Math.max(0, next - now),
    );
    // The servers keep the process alive, not a wait for a retry.
    timer.unref();
    this.wake = { timer, at: next };
  }

  private attempt(queued: QueuedEvent): void {
    queued.attempts++;
    const run = this.run(queued.payload, queued.requestId, queued.attempts).then(
      () => undefined,
      (error: unknown) => {
        queued.lastError = error;
        const retries = this.options.retries ?? 2;
        if (queued.attempts > retries || this.stopping) return this.giveUp(queued, 'RetriesExhausted');
        const wait = ASYNC_RETRY_DELAYS_MS[Math.min(queued.attempts - 1, ASYNC_RETRY_DELAYS_MS.length - 1)];
        queued.notBefore = Date.now() + wait * (this.options.retryDelayScale ?? 1);
        this.queue.push(queued);
        this.queueEmpty ??= this.track(new Promise<void>((resolve) => (this.queueDrained = resolve)));
        this.pump();
      },
    );
    void this.track(run);
  }

  private giveUp(queued: QueuedEvent, condition: FailedInvocation['requestContext']['condition']): void {
    const error = queued.lastError as { name?: string; errorType?: string; message?: string } | undefined;
    this.options.onFailure?.({
      version: '1.0',
      timestamp: new Date().toISOString(),
      requestContext: { requestId: queued.requestId, functionArn: FUNCTION_ARN, condition, approximateInvokeCount: queued.attempts },
      requestPayload: queued.payload,
      ...(error && {
        responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
        responsePayload: { errorType: error.errorType ?? error.name ?? 'Error', errorMessage: error.message ?? 'Unhandled error' },
      }),
    });
  }
}
