/** A real DynamoDB-compatible store (dynalite) with the product's tables, for tests of the stores and the handler. */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../../lambda/adapters/dynamo-errors';
import { DynamoApiKeyStore } from '../../lambda/adapters/dynamo-api-keys';
import { DynamoPublishStore } from '../../lambda/adapters/dynamo-publishes';
import { DynamoTaskLedger } from '../../lambda/adapters/dynamo-tasks';
import { DynamoConnectionStore } from '../../lambda/adapters/dynamo-connections';
import { DynamoRetainedStore } from '../../lambda/adapters/dynamo-retained';
import { DynamoSettingsStore } from '../../lambda/adapters/dynamo-settings';
import { DynamoUsageStore } from '../../lambda/adapters/dynamo-usage';
import { DynamoSubscriptionStore } from '../../lambda/adapters/dynamo-subscriptions';
import { DynamoMemberStore } from '../../lambda/adapters/dynamo-members';
import { DynamoNamespaceStore } from '../../lambda/adapters/dynamo-namespaces';
import { DynamoOccupancyStore } from '../../lambda/adapters/dynamo-occupancy';
import { DynamoUserStore } from '../../lambda/adapters/dynamo-users';
import { DynamoDeliveryBudgetStore } from '../../lambda/adapters/dynamo-budget';
import { DynamoStreamStore } from '../../lambda/adapters/dynamo-streams';
import { DynamoAwayStore } from '../../lambda/adapters/dynamo-away';
import { DynamoWatchStore } from '../../lambda/adapters/dynamo-watches';
import { DynamoWebhookFailureStore } from '../../lambda/adapters/dynamo-webhook-failures';
import { FetchWebhookSender } from '../../lambda/adapters/webhook-http';
import { LOCAL_AWS, LOCAL_TABLES, LocalStore, startLocalStore } from '../../local/store';

export interface TestStore {
  readonly store: LocalStore;
  readonly documents: DynamoDBDocumentClient;
  readonly connections: DynamoConnectionStore;
  readonly subscriptions: DynamoSubscriptionStore;
  readonly apiKeys: DynamoApiKeyStore;
  readonly usage: DynamoUsageStore;
  readonly retained: DynamoRetainedStore;
  readonly settings: DynamoSettingsStore;
  readonly publishes: DynamoPublishStore;
  readonly tasks: DynamoTaskLedger;
  readonly namespaces: DynamoNamespaceStore;
  readonly streams: DynamoStreamStore;
  readonly away: DynamoAwayStore;
  readonly watches: DynamoWatchStore;
  readonly webhookFailures: DynamoWebhookFailureStore;
  readonly webhookSender: FetchWebhookSender;
  readonly members: DynamoMemberStore;
  readonly occupancy: DynamoOccupancyStore;
  readonly users: DynamoUserStore;
  readonly deliveryBudget: DynamoDeliveryBudgetStore;
  /** No defaults: a test configures the namespaces it needs. */
  readonly namespaceDefaults: Record<string, never>;
  stop(): Promise<void>;
}

export async function startTestStore(): Promise<TestStore> {
  const store = await startLocalStore();
  const documents = documentClient({ ...LOCAL_AWS, endpoint: store.endpoint });
  return {
    store,
    documents,
    connections: new DynamoConnectionStore(documents, LOCAL_TABLES.connections.name),
    subscriptions: new DynamoSubscriptionStore(documents, LOCAL_TABLES.subscriptions.name),
    apiKeys: new DynamoApiKeyStore(documents, LOCAL_TABLES.projects.name, LOCAL_TABLES.apiKeys.name),
    usage: new DynamoUsageStore(documents, LOCAL_TABLES.usage.name),
    retained: new DynamoRetainedStore(documents, LOCAL_TABLES.retained.name),
    settings: new DynamoSettingsStore(documents, LOCAL_TABLES.projects.name),
    publishes: new DynamoPublishStore(documents, LOCAL_TABLES.publishes.name),
    tasks: new DynamoTaskLedger(documents, LOCAL_TABLES.publishes.name),
    namespaces: new DynamoNamespaceStore(documents, LOCAL_TABLES.projects.name),
    streams: new DynamoStreamStore(documents, LOCAL_TABLES.channels.name),
    away: new DynamoAwayStore(documents, LOCAL_TABLES.channels.name),
    watches: new DynamoWatchStore(documents, LOCAL_TABLES.channels.name),
    webhookFailures: new DynamoWebhookFailureStore(documents, LOCAL_TABLES.channels.name),
    webhookSender: new FetchWebhookSender(),
    members: new DynamoMemberStore(documents, LOCAL_TABLES.channels.name),
    occupancy: new DynamoOccupancyStore(documents, LOCAL_TABLES.channels.name),
    users: new DynamoUserStore(documents, LOCAL_TABLES.channels.name),
    deliveryBudget: new DynamoDeliveryBudgetStore(documents, LOCAL_TABLES.channels.name),
    namespaceDefaults: {},
    async stop() {
      documents.destroy();
      await store.stop();
    },
  };
}
