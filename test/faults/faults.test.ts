/**
 * The fault matrix: DynamoDB calls that fail (injected in the real SDK client, in front of
 * dynalite) and `@connections` answers that fail (the stand-in endpoint), each with the outcome
 * the product promises. `npm run test:faults` repeats the random rounds many more times
 * (FAULT_ROUNDS).
 */
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { LOCAL_TABLES } from '../../local/store';
import { connectEvent, httpEvent, messageEvent, newConnectionId } from '../helpers/gateway-events';
import { MASTER_KEY, useHandler } from '../helpers/handler';

const { api, handler, db, posted, replyOf, connect, subscribed } = useHandler();

interface Fault {
  /** The DynamoDB operation's command, as the low-level client names it (`PutItemCommand`, …). */
  readonly command: string;
  readonly table?: string;
  /** How many matching calls fail; Infinity: all of them. */
  remaining: number;
}
const faults: Fault[] = [];
let fired = 0;
const throttled = () =>
  new ProvisionedThroughputExceededException({ message: 'Throughput exceeds the current capacity of your table', $metadata: {} });

beforeAll(() => {
  // Before the SDK's own retries: a fault here is a call that failed for good.
  db().documents.middlewareStack.add(
    (next, context) => async (args) => {
      const table = (args.input as { TableName?: string }).TableName;
      const fault = faults.find(
        (f) => f.remaining > 0 && f.command === context.commandName && (f.table === undefined || f.table === table),
      );
      if (fault) {
        fault.remaining--;
        fired++;
        throw throttled();
      }
      return next(args);
    },
    { step: 'initialize', name: 'injectFaults' },
  );
});
afterEach(() => void (faults.length = 0));

const inject = (command: string, table?: string, times = Infinity) => void faults.push({ command, table, remaining: times });

async function scan(table: string) {
  faults.length = 0;
  const { Items = [] } = await db().documents.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
  return Items;
}

describe('DynamoDB failing', () => {
  it('publish: the subscribers cannot be read → 503 unavailable, nothing delivered, safe to retry', async () => {
    await subscribed('f-news');
    api.clearCalls();
    inject('QueryCommand', LOCAL_TABLES.subscriptions.name);
    const result = await handler(httpEvent({ body: { channel: 'f-news', event: 'e' } }));
    expect(result.statusCode).toBe(503);
    expect(replyOf(result)).toMatchObject({ code: 'unavailable' });
    expect(result.body).not.toMatch(/Throughput|broadcast-/);
    expect(posted()).toEqual([]);
  });

  it('$connect: the reserved-channel subscription cannot be written → refused with 503, nothing left behind', async () => {
    const id = newConnectionId();
    inject('PutItemCommand', LOCAL_TABLES.subscriptions.name);
    expect(await handler(connectEvent(id, { type: 'admin' }))).toEqual({ statusCode: 503 });
    expect((await scan(LOCAL_TABLES.connections.name)).filter((c) => c.connectionId === id)).toEqual([]);
    expect((await scan(LOCAL_TABLES.subscriptions.name)).filter((s) => s.sk === id)).toEqual([]);
  });

  it('$connect: the connection cannot be stored → refused with 503', async () => {
    inject('PutItemCommand', LOCAL_TABLES.connections.name);
    expect(await handler(connectEvent(newConnectionId()))).toEqual({ statusCode: 503 });
  });

  it('subscribe: the subscription cannot be written → unavailable, and the connection lists no channel it did not join', async () => {
    const id = await connect();
    inject('PutItemCommand', LOCAL_TABLES.subscriptions.name);
    const reply = replyOf(await handler(messageEvent(id, { action: 'subscribe', channel: 'f-half' })));
    expect(reply).toMatchObject({ kind: 'reply', type: 'error', code: 'unavailable' });
    const [connection] = (await scan(LOCAL_TABLES.connections.name)).filter((c) => c.connectionId === id);
    expect([...(connection.channels ?? [])]).not.toContain('f-half');
  });

  it('subscribe again: the repeated subscription cannot be written → unavailable, and the connection keeps the channel it was already in', async () => {
    const id = await connect();
    await handler(messageEvent(id, { action: 'subscribe', channel: 'f-again' }));
    inject('PutItemCommand', LOCAL_TABLES.subscriptions.name);
    const reply = replyOf(await handler(messageEvent(id, { action: 'subscribe', channel: 'f-again' })));
    expect(reply).toMatchObject({ kind: 'reply', type: 'error', code: 'unavailable' });
    const [connection] = (await scan(LOCAL_TABLES.connections.name)).filter((c) => c.connectionId === id);
    expect([...(connection.channels ?? [])]).toContain('f-again');
    // So its disconnect still removes the subscription: nothing is orphaned.
    await handler({
      ...connectEvent(id),
      requestContext: { ...connectEvent(id).requestContext, routeKey: '$disconnect', eventType: 'DISCONNECT' },
    });
    expect((await scan(LOCAL_TABLES.subscriptions.name)).filter((s) => s.sk === id)).toEqual([]);
  });

  it('the usage counters cannot be written → the publish still answers its counts (it delivered)', async () => {
    await subscribed('f-usage');
    inject('UpdateItemCommand', LOCAL_TABLES.usage.name);
    const result = await handler(httpEvent({ body: { channel: 'f-usage', event: 'e' } }));
    expect(result.statusCode).toBe(200);
    expect(replyOf(result)).toMatchObject({ sent: 1 });
  });

  it('a WebSocket send: the sender cannot be looked up → unavailable, nothing delivered', async () => {
    const sender = await connect();
    await subscribed('f-send');
    api.clearCalls();
    inject('UpdateItemCommand', LOCAL_TABLES.connections.name);
    const reply = replyOf(await handler(messageEvent(sender, { action: 'send', channel: 'f-send', event: 'e' })));
    expect(reply).toMatchObject({ kind: 'reply', type: 'error', code: 'unavailable' });
    expect(posted()).toEqual([]);
  });
});

describe('history failing', () => {
  beforeAll(async () => {
    const configured = await handler(
      httpEvent({
        routeKey: 'PUT /projects/{projectId}/namespaces/{namespace}',
        pathParameters: { projectId: 'default', namespace: 'hist' },
        body: { history: { size: 100, ttlSeconds: 3600 } },
        authorization: `Bearer ${MASTER_KEY}`,
      }),
    );
    expect(configured.statusCode).toBe(200);
  });
  const subscribeSince = async (channel: string, since: { offset: number; epoch: string }) => {
    const id = await connect();
    return { id, reply: replyOf(await handler(messageEvent(id, { action: 'subscribe', channel, since }))) };
  };

  it('publish: the message cannot be stored → 503 and nothing delivered; the offset it took is a hole recovery reports, never a silent gap', async () => {
    const id = await subscribed('hist:a');
    const first = replyOf(await handler(httpEvent({ body: { channel: 'hist:a', event: 'e', data: 1 } })));
    expect(first).toMatchObject({ offset: 1, sent: 1 });
    api.clearCalls();
    inject('PutItemCommand', LOCAL_TABLES.channels.name, 1);
    const failed = await handler(httpEvent({ body: { channel: 'hist:a', event: 'e', data: 2 } }));
    expect(failed.statusCode).toBe(503);
    expect(posted()).toEqual([]);
    expect(replyOf(await handler(httpEvent({ body: { channel: 'hist:a', event: 'e', data: 3 } })))).toMatchObject({ offset: 3 });
    expect(
      posted()
        .filter(([to]) => to === id)
        .map(([, m]) => (m as { offset?: number }).offset),
    ).toEqual([3]);

    // A client that had offset 1 missed offset 2, which nobody ever got: it is told, not misled.
    expect((await subscribeSince('hist:a', { offset: 1, epoch: first.epoch })).reply).toMatchObject({
      recovered: false,
      reason: 'expired',
      offset: 3,
    });
    expect((await subscribeSince('hist:a', { offset: 2, epoch: first.epoch })).reply).toMatchObject({ recovered: true, offset: 3 });
  });

  it('subscribe with since: the history cannot be read → unavailable; subscribing again recovers', async () => {
    const first = replyOf(await handler(httpEvent({ body: { channel: 'hist:b', event: 'e' } })));
    await handler(httpEvent({ body: { channel: 'hist:b', event: 'e' } }));
    inject('QueryCommand', LOCAL_TABLES.channels.name, 1);
    const { id, reply } = await subscribeSince('hist:b', { offset: 1, epoch: first.epoch });
    expect(reply).toMatchObject({ kind: 'reply', type: 'error', code: 'unavailable' });
    api.clearCalls();
    const again = replyOf(
      await handler(messageEvent(id, { action: 'subscribe', channel: 'hist:b', since: { offset: 1, epoch: first.epoch } })),
    );
    expect(again).toMatchObject({ recovered: true, offset: 2 });
    expect(
      posted()
        .filter(([to]) => to === id)
        .map(([, m]) => (m as { offset?: number }).offset),
    ).toEqual([2]);
  });
});

describe('@connections failing', () => {
  it('transient 429 and 500 answers: the live subscriber still gets the message, once', async () => {
    const id = await subscribed('f-transient');
    api.clearCalls();
    api.script(id, 429, 500, 429);
    const result = await handler(httpEvent({ body: { channel: 'f-transient', event: 'e' } }));
    expect(replyOf(result)).toMatchObject({ sent: 1, failed: 0 });
    expect(posted().filter(([to]) => to === id)).toHaveLength(1);
  });

  it('a hung post is abandoned and retried: delivered once', async () => {
    const id = await subscribed('f-hang');
    api.clearCalls();
    api.script(id, 'hang');
    const result = await handler(httpEvent({ body: { channel: 'f-hang', event: 'e' } }));
    expect(replyOf(result)).toMatchObject({ sent: 1 });
    expect(posted().filter(([to]) => to === id)).toHaveLength(1);
  }, 15_000);

  it('410: the gone subscriber is counted stale and purged after the answer', async () => {
    const gone = await subscribed('f-gone');
    const live = await subscribed('f-gone');
    api.clearCalls();
    api.script(gone, 410);
    const result = await handler(httpEvent({ body: { channel: 'f-gone', event: 'e' } }));
    expect(replyOf(result)).toMatchObject({ sent: 1, stale: 1 });
    const subscribers = (await scan(LOCAL_TABLES.subscriptions.name)).filter((s) => s.pk.endsWith('#f-gone')).map((s) => s.sk);
    expect(subscribers).toEqual([live]);
  });

  it('a subscriber that keeps failing (400) is counted failed, not retried for ever, and the rest get the message', async () => {
    const bad = await subscribed('f-bad');
    const good = await subscribed('f-bad');
    api.clearCalls();
    api.script(bad, 400, 400, 400, 400);
    const result = await handler(httpEvent({ body: { channel: 'f-bad', event: 'e' } }));
    expect(replyOf(result)).toMatchObject({ sent: 1, failed: 1 });
    expect(posted().map(([to]) => to)).toEqual([good]);
  });
});

describe('random faults, then the store’s invariants', () => {
  const ROUNDS = Number(process.env.FAULT_ROUNDS ?? 60);
  const COMMANDS = ['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand', 'QueryCommand', 'GetItemCommand', 'BatchWriteItemCommand'];

  it(`survives ${ROUNDS} rounds of connects, subscribes, publishes and disconnects with one call in each failing`, async () => {
    let seed = 7;
    const firedBefore = fired;
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    const ids: string[] = [];
    /** Connections whose $disconnect met a fault: their clean-up may be partial. */
    const interrupted = new Set<string>();
    for (let round = 0; round < ROUNDS; round++) {
      const firedAtStart = fired;
      faults.length = 0;
      inject(COMMANDS[Math.floor(random() * COMMANDS.length)], undefined, 1);
      const roll = random();
      let result: { statusCode: number; body?: string };
      if (roll < 0.3 || ids.length === 0) {
        const id = newConnectionId();
        result = (await handler(connectEvent(id, random() < 0.5 ? { type: 'runtime' } : undefined))) as typeof result;
        if (result.statusCode === 200) ids.push(id);
      } else if (roll < 0.6) {
        result = (await handler(
          messageEvent(ids[Math.floor(random() * ids.length)], { action: 'subscribe', channel: `r-${Math.floor(random() * 3)}` }),
        )) as typeof result;
      } else if (roll < 0.85) {
        result = (await handler(httpEvent({ body: { channel: `r-${Math.floor(random() * 3)}`, event: 'e' } }))) as typeof result;
      } else {
        const [id] = ids.splice(Math.floor(random() * ids.length), 1);
        result = (await handler({
          ...connectEvent(id),
          requestContext: { ...connectEvent(id).requestContext, routeKey: '$disconnect', eventType: 'DISCONNECT' },
        })) as typeof result;
        if (fired > firedAtStart) interrupted.add(id);
      }
      // Never a 500: a failure is unavailable (503), or nothing the caller sees.
      expect(result.statusCode).not.toBe(500);
      if (result.body?.includes('"error"')) expect(JSON.parse(result.body).code).not.toBe('internal_error');
    }
    // Faults did happen: most rounds met theirs.
    expect(fired - firedBefore).toBeGreaterThan(ROUNDS / 3);
    // No subscription without its connection, and no connection listing a channel it is not in.
    const connections = new Map((await scan(LOCAL_TABLES.connections.name)).map((c) => [c.connectionId, c]));
    const subscriptions = await scan(LOCAL_TABLES.subscriptions.name);
    // A $disconnect whose subscription clean-up failed leaves subscriptions behind, as on AWS; they
    // expire by TTL, and a publish that meets them (410) purges them. Nothing else does.
    const orphans = subscriptions.filter((s) => s.pk.startsWith('default#r-') && !connections.has(s.sk));
    expect(orphans.filter((s) => !interrupted.has(s.sk))).toEqual([]);
    for (const c of connections.values()) {
      for (const name of c.channels ?? [])
        expect(subscriptions.some((s) => s.sk === c.connectionId && s.pk === `${c.projectId}#${name}`)).toBe(true);
    }
  }, 120_000);
});
