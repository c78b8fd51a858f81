/**
 * What the handler emits: EMF metrics with their names, units and dimensions, and log lines that
 * never carry a key, a token or a payload. Output is captured from stdout, where Lambda reads it.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { AwsHttp } from '../../lambda/adapters/aws-http';
import { ConnectionsApiDelivery } from '../../lambda/adapters/connections-api';
import { StaticKeySource } from '../../lambda/adapters/key-sources';
import { StandInConnections } from '../../local/stand-in-connections';
import { TEST_CREDENTIALS } from '../helpers/handler';
import { handlerFor } from '../../lambda/compose';
import type { Handler } from '../../lambda/edge/app';
import { METRIC, METRICS_NAMESPACE, SERVICE_NAME } from '../../lambda/contract/metrics';
import { Telemetry } from '../../lambda/telemetry';
import { signClientToken } from '../../lambda/auth/tokens';
import { startTestStore, TestStore } from '../helpers/dynamo';
import { connectEvent, disconnectEvent, httpEvent, messageEvent, newConnectionId } from '../helpers/gateway-events';

const api = new StandInConnections();
let http: AwsHttp;
const KEY = 'test-access-key';
let db: TestStore;
let handler: Handler;
let lines: string[] = [];
let write: jest.SpyInstance;
let writeError: jest.SpyInstance;

beforeAll(async () => {
  db = await startTestStore();
  http = new AwsHttp({ endpoint: await api.listen(), service: 'execute-api', region: 'us-east-1', credentials: TEST_CREDENTIALS });
  const previous = process.env.POWERTOOLS_METRICS_DISABLED;
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  const telemetry = new Telemetry({
    logger: new Logger({ serviceName: SERVICE_NAME, logLevel: 'DEBUG' }),
    metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME }),
  });
  process.env.POWERTOOLS_METRICS_DISABLED = previous;
  handler = handlerFor({
    ...db,
    delivery: new ConnectionsApiDelivery(http, { sleep: async () => undefined }),
    keys: new StaticKeySource(KEY),
    invoker: { invoke: async () => undefined },
    sealing: new StaticKeySource('sealing-secret'),
    fanoutConcurrency: 4,
    deliveryRatePerSecond: 8000,
    backgroundFanoutAbove: 1000,
    requireToken: false,
    telemetry,
  });
});
afterAll(async () => {
  http.destroy();
  await api.close();
  await db.stop();
});
beforeEach(() => {
  api.reset();
  lines = [];
  const capture = (chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  };
  write = jest.spyOn(process.stdout, 'write').mockImplementation(capture);
  writeError = jest.spyOn(process.stderr, 'write').mockImplementation(capture);
});
afterEach(() => {
  write.mockRestore();
  writeError.mockRestore();
});

interface Emf {
  _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
  [key: string]: unknown;
}
const emf = (): Emf[] => lines.map((line) => JSON.parse(line)).filter((entry) => entry._aws);
/** Every emitted value of a metric, with its unit and dimension names. */
function metric(name: string) {
  return emf().flatMap((entry) =>
    entry._aws.CloudWatchMetrics.flatMap((directive) =>
      directive.Metrics.filter((m) => m.Name === name).map((m) => ({
        namespace: directive.Namespace,
        unit: m.Unit,
        dimensions: directive.Dimensions[0],
        values: ([] as unknown[]).concat(entry[name]),
        entry,
      })),
    ),
  );
}
const logs = () => lines.map((line) => JSON.parse(line)).filter((entry) => entry.level);

async function subscribedConnection(channel: string) {
  const id = newConnectionId();
  await handler(connectEvent(id));
  await handler(messageEvent(id, { action: 'subscribe', channel }));
  return id;
}

describe('metrics', () => {
  it('counts connects, subscribes and disconnects in the namespace, with the service dimension only', async () => {
    const id = await subscribedConnection('m1');
    await handler(disconnectEvent(id));
    for (const name of [METRIC.connects, METRIC.subscribes, METRIC.disconnects]) {
      expect(metric(name)).toEqual([
        expect.objectContaining({ namespace: 'RealtimeBroadcast', unit: 'Count', dimensions: ['service'], values: [1] }),
      ]);
      expect(metric(name)[0].entry.service).toBe('realtime-broadcast');
    }
  });

  it('counts each publish by transport, and its deliveries, size and duration', async () => {
    await subscribedConnection('m2');
    await subscribedConnection('m2');
    lines = [];
    await handler(httpEvent({ body: { channel: 'm2', event: 'e' } }));
    expect(metric(METRIC.messagesPublished)).toEqual([
      expect.objectContaining({ unit: 'Count', dimensions: ['service', 'Transport'], values: [1] }),
    ]);
    expect(metric(METRIC.messagesPublished)[0].entry.Transport).toBe('HTTP');
    expect(metric(METRIC.deliveriesSent)[0]).toMatchObject({ unit: 'Count', values: [2] });
    expect(metric(METRIC.deliveriesFailed)[0]).toMatchObject({ values: [0] });
    expect(metric(METRIC.fanoutSize)[0]).toMatchObject({ unit: 'Count', values: [2] });
    expect(metric(METRIC.fanoutDuration)[0]).toMatchObject({ unit: 'Milliseconds', values: [expect.any(Number)] });
  });

  it('counts WebSocket publishes under their own transport', async () => {
    const id = await subscribedConnection('m3');
    lines = [];
    await handler(messageEvent(id, { action: 'send', channel: 'm3', event: 'e' }));
    expect(metric(METRIC.messagesPublished)[0].entry.Transport).toBe('WebSocket');
  });

  it('counts stale connections purged', async () => {
    await subscribedConnection('m4');
    const dead = await subscribedConnection('m4');
    api.script(dead, 410);
    lines = [];
    await handler(httpEvent({ body: { channel: 'm4', event: 'e' } }));
    expect(metric(METRIC.stalePurged)[0]).toMatchObject({ values: [1] });
  });

  it('counts unauthorized requests and invalid inputs', async () => {
    const id = newConnectionId();
    await handler(connectEvent(id));
    lines = [];
    await handler(httpEvent({ authorization: 'Bearer wrong' }));
    await handler(messageEvent(id, 'not json'));
    await handler(httpEvent({ body: { channel: 'bad channel', event: 'e' } }));
    expect(metric(METRIC.unauthorized).flatMap((m) => m.values)).toEqual([1]);
    expect(metric(METRIC.invalidInputs).flatMap((m) => m.values)).toEqual([1, 1]);
  });
});

describe('logs', () => {
  it('writes one info line per request with route, connection, project and channel', async () => {
    const id = newConnectionId();
    await handler(connectEvent(id, { projectId: 'logged' }));
    lines = [];
    await handler(messageEvent(id, { action: 'subscribe', channel: 'room' }), { awsRequestId: 'req-1' });
    const info = logs().filter((entry) => entry.level === 'INFO');
    expect(info).toEqual([
      expect.objectContaining({
        message: 'websocket request',
        requestId: 'req-1',
        routeKey: 'subscribe',
        connectionId: id,
        projectId: 'logged',
        channel: 'room',
        statusCode: 200,
        durationMs: expect.any(Number),
      }),
    ]);
  });

  it('never writes the master key, a project key, the Authorization header, a token or a payload, even at debug', async () => {
    const created = await handler(httpEvent({ routeKey: 'POST /api-keys', body: { projectId: 'logs-p' } }));
    const { apiKey, keyPrefix } = JSON.parse(created.body!).data;
    const token = await signClientToken({ sub: 'secret-user', publish: ['*'] }, { apiKey, keyPrefix }, 60);
    const badToken = await signClientToken({ sub: 'secret-user' }, { apiKey: 'rbk_wrong-signing-key', keyPrefix }, 60);
    const id = newConnectionId();
    const answers: string[] = [];
    const call = async (event: unknown) => answers.push(JSON.stringify(await handler(event)));
    await call(connectEvent(id, { token }));
    await call(connectEvent(newConnectionId(), { token: badToken }));
    await call(connectEvent(newConnectionId(), { token: `${token}x` }));
    await call(connectEvent(newConnectionId(), { apiKey }));
    await call(messageEvent(id, { action: 'subscribe', channel: 'quiet' }));
    await call(httpEvent({ body: { projectId: 'logs-p', channel: 'quiet', event: 'e', data: { card: 'PAYLOAD-4111' } } }));
    await call(httpEvent({ authorization: `Bearer ${apiKey}`, body: { channel: 'quiet', event: 'e' } }));
    await call(httpEvent({ authorization: `Bearer ${apiKey}`, body: { projectId: 'elsewhere', channel: 'quiet', event: 'e' } }));
    await call(httpEvent({ authorization: 'Bearer wrong-key-attempt' }));
    await call(messageEvent(id, { action: 'send', channel: 'quiet', event: 'e', data: 'PAYLOAD-4112' }));
    await call(httpEvent({ routeKey: 'DELETE /api-keys/{projectId}', pathParameters: { projectId: 'logs-p' } }));
    const output = lines.join('\n');
    expect(output.length).toBeGreaterThan(0);
    for (const secret of [
      KEY,
      token,
      badToken,
      apiKey,
      apiKey.slice(12),
      'sealing-secret',
      'wrong-key-attempt',
      'PAYLOAD-4111',
      'PAYLOAD-4112',
      'secret-user',
    ]) {
      expect(output).not.toContain(secret);
    }
    // Nor does any answer, refusals included: only the key's creation shows it, once.
    for (const secret of [KEY, token, badToken, apiKey, 'sealing-secret', 'wrong-key-attempt']) {
      expect(answers.join('\n')).not.toContain(secret);
    }
  });

  it('logs a failure with its stack but answers without internals', async () => {
    const spy = jest.spyOn(db.subscriptions, 'slice').mockImplementationOnce(() => {
      throw new Error('table on fire');
    });
    const result = await handler(httpEvent({ body: { channel: 'x', event: 'e' } }));
    spy.mockRestore();
    expect(result.body).not.toContain('fire');
    expect(logs().find((entry) => entry.level === 'ERROR')).toMatchObject({
      message: 'http request failed',
      error: expect.objectContaining({ message: 'table on fire' }),
    });
  });
});
