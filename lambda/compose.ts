/**
 * The wiring, in one place: real AWS SDK clients and the stores over them (built once per execution
 * environment and reused by every invocation), then the services the routes use. Nothing else
 * constructs a service, so what depends on what can be read here top to bottom.
 */
import type { DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoApiKeyStore } from './adapters/dynamo-api-keys';
import { DynamoPublishStore } from './adapters/dynamo-publishes';
import { DynamoTaskLedger } from './adapters/dynamo-tasks';
import { DynamoConnectionStore } from './adapters/dynamo-connections';
import { documentClient } from './adapters/dynamo-errors';
import { DynamoRetainedStore } from './adapters/dynamo-retained';
import { DynamoSettingsStore } from './adapters/dynamo-settings';
import { DynamoUsageStore } from './adapters/dynamo-usage';
import { DynamoMemberStore } from './adapters/dynamo-members';
import { DynamoNamespaceStore } from './adapters/dynamo-namespaces';
import { DynamoOccupancyStore } from './adapters/dynamo-occupancy';
import { DynamoUserStore } from './adapters/dynamo-users';
import { DynamoDeliveryBudgetStore } from './adapters/dynamo-budget';
import { DynamoStreamStore } from './adapters/dynamo-streams';
import { DynamoAwayStore } from './adapters/dynamo-away';
import { DynamoWatchStore } from './adapters/dynamo-watches';
import { DynamoWebhookFailureStore } from './adapters/dynamo-webhook-failures';
import { FetchWebhookSender } from './adapters/webhook-http';
import { eventBridgeHttp, EventBridgeSink } from './adapters/eventbridge';
import { lambdaEventInvokeHttp, LambdaSelfInvoker } from './adapters/lambda-invoker';
import { DynamoSubscriptionStore } from './adapters/dynamo-subscriptions';
import { AwsCredentials, AwsHttp, credentialsFromEnv } from './adapters/aws-http';
import { ConnectionsApiDelivery } from './adapters/connections-api';
import { SecretsManagerKeySource, secretsManagerHttp } from './adapters/key-sources';
import { ApiKeys } from './auth/api-keys';
import { Authorizer } from './auth/principals';
import { KeySealer } from './auth/sealing';
import { DEFAULT_TASK_MAX_AGE_SECONDS, type Config } from './contract/config';
import { NamespaceConfig, PRESENCE_TIMEOUT_SECONDS } from './contract/namespaces';
import { sleep } from './contract/retry';
import { BigChannels } from './domain/big-channels';
import { Departures } from './domain/departures';
import { ChannelHistory } from './domain/history';
import { Lifecycle } from './domain/lifecycle';
import { Continuity } from './domain/continuity';
import { Webhooks } from './domain/webhooks';
import { Watchlists } from './domain/watchlists';
import { SubscriptionCounts } from './domain/subscription-counts';
import { Members } from './domain/members';
import { Namespaces } from './domain/namespaces';
import { ChannelFanout } from './domain/fanout';
import { Membership } from './domain/membership';
import { Presence } from './domain/presence';
import { Projects } from './domain/projects';
import { Publisher } from './domain/publish';
import { Retention } from './domain/retention';
import { Revocation } from './domain/revocation';
import { Settings } from './domain/settings';
import { Users } from './domain/users';
import { createHandler, Handler } from './edge/app';
import type { Services } from './operations';
import { Telemetry } from './telemetry';
import type {
  ApiKeyStore,
  AsyncInvoker,
  ConnectionStore,
  Delivery,
  AwayStore,
  EventSink,
  WatchStore,
  WebhookFailureStore,
  WebhookSender,
  KeySource,
  MemberStore,
  NamespaceStore,
  OccupancyStore,
  PublishStore,
  RetainedStore,
  SettingsStore,
  StreamStore,
  SubscriptionStore,
  UsageStore,
  UserStore,
  DeliveryBudgetStore,
  TaskLedger,
} from './ports';

/** The clients and stores the services are built on: real ones here, dynalite-backed or fakes in tests. */
export interface AppDependencies {
  readonly connections: ConnectionStore;
  readonly subscriptions: SubscriptionStore;
  readonly apiKeys: ApiKeyStore;
  readonly usage: UsageStore;
  readonly retained: RetainedStore;
  readonly settings: SettingsStore;
  readonly publishes: PublishStore;
  /** Background tasks' progress, so a retried or repeated task resumes instead of repeating. */
  readonly tasks: TaskLedger;
  /** The function's maximum event age (ms): after it Lambda starts no attempt of a task. */
  readonly taskMaxAgeMs?: number;
  /** The function's timeout (ms). @default 29000 */
  readonly functionTimeoutMs?: number;
  readonly namespaces: NamespaceStore;
  readonly streams: StreamStore;
  /** Where signed-in users' connections left channels that keep history. */
  readonly away: AwayStore;
  /** Who watches whom (Pusher's watchlists). */
  readonly watches: WatchStore;
  readonly webhookSender: WebhookSender;
  readonly webhookFailures: WebhookFailureStore;
  /** Webhook URLs may be http:// (the local stack). @default false */
  readonly webhooksAllowHttp?: boolean;
  readonly members: MemberStore;
  readonly occupancy: OccupancyStore;
  readonly users: UserStore;
  /** The deployment's delivery budget, shared by every big publish in flight. */
  readonly deliveryBudget: DeliveryBudgetStore;
  /** Where lifecycle events go; absent, they are off. */
  readonly events?: EventSink;
  /** The deployment's namespace defaults. */
  readonly namespaceDefaults: Readonly<Record<string, NamespaceConfig>>;
  /** Presence members silent this long are gone. @default PRESENCE_TIMEOUT_SECONDS */
  readonly presenceTimeoutMs?: number;
  readonly delivery: Delivery;
  /** Runs background tasks (the welcome message) after the current invocation. */
  readonly invoker: AsyncInvoker;
  /** The master access key. */
  readonly keys: KeySource;
  /** The secret project keys are sealed with. */
  readonly sealing: KeySource;
  readonly fanoutConcurrency: number;
  /** Posts per second a big channel's shards may make together. */
  readonly deliveryRatePerSecond: number;
  /** Channels with more subscribers are published in the background. */
  readonly backgroundFanoutAbove: number;
  /** Refuse WebSocket connections without a valid client token, in every project. */
  readonly requireToken: boolean;
  /** The WebSocket stage's URL, for the console (from the `@connections` endpoint: same host and stage). */
  readonly webSocketUrl?: string;
  readonly telemetry?: Telemetry;
  readonly newId?: () => string;
  readonly now?: () => number;
}

/** The services, each built once, each given what it uses. */
export function composeServices(deps: AppDependencies): Services {
  const telemetry = deps.telemetry ?? new Telemetry();
  const { logger } = telemetry;
  const { connections, delivery, now } = deps;
  const fanout = new ChannelFanout({ ...deps, concurrency: deps.fanoutConcurrency, observer: telemetry });
  const projects = new Projects({ ...deps, logger });
  const presence = new Presence({ fanout, delivery, invoker: deps.invoker, logger, now });
  const namespaces = new Namespaces(deps.namespaces, deps.namespaceDefaults, now);
  const history = new ChannelHistory(deps.streams);
  const settings = new Settings(deps.settings, now);
  const apiKeys = new ApiKeys(deps.apiKeys, new KeySealer(deps.sealing), now);
  const webhooks = new Webhooks({
    settings,
    invoker: deps.invoker,
    key: (projectId) => apiKeys.webhookKey(projectId),
    sender: deps.webhookSender,
    failures: deps.webhookFailures,
    observer: telemetry,
    logger,
    now: now ?? Date.now,
  });
  const subscriptionCounts = new SubscriptionCounts({
    settings,
    occupancy: deps.occupancy,
    fanout,
    invoker: deps.invoker,
    webhooks,
    // The publisher is made below; a notice's purge comes after.
    purge: (gone): Promise<void> => publisher.purge(gone),
    now: now ?? Date.now,
    sleep,
  });
  const lifecycle = new Lifecycle({ sink: deps.events, occupancy: deps.occupancy, webhooks, counts: subscriptionCounts, logger, now });
  const members = new Members({
    members: deps.members,
    fanout,
    invoker: deps.invoker,
    lifecycle,
    timeoutMs: deps.presenceTimeoutMs ?? PRESENCE_TIMEOUT_SECONDS * 1000,
    now,
  });
  // A connection that went, by $disconnect or found gone by a fan-out, is announced and uncounted.
  const users = new Users(deps.users, now);
  const continuity = new Continuity({ away: deps.away, streams: deps.streams, history });
  const watchlists = new Watchlists({
    watches: deps.watches,
    users: deps.users,
    fanout,
    invoker: deps.invoker,
    purge: (gone): Promise<void> => publisher.purge(gone),
    now: now ?? Date.now,
  });
  const departures = new Departures({
    presence,
    projects,
    members,
    namespaces,
    lifecycle,
    users,
    continuity,
    watchlists,
    now: now ?? Date.now,
  });
  const membership = new Membership(deps, departures);
  const publisher: Publisher = new Publisher({ fanout, membership, invoker: deps.invoker, namespaces, history, newId: deps.newId, now });
  const bigChannels = new BigChannels({
    subscriptions: deps.subscriptions,
    delivery,
    invoker: deps.invoker,
    publishes: deps.publishes,
    purge: (gone) => publisher.purge(gone),
    concurrency: deps.fanoutConcurrency,
    budgetPerSecond: deps.deliveryRatePerSecond,
    budget: deps.deliveryBudget,
    ledger: deps.tasks,
    taskMaxAgeMs: deps.taskMaxAgeMs ?? DEFAULT_TASK_MAX_AGE_SECONDS * 1000,
    functionTimeoutMs: deps.functionTimeoutMs,
    now,
  });
  return {
    connections,
    delivery,
    telemetry,
    logger,
    projects,
    presence,
    membership,
    departures,
    users,
    publisher,
    retention: new Retention(deps.retained, publisher),
    settings,
    revocation: new Revocation({ connections, subscriptions: deps.subscriptions, delivery, membership }),
    bigChannels,
    publishes: deps.publishes,
    tasks: deps.tasks,
    namespaces,
    history,
    continuity,
    webhooks,
    subscriptionCounts,
    watchlists,
    webhooksAllowHttp: deps.webhooksAllowHttp ?? false,
    members,
    lifecycle,
    backgroundFanoutAbove: deps.backgroundFanoutAbove,
    webSocketUrl: deps.webSocketUrl ?? 'wss://localhost/',
    authorizer: new Authorizer(deps.keys, apiKeys, async (projectId) => (await settings.of(projectId)).maxTokenTtlSeconds, now),
    apiKeys,
    requireToken: deps.requireToken,
    now: now ?? Date.now,
  };
}

/** The Lambda handler over these dependencies. */
export const handlerFor = (deps: AppDependencies): Handler => createHandler(composeServices(deps));

export interface ClientOverrides {
  /** Extra DynamoDB client settings: the local stack points it at dynalite. */
  readonly dynamodb?: DynamoDBClientConfig;
  /** The region and credentials `@connections` requests are signed with (the local stack's). */
  readonly management?: { readonly region: string; readonly credentials: AwsCredentials };
  /** How long one `@connections` attempt may take (default 1 s, API Gateway answers in milliseconds). */
  readonly deliveryAttemptTimeoutMs?: number;
  /**
   * Where Secrets Manager and Lambda calls go, signed with these credentials, instead of AWS's
   * regional endpoints with the role's (the local stack's AWS endpoint).
   */
  readonly services?: { readonly endpoint: string; readonly region: string; readonly credentials: AwsCredentials };
  /** Where the access key comes from instead of Secrets Manager (tests). */
  readonly keys?: KeySource;
  /** Where the sealing secret comes from instead of Secrets Manager (tests). */
  readonly sealing?: KeySource;
  /** How background tasks run instead of a Lambda self-invocation (tests). */
  readonly invoker?: AsyncInvoker;
}

export function buildDependencies(config: Config, overrides: ClientOverrides = {}): AppDependencies {
  const documents = documentClient(overrides.dynamodb);
  return {
    connections: new DynamoConnectionStore(documents, config.connectionsTable),
    subscriptions: new DynamoSubscriptionStore(documents, config.subscriptionsTable),
    apiKeys: new DynamoApiKeyStore(documents, config.projectsTable, config.apiKeysTable),
    usage: new DynamoUsageStore(documents, config.usageTable),
    retained: new DynamoRetainedStore(documents, config.retainedTable),
    settings: new DynamoSettingsStore(documents, config.projectsTable),
    publishes: new DynamoPublishStore(documents, config.publishesTable),
    tasks: new DynamoTaskLedger(documents, config.publishesTable),
    taskMaxAgeMs: config.taskMaxAgeSeconds * 1000,
    functionTimeoutMs: config.functionTimeoutSeconds * 1000,
    namespaces: new DynamoNamespaceStore(documents, config.projectsTable),
    streams: new DynamoStreamStore(documents, config.channelsTable),
    away: new DynamoAwayStore(documents, config.channelsTable),
    watches: new DynamoWatchStore(documents, config.channelsTable),
    webhookSender: new FetchWebhookSender(),
    webhookFailures: new DynamoWebhookFailureStore(documents, config.channelsTable),
    webhooksAllowHttp: config.webhooksAllowHttp,
    members: new DynamoMemberStore(documents, config.channelsTable),
    occupancy: new DynamoOccupancyStore(documents, config.channelsTable),
    users: new DynamoUserStore(documents, config.channelsTable),
    deliveryBudget: new DynamoDeliveryBudgetStore(documents, config.channelsTable),
    events: config.eventBusName ? eventSink(config.eventBusName, overrides.services) : undefined,
    namespaceDefaults: config.namespaces,
    presenceTimeoutMs: config.presenceTimeoutSeconds * 1000,
    deliveryRatePerSecond: config.deliveryRatePerSecond,
    backgroundFanoutAbove: config.backgroundFanoutAbove,
    invoker: overrides.invoker ?? selfInvoker(config, overrides.services),
    requireToken: config.requireToken,
    webSocketUrl: config.managementEndpoint.replace(/^http/, 'ws'),
    delivery: new ConnectionsApiDelivery(
      new AwsHttp({
        endpoint: config.managementEndpoint,
        service: 'execute-api',
        region: overrides.management?.region ?? region(),
        credentials: overrides.management?.credentials ?? credentialsFromEnv(),
      }),
      { attemptTimeoutMs: overrides.deliveryAttemptTimeoutMs },
    ),
    keys: overrides.keys ?? masterKeySource(config, overrides.services),
    sealing: overrides.sealing ?? sealingSecretSource(config, overrides.services),
    fanoutConcurrency: config.fanoutConcurrency,
  };
}

type ServiceEndpoint = ClientOverrides['services'];

function masterKeySource(config: Config, services: ServiceEndpoint): KeySource {
  if (!config.accessKeySecretArn) throw new Error('ACCESS_KEY_SECRET_ARN is not set');
  return new SecretsManagerKeySource(config.accessKeySecretArn, secretsHttp(services), config.accessKeyCacheSeconds, {
    graceSeconds: config.masterKeyGraceSeconds,
  });
}

function sealingSecretSource(config: Config, services: ServiceEndpoint): KeySource {
  if (!config.sealingSecretArn) throw new Error('SEALING_SECRET_ARN is not set');
  // Never rotated in place: sealed keys would no longer open. Cached for the container's life.
  return new SecretsManagerKeySource(config.sealingSecretArn, secretsHttp(services), 24 * 60 * 60);
}

// Lambda puts the region and the execution role's credentials in the environment.
const region = () => process.env.AWS_REGION ?? 'us-east-1';

let secrets: ReturnType<typeof secretsManagerHttp> | undefined;
/** One pool for both secrets, shared by the container (a local endpoint gets its own). */
const secretsHttp = (services: ServiceEndpoint) =>
  services
    ? secretsManagerHttp(services.region, services.credentials, services.endpoint)
    : (secrets ??= secretsManagerHttp(region(), credentialsFromEnv()));

function eventSink(busName: string, services: ServiceEndpoint): EventSink {
  const http = services
    ? eventBridgeHttp(services.region, services.credentials, services.endpoint)
    : eventBridgeHttp(region(), credentialsFromEnv());
  return new EventBridgeSink(http, busName);
}

function selfInvoker(config: Config, services: ServiceEndpoint): AsyncInvoker {
  if (!config.functionName) throw new Error('AWS_LAMBDA_FUNCTION_NAME is not set');
  const http = services
    ? lambdaEventInvokeHttp(services.region, services.credentials, services.endpoint)
    : lambdaEventInvokeHttp(region(), credentialsFromEnv());
  return new LambdaSelfInvoker(http, config.functionName);
}
