import type { EventSink, LifecycleEvent } from '../ports';
import { AwsCredentials, AwsHttp, callAws } from './aws-http';

/** EventBridge takes at most 10 entries per PutEvents. */
const ENTRIES_PER_CALL = 10;
export const LIFECYCLE_EVENT_SOURCE = 'realtime-broadcast';

/**
 * Lifecycle events to an EventBridge bus: `PutEvents` as one signed request (the SDK's client
 * would add ~60 KB to the bundle for this call). Each event is an entry with source
 * `realtime-broadcast`, detail-type its name, and detail `{ projectId, channel, userId?, time }`.
 */
export class EventBridgeSink implements EventSink {
  constructor(
    private readonly http: AwsHttp,
    private readonly eventBusName: string,
  ) {}

  async emit(events: readonly LifecycleEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += ENTRIES_PER_CALL) {
      const entries = events.slice(i, i + ENTRIES_PER_CALL).map(({ name, ...detail }) => ({
        Source: LIFECYCLE_EVENT_SOURCE,
        DetailType: name,
        Detail: JSON.stringify(detail),
        EventBusName: this.eventBusName,
        Time: Math.floor(Date.parse(detail.time) / 1000),
      }));
      const answer = await callAws(this.http, 'POST', '/', JSON.stringify({ Entries: entries }));
      const failed = (JSON.parse(answer.body) as { FailedEntryCount?: number }).FailedEntryCount ?? 0;
      if (failed > 0) throw new Error(`EventBridge refused ${failed} of ${entries.length} lifecycle events`);
    }
  }
}

/** EventBridge in `region`, every request a `PutEvents`. */
export const eventBridgeHttp = (region: string, credentials: AwsCredentials, endpoint?: string) =>
  new AwsHttp({
    endpoint: endpoint ?? `https://events.${region}.amazonaws.com`,
    service: 'events',
    region,
    credentials,
    maxSockets: 8,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSEvents.PutEvents' },
  });
