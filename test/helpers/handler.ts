/**
 * The whole handler over a real store (dynalite) with the Management API mocked, so a test can
 * assert exactly what was posted to whom. Call `useHandler()` at the top of a test file: it
 * registers the hooks and gives the tools.
 */
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { mockClient } from 'aws-sdk-client-mock';
import { ManagementApiDelivery } from '../../lambda/adapters/management-api-delivery';
import { StaticKeySource } from '../../lambda/adapters/key-sources';
import { handlerFor } from '../../lambda/compose';
import type { Handler } from '../../lambda/edge/app';
import { startTestStore, TestStore } from './dynamo';
import { connectEvent, messageEvent, newConnectionId } from './gateway-events';

export const MASTER_KEY = 'test-access-key';
export const SEALING_SECRET = 'test-sealing-secret';
/** The handler's clock. */
export const NOW = Date.parse('2026-11-21T22:38:01.000Z');

export function useHandler() {
  const api = mockClient(ApiGatewayManagementApiClient);
  const invoked: unknown[] = [];
  let db: TestStore | undefined;
  let current: Handler | undefined;
  let ids = 0;

  beforeAll(async () => {
    db = await startTestStore();
    current = handlerFor({
      connections: db.connections,
      subscriptions: db.subscriptions,
      apiKeys: db.apiKeys,
      usage: db.usage,
      retained: db.retained,
      settings: db.settings,
      invoker: { invoke: async (task) => void invoked.push(task) },
      requireToken: false,
      sealing: new StaticKeySource(SEALING_SECRET),
      delivery: new ManagementApiDelivery(new ApiGatewayManagementApiClient({ region: 'us-east-1' }), { sleep: async () => undefined }),
      keys: new StaticKeySource(MASTER_KEY),
      fanoutConcurrency: 8,
      newId: () => `msg-${++ids}`,
      now: () => NOW,
    });
  });
  afterAll(() => db?.stop());
  beforeEach(() => {
    api.reset();
    api.on(PostToConnectionCommand).resolves({});
  });

  const handler: Handler = (event, context) => current!(event, context);

  async function connect(query?: Record<string, string>) {
    const id = newConnectionId();
    expect(await handler(connectEvent(id, query))).toEqual({ statusCode: 200 });
    return id;
  }

  return {
    api,
    handler,
    /** Background tasks the handler asked to run. */
    invoked,
    /** The real stores under the handler. */
    db: () => db!,
    /** Messages posted through the Management API, as [connectionId, parsed message]. */
    posted: () =>
      api.commandCalls(PostToConnectionCommand).map((call) => [call.args[0].input.ConnectionId, JSON.parse(String(call.args[0].input.Data))]),
    /** The number in the last id the handler gave a message (`msg-N`). */
    lastId: () => ids,
    replyOf: (result: { body?: string }) => JSON.parse(result.body!),
    connect,
    /** A new connection subscribed to the channel. */
    async subscribed(channel: string) {
      const id = await connect();
      await handler(messageEvent(id, { action: 'subscribe', channel }));
      return id;
    },
  };
}
