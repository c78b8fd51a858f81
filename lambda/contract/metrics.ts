/**
 * Metric names and namespace: written by the handler's telemetry, read by the construct's
 * dashboard and alarms. Pure data, so `lib/` can import it without loading Powertools.
 */

export const SERVICE_NAME = 'realtime-broadcast';
/** The CloudWatch namespace of the business metrics. */
export const METRICS_NAMESPACE = 'RealtimeBroadcast';

export const METRIC = {
  connects: 'Connects',
  disconnects: 'Disconnects',
  subscribes: 'Subscribes',
  /** Messages published, with a `Transport` dimension: `WebSocket` or `HTTP`. */
  messagesPublished: 'MessagesPublished',
  deliveriesSent: 'DeliveriesSent',
  deliveriesFailed: 'DeliveriesFailed',
  stalePurged: 'StaleConnectionsPurged',
  unauthorized: 'UnauthorizedRequests',
  invalidInputs: 'InvalidInputs',
  /** Milliseconds one fan-out took, one value per publish. */
  fanoutDuration: 'FanoutDuration',
  /** Recipients of one fan-out, one value per publish. */
  fanoutSize: 'FanoutSize',
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];
