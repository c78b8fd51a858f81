/**
 * The bench's `@connections` endpoint, in a process of its own so its work is not counted as the
 * publisher's. Settings in argv: rttMs throttleRate goneRate. Sends its URL, then answers `stats`
 * and `reset` over IPC.
 */
import { StandInConnections } from '../local/stand-in-connections';

const [rttMs = '10', throttleRate = '0', goneRate = '0'] = process.argv.slice(2);
const endpoint = new StandInConnections({
  rttMs: Number(rttMs),
  throttleRate: Number(throttleRate),
  goneRate: Number(goneRate),
  keepBodies: false,
});

void endpoint.listen().then((url) => process.send!({ url }));

process.on('message', (message: { command: 'stats' | 'reset' }) => {
  if (message.command === 'reset') {
    endpoint.reset();
    process.send!({ reset: true });
    return;
  }
  let deliveries = 0;
  for (const count of endpoint.delivered.values()) deliveries += count;
  const throttled = endpoint.calls.filter((call) => call.status === 429).length;
  process.send!({
    stats: {
      unique: endpoint.delivered.size,
      deliveries,
      duplicates: deliveries - endpoint.delivered.size,
      throttled,
      calls: endpoint.calls.length,
      lastDeliveryAt: endpoint.lastDeliveryAt,
      pusherFrames: endpoint.pusherFrames,
    },
  });
});
