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
  /** Webhook events a receiver accepted (2xx). */
  webhookEvents: 'WebhookEventsDelivered',
  /** Webhook requests that failed (not 2xx in time): each is retried by Lambda, then given up to the failure destination. */
  webhookFailures: 'WebhookAttemptsFailed',
  /** Milliseconds from an event to its receiver's 2xx, one value per request. */
  webhookLatency: 'WebhookLatency',
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];
