/**
 * The whole handler over a real store (dynalite) and the real delivery adapter, posting signed
 * requests to a stand-in `@connections` endpoint, so a test can assert exactly what was posted to
 * whom and script 410s and 429s. Call `useHandler()` at the top of a test file: it registers the
 * hooks and gives the tools.
 */
import { AwsHttp } from '../../lambda/adapters/aws-http';
import { ConnectionsApiDelivery } from '../../lambda/adapters/connections-api';
import { StaticKeySource } from '../../lambda/adapters/key-sources';
import { StandInConnections } from '../../local/stand-in-connections';
import { handlerFor } from '../../lambda/compose';
import type { Handler } from '../../lambda/edge/app';
import { startTestStore, TestStore } from './dynamo';
import { connectEvent, messageEvent, newConnectionId } from './gateway-events';

export const MASTER_KEY = 'test-access-key';
export const SEALING_SECRET = 'test-sealing-secret';
/** Small, so tests can publish to a big channel with a handful of subscribers. */
export const BACKGROUND_ABOVE = 5;
export const TEST_CREDENTIALS = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret-access-key' };
/** The handler's clock. */
export const NOW = Date.parse('2026-11-21T22:38:01.000Z');

export function useHandler() {
  const api = new StandInConnections();
  let http: AwsHttp | undefined;
  const invoked: unknown[] = [];
  const queued: unknown[] = [];
  let db: TestStore | undefined;
  let current: Handler | undefined;
  let ids = 0;

  beforeAll(async () => {
    db = await startTestStore();
    http = new AwsHttp({ endpoint: await api.listen(), service: 'execute-api', region: 'us-east-1', credentials: TEST_CREDENTIALS });
    current = handlerFor({
      connections: db.connections,
      subscriptions: db.subscriptions,
      apiKeys: db.apiKeys,
      usage: db.usage,
      retained: db.retained,
      settings: db.settings,
      publishes: db.publishes,
      tasks: db.tasks,
      namespaces: db.namespaces,
      streams: db.streams,
      away: db.away,
      watches: db.watches,
      webhookFailures: db.webhookFailures,
      webhookSender: db.webhookSender,
      members: db.members,
      occupancy: db.occupancy,
      users: db.users,
      deliveryBudget: db.deliveryBudget,
      namespaceDefaults: {},
      deliveryRatePerSecond: 8000,
      backgroundFanoutAbove: BACKGROUND_ABOVE,
      // Welcome tasks are recorded for tests to run; others (purges) run after the invocation
      // that asked for them has answered, as an asynchronous invocation does on AWS.
      invoker: { invoke: async (task) => void (task.task === 'welcome' ? invoked.push(task) : queued.push(task)) },
      requireToken: false,
      sealing: new StaticKeySource(SEALING_SECRET),
      delivery: new ConnectionsApiDelivery(http, { sleep: async () => undefined }),
      keys: new StaticKeySource(MASTER_KEY),
      fanoutConcurrency: 8,
      newId: () => `msg-${++ids}`,
      now: () => NOW,
    });
  });
  afterAll(async () => {
    http?.destroy();
    await api.close();
    await db?.stop();
  });
  beforeEach(() => api.reset());

  const handler: Handler = async (event, context) => {
    const result = await current!(event, context);
    if (!holding) await runQueued();
    return result;
  };
  let holding = false;
  async function runQueued() {
    while (queued.length > 0) await current!(queued.shift());
  }

  async function connect(query?: Record<string, string>) {
    const id = newConnectionId();
    expect(await handler(connectEvent(id, query))).toEqual({ statusCode: 200 });
    return id;
  }

  return {
    api,
    handler,
    /** Welcome tasks the handler asked to run. */
    invoked,
    /** Other background tasks (purges) not yet run: only while `holdTasks(true)`. */
    queued,
    /** Keeps background tasks queued instead of running them after each invocation. */
    holdTasks: (hold: boolean) => void (holding = hold),
    runQueued,
    /** The real stores under the handler. */
    db: () => db!,
    /** Messages delivered through `@connections`, as [connectionId, parsed message]. */
    posted: () => api.posted(),
    /** The number in the last id the handler gave a message (`msg-N`). */
    lastId: () => ids,
    replyOf: (result: { body?: string }) => JSON.parse(result.body!),
    connect,
    /** A new connection subscribed to the channel. */
    subscribed: async (channel: string) => {
      const id = await connect();
      await handler(messageEvent(id, { action: 'subscribe', channel }));
      return id;
    },
  };
}
