/**
 * `npm run bench:pusher`: what a pusher-js client waits for through `npm start`'s Pusher endpoint,
 * beside the native baseline in the same run. Over raw sockets (what pusher-js does on the wire):
 * - the handshake to `pusher:connection_established` (posted by the welcome task once the
 *   connection is open), beside a native connection's handshake to its `connected` notice;
 * - `pusher:ping` → `pusher:pong` (answered without the store at pusher-js's pace), beside a
 *   native `ping` (which pays its rate limit: one DynamoDB write).
 * - `sendToUser` to a user signed in on 5 connections, beside a trigger to a channel those 5 are on;
 * - continuity: a signed-in user who missed 100 messages subscribes again, until the 100th is
 *   replayed, beside a subscribe with nothing missed and 100 live messages to the same connection;
 * - webhooks: `channel_occupied` from a subscribe to the receiver's request (p99, events a second
 *   through the pipeline), beside a publish to a subscriber of the same channel.
 * Settings: BENCH_CONNECTS (default 200), BENCH_PINGS (default 200), BENCH_ROUNDS (default 50),
 * BENCH_WEBHOOKS (default 200). Loopback only.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import PusherServer from 'pusher';
import { WebSocket } from 'ws';
import { startLocalStack } from '../local/stack';

const CONNECTS = Number(process.env.BENCH_CONNECTS ?? 200);
const PINGS = Number(process.env.BENCH_PINGS ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 50);
const WEBHOOKS = Number(process.env.BENCH_WEBHOOKS ?? 200);
const PROJECT = 'bench';
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

/** A socket speaking Pusher's wire protocol, as pusher-js does: its messages kept, waited on by a predicate. */
class PusherWire {
  private readonly seen: { event: string; channel?: string; data: unknown }[] = [];
  private readonly waiting: { match: (m: { event: string; channel?: string; data: unknown }) => boolean; resolve: () => void }[] = [];
  socketId = '';

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (raw: Buffer) => {
      const message = JSON.parse(raw.toString()) as { event: string; channel?: string; data: unknown };
      if (typeof message.data === 'string') {
        try {
          message.data = JSON.parse(message.data);
        } catch {
          /* plain text */
        }
      }
      this.seen.push(message);
      for (const waiter of [...this.waiting]) {
        if (waiter.match(message)) {
          this.waiting.splice(this.waiting.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
    });
  }

  static async open(url: string): Promise<PusherWire> {
    const wire = new PusherWire(new WebSocket(url));
    await wire.until((m) => m.event === 'pusher:connection_established');
    wire.socketId = (wire.seen[0].data as { socket_id: string }).socket_id;
    return wire;
  }

  send(event: string, data: unknown): void {
    this.socket.send(JSON.stringify({ event, data }));
  }

  /** Resolves once a message `match` accepts has come (now, or already). */
  until(match: (m: { event: string; channel?: string; data: unknown }) => boolean, timeoutMs = 10_000): Promise<void> {
    if (this.seen.some(match)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiting.push({ match, resolve });
      setTimeout(
        () => reject(new Error(`bench: a message did not come in time; last: ${JSON.stringify(this.seen.slice(-2))}`)),
        timeoutMs,
      ).unref();
    });
  }

  forget(): void {
    this.seen.length = 0;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.close();
    });
  }
}

/** A Pusher connection signed in as `user` (its signature made by the pusher SDK, as an app's endpoint would). */
async function signedIn(url: string, sdk: PusherServer, user: string): Promise<PusherWire> {
  const wire = await PusherWire.open(url);
  wire.send('pusher:signin', sdk.authenticateUser(wire.socketId, { id: user }));
  await wire.until((m) => m.event === 'pusher:signin_success');
  return wire;
}

async function subscribed(wire: PusherWire, channel: string): Promise<void> {
  wire.send('pusher:subscribe', { channel });
  await wire.until((m) => m.event === 'pusher_internal:subscription_succeeded' && m.channel === channel);
}

/** sendToUser to a user on `connections` connections, beside a trigger to a channel they are all on. */
async function sendToUserRows(url: string, sdk: PusherServer, connections = 5) {
  const wires = await Promise.all(Array.from({ length: connections }, () => signedIn(url, sdk, 'bench-user')));
  await Promise.all(wires.map((wire) => subscribed(wire, 'bench-feed')));
  const toUser: number[] = [];
  const toChannel: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    let started = performance.now();
    await sdk.sendToUser('bench-user', 'nudge', { i });
    await Promise.all(wires.map((wire) => wire.until((m) => m.event === 'nudge' && (m.data as { i: number }).i === i)));
    toUser.push(performance.now() - started);
    started = performance.now();
    await sdk.trigger('bench-feed', 'tick', { i });
    await Promise.all(wires.map((wire) => wire.until((m) => m.event === 'tick' && (m.data as { i: number }).i === i)));
    toChannel.push(performance.now() - started);
  }
  await Promise.all(wires.map((wire) => wire.close()));
  return { toUser, toChannel };
}

/** Publishes `count` messages to a channel, ten a request. */
async function publishMany(sdk: PusherServer, channel: string, count: number, from = 0) {
  for (let i = 0; i < count; i += 10) {
    await sdk.triggerBatch(
      Array.from({ length: Math.min(10, count - i) }, (_, j) => ({ channel, name: 'missed', data: { n: from + i + j } })),
    );
  }
}

/** Continuity: subscribe → the 100th missed message replayed, beside subscribe → confirmed with nothing missed, and 100 live messages. */
async function continuityRows(url: string, sdk: PusherServer, missed = 100) {
  const replayed: number[] = [];
  const nothingMissed: number[] = [];
  const live: number[] = [];
  for (let round = 0; round < Math.max(1, Math.floor(ROUNDS / 2)); round++) {
    const user = `bench-away-${round}`;
    const channel = `bench-history-${round}`;
    const first = await signedIn(url, sdk, user);
    await subscribed(first, channel);
    await first.close();
    await publishMany(sdk, channel, missed);
    const back = await signedIn(url, sdk, user);
    let started = performance.now();
    back.send('pusher:subscribe', { channel });
    await back.until((m) => m.event === 'missed' && (m.data as { n: number }).n === missed - 1);
    replayed.push(performance.now() - started);

    const other = `bench-fresh-${round}`;
    started = performance.now();
    await subscribed(back, other);
    nothingMissed.push(performance.now() - started);
    started = performance.now();
    await publishMany(sdk, other, missed);
    await back.until((m) => m.event === 'missed' && m.channel === other && (m.data as { n: number }).n === missed - 1);
    live.push(performance.now() - started);
    await back.close();
  }
  return { replayed, nothingMissed, live };
}

/** The app's webhook receiver: when each channel's channel_occupied came, and how long after the handler made it. */
async function webhookReceiver() {
  const arrived = new Map<string, { at: number; pipelineMs: number }>();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const at = performance.now();
      const { time_ms: made, events } = JSON.parse(body) as { time_ms: number; events: { name: string; channel: string }[] };
      for (const event of events) {
        if (event.name === 'channel_occupied') arrived.set(event.channel, { at, pipelineMs: Date.now() - made });
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { arrived, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, close: () => server.close() };
}

/**
 * Webhooks under a burst of joins: each subscribe's channel_occupied at the receiver, beside the
 * subscribe's own confirmation (same frames, same moment); the pipeline's latency from the event's
 * making to the receiver; and a publish to a subscriber of the same channels (the baseline).
 */
async function webhookRows(url: string, sdk: PusherServer, arrived: Map<string, { at: number; pipelineMs: number }>) {
  // A connection holds 100 channels at most.
  const wires = await Promise.all(Array.from({ length: Math.ceil(WEBHOOKS / 100) }, () => PusherWire.open(url)));
  const wireOf = (i: number) => wires[Math.floor(i / 100)];
  const channels = Array.from({ length: WEBHOOKS }, (_, i) => `bench-hooked-${i}`);
  const sentAt = new Map<string, number>();
  const confirmedIn: number[] = [];
  const started = performance.now();
  // All at once, as a burst of joins would come.
  await Promise.all(
    channels.map(async (channel, i) => {
      sentAt.set(channel, performance.now());
      await subscribed(wireOf(i), channel);
      confirmedIn.push(performance.now() - sentAt.get(channel)!);
    }),
  );
  const confirmedS = (performance.now() - started) / 1000;
  await new Promise<void>((resolve, reject) => {
    const check = setInterval(() => {
      if (!channels.every((channel) => arrived.has(channel))) return;
      clearInterval(check);
      resolve();
    }, 5);
    setTimeout(() => reject(new Error('bench: not every webhook event came in 60 s')), 60_000).unref();
  });
  const lastS = (Math.max(...channels.map((channel) => arrived.get(channel)!.at)) - started) / 1000;
  const occupied = channels.map((channel) => arrived.get(channel)!.at - sentAt.get(channel)!);
  const pipeline = channels.map((channel) => arrived.get(channel)!.pipelineMs);
  const published: number[] = [];
  for (let i = 0; i < Math.min(WEBHOOKS, 100); i++) {
    const at = performance.now();
    await sdk.trigger(channels[i], 'ping', { i });
    await wireOf(i).until((m) => m.event === 'ping' && m.channel === channels[i]);
    published.push(performance.now() - at);
  }
  await Promise.all(wires.map((wire) => wire.close()));
  return { occupied, confirmedIn, pipeline, published, perSecond: WEBHOOKS / lastS, confirmedPerSecond: WEBHOOKS / confirmedS };
}

async function main() {
  // The stage throttle would refuse part of the burst: this measures the stack, not the throttle.
  // Lifecycle events on (a temporary file), as under npm start: webhooks ride on them.
  const stack = await startLocalStack({ accessKey: KEY, throttle: { stage: false } });
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

    // A keyed project for sign-in, sendToUser, continuity (its root namespace keeps history) and webhooks.
    const created = (await (
      await fetch(`${stack.httpUrl}/api-keys`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${KEY}` },
        body: JSON.stringify({ projectId: PROJECT }),
      })
    ).json()) as { data: { apiKey: string; keyPrefix: string } };
    const put = (path: string, body: unknown) =>
      fetch(`${stack.httpUrl}/projects/${PROJECT}/${path}`, {
        method: 'PUT',
        headers: { Authorization: `Bearer ${KEY}` },
        body: JSON.stringify(body),
      });
    // Webhooks set now, before the handler reads (and caches for 30 s) the project's settings.
    const receiver = await webhookReceiver();
    await put('settings', {
      anonymousConnect: true,
      rateLimit: { perSecond: 1000, burst: 1000 },
      webhooks: [{ url: receiver.url, events: ['channel_occupied'] }],
    });
    await put('namespaces/_', { history: { size: 1000, ttlSeconds: 3600 } });
    const { hostname, port } = new URL(stack.httpUrl);
    const sdk = new PusherServer({
      appId: PROJECT,
      key: created.data.keyPrefix,
      secret: created.data.apiKey,
      host: hostname,
      port,
      useTLS: false,
    });
    const appUrl = `ws://127.0.0.1:${stack.pusherPort}/app/${created.data.keyPrefix}?protocol=7&client=js&version=8.4.0&flash=false`;
    const users = await sendToUserRows(appUrl, sdk);
    const continuity = await continuityRows(appUrl, sdk);
    const hooks = await webhookRows(appUrl, sdk, receiver.arrived);
    receiver.close();

    const ratio = (a: number[], b: number[], p: number) => (percentile(a, p) / percentile(b, p)).toFixed(2);
    console.log(`
Pusher endpoint bench — npm start's stack on loopback, ${CONNECTS} connections and ${PINGS} pings each, ${process.arch}, Node ${process.version}

| measure | Pusher (pusher-js's wire) | native baseline (same run) | ratio at p99 |
|---|---|---|---|
| handshake → first message (connection_established / connected) | ${summary(pusherTimes)} | ${summary(nativeTimes)} | ${ratio(pusherTimes, nativeTimes, 99)} |
| ping → pong | ${summary(pusherPings.slice(0, PINGS))} | ${summary(nativePings)} | ${ratio(pusherPings.slice(0, PINGS), nativePings, 99)} |
| sendToUser → all 5 of the user's connections (${ROUNDS}) | ${summary(users.toUser)} | trigger to a channel the 5 are on: ${summary(users.toChannel)} | ${ratio(users.toUser, users.toChannel, 99)} |
| continuity: subscribe → 100th missed message replayed (${continuity.replayed.length}) | ${summary(continuity.replayed)} | subscribe → confirmed, nothing missed: ${summary(continuity.nothingMissed)}; 100 live messages published → the 100th received: ${summary(continuity.live)} | ${ratio(continuity.replayed, continuity.live, 99)} (to 100 live) |
| webhooks, a burst of ${WEBHOOKS} joins: subscribe → channel_occupied at the receiver (${hooks.perSecond.toFixed(0)} events/s) | ${summary(hooks.occupied)}; from the event's making to the receiver: ${summary(hooks.pipeline)} | subscribe → its confirmation, same burst (${hooks.confirmedPerSecond.toFixed(0)}/s): ${summary(hooks.confirmedIn)}; a publish → a subscriber of those channels: ${summary(hooks.published)} | ${ratio(hooks.occupied, hooks.confirmedIn, 99)} (to the confirmation) |

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
