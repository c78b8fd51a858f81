/**
 * `npm run bench:pusher`: what a pusher-js client waits for through `npm start`'s Pusher endpoint,
 * beside the native baseline in the same run. Over raw sockets (what pusher-js does on the wire):
 * - the handshake to `pusher:connection_established` (posted by the welcome task once the
 *   connection is open), beside a native connection's handshake to its `connected` notice;
 * - `pusher:ping` → `pusher:pong` (answered without the store at pusher-js's pace), beside a
 *   native `ping` (which pays its rate limit: one DynamoDB write).
 * Settings: BENCH_CONNECTS (default 200), BENCH_PINGS (default 200). Loopback only.
 */
import { WebSocket } from 'ws';
import { startLocalStack } from '../local/stack';

const CONNECTS = Number(process.env.BENCH_CONNECTS ?? 200);
const PINGS = Number(process.env.BENCH_PINGS ?? 200);
const KEY = 'bench-pusher-key';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))];
const summary = (values: number[]) =>
  `p50 ${percentile(values, 50).toFixed(1)} ms, p99 ${percentile(values, 99).toFixed(1)} ms, max ${Math.max(...values).toFixed(1)} ms`;

/** Opens a socket and resolves with it and the time to the first message that `first` accepts. */
function open(url: string, first: (text: string) => boolean): Promise<{ socket: WebSocket; ms: number }> {
  const started = performance.now();
  const socket = new WebSocket(url);
  return new Promise((resolve, reject) => {
    socket.on('message', (data: Buffer) => {
      if (first(data.toString())) resolve({ socket, ms: performance.now() - started });
    });
    socket.once('error', reject);
    setTimeout(() => reject(new Error(`no first message from ${url} in 10 s`)), 10_000).unref();
  });
}

/** Round trips of `frame` to an answer `isAnswer` accepts, one at a time on one socket. */
async function roundTrips(socket: WebSocket, frame: string, isAnswer: (text: string) => boolean, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await new Promise<void>((resolve) => {
      const onMessage = (data: Buffer) => {
        if (!isAnswer(data.toString())) return;
        socket.off('message', onMessage);
        resolve();
      };
      socket.on('message', onMessage);
      socket.send(frame);
    });
    times.push(performance.now() - started);
  }
  return times;
}

async function main() {
  // The stage throttle would refuse part of the burst: this measures the stack, not the throttle.
  const stack = await startLocalStack({ accessKey: KEY, throttle: { stage: false }, lifecycleEventsFile: false });
  try {
    const pusherUrl = `ws://127.0.0.1:${stack.pusherPort}/app/default?protocol=7&client=js&version=8.4.0&flash=false`;
    const nativeUrl = `${stack.webSocketUrl}?projectId=default`;
    const pusherTimes: number[] = [];
    const nativeTimes: number[] = [];
    // Alternating, so both see the same machine state.
    for (let i = 0; i < CONNECTS; i++) {
      const pusher = await open(pusherUrl, (text) => text.includes('pusher:connection_established'));
      pusherTimes.push(pusher.ms);
      pusher.socket.terminate();
      const native = await open(nativeUrl, (text) => text.includes('"type":"connected"'));
      nativeTimes.push(native.ms);
      native.socket.terminate();
    }

    // Pings: a fresh socket per batch of three (pusher-js's pace: the free ones), and a native one throughout.
    const pusherPings: number[] = [];
    while (pusherPings.length < PINGS) {
      const { socket } = await open(pusherUrl, (text) => text.includes('pusher:connection_established'));
      pusherPings.push(
        ...(await roundTrips(socket, JSON.stringify({ event: 'pusher:ping', data: {} }), (t) => t.includes('pusher:pong'), 3)),
      );
      socket.terminate();
    }
    const { socket: native } = await open(nativeUrl, (text) => text.includes('"type":"connected"'));
    // One at a time, within the open projects' rate limit (10 a second): paced, so none is refused.
    const nativePings: number[] = [];
    for (let i = 0; i < PINGS; i++) {
      nativePings.push(...(await roundTrips(native, 'ping', (t) => t === 'pong', 1)));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    native.terminate();

    const ratio = (a: number[], b: number[], p: number) => (percentile(a, p) / percentile(b, p)).toFixed(2);
    console.log(`
Pusher endpoint bench — npm start's stack on loopback, ${CONNECTS} connections and ${PINGS} pings each, ${process.arch}, Node ${process.version}

| measure | Pusher (pusher-js's wire) | native baseline (same run) | ratio at p99 |
|---|---|---|---|
| handshake → first message (connection_established / connected) | ${summary(pusherTimes)} | ${summary(nativeTimes)} | ${ratio(pusherTimes, nativeTimes, 99)} |
| ping → pong | ${summary(pusherPings.slice(0, PINGS))} | ${summary(nativePings)} | ${ratio(pusherPings.slice(0, PINGS), nativePings, 99)} |

The Pusher handshake passes the CloudFront Function (run in its sandbox) and the local endpoint's
proxy; both first messages come from the welcome task once API Gateway has opened the connection.
pusher-js gives up on a connection after 10 s.`);
  } finally {
    await stack.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
