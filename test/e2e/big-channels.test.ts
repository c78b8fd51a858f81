/**
 * A big channel's publish end to end, with the threshold lowered so a handful of subscribers is
 * "big": 202 with an id, shards started as asynchronous self-invocations through the local Lambda
 * API, every subscriber reached once, the outcome record, and a repeated idempotency key — all
 * under the handler role's IAM policy (useLocalStack fails the suite on any refused call).
 */
import { useLocalStack, waitFor } from '../helpers/e2e';

const MASTER = 'big-channels-master-key';
const e2e = useLocalStack({ accessKey: MASTER, settings: { BACKGROUND_FANOUT_ABOVE: '3' } });

const outcome = async (id: string) => {
  const response = await fetch(`${e2e.stack().httpUrl}/broadcast/${id}`, { headers: { Authorization: `Bearer ${MASTER}` } });
  return { status: response.status, json: await response.json() };
};

describe('a big channel', () => {
  it('answers 202 with an id, reaches every subscriber once in the background and records the outcome', async () => {
    const subscribers = await Promise.all(Array.from({ length: 6 }, () => e2e.subscriber('crowd')));
    const published = await e2e.broadcast({ channel: 'crowd', event: 'wave', data: { n: 1 }, idempotencyKey: 'wave-1' });
    expect(published.status).toBe(202);
    expect(published.json).toMatchObject({ success: true, channel: 'crowd', event: 'wave', id: expect.any(String), queued: 6 });

    for (const { client } of subscribers) expect(await client.next()).toMatchObject({ channel: 'crowd', event: 'wave', data: { n: 1 } });
    await waitFor(async () => (await outcome(published.json.id)).json.data?.done === true);
    expect((await outcome(published.json.id)).json.data).toMatchObject({ id: published.json.id, sent: 6, failed: 0, done: true });

    // The same key again within its window: the first publish's id, nothing sent twice.
    const repeated = await e2e.broadcast({ channel: 'crowd', event: 'wave', data: { n: 1 }, idempotencyKey: 'wave-1' });
    expect(repeated.json).toMatchObject({ id: published.json.id });
    await e2e.barrier(...subscribers);
    for (const { client } of subscribers) expect(client.messages).toEqual([]);
  });
});
