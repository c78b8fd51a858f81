/**
 * The local runtime runs the handler on Lambda's terms: timeouts enforced (the sandbox ended),
 * asynchronous events retried on Lambda's schedule (scaled down here), delivered twice when asked,
 * dropped when too old or out of retries — into the failure destination — and concurrency bounded.
 */
import { FailedInvocation, LocalLambda, LocalLambdaOptions, Sandbox } from '../../local/gateway/lambda-runtime';

type Behaviour = (event: { n?: number; work?: string }, context: { awsRequestId: string }) => Promise<unknown>;

/** A runtime whose sandboxes all run `behaviour`, recording what happened to them. */
function runtime(behaviour: Behaviour, options: LocalLambdaOptions = {}) {
  const created: string[] = [];
  const destroyed: string[] = [];
  const failures: FailedInvocation[] = [];
  const calls: { at: number; requestId: string; sandbox: string; event: unknown }[] = [];
  let running = 0;
  let mostAtOnce = 0;
  const lambda = new LocalLambda(
    (): Sandbox => {
      const id = `sandbox-${created.length + 1}`;
      created.push(id);
      return {
        id,
        handler: async (event, context) => {
          calls.push({ at: Date.now(), requestId: context.awsRequestId, sandbox: id, event });
          mostAtOnce = Math.max(mostAtOnce, ++running);
          try {
            return await behaviour(event as { n?: number }, context);
          } finally {
            running--;
          }
        },
        destroy: () => void destroyed.push(id),
      };
    },
    { retryDelayScale: 0.001, ...options, onFailure: (record) => void failures.push(record) },
  );
  return { lambda, created, destroyed, failures, calls, mostAtOnce: () => mostAtOnce };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Work that never ends (and holds no timer): what a timeout or a crash abandons. */
const never = () => new Promise<never>(() => undefined);
/** Lets the runtime take its turns (it starts queued events in setImmediate callbacks). */
const turns = async (n = 5) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};
async function until(condition: () => boolean) {
  while (!condition()) await sleep(5);
}

describe('the local Lambda runtime', () => {
  it('ends an invocation at its timeout, and its sandbox with it; a warm sandbox serves the next', async () => {
    const r = runtime(async (event) => (event.work === 'slow' ? never() : 'ok'), { timeoutMs: 100 });
    expect(await r.lambda.invoke({})).toBe('ok');
    expect(await r.lambda.invoke({})).toBe('ok');
    expect(r.created).toEqual(['sandbox-1']);
    await expect(r.lambda.invoke({ work: 'slow' })).rejects.toMatchObject({
      name: 'Sandbox.Timedout',
      message: 'Task timed out after 0.10 seconds',
    });
    expect(r.destroyed).toEqual(['sandbox-1']);
    expect(await r.lambda.invoke({})).toBe('ok');
    expect(r.created).toEqual(['sandbox-1', 'sandbox-2']);
  });

  it('retries a failed asynchronous event twice, after Lambda’s one and two minutes (scaled), with the same request id', async () => {
    let failuresLeft = 2;
    const r = runtime(async () => {
      if (failuresLeft-- > 0) throw new Error('not yet');
    });
    r.lambda.invokeAsync({ n: 1 });
    await r.lambda.settled();
    expect(r.calls).toHaveLength(3);
    expect(new Set(r.calls.map((c) => c.requestId)).size).toBe(1);
    const [first, second, third] = r.calls.map((c) => c.at);
    expect(second - first).toBeGreaterThanOrEqual(60);
    expect(third - second).toBeGreaterThanOrEqual(120);
    expect(r.failures).toEqual([]);
  });

  it('gives an event up after its retries: Lambda’s on-failure record goes to the destination', async () => {
    const r = runtime(async () => {
      throw Object.assign(new Error('the shard cannot read'), { name: 'ThrottlingException' });
    });
    r.lambda.invokeAsync({ n: 2 });
    await r.lambda.settled();
    expect(r.calls).toHaveLength(3);
    expect(r.failures).toEqual([
      {
        version: '1.0',
        timestamp: expect.any(String),
        requestContext: {
          requestId: r.calls[0].requestId,
          functionArn: expect.stringMatching(/^arn:aws:lambda:[^:]+:\d{12}:function:[^:]+:\$LATEST$/),
          condition: 'RetriesExhausted',
          approximateInvokeCount: 3,
        },
        requestPayload: { n: 2 },
        responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
        responsePayload: { errorType: 'ThrottlingException', errorMessage: 'the shard cannot read' },
      },
    ]);
  });

  it('retries a timed-out or crashed event too, each time in a new sandbox', async () => {
    const r = runtime(async (event) => (event.work === 'hang' ? never() : undefined), { timeoutMs: 50, retries: 1 });
    r.lambda.invokeAsync({ work: 'hang' });
    await r.lambda.settled();
    expect(r.calls).toHaveLength(2);
    expect(r.destroyed).toEqual(['sandbox-1', 'sandbox-2']);
    expect(r.failures[0]).toMatchObject({
      requestContext: { condition: 'RetriesExhausted', approximateInvokeCount: 2 },
      responsePayload: { errorType: 'Sandbox.Timedout' },
    });

    const crashing = runtime(async (event, context) => {
      if (event.work === 'crash-once' && crashing.calls.length === 1) {
        // The invocation's process dies in the middle: the runtime is told, as Lambda's would notice.
        setImmediate(() => crashing.lambda.kill(crashing.calls[0].sandbox, 'crash'));
        await never();
      }
      return context.awsRequestId;
    });
    crashing.lambda.invokeAsync({ work: 'crash-once' });
    await crashing.lambda.settled();
    expect(crashing.calls).toHaveLength(2);
    expect(crashing.destroyed).toEqual(['sandbox-1']);
    expect(crashing.failures).toEqual([]);
  });

  it('delivers each event twice when asked to: Lambda promises at least once', async () => {
    const r = runtime(async () => undefined, { duplicateEvents: 1 });
    r.lambda.invokeAsync({ n: 1 });
    r.lambda.invokeAsync({ n: 2 });
    await r.lambda.settled();
    expect(r.calls.map((c) => c.event)).toEqual(expect.arrayContaining([{ n: 1 }, { n: 1 }, { n: 2 }, { n: 2 }]));
    expect(r.calls).toHaveLength(4);
  });

  it('bounds concurrency: a synchronous call over it is throttled, asynchronous events wait their turn — or age out', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const r = runtime(async (event) => (event.work === 'hold' ? gate : undefined), { concurrency: 2, maxEventAgeMs: 10_000 });
    const held = [r.lambda.invoke({ work: 'hold' }), r.lambda.invoke({ work: 'hold' })];
    await expect(r.lambda.invoke({})).rejects.toMatchObject({ name: 'TooManyRequestsException' });
    for (let n = 0; n < 5; n++) r.lambda.invokeAsync({ n });
    await turns();
    expect(r.calls).toHaveLength(2);
    release();
    await Promise.all(held);
    await r.lambda.settled();
    expect(r.calls).toHaveLength(7);
    expect(r.mostAtOnce()).toBe(2);

    // With the only slot held past the events' maximum age, they are dropped into the destination.
    let releaseAgain!: () => void;
    const again = new Promise<void>((resolve) => (releaseAgain = resolve));
    const aging = runtime(async (event) => (event.work === 'hold' ? again : undefined), { concurrency: 1, maxEventAgeMs: 50 });
    const holding = aging.lambda.invoke({ work: 'hold' });
    aging.lambda.invokeAsync({ n: 9 });
    await until(() => aging.failures.length > 0);
    releaseAgain();
    await holding;
    await aging.lambda.settled();
    expect(aging.calls).toHaveLength(1);
    expect(aging.failures).toEqual([
      expect.objectContaining({ requestContext: expect.objectContaining({ condition: 'EventAgeExceeded', approximateInvokeCount: 0 }) }),
    ]);
  });
});
