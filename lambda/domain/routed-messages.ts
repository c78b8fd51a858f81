/**
 * Routed messages between typed clients (frames with no `action`):
 * `to.id` → that connection; `to.type` → every connection of that type but the sender;
 * no `to` → every other connection of the project. Monitoring connections (a token's `monitor`, or
 * `?type=admin` in an open project) also get a copy of every message that has a `to`. `from` is
 * always set by the server.
 */
import { INTERNAL, MONITOR_TYPE } from './internal-channels';
import type { ConnectionRecord } from '../ports';
import { FanoutCounts, Result, RoutedFrame, encode, ok, outbound } from '../protocol';
import type { Publisher } from './publish';

export async function routeMessage(sender: ConnectionRecord, frame: RoutedFrame, publisher: Publisher): Promise<Result<FanoutCounts>> {
  const body = encode(outbound.routed(publisher.stamp(), frame, sender));
  if (!body.ok) return body;
  const { projectId, connectionId: senderId } = sender;
  const notSender = new Set([senderId]);

  if (!frame.to?.id && !frame.to?.type) {
    return ok(await publisher.deliverToChannel(projectId, INTERNAL.all, body.value, notSender));
  }
  let counts: FanoutCounts;
  const copied = new Set(notSender);
  if (frame.to.id) {
    const direct = await publisher.deliverToConnection(projectId, frame.to.id, body.value);
    if (!direct.ok) return direct;
    counts = direct.value;
    copied.add(frame.to.id);
  } else {
    counts = await publisher.deliverToChannel(projectId, INTERNAL.type(frame.to.type!), body.value, notSender);
    // In an open project the monitors are the admins addressed, who already have it.
    if (frame.to.type === MONITOR_TYPE) return ok(counts);
  }
  // The monitoring copy: not counted as the message's own deliveries.
  await publisher.deliverToChannel(projectId, INTERNAL.monitor, body.value, copied);
  return ok(counts);
}
