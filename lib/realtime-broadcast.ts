import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AccessLogFormat, CfnAccount } from 'aws-cdk-lib/aws-apigateway';
import {
  CfnStage,
  HttpApi,
  HttpIntegrationType,
  HttpMethod,
  HttpRouteIntegration,
  HttpRouteIntegrationConfig,
  HttpStage,
  LogGroupLogDestination,
  PayloadFormatVersion,
  ThrottleSettings,
  WebSocketApi,
  WebSocketIntegrationType,
  WebSocketRoute,
  WebSocketRouteIntegration,
  WebSocketRouteIntegrationBindOptions,
  WebSocketRouteIntegrationConfig,
  WebSocketStage,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus, IEventBus } from 'aws-cdk-lib/aws-events';
import type { IFunction, Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { ManagedPolicy, Policy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { handlerEnvironment } from '../lambda/contract/config';
import { API_GATEWAY } from '../lambda/contract/limits';
import { NAMESPACE_DEFAULTS_FILE, NamespaceConfig, namespaceDefaultsProblem } from '../lambda/contract/namespaces';
import { HTTP_ROUTE_KEYS, ROUTE_SELECTION_EXPRESSION, WEBSOCKET_ACTIONS, splitHttpRouteKey } from '../lambda/contract/routes';
import { KeyAttribute, TableDefinition, TableName, TABLES, tableSettings, TableSpec } from '../lambda/contract/tables';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../lambda/contract/metrics';
import { createBroadcastFunction } from './broadcast-function';
import { acknowledgeNagFindings } from './nag-acknowledgements';
import { AlarmThresholds, BroadcastMonitoring } from './monitoring';
import { PusherEndpoint, PusherEndpointOptions } from './pusher-endpoint';

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
   * channels without a `:`): history `{ size ≤ 1000, ttlSeconds ≤ 604800 }` and `presence`; at most
   * 100. A project's own settings (`PUT /projects/{id}/namespaces/{ns}`) replace a default namespace
   * whole. They travel in a file beside the handler's bundle (`namespaces.json`), not in its
   * environment, which Lambda limits to 4 KB.
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
   * A CloudFront distribution in front of the WebSocket API for pusher-js and Laravel Echo, which
   * connect to `wss://{host}/app/{key}` (API Gateway accepts only the stage's path): its function
   * rewrites the handshake to the stage, the app key in the query string. `true`, or its settings.
   * It costs nothing idle; each connection is one CloudFront request and one function invocation,
   * and its frames are CloudFront data transfer. Off by default: a distribution adds minutes to a
   * deploy, and a new AWS account may have to be verified by AWS Support before it may create one.
   * @default false
   */
  readonly pusherEndpoint?: boolean | PusherEndpointOptions;
  /**
   * How long Lambda keeps trying to start a background task — a big channel's shard, a welcome, a
   * purge — before giving it up to the `failedTasks` queue (the function's maximum event age). A big
   * publish one of whose shards was given up is reported `failed` at `GET /broadcast/{id}` once this
   * has passed. From one minute (Lambda's least) to one hour (a publish's outcome is kept two hours).
   * @default Duration.minutes(15)
   */
  readonly backgroundTaskMaxAge?: Duration;
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
 * The construct's DynamoDB tables, by name (what each holds: `TABLES` in lambda/contract/tables.ts).
 * Their names are generated by CloudFormation.
 * @example
 * new CfnOutput(this, 'ProjectsTable', { value: broadcast.tables.projects.tableName });
 */
export type BroadcastTables = { readonly [N in TableName]: Table };

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
 * access key. Its URLs, key secret and tables are properties, ready for `CfnOutput`s.
 *
 * @example
 * const broadcast = new RealtimeBroadcast(this, 'Broadcast', { fanoutConcurrency: 200 });
 * new CfnOutput(this, 'WebSocketUrl', { value: broadcast.webSocketUrl });
 * new CfnOutput(this, 'HttpUrl', { value: broadcast.httpUrl });
 * new CfnOutput(this, 'AccessKeySecretArn', { value: broadcast.accessKeySecret.secretArn });
 */
export class RealtimeBroadcast extends Construct {
  /**
   * The `wss://` URL clients connect to (`wss://{api}.execute-api.{region}.amazonaws.com/{stage}`).
   * @example
   * new CfnOutput(this, 'WebSocketUrl', { value: broadcast.webSocketUrl });
   */
  public readonly webSocketUrl: string;
  /**
   * The HTTP API's base URL, ending in `/`: backends call `{httpUrl}broadcast`, `{httpUrl}api-keys`, ….
   * @example
   * new CfnOutput(this, 'HttpUrl', { value: broadcast.httpUrl });
   */
  public readonly httpUrl: string;
  /**
   * `POST` messages here with `Authorization: Bearer <key>` (`{httpUrl}broadcast`).
   * @example
   * new CfnOutput(this, 'BroadcastUrl', { value: broadcast.broadcastUrl });
   */
  public readonly broadcastUrl: string;
  /**
   * The debug console's page (`{httpUrl}console`); sign in with a key.
   * @example
   * new CfnOutput(this, 'ConsoleUrl', { value: broadcast.consoleUrl });
   */
  public readonly consoleUrl: string;
  /**
   * The CloudWatch dashboard in the AWS console.
   * @example
   * new CfnOutput(this, 'DashboardUrl', { value: broadcast.dashboardUrl });
   */
  public readonly dashboardUrl: string;
  /**
   * Every table, by name (the same tables as the `…Table` properties).
   * @example
   * for (const [name, table] of Object.entries(broadcast.tables)) new CfnOutput(this, `${name}Table`, { value: table.tableName });
   */
  public readonly tables: BroadcastTables;
  /** @example broadcast.connectionsTable.tableName */
  public readonly connectionsTable: Table;
  /** @example broadcast.subscriptionsTable.tableName */
  public readonly subscriptionsTable: Table;
  /** @example broadcast.apiKeysTable.tableName */
  public readonly apiKeysTable: Table;
  /** @example broadcast.usageTable.tableName */
  public readonly usageTable: Table;
  /** @example broadcast.retainedTable.tableName */
  public readonly retainedTable: Table;
  /** Publishes' outcomes and idempotency keys, kept two hours. @example broadcast.publishesTable.tableName */
  public readonly publishesTable: Table;
  /** Per-project settings: configuration, kept like the keys. @example broadcast.projectsTable.tableName */
  public readonly projectsTable: Table;
  /** Channel streams (history), presence members and occupancy, each item with a TTL. @example broadcast.channelsTable.tableName */
  public readonly channelsTable: Table;
  /** Where lifecycle events go, when they are on. */
  public readonly eventBus?: IEventBus;
  /**
   * The secret holding the master access key (a plain string). Output its ARN, never its value:
   * the value would be readable by anyone who can read the stack.
   * @example
   * new CfnOutput(this, 'AccessKeySecretArn', { value: broadcast.accessKeySecret.secretArn });
   * // then: aws secretsmanager get-secret-value --secret-id <arn> --query SecretString --output text
   */
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
  /**
   * The handler's failure destination: each background task Lambda gave up — after its two retries,
   * or older than `backgroundTaskMaxAge` — as Lambda's on-failure record (the task in
   * `requestPayload`, the error in `responsePayload`), kept 14 days. An alarm watches it.
   */
  public readonly failedTasks: Queue;
  public readonly webSocketAccessLogs: LogGroup;
  public readonly httpAccessLogs: LogGroup;
  /** The Pusher endpoint (its distribution, function and origin request policy), when `pusherEndpoint` is on. */
  public readonly pusherEndpoint?: PusherEndpoint;
  /**
   * pusher-js's `wsHost` (`d111111abcdef8.cloudfront.net`), when `pusherEndpoint` is on.
   * @example
   * if (broadcast.pusherHost) new CfnOutput(this, 'PusherHost', { value: broadcast.pusherHost });
   */
  public readonly pusherHost?: string;

  constructor(scope: Construct, id: string, props: RealtimeBroadcastProps = {}) {
    super(scope, id);
    validateProps(props);
    const stageName = props.stageName ?? DEFAULT_STAGE_NAME;
    const throttle = props.throttle ?? DEFAULT_THROTTLE;
    const removalPolicy = props.tableRemovalPolicy ?? RemovalPolicy.DESTROY;

    // No point-in-time recovery for live data: it is rebuilt as clients reconnect, and a restore
    // would bring back dead connections. Configuration (project keys and settings) nobody can
    // rebuild: kept on stack deletion, with point-in-time recovery.
    const options = {
      'live data': { removalPolicy, pointInTimeRecovery: false },
      configuration: { removalPolicy: props.apiKeysRemovalPolicy ?? RemovalPolicy.RETAIN, pointInTimeRecovery: true },
    };
    this.tables = Object.fromEntries(
      Object.entries(TABLES).map(([name, spec]: [string, TableSpec]) => [
        name,
        this.table(spec.construct, spec.definition, options[spec.holds]),
      ]),
    ) as BroadcastTables;
    this.connectionsTable = this.tables.connections;
    this.subscriptionsTable = this.tables.subscriptions;
    this.usageTable = this.tables.usage;
    this.retainedTable = this.tables.retained;
    this.publishesTable = this.tables.publishes;
    this.channelsTable = this.tables.channels;
    this.apiKeysTable = this.tables.apiKeys;
    this.projectsTable = this.tables.projects;
    this.eventBus =
      props.lifecycleEvents === true
        ? EventBus.fromEventBusName(this, 'DefaultEventBus', 'default')
        : props.lifecycleEvents
          ? props.lifecycleEvents.eventBus
          : undefined;

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
    // Route settings name routes by key: the stage depends on each of them (below), or
    // CloudFormation may create it first and CreateStage refuses a setting for a missing route.
    const routeSettings: Record<string, { ThrottlingRateLimit?: number; ThrottlingBurstLimit?: number }> = {
      $connect: { ThrottlingRateLimit: connectThrottle.rateLimit, ThrottlingBurstLimit: connectThrottle.burstLimit },
    };
    (this.webSocketStage.node.defaultChild as CfnStage).routeSettings = routeSettings;
    if (props.setApiGatewayCloudWatchRole ?? true) this.setCloudWatchRole();

    const taskMaxAge = props.backgroundTaskMaxAge ?? Duration.minutes(15);
    this.handler = createBroadcastFunction(this, 'Handler', {
      memorySize: props.memorySize ?? 512,
      reservedConcurrency: props.reservedConcurrency,
      logRetention: props.logRetention ?? RetentionDays.ONE_MONTH,
      environment: {
        ...handlerEnvironment({
          ...tableSettings((name) => this.tables[name].tableName),
          namespacesFile: NAMESPACE_DEFAULTS_FILE,
          eventBusName: this.eventBus?.eventBusName,
          presenceTimeoutSeconds: props.presenceTimeout?.toSeconds(),
          taskMaxAgeSeconds: taskMaxAge.toSeconds(),
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
      filesBesideBundle: { [NAMESPACE_DEFAULTS_FILE]: JSON.stringify(props.namespaces ?? {}) },
    });

    // Background tasks are asynchronous self-invocations: Lambda retries a failed one twice, and
    // gives up one it cannot run to this queue rather than dropping it without a trace. Every task
    // is safe to run again (lambda/operations/tasks.ts); the handler and this config agree on the age.
    this.failedTasks = new Queue(this, 'FailedTasks', {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.handler.configureAsyncInvoke({ retryAttempts: 2, maxEventAge: taskMaxAge, onFailure: new SqsDestination(this.failedTasks) });

    const wsIntegration = new WebSocketLambdaProxy('WebSocketIntegration', this.handler);
    const webSocketRoutes: Record<string, WebSocketRoute> = {
      $connect: this.webSocketApi.addRoute('$connect', { integration: wsIntegration }),
      $disconnect: this.webSocketApi.addRoute('$disconnect', { integration: wsIntegration }),
      // Routes with a route response send the handler's returned body back to the caller.
      $default: this.webSocketApi.addRoute('$default', { integration: wsIntegration, returnResponse: true }),
    };
    for (const action of WEBSOCKET_ACTIONS) {
      webSocketRoutes[action] = this.webSocketApi.addRoute(action, { integration: wsIntegration, returnResponse: true });
    }
    for (const routeKey of Object.keys(routeSettings)) this.webSocketStage.node.addDependency(webSocketRoutes[routeKey]);

    const httpIntegration = new HttpLambdaProxy('HttpIntegration', this.handler);
    // The $default route sends unknown paths to the handler too, which answers 404 with a `code`.
    this.httpApi = new HttpApi(this, 'HttpApi', { createDefaultStage: false, defaultIntegration: httpIntegration });
    this.httpStage = new HttpStage(this, 'HttpStage', {
      httpApi: this.httpApi,
      autoDeploy: true,
      throttle,
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.httpAccessLogs),
        format: AccessLogFormat.custom(JSON.stringify(HTTP_ACCESS_LOG)),
      },
    });
    for (const routeKey of HTTP_ROUTE_KEYS) {
      const { method, path } = splitHttpRouteKey(routeKey);
      this.httpApi.addRoutes({ path, methods: [method as HttpMethod], integration: httpIntegration });
    }
    // One permission per API covers every route and stage. The CDK's own integrations add one per
    // route instead: 39 statements, ~18 KB of the function's 20 KB resource policy.
    for (const [id, api] of [
      ['WebSocketApiInvoke', this.webSocketApi],
      ['HttpApiInvoke', this.httpApi],
    ] as const) {
      this.handler.addPermission(id, {
        principal: new ServicePrincipal('apigateway.amazonaws.com'),
        sourceArn: Stack.of(this).formatArn({ service: 'execute-api', resource: api.apiId, resourceName: '*' }),
      });
    }

    // Each table exactly the calls its stores make (contract/tables.ts): notably no Scan, so no
    // request path can ever scan a table.
    for (const [name, spec] of Object.entries(TABLES) as [TableName, TableSpec][]) {
      this.tables[name].grant(this.handler, ...spec.calls.map((call) => `dynamodb:${call}`));
    }
    this.eventBus?.grantPutEventsTo(this.handler);
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

    if (props.pusherEndpoint) {
      this.pusherEndpoint = new PusherEndpoint(this, 'PusherEndpoint', {
        ...(props.pusherEndpoint === true ? {} : props.pusherEndpoint),
        webSocketApi: this.webSocketApi,
        stageName,
      });
      this.pusherHost = this.pusherEndpoint.host;
    }

    acknowledgeNagFindings({
      scope: this,
      indexedTables: tablesWhere(this.tables, (spec) => (spec.definition.indexes?.length ?? 0) > 0),
      ephemeralTables: tablesWhere(this.tables, (spec) => spec.holds === 'live data'),
      webSocketApiLogicalId: Stack.of(this).getLogicalId(this.webSocketApi.node.defaultChild as never),
      stageName,
      failureDestination: this.failedTasks,
      pusherDistribution: this.pusherEndpoint?.distribution,
    });

    this.monitoring = new BroadcastMonitoring(this, 'Monitoring', {
      webSocketApi: this.webSocketApi,
      webSocketStageName: stageName,
      httpApi: this.httpApi,
      handler: this.handler,
      logGroup: this.handler.logGroup,
      tables: this.tables,
      failedTasks: this.failedTasks,
      thresholds: props.alarmThresholds,
      alarmTopic: props.alarmTopic,
      alarmEmail: props.alarmEmail,
    });

    this.webSocketUrl = this.webSocketStage.url;
    this.httpUrl = this.httpStage.url;
    this.broadcastUrl = `${this.httpUrl}broadcast`;
    this.consoleUrl = `${this.httpUrl}console`;
    this.dashboardUrl = this.monitoring.dashboardUrl;
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

/** The tables whose entry in TABLES matches. */
function tablesWhere(tables: BroadcastTables, test: (spec: TableSpec) => boolean): Table[] {
  return (Object.keys(TABLES) as TableName[]).filter((name) => test(TABLES[name])).map((name) => tables[name]);
}

/**
 * A Lambda proxy integration that adds no `AWS::Lambda::Permission` of its own (the CDK's adds one
 * per route); the construct grants each API once.
 */
class WebSocketLambdaProxy extends WebSocketRouteIntegration {
  constructor(
    id: string,
    private readonly fn: IFunction,
  ) {
    super(id);
  }

  bind(options: WebSocketRouteIntegrationBindOptions): WebSocketRouteIntegrationConfig {
    const uri = Stack.of(options.route).formatArn({
      service: 'apigateway',
      account: 'lambda',
      resource: 'path/2015-03-31/functions',
      resourceName: `${this.fn.functionArn}/invocations`,
    });
    return { type: WebSocketIntegrationType.AWS_PROXY, uri };
  }
}

/** The HTTP API's Lambda proxy integration (payload format 2.0), without a permission per route. */
class HttpLambdaProxy extends HttpRouteIntegration {
  constructor(
    id: string,
    private readonly fn: IFunction,
  ) {
    super(id);
  }

  bind(): HttpRouteIntegrationConfig {
    return { type: HttpIntegrationType.AWS_PROXY, uri: this.fn.functionArn, payloadFormatVersion: PayloadFormatVersion.VERSION_2_0 };
  }
}

function validateProps(props: RealtimeBroadcastProps): void {
  const pusher = props.pusherEndpoint;
  if (pusher !== undefined && typeof pusher !== 'boolean' && (typeof pusher !== 'object' || pusher === null)) {
    throw new Error('RealtimeBroadcast: pusherEndpoint is true, false, or its settings ({ priceClass })');
  }
  const namespaces = props.namespaces === undefined ? undefined : namespaceDefaultsProblem(props.namespaces);
  if (namespaces) throw new Error(`RealtimeBroadcast: namespaces: ${namespaces}`);
  const maxAge = props.backgroundTaskMaxAge?.toSeconds();
  if (maxAge !== undefined && !(Number.isInteger(maxAge) && maxAge >= 60 && maxAge <= 3_600)) {
    throw new Error(
      "RealtimeBroadcast: backgroundTaskMaxAge must be whole seconds from 1 minute (Lambda's least) to 1 hour (a publish's record is kept 2 hours)",
    );
  }
  if (props.presenceTimeout !== undefined && !(props.presenceTimeout.toSeconds() >= 10 && props.presenceTimeout.toSeconds() <= 7200)) {
    throw new Error('RealtimeBroadcast: presenceTimeout must be from 10 seconds to 2 hours (clients must ping more often than it)');
  }
  if (props.accessKeySecret && props.generatedKeyLength !== undefined) {
    throw new Error('RealtimeBroadcast: give accessKeySecret (use an existing key) or generatedKeyLength (generate one), not both');
  }
  if (
    props.generatedKeyLength !== undefined &&
    !(Number.isInteger(props.generatedKeyLength) && props.generatedKeyLength >= MIN_KEY_LENGTH && props.generatedKeyLength <= 4096)
  ) {
    throw new Error(`RealtimeBroadcast: generatedKeyLength must be an integer from ${MIN_KEY_LENGTH} to 4096`);
  }
  if (props.stageName !== undefined && !/^[A-Za-z0-9_-]{1,128}$/.test(props.stageName)) {
    throw new Error('RealtimeBroadcast: stageName may only contain letters, digits, - and _ (1-128 characters)');
  }
  if (props.memorySize !== undefined && !(Number.isInteger(props.memorySize) && props.memorySize >= 128 && props.memorySize <= 10240)) {
    throw new Error('RealtimeBroadcast: memorySize must be an integer from 128 to 10240 MB');
  }
  if (
    props.fanoutConcurrency !== undefined &&
    !(Number.isInteger(props.fanoutConcurrency) && props.fanoutConcurrency >= 1 && props.fanoutConcurrency <= 1000)
  ) {
    throw new Error('RealtimeBroadcast: fanoutConcurrency must be an integer from 1 to 1000');
  }
  if (props.deliveryRatePerSecond !== undefined && !(Number.isInteger(props.deliveryRatePerSecond) && props.deliveryRatePerSecond >= 1)) {
    throw new Error(
      'RealtimeBroadcast: deliveryRatePerSecond must be a positive integer (API Gateway allows 10,000 requests/s per account and region by default)',
    );
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
