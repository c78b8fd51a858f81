import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { METRIC } from '../../lambda/contract/metrics';
import { BroadcastStack } from '../../lib/broadcast-stack';
import { RealtimeBroadcast, RealtimeBroadcastProps } from '../../lib/realtime-broadcast';

const ENVIRONMENT = { account: '123456789012', region: 'eu-west-1' };
const stack = new BroadcastStack(new App(), 'Observed', { env: ENVIRONMENT, broadcast: { alarmEmail: 'ops@example.com' } });
const template = Template.fromStack(stack);
const id = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
const { broadcast } = stack;

/** The dashboard body with every reference written as `{Ref:X}`/`{GetAtt:X}`, so it can be searched. */
function dashboardBody(t: Template): string {
  const [dashboard] = Object.values(t.findResources('AWS::CloudWatch::Dashboard'));
  const join = dashboard.Properties.DashboardBody['Fn::Join'][1] as unknown[];
  return join.map((part) => (typeof part === 'string' ? part : JSON.stringify(part))).join('');
}

function alarmNamed(fragment: string) {
  const entries = Object.entries(template.findResources('AWS::CloudWatch::Alarm')).filter(([logicalId]) => logicalId.includes(fragment));
  expect(entries).toHaveLength(1);
  return entries[0][1].Properties;
}

describe('dashboard', () => {
  const body = dashboardBody(template);

  it('charts this stack’s WebSocket API and stage', () => {
    expect(body).toContain(`{"Ref":"${id(broadcast.webSocketApi)}"}`);
    expect(body).toContain('"Stage","production"');
    for (const name of ['ConnectCount', 'MessageCount', 'ClientError', 'ExecutionError', 'IntegrationError', 'IntegrationLatency'])
      expect(body).toContain(`"${name}"`);
  });

  it('charts this stack’s HTTP API: requests, 4xx, 5xx, latency p50 and p99', () => {
    expect(body).toContain(`{"Ref":"${id(broadcast.httpApi)}"}`);
    for (const name of ['"Count"', '"4xx"', '"5xx"', '"Latency"', '"stat":"p50"', '"stat":"p99"']) expect(body).toContain(name);
  });

  it('charts the handler and every table', () => {
    expect(body).toContain(`{"Ref":"${id(broadcast.handler)}"}`);
    for (const name of ['Invocations', 'Errors', 'Throttles', 'Duration', 'ConcurrentExecutions']) expect(body).toContain(`"${name}"`);
    for (const table of Object.values(broadcast.tables)) expect(body).toContain(`{"Ref":"${id(table)}"}`);
    for (const name of ['ConsumedReadCapacityUnits', 'ConsumedWriteCapacityUnits', 'ReadThrottleEvents', 'SuccessfulRequestLatency'])
      expect(body).toContain(`"${name}"`);
  });

  it('charts the background tasks: events received, dropped and their age, and the failure destination’s queue', () => {
    for (const name of [
      'AsyncEventsReceived',
      'AsyncEventsDropped',
      'AsyncEventAge',
      'DestinationDeliveryFailures',
      'ApproximateNumberOfMessagesVisible',
    ])
      expect(body).toContain(`"${name}"`);
    expect(body).toContain(`{"Fn::GetAtt":["${id(broadcast.failedTasks)}","QueueName"]}`);
  });

  it('charts the business metrics: deliveries per second, failure and stale ratios, fan-out p99', () => {
    for (const name of [
      METRIC.deliveriesSent,
      METRIC.deliveriesFailed,
      METRIC.stalePurged,
      METRIC.fanoutDuration,
      METRIC.messagesPublished,
    ])
      expect(body).toContain(`"${name}"`);
    expect(body).toContain('"RealtimeBroadcast"');
    expect(body).toContain('sent / PERIOD(sent)');
    expect(body).toContain('failed / (sent + failed)');
  });

  it('has a Logs Insights widget of recent errors on the handler’s log group', () => {
    expect(body).toContain('"type":"log"');
    expect(body).toContain(`{"Ref":"${stack.getLogicalId(broadcast.handler.logGroup.node.defaultChild as never)}"}`);
    expect(body).toContain('filter level = \\"ERROR\\"');
  });

  it('is a stack output', () => {
    template.hasOutput('DashboardUrl', {
      Value: {
        'Fn::Join': [
          '',
          Match.arrayWith([
            Match.stringLikeRegexp('^https://eu-west-1.console.aws.amazon.com/cloudwatch/home\\?region=eu-west-1#dashboards:name='),
          ]),
        ],
      },
    });
  });
});

describe('alarms', () => {
  it('fires on handler errors (5 in 5 minutes)', () => {
    expect(alarmNamed('HandlerErrors')).toMatchObject({
      MetricName: 'Errors',
      Namespace: 'AWS/Lambda',
      Threshold: 5,
      Period: 300,
      Statistic: 'Sum',
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: id(broadcast.handler) } }],
    });
  });

  it('fires on an HTTP 5xx rate over 5% for two periods', () => {
    const alarm = alarmNamed('Http5xxRate');
    expect(alarm).toMatchObject({ Threshold: 5, EvaluationPeriods: 2, ComparisonOperator: 'GreaterThanThreshold' });
    expect(JSON.stringify(alarm.Metrics)).toContain('100 * errors / requests');
    expect(JSON.stringify(alarm.Metrics)).toContain('"MetricName":"5xx"');
  });

  it('fires on a delivery failure ratio over 5% for three periods', () => {
    const alarm = alarmNamed('DeliveryFailureRatio');
    expect(alarm).toMatchObject({ Threshold: 0.05, EvaluationPeriods: 3 });
    expect(JSON.stringify(alarm.Metrics)).toContain(`"MetricName":"${METRIC.deliveriesFailed}"`);
  });

  it('fires when a background task is given up: a message sent to the failure destination (and returns to OK after)', () => {
    expect(alarmNamed('FailedTasks')).toMatchObject({
      MetricName: 'NumberOfMessagesSent',
      Namespace: 'AWS/SQS',
      Threshold: 1,
      Statistic: 'Sum',
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id(broadcast.failedTasks), 'QueueName'] } }],
    });
  });

  it('watches every table of the stack for throttling with an alarm of its own, combined by one composite alarm', () => {
    const tableIds = Object.keys(template.findResources('AWS::DynamoDB::Table'));
    expect(tableIds).toHaveLength(8);
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter((a) =>
      JSON.stringify(a.Properties.Metrics ?? []).includes('ThrottleEvents'),
    );
    // One per table, each on its own table's reads and writes, within metric math's 10 metrics.
    expect(alarms).toHaveLength(tableIds.length);
    const watched = alarms.map((alarm) => {
      const stats = alarm.Properties.Metrics.filter((m: any) => m.MetricStat).map((m: any) => m.MetricStat.Metric);
      expect(stats.map((m: any) => m.MetricName).sort()).toEqual(['ReadThrottleEvents', 'WriteThrottleEvents']);
      expect(new Set(stats.map((m: any) => JSON.stringify(m.Dimensions))).size).toBe(1);
      expect(alarm.Properties).toMatchObject({ Threshold: 10, EvaluationPeriods: 1 });
      // The composite notifies: a table alarm alone would send a second email.
      expect(alarm.Properties.AlarmActions).toBeUndefined();
      return stats[0].Dimensions[0].Value.Ref;
    });
    expect(watched.sort()).toEqual(tableIds.sort());
    const [composite] = Object.values(template.findResources('AWS::CloudWatch::CompositeAlarm'));
    const rule = JSON.stringify(composite.Properties.AlarmRule);
    const alarmIds = Object.keys(template.findResources('AWS::CloudWatch::Alarm')).filter(
      (alarmId) => alarmId.includes('Throttles') && !alarmId.includes('Lambda'),
    );
    expect(alarmIds).toHaveLength(tableIds.length);
    for (const alarmId of alarmIds) expect(rule).toContain(`{"Fn::GetAtt":["${alarmId}","Arn"]}`);
    expect(rule.match(/ALARM\(/g)).toHaveLength(tableIds.length);
    expect(rule.match(/ OR /g)).toHaveLength(tableIds.length - 1);
    expect(JSON.stringify(composite.Properties.AlarmActions)).toMatch(/AlarmTopic/);
  });

  it('fires on Lambda throttles', () => {
    expect(alarmNamed('LambdaThrottles')).toMatchObject({ MetricName: 'Throttles', Threshold: 1 });
  });

  it('notifies the email address through a new topic, on alarm and on recovery', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    const notifying = [
      ...Object.values(template.findResources('AWS::CloudWatch::Alarm')),
      ...Object.values(template.findResources('AWS::CloudWatch::CompositeAlarm')),
    ].filter((alarm) => alarm.Properties.AlarmActions);
    expect(notifying).toHaveLength(Object.keys(broadcast.monitoring.alarms).length);
    expect(Object.keys(broadcast.monitoring.alarms)).toHaveLength(7);
    for (const alarm of notifying) {
      expect(alarm.Properties.AlarmActions).toHaveLength(1);
      expect(JSON.stringify(alarm.Properties.AlarmActions)).toMatch(/AlarmTopic/);
      expect(JSON.stringify(alarm.Properties.OKActions)).toMatch(/AlarmTopic/);
    }
  });

  it('takes thresholds from props and an existing topic', () => {
    const other = new Stack(new App(), 'Custom', { env: ENVIRONMENT });
    const topic = new Topic(other, 'Pager');
    new RealtimeBroadcast(other, 'B', { alarmTopic: topic, alarmThresholds: { handlerErrors: 1, deliveryFailureRatio: 0.2 } });
    const t = Template.fromStack(other);
    t.resourceCountIs('AWS::SNS::Subscription', 0);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Threshold: 1,
      AlarmActions: [{ Ref: other.getLogicalId(topic.node.defaultChild as never) }],
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { Threshold: 0.2, EvaluationPeriods: 3 });
  });

  it('names the alarm topic within SNS’s 100 characters, whatever the stack’s name', () => {
    const long = new BroadcastStack(new App(), `R${'x'.repeat(127)}`, { env: ENVIRONMENT, broadcast: { alarmEmail: 'ops@example.com' } });
    const [topic] = Object.values(Template.fromStack(long).findResources('AWS::SNS::Topic'));
    expect(topic.Properties.DisplayName).toHaveLength(100);
    expect(topic.Properties.DisplayName).toMatch(/^Rxxx+ broadcast alarms$/);
  });

  it('sends no notifications without a topic or email', () => {
    const t = Template.fromStack(new BroadcastStack(new App(), 'Silent', { env: ENVIRONMENT }));
    for (const alarm of Object.values(t.findResources('AWS::CloudWatch::Alarm'))) expect(alarm.Properties.AlarmActions).toBeUndefined();
  });

  it.each<[string, RealtimeBroadcastProps, RegExp]>([
    ['a topic and an email', { alarmTopic: {} as never, alarmEmail: 'a@b.c' }, /not both/],
    ['a failure ratio of 2', { alarmThresholds: { deliveryFailureRatio: 2 } }, /deliveryFailureRatio/],
    ['zero handler errors', { alarmThresholds: { handlerErrors: 0 } }, /handlerErrors/],
  ])('throws at synth on %s', (_, props, message) => {
    expect(() => new RealtimeBroadcast(new Stack(), 'B', props)).toThrow(message);
  });
});

describe('logging settings', () => {
  it('sets the handler’s log level from the prop', () => {
    const t = Template.fromStack(new BroadcastStack(new App(), 'Verbose', { env: ENVIRONMENT, broadcast: { logLevel: 'DEBUG' } }));
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_LOG_LEVEL: 'DEBUG', POWERTOOLS_METRICS_NAMESPACE: 'RealtimeBroadcast' }) },
    });
  });
});
