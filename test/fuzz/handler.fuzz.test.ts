/**
 * Generated input through the whole handler, over the real stores (dynalite) and a stand-in
 * `@connections` endpoint: WebSocket frames from connected clients and HTTP requests of every
 * shape. In `npm test`, 10,000 of each from a fixed seed; `npm run fuzz` runs more from a random one
 * (FUZZ_RUNS, FUZZ_SEED). Properties: the handler never throws, always answers in the protocol's
 * shape with a known error code, never answers 500 to any input, and the store's invariants hold
 * afterwards.
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { HTTP_ROUTE_KEYS } from '../../lambda/contract/routes';
import { LOCAL_TABLES } from '../../local/store';
import { ERRORS } from '../../lambda/protocol';
import { disconnectEvent, httpEvent, messageEvent } from '../helpers/gateway-events';
import { MASTER_KEY, useHandler } from '../helpers/handler';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
/** Fixed in `npm test`, so a failure reproduces; `random` (npm run fuzz) picks one and names it in the title. */
const SEED = process.env.FUZZ_SEED === 'random' ? Date.now() % 2 ** 31 : Number(process.env.FUZZ_SEED ?? 20261123);
const KNOWN_CODES = new Set(Object.values(ERRORS).map((e) => e.code));

const { handler, connect, db } = useHandler();

// Inputs near the protocol, so generation reaches past the first check, mixed with junk.
// `chat:` keeps history (set up below).
const channel = fc.oneof(
  fc.constantFrom('news', 'room-1', 'private-x', 'presence-y', 'chat:1', 'chat:2', '$all', '$type:admin', 'a'.repeat(129), ''),
  fc.string({ maxLength: 12 }),
);
const event = fc.oneof(fc.constantFrom('e', 'connected', 'client_left', 'x'.repeat(200)), fc.string({ maxLength: 12 }));
const json = fc.jsonValue({ maxDepth: 4 });
const frame = fc.oneof(
  fc.string({ maxLength: 64 }),
  fc.json({ maxDepth: 3 }),
  fc.constantFrom('ping', '', '{', '[]', 'null', '{"action":null}', `{"action":"send","data":${'['.repeat(60)}${']'.repeat(60)}}`),
  fc
    .record(
      {
        action: fc.oneof(
          fc.constantFrom('subscribe', 'unsubscribe', 'send', 'ping', 'ack', 'get_retained', 'history', 'presence', 'dance'),
          json,
        ),
        since: fc.oneof(
          json,
          fc.nat(20),
          fc.record(
            { offset: fc.oneof(fc.integer(), fc.nat(20)), epoch: fc.oneof(fc.string({ maxLength: 10 }), json) },
            { requiredKeys: [] },
          ),
        ),
        limit: fc.oneof(json, fc.integer({ min: -5, max: 2000 })),
        channel,
        event,
        data: json,
        id: fc.string({ maxLength: 20 }),
        connectionId: fc.oneof(fc.string({ maxLength: 20 }), fc.constant('bm9ib2R5aGVyZQ=')),
      },
      { requiredKeys: ['action'] },
    )
    .map((value) => JSON.stringify(value)),
  fc
    .record(
      {
        type: fc.oneof(event, json),
        payload: json,
        to: fc.oneof(json, fc.record({ type: fc.string({ maxLength: 8 }) }), fc.record({ id: fc.string() })),
      },
      { requiredKeys: ['type'] },
    )
    .map((value) => JSON.stringify(value)),
);

const authorization = fc.oneof(
  fc.constant(`Bearer ${MASTER_KEY}`),
  fc.constant(null),
  fc.string({ maxLength: 30 }),
  fc.string({ maxLength: 30 }).map((s) => `Bearer ${s}`),
);
const body = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.json({ maxDepth: 3 }),
  fc
    .record(
      {
        channel,
        event,
        data: json,
        retain: fc.boolean(),
        idempotencyKey: fc.string({ maxLength: 10 }),
        projectId: fc.string({ maxLength: 10 }),
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
  fc
    .record({ messages: fc.array(fc.record({ channel, event, data: json }, { requiredKeys: [] }), { maxLength: 30 }) })
    .map((v) => JSON.stringify(v)),
  fc
    .record({ projectId: fc.string({ maxLength: 12 }), description: fc.string({ maxLength: 12 }) }, { requiredKeys: [] })
    .map((v) => JSON.stringify(v)),
  fc
    .record(
      {
        history: fc.oneof(
          json,
          fc.record({ size: fc.integer({ min: -1, max: 1200 }), ttlSeconds: fc.integer({ min: 0, max: 700_000 }) }, { requiredKeys: [] }),
        ),
        presence: fc.oneof(fc.boolean(), json),
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
);
const request = fc.record({
  routeKey: fc.oneof(fc.constantFrom(...HTTP_ROUTE_KEYS, '$default'), fc.string({ maxLength: 20 })),
  authorization,
  body,
  base64: fc.boolean(),
  pathParameters: fc.dictionary(
    fc.constantFrom('id', 'projectId', 'channel', 'keyPrefix', 'namespace', 'x'),
    fc.oneof(fc.string({ maxLength: 16 }), fc.constantFrom('default', 'chat', '_', 'chat:1')),
    { maxKeys: 3 },
  ),
  query: fc.dictionary(
    fc.constantFrom('projectId', 'channel', 'since', 'limit', 'x'),
    fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('default', 'chat:1', '0', '5', '1000', '1001', '-1')),
    { maxKeys: 4 },
  ),
});

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

describe(`fuzzing the handler (seed ${SEED}, ${RUNS} runs each)`, () => {
  it('answers every generated WebSocket frame in the protocol’s shape, never throwing', async () => {
    // A namespace that keeps history, so generated frames reach recovery and history pages (the senders are anonymous: presence refuses them).
    const configured = await handler(
      httpEvent({
        routeKey: 'PUT /projects/{projectId}/namespaces/{namespace}',
        pathParameters: { projectId: 'default', namespace: 'chat' },
        body: { history: { size: 10, ttlSeconds: 600 } },
        authorization: `Bearer ${MASTER_KEY}`,
      }),
    );
    expect(configured).toMatchObject({ statusCode: 200 });
    // Every frame takes from its connection's rate limit, and the handler's clock stands still here:
    // a bucket big enough for the run, so generation reaches past the limit to every route.
    const limited = await handler(
      httpEvent({
        routeKey: 'PUT /projects/{projectId}/settings',
        pathParameters: { projectId: 'default' },
        body: { rateLimit: { perSecond: 1000, burst: 1000 } },
        authorization: `Bearer ${MASTER_KEY}`,
      }),
    );
    expect(limited).toMatchObject({ statusCode: 200 });
    const senders = await Promise.all(
      Array.from({ length: 40 }, (_, i) => connect(i % 3 === 0 ? { type: 'admin' } : i % 3 === 1 ? { type: 'runtime' } : undefined)),
    );
    await fc.assert(
      fc.asyncProperty(fc.nat(senders.length), frame, fc.nat(200), async (who, text, disconnectRoll) => {
        const sender = who === senders.length ? 'bm9ib2R5aGVyZQ=' : senders[who];
        // Now and then a client leaves, and another takes its place.
        if (disconnectRoll === 0 && who < senders.length) {
          expect(await handler(disconnectEvent(sender))).toMatchObject({ statusCode: 200 });
          senders[who] = await connect();
          return;
        }
        const result = (await handler(messageEvent(sender, text))) as { statusCode: number; body?: string };
        expect(result.statusCode).toBe(200);
        if (result.body === undefined) return;
        // The plain-text heartbeat; a connection the store does not know is told to reconnect.
        if (text.trim() === 'ping' && who < senders.length) return expect(result.body).toBe('pong');
        if (text.trim() === 'ping')
          return expect(JSON.parse(result.body)).toMatchObject({ kind: 'reply', type: 'error', code: 'not_connected' });
        const reply = JSON.parse(result.body);
        expect(isObject(reply) && reply.kind === 'reply' && typeof reply.type === 'string').toBe(true);
        if (reply.type === 'error') {
          expect(KNOWN_CODES.has(reply.code)).toBe(true);
          expect(reply.code).not.toBe('internal_error');
          expect(typeof reply.message).toBe('string');
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
  }, 3_600_000);

  it('answers every generated HTTP request with a status, a JSON body and a known code, and never 500', async () => {
    await fc.assert(
      fc.asyncProperty(request, async ({ routeKey, authorization: auth, body: text, base64, pathParameters, query }) => {
        const event = httpEvent({
          routeKey,
          authorization: auth,
          body: base64 ? Buffer.from(text).toString('base64') : text,
          isBase64Encoded: base64,
          pathParameters,
          queryStringParameters: query,
        });
        const result = (await handler(event)) as { statusCode: number; body: string };
        expect(result.statusCode).toBeGreaterThanOrEqual(200);
        expect(result.statusCode).toBeLessThan(500);
        // Pusher's REST API answers errors in Pusher's shape: a plain-text reason.
        if (routeKey.includes('/apps/') && result.statusCode >= 400) return expect(result.body.length).toBeGreaterThan(0);
        // The console's page and script.
        if (!String((result as { headers?: Record<string, string> }).headers?.['content-type'] ?? 'application/json').includes('json'))
          return expect(result.statusCode).toBe(200);
        const reply = JSON.parse(result.body);
        if (result.statusCode >= 400) {
          expect(KNOWN_CODES.has(reply.code)).toBe(true);
          expect(typeof reply.error).toBe('string');
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
  }, 3_600_000);

  it('leaves the store consistent: no subscription without its connection, none a connection left, counts exact', async () => {
    const scan = async (table: string) => {
      const items: Record<string, any>[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const page = await db().documents.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start, ConsistentRead: true }));
        items.push(...(page.Items ?? []));
        start = page.LastEvaluatedKey;
      } while (start);
      return items;
    };
    const connections = new Map((await scan(LOCAL_TABLES.connections.name)).map((c) => [c.connectionId as string, c]));
    const subscriptions = await scan(LOCAL_TABLES.subscriptions.name);
    for (const s of subscriptions) {
      const connection = connections.get(s.sk);
      expect(connection).toBeDefined();
      const name = (s.pk as string).slice((s.p as string).length + 1);
      if (!name.startsWith('$')) expect([...(connection!.channels ?? [])]).toContain(name);
    }
    for (const c of connections.values()) {
      for (const name of c.channels ?? [])
        expect(subscriptions.some((s) => s.sk === c.connectionId && s.pk === `${c.projectId}#${name}`)).toBe(true);
    }
    // The open-connection count of each project equals its connection items.
    const live = new Map<string, number>();
    for (const item of await scan(LOCAL_TABLES.usage.name))
      if (String(item.period).startsWith('live#')) live.set(item.projectId, (live.get(item.projectId) ?? 0) + Number(item.live));
    const exact = new Map<string, number>();
    for (const c of connections.values()) exact.set(c.projectId, (exact.get(c.projectId) ?? 0) + 1);
    expect(Object.fromEntries([...live].filter(([, n]) => n !== 0))).toEqual(Object.fromEntries(exact));
  });
});
