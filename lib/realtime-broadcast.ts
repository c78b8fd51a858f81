import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AccessLogFormat, CfnAccount } from 'aws-cdk-lib/aws-apigateway';
import {
  CfnStage,
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
  ThrottleSettings,
  WebSocketApi,
  WebSocketStage,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration, WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus, IEventBus } from 'aws-cdk-lib/aws-events';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { ManagedPolicy, Policy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { handlerEnvironment } from '../lambda/contract/config';
import { API_GATEWAY } from '../lambda/contract/limits';
import { NamespaceConfig, namespaceDefaultsProblem } from '../lambda/contract/namespaces';
import { HTTP_ROUTE_KEYS, ROUTE_SELECTION_EXPRESSION, WEBSOCKET_ACTIONS, splitHttpRouteKey } from '../lambda/contract/routes';
import {
  API_KEYS_TABLE,
  CHANNELS_TABLE,
  CONNECTIONS_TABLE,
  KeyAttribute,
  PROJECTS_TABLE,
  PUBLISHES_TABLE,
  RETAINED_TABLE,
  SUBSCRIPTIONS_TABLE,
  TableDefinition,
  USAGE_TABLE,
} from '../lambda/contract/tables';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../lambda/contract/metrics';
import { createBroadcastFunction } from './broadcast-function';
import { acknowledgeNagFindings } from './nag-acknowledgements';
import { AlarmThresholds, BroadcastMonitoring } from './monitoring';

/**
 * The construct's settings; every one has a default.
 * @example
 * new RealtimeBroadcast(this, 'Rt', { memorySize: 1024, requireToken: true, alarmEmail: 'ops@example.com' });
 */
export interface RealtimeBroadcastProps {
  /**
   * The WebSocket API's stage name; it is the last part of the `wss://` URL.
   * @default 'production'
   */
  readonly stageName?: string;
  /**
   * An existing secret holding the HTTP API's access key as a plain string. Give this or
   * `generatedKeyLength`, not both.
   * @default a new secret with a generated key
   */
  readonly accessKeySecret?: ISecret;
  /**
   * Length of the generated access key (letters and digits only), when no `accessKeySecret` is given.
   * @default 48
   */
  readonly generatedKeyLength?: number;
  /**
   * What happens to the connection and subscription tables when the stack is deleted. They hold
   * only live connections, which are rebuilt as clients reconnect.
   * @default RemovalPolicy.DESTROY
   */
  readonly tableRemovalPolicy?: RemovalPolicy;
  /**
   * What happens to the project API keys table when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly apiKeysRemovalPolicy?: RemovalPolicy;
  /**
   * Refuse WebSocket connections without a valid client token in every project, `default`
   * included. When false, projects with keys still need tokens (their `anonymousConnect` setting)
   * and projects without keys stay open.
   * @default false
   */
  readonly requireToken?: boolean;
  /** @deprecated the former name of `requireToken`, which it now means. */
  readonly requireApiKey?: boolean;
  /**
   * After the master key's secret is rotated, its previous value keeps working this long, so
   * backends can be updated without downtime. `Duration.seconds(0)` turns it off.
   * @default Duration.hours(24)
   */
  readonly masterKeyGracePeriod?: Duration;
  /**
   * The handler's memory in MB (CPU and network scale with it, which matters for large fan-outs).
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * How many `PostToConnection` calls one publish runs at once.
   * @default 100
   */
  readonly fanoutConcurrency?: number;
  /**
   * Posts per second a big channel's background shards may make together: a share of API
   * Gateway's 10,000 requests/s per account and region, which every API and `@connections` share.
   * @default 8000
   */
  readonly deliveryRatePerSecond?: number;
  /**
   * Channels with more subscribers than this are published in the background: `POST /broadcast`
   * answers 202 with an id, and the outcome is at `GET /broadcast/{id}`.
   * @default 2000
   */
  readonly backgroundFanoutAbove?: number;
  /**
   * Steady-state and burst request limits for each API's stage.
   * @default { rateLimit: 1000, burstLimit: 500 }
   */
  readonly throttle?: ThrottleSettings;
  /**
   * How long the handler's logs are kept.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * How long the API stages' access logs are kept (one JSON line per request: request id, route,
   * status, connection id, source IP; never query strings or headers, which can carry tokens).
   * @default RetentionDays.ONE_MONTH
   */
  readonly accessLogRetention?: RetentionDays;
  /**
   * WebSocket access logs need API Gateway's account-wide CloudWatch Logs role (one per account
   * and region). True creates it and sets it (kept when the stack is deleted, as other APIs may
   * rely on it); false when the account already has one.
   * @default true
   */
  readonly setApiGatewayCloudWatchRole?: boolean;
  /**
   * A throttle of its own on `$connect`, below the stage's: a flood of connects cannot use up the
   * budget that messages need. Must not exceed `throttle`.
   * @default { rateLimit: 100, burstLimit: 50 }, or the stage's throttle where that is lower
   */
  readonly connectThrottle?: ThrottleSettings;
  /**
   * Reserved concurrency for the handler: caps what a flood can cost and guarantees capacity.
   * @default none (the account's unreserved pool)
   */
  readonly reservedConcurrency?: number;
  /**
   * Namespace settings every project starts with, by namespace (`chat` for `chat:room-1`, `_` for
   * channels without a `:`): history `{ size ≤ 1000, ttlSeconds ≤ 604800 }` and `presence`. A
   * project's own settings (`PUT /projects/{id}/namespaces/{ns}`) replace a default namespace whole.
   * @example { chat: { history: { size: 100, ttlSeconds: 86400 }, presence: true } }
   * @default none: no history, presence only on `presence-…` channels
   */
  readonly namespaces?: Readonly<Record<string, NamespaceConfig>>;
  /**
   * Sends `channel_occupied`, `channel_vacated`, `member_added` and `member_removed` to EventBridge
   * (source `realtime-broadcast`), for rules to route to your own targets. `true`: the account's
   * default bus; or give a bus. Each event is an EventBridge `PutEvents` entry ($1 per million).
   * @default false
   */
  readonly lifecycleEvents?: boolean | { readonly eventBus: IEventBus };
  /**
   * How long a presence member may stay silent before it is no longer listed and is removed
   * (clients ping; a ping refreshes every presence channel the connection is in).
   * @default Duration.minutes(5)
   */
  readonly presenceTimeout?: Duration;
  /**
   * The handler's log level: one line per request at INFO, details at DEBUG.
   * @default 'INFO'
   */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /**
   * When the alarms fire; each threshold left out keeps its default.
   * @default DEFAULT_ALARM_THRESHOLDS
   */
  readonly alarmThresholds?: AlarmThresholds;
  /**
   * An existing SNS topic the alarms notify. Give this or `alarmEmail`, not both.
   * @default no notifications
   */
  readonly alarmTopic?: ITopic;
  /**
   * An email address the alarms notify, through a new SNS topic.
   * @default no notifications
   */
  readonly alarmEmail?: string;
}

/**
 * The WebSocket stage when `stageName` is not given.
 * @example
 * new RealtimeBroadcast(this, 'Rt').webSocketStage.stageName === DEFAULT_STAGE_NAME; // 'production'
 */
export const DEFAULT_STAGE_NAME = 'production';
/**
 * The stage throttle when none is given; the local gateway applies the same (contract/limits).
 * @example
 * new RealtimeBroadcast(this, 'Rt', { throttle: { ...DEFAULT_THROTTLE, rateLimit: 2000 } });
 */
export const DEFAULT_THROTTLE: ThrottleSettings = { ...API_GATEWAY.stageThrottle };
/**
 * The `$connect` route's own throttle when `connectThrottle` is not given.
 * @example
 * new RealtimeBroadcast(this, 'Rt', { connectThrottle: { ...DEFAULT_CONNECT_THROTTLE, burstLimit: 100 } });
 */
export const DEFAULT_CONNECT_THROTTLE: ThrottleSettings = { rateLimit: 100, burstLimit: 50 };

/** Access log lines: who, what, how it ended. Never query strings or headers, where tokens and keys travel. */
const WEBSOCKET_ACCESS_LOG = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTimeEpoch',
  eventType: '$context.eventType',
  routeKey: '$context.routeKey',
  status: '$context.status',
  connectionId: '$context.connectionId',
  sourceIp: '$context.identity.sourceIp',
  error: '$context.error.message',
  integrationLatency: '$context.integrationLatency',
};
const HTTP_ACCESS_LOG = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTimeEpoch',
  method: '$context.httpMethod',
  routeKey: '$context.routeKey',
  status: '$context.status',
  sourceIp: '$context.identity.sourceIp',
  responseLength: '$context.responseLength',
  error: '$context.error.message',
  integrationLatency: '$context.integrationLatency',
};
const MIN_KEY_LENGTH = 32;

/**
 * Channel pub/sub over an API Gateway WebSocket API, with an HTTP API for backends to publish,
 * one shared Lambda handler, DynamoDB for connections and subscriptions, and a Secrets Manager
 * access key.
 *
 * @example
 * const broadcast = new RealtimeBroadcast(this, 'Broadcast', { fanoutConcurrency: 200 });
 * new CfnOutput(this, 'Url', { value: broadcast.webSocketStage.url });
 */
export class RealtimeBroadcast extends Construct {
  public readonly connectionsTable: Table;
  public readonly subscriptionsTable: Table;
  public readonly apiKeysTable: Table;
  public readonly usageTable: Table;
  public readonly retainedTable: Table;
  /** Publishes' outcomes and idempotency keys, kept two hours. */
  public readonly publishesTable: Table;
  /** Per-project settings: configuration, kept like the keys. */
  public readonly projectsTable: Table;
  /** Channel streams (history), presence members and occupancy, each item with a TTL. */
  public readonly channelsTable: Table;
  /** Where lifecycle events go, when they are on. */
  public readonly eventBus?: IEventBus;
  public readonly accessKeySecret: ISecret;
  /**
   * Seals project keys in the projects table (see lambda/auth/sealing.ts): reading the table
   * alone is not enough to mint client tokens. Never rotate it: sealed keys would no longer open.
   */
  public readonly sealingSecret: Secret;
  public readonly handler: LambdaFunction;
  public readonly webSocketApi: WebSocketApi;
  public readonly webSocketStage: WebSocketStage;
  public readonly httpApi: HttpApi;
  public readonly httpStage: HttpStage;
  public readonly monitoring: BroadcastMonitoring;
  public readonly webSocketAccessLogs: LogGroup;
  public readonly httpAccessLogs: LogGroup;

  constructor(scope: Construct, id: string, props: RealtimeBroadcastProps = {}) {
    super(scope, id);
    validateProps(props);
    const stageName = props.stageName ?? DEFAULT_STAGE_NAME;
    const throttle = props.throttle ?? DEFAULT_THROTTLE;
    const removalPolicy = props.tableRemovalPolicy ?? RemovalPolicy.DESTROY;

    // No point-in-time recovery for connections, subscriptions and usage: they hold live or
    // short-lived data, rebuilt as clients reconnect; a restore would bring back dead connections.
    const ephemeral = { removalPolicy, pointInTimeRecovery: false };
    this.connectionsTable = this.table('Connections', CONNECTIONS_TABLE, ephemeral);
    this.subscriptionsTable = this.table('Subscriptions', SUBSCRIPTIONS_TABLE, ephemeral);
    this.usageTable = this.table('Usage', USAGE_TABLE, ephemeral);
    this.retainedTable = this.table('Retained', RETAINED_TABLE, ephemeral);
    this.publishesTable = this.table('Publishes', PUBLISHES_TABLE, ephemeral);
    this.channelsTable = this.table('Channels', CHANNELS_TABLE, ephemeral);
    this.eventBus =
      props.lifecycleEvents === true
        ? EventBus.fromEventBusName(this, 'DefaultEventBus', 'default')
        : props.lifecycleEvents
          ? props.lifecycleEvents.eventBus
          : undefined;
    // Project API keys are configuration nobody can rebuild: kept on stack deletion, with PITR.
    const configuration = { removalPolicy: props.apiKeysRemovalPolicy ?? RemovalPolicy.RETAIN, pointInTimeRecovery: true };
    this.apiKeysTable = this.table('ApiKeys', API_KEYS_TABLE, configuration);
    this.projectsTable = this.table('Projects', PROJECTS_TABLE, configuration);

    this.accessKeySecret =
      props.accessKeySecret ??
      new Secret(this, 'AccessKey', {
        description: `Access key for ${Stack.of(this).stackName}'s POST /broadcast`,
        generateSecretString: {
          passwordLength: props.generatedKeyLength ?? 48,
          excludePunctuation: true,
          includeSpace: false,
        },
      });

    this.sealingSecret = new Secret(this, 'SealingSecret', {
      description: `Seals ${Stack.of(this).stackName}'s project keys at rest; never rotate it`,
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      // Losing it would make every project key unable to verify tokens.
      removalPolicy: props.apiKeysRemovalPolicy ?? RemovalPolicy.RETAIN,
    });

    this.webSocketApi = new WebSocketApi(this, 'WebSocketApi', {
      routeSelectionExpression: ROUTE_SELECTION_EXPRESSION,
    });
    const accessLogs = (id: string) =>
      new LogGroup(this, id, { retention: props.accessLogRetention ?? RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    this.webSocketAccessLogs = accessLogs('WebSocketAccessLogs');
    this.httpAccessLogs = accessLogs('HttpAccessLogs');
    this.webSocketStage = new WebSocketStage(this, 'WebSocketStage', {
      webSocketApi: this.webSocketApi,
      stageName,
      autoDeploy: true,
      throttle,
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.webSocketAccessLogs),
        format: AccessLogFormat.custom(JSON.stringify(WEBSOCKET_ACCESS_LOG)),
      },
    });
    const connectThrottle = props.connectThrottle ?? {
      // Below the stage's own, whatever that is.
      rateLimit: Math.min(DEFAULT_CONNECT_THROTTLE.rateLimit!, throttle.rateLimit ?? Infinity),
      burstLimit: Math.min(DEFAULT_CONNECT_THROTTLE.burstLimit!, throttle.burstLimit ?? Infinity),
    };
    (this.webSocketStage.node.defaultChild as CfnStage).routeSettings = {
      $connect: { ThrottlingRateLimit: connectThrottle.rateLimit, ThrottlingBurstLimit: connectThrottle.burstLimit },
    };
    if (props.setApiGatewayCloudWatchRole ?? true) this.setCloudWatchRole();

    this.handler = createBroadcastFunction(this, 'Handler', {
      memorySize: props.memorySize ?? 512,
      reservedConcurrency: props.reservedConcurrency,
      logRetention: props.logRetention ?? RetentionDays.ONE_MONTH,
      environment: {
        ...handlerEnvironment({
          connectionsTable: this.connectionsTable.tableName,
          subscriptionsTable: this.subscriptionsTable.tableName,
          apiKeysTable: this.apiKeysTable.tableName,
          usageTable: this.usageTable.tableName,
          retainedTable: this.retainedTable.tableName,
          projectsTable: this.projectsTable.tableName,
          publishesTable: this.publishesTable.tableName,
          channelsTable: this.channelsTable.tableName,
          namespaces: props.namespaces,
          eventBusName: this.eventBus?.eventBusName,
          presenceTimeoutSeconds: props.presenceTimeout?.toSeconds(),
          deliveryRatePerSecond: props.deliveryRatePerSecond,
          backgroundFanoutAbove: props.backgroundFanoutAbove,
          managementEndpoint: this.webSocketStage.callbackUrl,
          accessKeySecretArn: this.accessKeySecret.secretArn,
          sealingSecretArn: this.sealingSecret.secretArn,
          masterKeyGraceSeconds: props.masterKeyGracePeriod?.toSeconds(),
          fanoutConcurrency: props.fanoutConcurrency,
          requireToken: props.requireToken ?? props.requireApiKey,
        }),
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
        // Stack traces point into lambda/*.ts rather than the minified bundle.
        NODE_OPTIONS: '--enable-source-maps',
      },
    });

    const wsIntegration = new WebSocketLambdaIntegration('WebSocketIntegration', this.handler);
    this.webSocketApi.addRoute('$connect', { integration: wsIntegration });
    this.webSocketApi.addRoute('$disconnect', { integration: wsIntegration });
    // Routes with a route response send the handler's returned body back to the caller.
    this.webSocketApi.addRoute('$default', { integration: wsIntegration, returnResponse: true });
    for (const action of WEBSOCKET_ACTIONS) {
      this.webSocketApi.addRoute(action, { integration: wsIntegration, returnResponse: true });
    }

    const httpIntegration = new HttpLambdaIntegration('HttpIntegration', this.handler);
    // The $default route sends unknown paths to the handler too, which answers 404 with a `code`.
    this.httpApi = new HttpApi(this, 'HttpApi', { createDefaultStage: false, defaultIntegration: httpIntegration });
    this.httpStage = new HttpStage(this, 'HttpStage', {
      httpApi: this.httpApi,
      autoDeploy: true,
      throttle,
      accessLogSettings: { destination: new LogGroupLogDestination(this.httpAccessLogs), format: AccessLogFormat.custom(JSON.stringify(HTTP_ACCESS_LOG)) },
    });
    for (const routeKey of HTTP_ROUTE_KEYS) {
      const { method, path } = splitHttpRouteKey(routeKey);
      this.httpApi.addRoutes({ path, methods: [method as HttpMethod], integration: httpIntegration });
    }

    // Only the calls the stores make: notably no Scan, so no request path can ever scan a table.
    this.connectionsTable.grant(this.handler, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem');
    this.subscriptionsTable.grant(this.handler, 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem');
    // BatchGetItem: revoking a key finds the connections it signed in.
    this.connectionsTable.grant(this.handler, 'dynamodb:Query', 'dynamodb:BatchGetItem');
    // The old keys table is read and emptied, never written.
    this.apiKeysTable.grant(this.handler, 'dynamodb:GetItem', 'dynamodb:DeleteItem', 'dynamodb:Query');
    this.usageTable.grant(this.handler, 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:Query');
    this.retainedTable.grant(this.handler, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem');
    this.publishesTable.grant(this.handler, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem');
    // Streams, members and occupancy: read by Query, written item by item.
    this.channelsTable.grant(this.handler, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query');
    this.eventBus?.grantPutEventsTo(this.handler);
    this.projectsTable.grant(
      this.handler,
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:DeleteItem',
      'dynamodb:Query',
      'dynamodb:BatchGetItem',
    );
    // The welcome message is sent by an asynchronous invocation of this same function. The grant
    // goes in its own policy: in the role's default policy it would make the function depend on
    // its own ARN, a cycle.
    new Policy(this, 'HandlerSelfInvoke', {
      roles: [this.handler.role!],
      statements: [new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.handler.functionArn] })],
    });
    this.webSocketStage.grantManagementApiAccess(this.handler);
    this.accessKeySecret.grantRead(this.handler);
    this.sealingSecret.grantRead(this.handler);

    acknowledgeNagFindings({
      scope: this,
      indexedTables: [this.connectionsTable, this.subscriptionsTable, this.apiKeysTable, this.projectsTable],
      ephemeralTables: [this.connectionsTable, this.subscriptionsTable, this.usageTable, this.retainedTable, this.publishesTable, this.channelsTable],
      webSocketApiLogicalId: Stack.of(this).getLogicalId(this.webSocketApi.node.defaultChild as never),
      stageName,
    });

    this.monitoring = new BroadcastMonitoring(this, 'Monitoring', {
      webSocketApi: this.webSocketApi,
      webSocketStageName: stageName,
      httpApi: this.httpApi,
      handler: this.handler,
      logGroup: this.handler.logGroup,
      tables: {
        connections: this.connectionsTable,
        subscriptions: this.subscriptionsTable,
        apiKeys: this.apiKeysTable,
        usage: this.usageTable,
        retained: this.retainedTable,
      },
      configTables: { projects: this.projectsTable, publishes: this.publishesTable },
      thresholds: props.alarmThresholds,
      alarmTopic: props.alarmTopic,
      alarmEmail: props.alarmEmail,
    });
  }

  /** The CloudWatch dashboard's console URL. */
  get dashboardUrl(): string {
    return this.monitoring.dashboardUrl;
  }

  /** The `wss://` URL clients connect to. */
  get webSocketUrl(): string {
    return this.webSocketStage.url;
  }

  /** The `https://…/broadcast` URL backends publish to. */
  get broadcastUrl(): string {
    return `${this.httpStage.url}broadcast`;
  }

  /** API Gateway's account-wide role for CloudWatch Logs, which WebSocket access logs need. */
  private setCloudWatchRole(): void {
    const role = new Role(this, 'ApiGatewayCloudWatchRole', {
      assumedBy: new ServicePrincipal('apigateway.amazonaws.com'),
      managedPolicies: [ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs')],
    });
    // Kept on deletion: other APIs in the account may log through it by then.
    role.applyRemovalPolicy(RemovalPolicy.RETAIN);
    const account = new CfnAccount(this, 'ApiGatewayAccount', { cloudWatchRoleArn: role.roleArn });
    account.applyRemovalPolicy(RemovalPolicy.RETAIN);
    this.webSocketStage.node.addDependency(account);
  }

  private table(id: string, definition: TableDefinition, options: { removalPolicy: RemovalPolicy; pointInTimeRecovery: boolean }): Table {
    const attribute = (key: KeyAttribute) => ({ name: key.name, type: key.type === 'N' ? AttributeType.NUMBER : AttributeType.STRING });
    const table = new Table(this, id, {
      partitionKey: attribute(definition.partitionKey),
      sortKey: definition.sortKey && attribute(definition.sortKey),
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: definition.ttlAttribute,
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: options.pointInTimeRecovery },
      removalPolicy: options.removalPolicy,
    });
    for (const index of definition.indexes ?? []) {
      table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        sortKey: index.sortKey && attribute(index.sortKey),
        projectionType: index.include ? ProjectionType.INCLUDE : ProjectionType.KEYS_ONLY,
        nonKeyAttributes: index.include && [...index.include],
      });
    }
    return table;
  }
}

function validateProps(props: RealtimeBroadcastProps): void {
  const namespaces = props.namespaces === undefined ? undefined : namespaceDefaultsProblem(props.namespaces);
  if (namespaces) throw new Error(`RealtimeBroadcast: namespaces: ${namespaces}`);
  if (props.presenceTimeout !== undefined && !(props.presenceTimeout.toSeconds() >= 10 && props.presenceTimeout.toSeconds() <= 7200)) {
    throw new Error('RealtimeBroadcast: presenceTimeout must be from 10 seconds to 2 hours (clients must ping more often than it)');
  }
  if (props.accessKeySecret && props.generatedKeyLength !== undefined) {
    throw new Error('RealtimeBroadcast: give accessKeySecret (use an existing key) or generatedKeyLength (generate one), not both');
  }
  if (props.generatedKeyLength !== undefined && !(Number.isInteger(props.generatedKeyLength) && props.generatedKeyLength >= MIN_KEY_LENGTH && props.generatedKeyLength <= 4096)) {
    throw new Error(`RealtimeBroadcast: generatedKeyLength must be an integer from ${MIN_KEY_LENGTH} to 4096`);
  }
  if (props.stageName !== undefined && !/^[A-Za-z0-9_-]{1,128}$/.test(props.stageName)) {
    throw new Error('RealtimeBroadcast: stageName may only contain letters, digits, - and _ (1-128 characters)');
  }
  if (props.memorySize !== undefined && !(Number.isInteger(props.memorySize) && props.memorySize >= 128 && props.memorySize <= 10240)) {
    throw new Error('RealtimeBroadcast: memorySize must be an integer from 128 to 10240 MB');
  }
  if (props.fanoutConcurrency !== undefined && !(Number.isInteger(props.fanoutConcurrency) && props.fanoutConcurrency >= 1 && props.fanoutConcurrency <= 1000)) {
    throw new Error('RealtimeBroadcast: fanoutConcurrency must be an integer from 1 to 1000');
  }
  if (props.deliveryRatePerSecond !== undefined && !(Number.isInteger(props.deliveryRatePerSecond) && props.deliveryRatePerSecond >= 1)) {
    throw new Error('RealtimeBroadcast: deliveryRatePerSecond must be a positive integer (API Gateway allows 10,000 requests/s per account and region by default)');
  }
  if (props.backgroundFanoutAbove !== undefined && !(Number.isInteger(props.backgroundFanoutAbove) && props.backgroundFanoutAbove >= 1)) {
    throw new Error('RealtimeBroadcast: backgroundFanoutAbove must be a positive integer');
  }
  if (props.reservedConcurrency !== undefined && !(Number.isInteger(props.reservedConcurrency) && props.reservedConcurrency >= 1)) {
    throw new Error('RealtimeBroadcast: reservedConcurrency must be a positive integer');
  }
  const stage = props.throttle ?? DEFAULT_THROTTLE;
  const connect = props.connectThrottle ?? {};
  if ((connect.rateLimit ?? 0) > (stage.rateLimit ?? Infinity) || (connect.burstLimit ?? 0) > (stage.burstLimit ?? Infinity)) {
    throw new Error('RealtimeBroadcast: connectThrottle may not exceed throttle');
  }
  const { rateLimit, burstLimit } = props.throttle ?? {};
  if ((rateLimit !== undefined && !(rateLimit >= 0)) || (burstLimit !== undefined && !(Number.isInteger(burstLimit) && burstLimit >= 0))) {
    throw new Error('RealtimeBroadcast: throttle.rateLimit and throttle.burstLimit must be zero or more (burstLimit an integer)');
  }
}
