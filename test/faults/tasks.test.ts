/**
 * The fault matrix for background tasks, on the local stack with Lambda's terms: a big channel's
 * shard killed in the middle (by its timeout, by a thrown error, by its process dying), every
 * asynchronous event delivered twice, and a shard Lambda gives up after its retries. A channel of
 * 5,000 subscribers — connections held by the test (no socket each, everything else real) — must
 * get each message exactly once in the first cases; the last must show in the failure destination
 * and in the publish's record. `npm run test:faults` adds TASK_FAULT_ROUNDS rounds of these at random.
 */
import { DynamoSubscriptionStore } from '../../lambda/adapters/dynamo-subscriptions';
import { documentClient } from '../../lambda/adapters/dynamo-errors';
import type { DynamoCall } from '../../local/aws/endpoint';
import { LOCAL_AWS, LOCAL_TABLES } from '../../local/store';
import { useLocalStack, waitFor } from '../helpers/e2e';

const MASTER = 'task-faults-master-key';
const SUBSCRIBERS = 5_000;
const CHANNEL = 'crowd';
/**
 * Lambda's terms, shortened in proportion so a test takes seconds: a 3 s timeout, retries 3.6 s and
 * 7.2 s after a failure (still longer than the timeout, as one and two minutes are on AWS), and an
 * event too old to start after 20 s.
 */
const TIMEOUT_MS = 3_000;
const RETRY_DELAY_SCALE = 0.06;
const MAX_AGE_SECONDS = 20;

/** What the next DynamoDB call gets: the fault the test has armed, if the call is the one it waits for. */
let fault: ((call: DynamoCall) => ReturnType<NonNullable<Parameters<typeof useLocalStack>[0]['dynamoFault']>>) | undefined;

const e2e = useLocalStack({
  accessKey: MASTER,
  settings: { BACKGROUND_FANOUT_ABOVE: '100', TASK_MAX_AGE_SECONDS: String(MAX_AGE_SECONDS) },
  lambda: { timeoutMs: TIMEOUT_MS, retryDelayScale: RETRY_DELAY_SCALE },
  dynamoFault: (call) => fault?.(call),
  throttle: { stage: false },
});

/** Each listener's messages of each event. */
const received = new Map<string, Map<string, number>>();

beforeAll(async () => {
  const stack = e2e.stack();
  const documents = documentClient({ ...LOCAL_AWS, endpoint: stack.dynamoEndpoint });
  const subscriptions = new DynamoSubscriptionStore(documents, LOCAL_TABLES.subscriptions.name);
  const ids = Array.from({ length: SUBSCRIBERS }, () => {
    const counts = new Map<string, number>();
    const id = stack.gateway.attachListener((message) => {
      const { event } = JSON.parse(message) as { event?: string };
      if (event) counts.set(event, (counts.get(event) ?? 0) + 1);
    });
    received.set(id, counts);
    return id;
  });
  const expiresAt = Math.floor(Date.now() / 1000) + 3600;
  for (let i = 0; i < ids.length; i += 100) {
    await Promise.all(
      ids.slice(i, i + 100).map((connectionId) => subscriptions.add({ projectId: 'default', channel: CHANNEL, connectionId }, expiresAt)),
    );
  }
  documents.destroy();
}, 60_000);

afterEach(() => void (fault = undefined));

/** A shard's read of a page after its first (the probe and first pages carry no start key). */
const isLaterPage = (call: DynamoCall) =>
  call.operation === 'Query' &&
  call.input.TableName === LOCAL_TABLES.subscriptions.name &&
  String(call.input.KeyConditionExpression).includes('BETWEEN') &&
  call.input.ExclusiveStartKey !== undefined;

/** Arms a fault for the `nth` later page read from now on, `times` times in a row. */
function onLaterPage(
  nth: number,
  then: (call: DynamoCall) => 'hang' | { status: number; type: string; message: string } | undefined,
  times = 1,
) {
  let seen = 0;
  let left = times;
  fault = (call) => {
    if (!isLaterPage(call) || ++seen < nth || left === 0) return undefined;
    left--;
    return then(call);
  };
}

let events = 0;
async function publish(): Promise<{ id: string; event: string }> {
  const event = `wave-${++events}`;
  const published = await e2e.broadcast({ channel: CHANNEL, event, data: { n: events } });
  expect(published.status).toBe(202);
  expect(published.json).toMatchObject({ queued: SUBSCRIBERS });
  return { id: published.json.id as string, event };
}

const status = async (id: string) => {
  const response = await fetch(`${e2e.stack().httpUrl}/broadcast/${id}`, { headers: { Authorization: `Bearer ${MASTER}` } });
  return (await response.json()) as { data: { status: string; done: boolean; sent: number; failed: number; stale: number } };
};

/** Waits for the publish to settle, then: how many subscribers got it once, more than once, never. */
async function outcome(id: string, event: string) {
  await waitFor(async () => (await status(id)).data.status !== 'delivering', 60_000);
  await e2e.stack().gateway.settled();
  const tally = { once: 0, repeated: 0, missed: 0 };
  for (const counts of received.values()) {
    const n = counts.get(event) ?? 0;
    if (n === 1) tally.once++;
    else if (n > 1) tally.repeated++;
    else tally.missed++;
  }
  return { tally, record: (await status(id)).data };
}

const EXACTLY_ONCE = { tally: { once: SUBSCRIBERS, repeated: 0, missed: 0 }, record: { status: 'done', done: true, sent: SUBSCRIBERS } };

/** Kills the shard in the middle — as it reads its `nth` page after the first — in one of three ways. */
function killInTheMiddle(how: 'timeout' | 'thrown error' | 'crash', nth = 2) {
  const stack = e2e.stack();
  if (how === 'timeout') onLaterPage(nth, () => 'hang');
  // 500s for one attempt's reads and the SDK's retries of them: the task throws.
  else if (how === 'thrown error')
    onLaterPage(nth, () => ({ status: 500, type: 'InternalServerError', message: 'Internal server error' }), 4);
  else
    onLaterPage(nth, (call) => {
      // The process running the shard dies while it waits for the page.
      setImmediate(() => stack.gateway.lambda.kill(call.accessKeyId!, 'crash'));
      return 'hang';
    });
}

describe('a 5,000-subscriber channel’s shards on Lambda’s terms', () => {
  it.each(['timeout', 'thrown error', 'crash'] as const)(
    'a shard killed in the middle (%s) is retried and resumes: every subscriber once, the record done',
    async (how) => {
      const failedBefore = e2e.stack().failedInvocations().length;
      killInTheMiddle(how);
      const { id, event } = await publish();
      expect(await outcome(id, event)).toMatchObject(EXACTLY_ONCE);
      expect(e2e.stack().failedInvocations()).toHaveLength(failedBefore);
    },
    60_000,
  );

  it('every asynchronous event delivered twice: every subscriber once, the record done', async () => {
    const { lambda } = e2e.stack().gateway;
    lambda.duplicateEvents = 1;
    try {
      const { id, event } = await publish();
      expect(await outcome(id, event)).toMatchObject(EXACTLY_ONCE);
    } finally {
      lambda.duplicateEvents = 0;
    }
  }, 60_000);

  it('a shard that fails every attempt is given up: in the failure destination, and the publish failed with what was delivered', async () => {
    const failedBefore = e2e.stack().failedInvocations().length;
    // Its third page never reads: each attempt delivers up to there, then throws.
    onLaterPage(2, () => ({ status: 500, type: 'InternalServerError', message: 'Internal server error' }), Infinity);
    const { id, event } = await publish();
    await waitFor(() => e2e.stack().failedInvocations().length > failedBefore, 30_000);
    const [dropped] = e2e.stack().failedInvocations().slice(failedBefore);
    expect(dropped).toMatchObject({
      requestContext: { condition: 'RetriesExhausted', approximateInvokeCount: 3 },
      requestPayload: { task: 'deliver', publishId: id, channel: CHANNEL },
      responsePayload: { errorType: 'InternalServerError' },
    });
    // Reported failed once Lambda can no longer start it (its maximum age), never pending for ever.
    const { tally, record } = await outcome(id, event);
    expect(record).toMatchObject({ status: 'failed', done: true });
    expect(record.sent).toBe(tally.once);
    expect(tally).toMatchObject({ repeated: 0 });
    expect(tally.once).toBeGreaterThanOrEqual(2_000);
    expect(tally.missed).toBeGreaterThan(0);
  }, 60_000);

  const ROUNDS = Number(process.env.TASK_FAULT_ROUNDS ?? 0);
  (ROUNDS > 0 ? it : it.skip)(
    `${ROUNDS} random rounds: any fault at any page, every subscriber once`,
    async () => {
      let seed = 11;
      const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
      const kinds = ['timeout', 'thrown error', 'crash', 'duplicate', 'none'] as const;
      for (let round = 0; round < ROUNDS; round++) {
        const kind = kinds[Math.floor(random() * kinds.length)];
        const page = 1 + Math.floor(random() * 4);
        const { lambda } = e2e.stack().gateway;
        if (kind === 'duplicate') lambda.duplicateEvents = 1;
        else if (kind !== 'none') killInTheMiddle(kind, page);
        const { id, event } = await publish();
        expect({ round, kind, page, ...(await outcome(id, event)) }).toMatchObject({ round, kind, page, ...EXACTLY_ONCE });
        lambda.duplicateEvents = 0;
        fault = undefined;
      }
    },
    3_600_000,
  );
});
