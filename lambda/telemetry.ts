/**
 * Logs and metrics with Powertools for AWS Lambda. One JSON log line per request (request id,
 * route, connection, project, channel — never keys, tokens or payloads) and business metrics in
 * CloudWatch Embedded Metric Format: written to stdout with the logs, so nothing on the hot path
 * calls PutMetricData.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRIC, METRICS_NAMESPACE, MetricName, SERVICE_NAME } from './contract/metrics';
import { errorSpec } from './protocol';

export type Transport = 'WebSocket' | 'HTTP';

/** What a request's log line says beyond its route: filled in as the request learns it. */
export interface RequestFields {
  projectId?: string;
  channel?: string;
  connectionId?: string;
  errorCode?: string;
}

/** The facts of the request being handled, wherever in its call tree we are. */
const currentRequest = new AsyncLocalStorage<RequestFields>();

/**
 * Notes the error code a request answers with, where the answer is built; the edge then counts
 * it once (unauthorized, invalid input) and puts it on the request's log line.
 */
export function noteFailure(code: string): void {
  const request = currentRequest.getStore();
  if (request) request.errorCode = code;
}

export class Telemetry {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** One single-metric emitter per transport, so each publish carries its `Transport` dimension. */
  private readonly byTransport: Record<Transport, Metrics>;

  constructor(options: { logger?: Logger; metrics?: Metrics } = {}) {
    this.logger = options.logger ?? new Logger({ serviceName: SERVICE_NAME });
    this.metrics = options.metrics ?? new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
    const emitter = (transport: Transport) =>
      new Metrics({
        namespace: METRICS_NAMESPACE,
        serviceName: SERVICE_NAME,
        singleMetric: true,
        defaultDimensions: { Transport: transport },
      });
    this.byTransport = { WebSocket: emitter('WebSocket'), HTTP: emitter('HTTP') };
  }

  /**
   * Runs one request: its fields are its own even when requests run concurrently (as in the
   * local stack), and its metrics are flushed when it ends.
   */
  async request<T>(fields: RequestFields, work: () => Promise<T>): Promise<T> {
    try {
      return await currentRequest.run({ ...fields }, work);
    } finally {
      if (this.metrics.hasStoredMetrics()) this.metrics.publishStoredMetrics();
    }
  }

  /** Adds what the request has learnt (its project, its channel) to its log line. */
  annotate(fields: RequestFields): void {
    const current = currentRequest.getStore();
    if (current) Object.assign(current, fields);
  }

  /** The request's one info line. */
  requestDone(message: string, extra: Record<string, unknown>): void {
    this.logger.info(message, { ...currentRequest.getStore(), ...extra });
  }

  count(metric: MetricName, value = 1): void {
    this.metrics.addMetric(metric, MetricUnit.Count, value);
  }

  published(transport: Transport, messages = 1): void {
    this.byTransport[transport].addMetric(METRIC.messagesPublished, MetricUnit.Count, messages);
  }

  fanout(result: { sent: number; failed: number; stale: number; durationMs: number }): void {
    this.metrics.addMetric(METRIC.deliveriesSent, MetricUnit.Count, result.sent);
    this.metrics.addMetric(METRIC.deliveriesFailed, MetricUnit.Count, result.failed);
    this.metrics.addMetric(METRIC.stalePurged, MetricUnit.Count, result.stale);
    this.metrics.addMetric(METRIC.fanoutSize, MetricUnit.Count, result.sent + result.failed + result.stale);
    this.metrics.addMetric(METRIC.fanoutDuration, MetricUnit.Milliseconds, result.durationMs);
    this.logger.debug('fan-out', { ...currentRequest.getStore(), ...result });
  }

  /** A webhook request: delivered (its events, how long since they happened) or failed. */
  webhook(result: { readonly delivered: number; readonly latencyMs: number } | { readonly failed: true }): void {
    if ('failed' in result) this.metrics.addMetric(METRIC.webhookFailures, MetricUnit.Count, 1);
    else {
      this.metrics.addMetric(METRIC.webhookEvents, MetricUnit.Count, result.delivered);
      this.metrics.addMetric(METRIC.webhookLatency, MetricUnit.Milliseconds, result.latencyMs);
    }
  }

  /** The error code the current request answered with, if it failed; counted as unauthorized or invalid input where it is one. */
  countFailure(): string | undefined {
    const code = currentRequest.getStore()?.errorCode;
    if (!code) return undefined;
    const metric = errorSpec(code)?.metric;
    if (metric) this.count(metric);
    return code;
  }
}
