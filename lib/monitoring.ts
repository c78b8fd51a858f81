import { Duration, Stack, Token } from 'aws-cdk-lib';
import type { IHttpApi, IWebSocketApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  AlarmRule,
  AlarmState,
  ComparisonOperator,
  CompositeAlarm,
  Dashboard,
  GraphWidget,
  IMetric,
  LogQueryWidget,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { METRIC, METRICS_NAMESPACE, SERVICE_NAME } from '../lambda/contract/metrics';

/**
 * When each alarm fires. Every alarm looks at 5-minute periods.
 * @example
 * new RealtimeBroadcast(this, 'Rt', { alarmThresholds: { handlerErrors: 10, http5xxRate: 0.02 } });
 */
export interface AlarmThresholds {
  /**
   * Handler invocations that failed (threw or timed out) in 5 minutes.
   * @default 5
   */
  readonly handlerErrors?: number;
  /**
   * HTTP API 5xx responses as a percentage of requests, for two periods in a row.
   * @default 5
   */
  readonly http5xxPercent?: number;
  /**
   * Deliveries that failed after retries as a fraction of attempted deliveries (0–1), for three periods in a row.
   * @default 0.05
   */
  readonly deliveryFailureRatio?: number;
  /**
   * DynamoDB read and write throttle events on any one table in 5 minutes.
   * @default 10
   */
  readonly dynamoThrottles?: number;
  /**
   * Handler invocations refused for lack of concurrency in 5 minutes.
   * @default 1
   */
  readonly lambdaThrottles?: number;
  /**
   * Background tasks given up by Lambda (after their retries, or too old to start) and sent to the
   * failure destination, in 5 minutes.
   * @default 1
   */
  readonly failedTasks?: number;
  /**
   * Webhook attempts that failed (the receiver did not answer 2xx within 5 s) in 5 minutes; each is retried.
   * @default 5
   */
  readonly webhookFailures?: number;
}

/**
 * @example
 * new RealtimeBroadcast(this, 'Rt', { alarmThresholds: { ...DEFAULT_ALARM_THRESHOLDS, handlerErrors: 10 } });
 */
export const DEFAULT_ALARM_THRESHOLDS: Required<AlarmThresholds> = {
  handlerErrors: 5,
  http5xxPercent: 5,
  deliveryFailureRatio: 0.05,
  dynamoThrottles: 10,
  lambdaThrottles: 1,
  failedTasks: 1,
  webhookFailures: 5,
};

/**
 * @example
 * // Built by RealtimeBroadcast; its dashboard: broadcast.monitoring.dashboard
 */
export interface BroadcastMonitoringProps {
  readonly webSocketApi: IWebSocketApi;
  readonly webSocketStageName: string;
  readonly httpApi: IHttpApi;
  readonly handler: IFunction;
  readonly logGroup: ILogGroup;
  /**
   * Every table, by a short name shown on the dashboard: each gets a throttle alarm of its own,
   * and a composite alarm over them all notifies.
   */
  readonly tables: Readonly<Record<string, ITable>>;
  /** The handler's failure destination: background tasks Lambda gave up. */
  readonly failedTasks: IQueue;
  readonly thresholds?: AlarmThresholds;
  /** Where alarms notify. Give this or `alarmEmail`, not both. @default no notifications */
  readonly alarmTopic?: ITopic;
  /** An address to notify, through a new SNS topic. @default no notifications */
  readonly alarmEmail?: string;
}

const PERIOD = Duration.minutes(5);

/**
 * A CloudWatch dashboard and alarms for one {@link RealtimeBroadcast}, built from its resources:
 * the APIs, the handler, the tables, and the business metrics the handler emits (EMF).
 * @example
 * new CfnOutput(this, 'Dashboard', { value: broadcast.monitoring.dashboardUrl });
 */
export class BroadcastMonitoring extends Construct {
  public readonly dashboard: Dashboard;
  /** The alarms that notify `alarmTopic`. */
  public readonly alarms: {
    readonly handlerErrors: Alarm;
    readonly http5xxRate: Alarm;
    readonly deliveryFailureRatio: Alarm;
    /** In alarm while any table's throttle alarm is: the child in ALARM names the table. */
    readonly dynamoThrottles: CompositeAlarm;
    readonly lambdaThrottles: Alarm;
    /** A background task was given up: its record waits in the `FailedTasks` queue. */
    readonly failedTasks: Alarm;
    /** Webhook receivers failing: attempts that did not get a 2xx. */
    readonly webhookFailures: Alarm;
  };
  /** One throttle alarm per table, by the table's name in `tables`; they notify through `alarms.dynamoThrottles`. */
  public readonly tableThrottleAlarms: Readonly<Record<string, Alarm>>;
  /** The topic alarms notify, if any. */
  public readonly alarmTopic?: ITopic;

  constructor(scope: Construct, id: string, props: BroadcastMonitoringProps) {
    super(scope, id);
    if (props.alarmTopic && props.alarmEmail) {
      throw new Error('RealtimeBroadcast: give alarmTopic (an existing topic) or alarmEmail (a new topic for that address), not both');
    }
    const thresholds = { ...DEFAULT_ALARM_THRESHOLDS, ...props.thresholds };
    validateThresholds(thresholds);

    const ws = (metricName: string, statistic = 'Sum') =>
      new Metric({
        namespace: 'AWS/ApiGateway',
        metricName,
        statistic,
        period: PERIOD,
        dimensionsMap: { ApiId: props.webSocketApi.apiId, Stage: props.webSocketStageName },
      });
    const http = (metricName: string, statistic = 'Sum') =>
      new Metric({
        namespace: 'AWS/ApiGateway',
        metricName,
        statistic,
        period: PERIOD,
        dimensionsMap: { ApiId: props.httpApi.apiId, Stage: '$default' },
      });
    const ours = (metricName: string, statistic = 'Sum') =>
      new Metric({ namespace: METRICS_NAMESPACE, metricName, statistic, period: PERIOD, dimensionsMap: { service: SERVICE_NAME } });
    const fn = props.handler;

    const sent = ours(METRIC.deliveriesSent);
    const failed = ours(METRIC.deliveriesFailed);
    const stale = ours(METRIC.stalePurged);
    const failureRatio = new MathExpression({
      expression: 'IF(sent + failed > 0, failed / (sent + failed), 0)',
      usingMetrics: { sent, failed },
      label: 'Delivery failure ratio',
      period: PERIOD,
    });
    const staleRatio = new MathExpression({
      expression: 'IF(sent + failed + stale > 0, stale / (sent + failed + stale), 0)',
      usingMetrics: { sent, failed, stale },
      label: 'Stale ratio',
      period: PERIOD,
    });
    const http5xxPercent = new MathExpression({
      expression: 'IF(requests > 0, 100 * errors / requests, 0)',
      usingMetrics: { requests: http('Count'), errors: http('5xx') },
      label: 'HTTP 5xx %',
      period: PERIOD,
    });
    // Each table's read and write throttle events, as one line (two metrics: an alarm may use 10,
    // so one alarm over every table would stop at five).
    const tableThrottles = Object.entries(props.tables).map(
      ([name, table]) =>
        [
          name,
          new MathExpression({
            // Ids unique per table: the dashboard draws every table's line in one graph.
            expression: `${name}Reads + ${name}Writes`,
            usingMetrics: {
              [`${name}Reads`]: table.metric('ReadThrottleEvents', { statistic: 'Sum', period: PERIOD }),
              [`${name}Writes`]: table.metric('WriteThrottleEvents', { statistic: 'Sum', period: PERIOD }),
            },
            label: name,
            period: PERIOD,
          }),
        ] as const,
    );

    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
    const graph = (title: string, left: IMetric[], right: IMetric[] = []) => new GraphWidget({ title, left, right, width: 6, height: 6 });
    const row = (heading: string) => new TextWidget({ markdown: `### ${heading}`, width: 24, height: 1 });
    const tables = Object.entries(props.tables);
    this.dashboard.addWidgets(row('WebSocket API'));
    this.dashboard.addWidgets(
      graph('Connections and messages', [ws('ConnectCount'), ws('MessageCount')]),
      graph('Errors', [ws('ClientError'), ws('ExecutionError'), ws('IntegrationError')]),
      graph('Integration latency (ms)', [ws('IntegrationLatency', 'p50'), ws('IntegrationLatency', 'p99')]),
    );
    this.dashboard.addWidgets(row('HTTP API'));
    this.dashboard.addWidgets(
      graph('Requests', [http('Count')]),
      graph('4xx and 5xx', [http('4xx'), http('5xx')]),
      graph('Latency (ms)', [http('Latency', 'p50'), http('Latency', 'p99')]),
    );
    this.dashboard.addWidgets(row('Handler (Lambda)'));
    this.dashboard.addWidgets(
      graph('Invocations, errors, throttles', [
        fn.metricInvocations({ period: PERIOD }),
        fn.metricErrors({ period: PERIOD }),
        fn.metricThrottles({ period: PERIOD }),
      ]),
      graph('Duration (ms)', [
        fn.metricDuration({ statistic: 'p50', period: PERIOD }),
        fn.metricDuration({ statistic: 'p99', period: PERIOD }),
      ]),
      graph('Concurrent executions', [fn.metric('ConcurrentExecutions', { statistic: 'Maximum', period: PERIOD })]),
    );
    this.dashboard.addWidgets(row('Background tasks (asynchronous invocations)'));
    const lambdaMetric = (metricName: string, statistic = 'Sum') => fn.metric(metricName, { statistic, period: PERIOD });
    this.dashboard.addWidgets(
      graph('Received and dropped', [lambdaMetric('AsyncEventsReceived'), lambdaMetric('AsyncEventsDropped')]),
      graph('Oldest event waiting (ms)', [lambdaMetric('AsyncEventAge', 'Maximum')]),
      graph(
        'Given up (in the FailedTasks queue)',
        [props.failedTasks.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: PERIOD })],
        [lambdaMetric('DestinationDeliveryFailures')],
      ),
    );
    this.dashboard.addWidgets(row('DynamoDB'));
    this.dashboard.addWidgets(
      graph(
        'Consumed read units',
        tables.map(([name, t]) => t.metricConsumedReadCapacityUnits({ label: name, period: PERIOD })),
      ),
      graph(
        'Consumed write units',
        tables.map(([name, t]) => t.metricConsumedWriteCapacityUnits({ label: name, period: PERIOD })),
      ),
      graph(
        'Throttle events',
        tableThrottles.map(([, throttles]) => throttles),
      ),
      graph(
        'Latency (ms)',
        tables.flatMap(([name, t]) =>
          ['GetItem', 'Query'].map((operation) =>
            t.metricSuccessfulRequestLatency({
              dimensionsMap: { TableName: t.tableName, Operation: operation },
              label: `${name} ${operation}`,
              period: PERIOD,
            }),
          ),
        ),
      ),
    );
    this.dashboard.addWidgets(row('Delivery (business metrics)'));
    this.dashboard.addWidgets(
      graph(
        'Deliveries and publishes per second',
        [new MathExpression({ expression: 'sent / PERIOD(sent)', usingMetrics: { sent }, label: 'Deliveries/s', period: PERIOD })],
        (['WebSocket', 'HTTP'] as const).map(
          (transport) =>
            new MathExpression({
              expression: `published${transport} / PERIOD(published${transport})`,
              usingMetrics: {
                [`published${transport}`]: new Metric({
                  namespace: METRICS_NAMESPACE,
                  metricName: METRIC.messagesPublished,
                  statistic: 'Sum',
                  period: PERIOD,
                  dimensionsMap: { service: SERVICE_NAME, Transport: transport },
                }),
              },
              label: `Publishes/s (${transport})`,
              period: PERIOD,
            }),
        ),
      ),
      graph('Failure and stale ratios', [failureRatio, staleRatio]),
      graph(
        'Fan-out duration (ms)',
        [ours(METRIC.fanoutDuration, 'p50'), ours(METRIC.fanoutDuration, 'p99')],
        [ours(METRIC.fanoutSize, 'p99')],
      ),
      graph('Unauthorized and invalid requests', [ours(METRIC.unauthorized), ours(METRIC.invalidInputs)]),
    );
    this.dashboard.addWidgets(row('Webhooks (Pusher format, as background tasks)'));
    this.dashboard.addWidgets(
      graph('Events delivered, attempts failed', [ours(METRIC.webhookEvents)], [ours(METRIC.webhookFailures)]),
      graph('Event to receiver’s 2xx (ms)', [ours(METRIC.webhookLatency, 'p50'), ours(METRIC.webhookLatency, 'p99')]),
    );
    this.dashboard.addWidgets(
      new LogQueryWidget({
        title: 'Recent errors',
        logGroupNames: [props.logGroup.logGroupName],
        queryLines: [
          'fields @timestamp, message, routeKey, projectId, error.message',
          'filter level = "ERROR" or level = "WARN"',
          'sort @timestamp desc',
          'limit 50',
        ],
        width: 24,
        height: 6,
      }),
    );

    const alarm = (
      id: string,
      metric: IMetric,
      threshold: number,
      description: string,
      evaluationPeriods = 1,
      comparison = ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    ) =>
      new Alarm(this, id, {
        metric,
        threshold,
        evaluationPeriods,
        datapointsToAlarm: evaluationPeriods,
        comparisonOperator: comparison,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
    this.tableThrottleAlarms = Object.fromEntries(
      tableThrottles.map(([name, throttles]) => [
        name,
        alarm(
          `Throttles${name.charAt(0).toUpperCase()}${name.slice(1)}`,
          throttles,
          thresholds.dynamoThrottles,
          `DynamoDB is throttling the handler on the ${name} table.`,
        ),
      ]),
    );
    this.alarms = {
      handlerErrors: alarm(
        'HandlerErrors',
        fn.metricErrors({ period: PERIOD }),
        thresholds.handlerErrors,
        'The handler failed invocations: see the Recent errors widget and the handler logs.',
      ),
      http5xxRate: alarm(
        'Http5xxRate',
        http5xxPercent,
        thresholds.http5xxPercent,
        'Backends are getting 5xx from POST /broadcast.',
        2,
        ComparisonOperator.GREATER_THAN_THRESHOLD,
      ),
      deliveryFailureRatio: alarm(
        'DeliveryFailureRatio',
        failureRatio,
        thresholds.deliveryFailureRatio,
        'Messages are not reaching subscribers: PostToConnection keeps failing after retries.',
        3,
        ComparisonOperator.GREATER_THAN_THRESHOLD,
      ),
      // A new id: the metric alarm it replaces had 'DynamoThrottles', and CloudFormation cannot
      // change a resource's type in place.
      dynamoThrottles: new CompositeAlarm(this, 'TableThrottles', {
        alarmRule: AlarmRule.anyOf(...Object.values(this.tableThrottleAlarms).map((child) => AlarmRule.fromAlarm(child, AlarmState.ALARM))),
        alarmDescription: 'DynamoDB is throttling the handler: the table alarm in ALARM names the table.',
      }),
      lambdaThrottles: alarm(
        'LambdaThrottles',
        fn.metricThrottles({ period: PERIOD }),
        thresholds.lambdaThrottles,
        'The handler ran out of concurrency.',
      ),
      // On new records, not on those waiting: the alarm returns to OK and fires again for the next failure.
      failedTasks: alarm(
        'FailedTasks',
        props.failedTasks.metricNumberOfMessagesSent({ statistic: 'Sum', period: PERIOD }),
        thresholds.failedTasks,
        "Lambda gave up a background task (a big publish's shard, a welcome, a purge) after its retries: each message in the FailedTasks queue is its record (requestPayload: the task; responsePayload: the error). A publish it belonged to shows status failed.",
      ),
      webhookFailures: alarm(
        'WebhookFailures',
        ours(METRIC.webhookFailures),
        thresholds.webhookFailures,
        "Webhook receivers are not answering 2xx: each failed attempt is retried by Lambda (a minute, then two, later), then given up to the FailedTasks queue. GET /projects/{id}/webhooks (or the console) lists each project's last failures.",
      ),
    };

    this.alarmTopic = props.alarmTopic;
    if (props.alarmEmail) {
      const topic = new Topic(this, 'AlarmTopic', { displayName: alarmTopicDisplayName(Stack.of(this).stackName) });
      topic.addSubscription(new EmailSubscription(props.alarmEmail));
      this.alarmTopic = topic;
    }
    if (this.alarmTopic) {
      const action = new SnsAction(this.alarmTopic);
      for (const a of Object.values(this.alarms)) {
        a.addAlarmAction(action);
        a.addOkAction(action);
      }
    }
  }

  /** The console URL of the dashboard. */
  get dashboardUrl(): string {
    const region = Stack.of(this).region;
    return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards:name=${this.dashboard.dashboardName}`;
  }
}

/** SNS allows display names of 100 characters; a stack name may have 128. */
function alarmTopicDisplayName(stackName: string): string {
  const suffix = ' broadcast alarms';
  return Token.isUnresolved(stackName) ? 'Broadcast alarms' : `${stackName.slice(0, 100 - suffix.length)}${suffix}`;
}

function validateThresholds(t: Required<AlarmThresholds>): void {
  const counts: (keyof AlarmThresholds)[] = ['handlerErrors', 'dynamoThrottles', 'lambdaThrottles', 'failedTasks', 'webhookFailures'];
  for (const key of counts) {
    if (!(t[key] >= 1)) throw new Error(`RealtimeBroadcast: alarmThresholds.${key} must be at least 1`);
  }
  if (!(t.http5xxPercent > 0 && t.http5xxPercent <= 100))
    throw new Error('RealtimeBroadcast: alarmThresholds.http5xxPercent must be above 0 and at most 100');
  if (!(t.deliveryFailureRatio > 0 && t.deliveryFailureRatio < 1))
    throw new Error('RealtimeBroadcast: alarmThresholds.deliveryFailureRatio must be between 0 and 1');
}
