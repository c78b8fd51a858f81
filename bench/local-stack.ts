/**
 * `npm run bench:local`: end-to-end throughput of the whole local stack, real WebSocket clients included.
 * Loopback only; bounded in clients, messages and time. Settings: BENCH_CLIENTS (default 500),
 * BENCH_MESSAGES (default 20), BENCH_CONCURRENCY (fan-out concurrency, default 100).
 */
import { WebSocket } from 'ws';
import { startLocalStack } from '../local/stack';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 500);
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 20);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 100);
const KEY = 'bench-key';
const DEADLINE_MS = 120_000;

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))];

async function main() {
  // The stage throttle (1,000/s) would refuse part of the connect-and-subscribe burst: this measures the stack, not the throttle.
  const stack = await startLocalStack({ accessKey: KEY, fanoutConcurrency: CONCURRENCY, throttle: { stage: false } });
  let received = 0;
  const sockets: WebSocket[] = [];
  const started = Date.now();
  for (let i = 0; i < CLIENTS; i++) {
    const socket = new WebSocket(stack.webSocketUrl);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    await new Promise<void>((resolve) => {
      socket.on('message', (data: Buffer) => {
        const text = data.toString();
        if (text.includes('subscription_succeeded')) resolve();
        else if (text.includes('"event":"bench"')) received++;
      });
      socket.send(JSON.stringify({ action: 'subscribe', channel: 'bench' }));
    });
    sockets.push(socket);
  }
  const connectMs = Date.now() - started;

  const latencies: number[] = [];
  const publishStart = Date.now();
  for (let n = 0; n < MESSAGES; n++) {
    const t0 = Date.now();
    const response = await fetch(`${stack.httpUrl}/broadcast`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ channel: 'bench', event: 'bench', data: { n } }),
    });
    const body = (await response.json()) as { sent: number; failed: number };
    if (body.sent !== CLIENTS || body.failed !== 0) throw new Error(`publish ${n}: ${JSON.stringify(body)}`);
    latencies.push(Date.now() - t0);
  }
  const expected = CLIENTS * MESSAGES;
  while (received < expected && Date.now() - publishStart < DEADLINE_MS) await new Promise((r) => setTimeout(r, 10));
  const totalMs = Date.now() - publishStart;

  console.log(`clients ${CLIENTS}, messages ${MESSAGES}, fan-out concurrency ${CONCURRENCY}`);
  console.log(`connect + subscribe: ${connectMs} ms (${Math.round((CLIENTS / connectMs) * 1000)}/s)`);
  console.log(`publish latency (POST /broadcast, whole fan-out): p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms`);
  console.log(`delivered ${received}/${expected} in ${totalMs} ms: ${Math.round((received / totalMs) * 1000)} deliveries/s`);
  sockets.forEach((s) => s.terminate());
  await stack.stop();
  if (received !== expected) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
