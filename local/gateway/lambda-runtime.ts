/**
 * Runs the handler the way Lambda does for API Gateway: each invocation with a fresh context and
 * a deadline, concurrently with the others, and asynchronous (`Event`) invocations queued.
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

/** The local function's name (`AWS_LAMBDA_FUNCTION_NAME`), which background tasks invoke. */
export const LOCAL_FUNCTION_NAME = 'realtime-broadcast-local';

/** The deployed function's timeout: each invocation's deadline. */
const FUNCTION_TIMEOUT_MS = HANDLER_TIMEOUT_SECONDS * 1000;

export class LocalLambda {
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly handler: LocalHandler,
    /** Told of each failure the handler threw, which Lambda would log. */
    private readonly onError?: (error: unknown) => void,
  ) {}

  /** A synchronous invocation, as API Gateway makes. */
  invoke(event: unknown): Promise<unknown> {
    const deadline = Date.now() + FUNCTION_TIMEOUT_MS;
    const context: LocalContext = {
      awsRequestId: randomUUID(),
      functionName: LOCAL_FUNCTION_NAME,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    const run = Promise.resolve()
      .then(() => this.handler(event, context))
      .catch((error: unknown) => {
        this.onError?.(error);
        throw error;
      });
    this.pending.add(run);
    void run.catch(() => undefined).finally(() => this.pending.delete(run));
    return run;
  }

  /** An asynchronous (`Event`) invocation: queued, not awaited, errors reported like any other. */
  invokeAsync(event: unknown): void {
    // In flight from the moment it is asked for, so `settled` waits for it.
    const queued = new Promise<void>((resolve) =>
      setImmediate(
        () =>
          void this.invoke(event)
            .catch(() => undefined)
            .finally(resolve),
      ),
    );
    this.pending.add(queued);
    void queued.finally(() => this.pending.delete(queued));
  }

  /** Resolves when every invocation in flight has ended, those they started meanwhile included. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
