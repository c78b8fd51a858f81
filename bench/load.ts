/**
 * `npm run bench:load`: correctness under load against the whole local stack, over real sockets.
 * Not a timed test; `test/e2e/load.test.ts` runs a scaled-down version in `npm test`.
 *
 * 1. Fan-out: LOAD_CLIENTS (1,000) WebSocket clients subscribe to one channel, then LOAD_BROADCASTS
 *    (100) `POST /broadcast`s go out; every client must receive every broadcast exactly once.
 * 2. Churn: LOAD_CYCLES (10,000) connect–subscribe–disconnect cycles, LOAD_CHURN_CONCURRENCY (50)
 *    at a time, a tenth of the clients dropping in the middle of the handshake; afterwards no
 *    connection or subscription item may be left, and `/status` and the open-connection count must
 *    both say zero.
 */
import { connect as connectTcp } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import WebSocket from 'ws';
import { LIVE_PERIOD_PREFIX } from '../lambda/contract/tables';
import { startLocalStack } from '../local/stack';
import { LOCAL_AWS, LOCAL_TABLES } from '../local/store';

export interface LoadOptions {
  readonly clients: number;
  readonly broadcasts: number;
  readonly cycles: number;
  readonly churnConcurrency: number;
  readonly log?: (line: string) => void;
}

export interface LoadResult {
  readonly fanout: {
    clients: number;
    broadcasts: number;
    expected: number;
    delivered: number;
    duplicates: number;
    missing: number;
    ms: number;
  };
  readonly churn: {
    cycles: number;
    dropped: number;
    ms: number;
    connectionsLeft: number;
    subscriptionsLeft: number;
    statusTotal: number;
    liveCount: number;
  };
}

const KEY = 'load-key';

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function reply(ws: WebSocket, match: (message: Record<string, unknown>) => boolean): Promise<void> {
  return new Promise((resolve) => {
    // A text frame arrives as one Buffer (ws's default binary type).
    const onMessage = (data: Buffer) => {
      if (match(JSON.parse(data.toString()))) {
        ws.off('message', onMessage);
        resolve();
      }
    };
    ws.on('message', onMessage);
  });
}

async function inBatches<T>(items: readonly T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(size, items.length) }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const log = options.log ?? (() => undefined);
  // The stage throttle would refuse part of these bursts: this measures correctness, not the throttle.
  const stack = await startLocalStack({ accessKey: KEY, throttle: { stage: false } });
  const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ ...LOCAL_AWS, endpoint: stack.dynamoEndpoint }));
  const scan = async (table: string) => {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await documents.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start, ConsistentRead: true }));
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  };
  try {
    // 1. Fan-out.
    log(`fan-out: ${options.clients} clients…`);
    const received = new Map<WebSocket, Map<string, number>>();
    const sockets: WebSocket[] = [];
    await inBatches(
      Array.from({ length: options.clients }, (_, i) => i),
      50,
      async () => {
        const ws = await open(stack.webSocketUrl);
        const counts = new Map<string, number>();
        received.set(ws, counts);
        ws.on('message', (data: Buffer) => {
          const message = JSON.parse(data.toString()) as { event?: string; id?: string };
          if (message.event === 'load') counts.set(message.id!, (counts.get(message.id!) ?? 0) + 1);
        });
        const subscribed = reply(ws, (m) => m.type === 'subscription_succeeded');
        ws.send(JSON.stringify({ action: 'subscribe', channel: 'load' }));
        await subscribed;
        sockets.push(ws);
      },
    );
    log(`fan-out: ${options.broadcasts} broadcasts…`);
    const started = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < options.broadcasts; i++) {
      const response = await fetch(`${stack.httpUrl}/broadcast`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ channel: 'load', event: 'load', data: { i } }),
      });
      ids.push(((await response.json()) as { id: string }).id);
    }
    const expected = options.clients * options.broadcasts;
    const total = () => [...received.values()].reduce((sum, counts) => sum + [...counts.values()].reduce((a, b) => a + b, 0), 0);
    for (let waited = 0; total() < expected && waited < 60_000; waited += 100) await settle(100);
    const ms = Date.now() - started;
    let delivered = 0;
    let duplicates = 0;
    let missing = 0;
    for (const counts of received.values()) {
      for (const id of ids) {
        const n = counts.get(id) ?? 0;
        if (n === 0) missing++;
        else delivered++;
        if (n > 1) duplicates += n - 1;
      }
    }
    await Promise.all(sockets.map((ws) => new Promise((resolve) => (ws.once('close', resolve), ws.close()))));

    // 2. Churn.
    log(`churn: ${options.cycles} cycles…`);
    const churnStarted = Date.now();
    const port = Number(new URL(stack.webSocketUrl).port);
    const stage = new URL(stack.webSocketUrl).pathname;
    let dropped = 0;
    await inBatches(
      Array.from({ length: options.cycles }, (_, i) => i),
      options.churnConcurrency,
      async (i) => {
        if (i % 10 === 0) {
          // A client that sends the upgrade and vanishes while $connect runs.
          dropped++;
          await new Promise<void>((resolve) => {
            const socket = connectTcp(port, '127.0.0.1', () => {
              socket.write(
                `GET ${stage} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
              );
              setImmediate(() => {
                socket.destroy();
                resolve();
              });
            });
            socket.on('error', () => resolve());
          });
          return;
        }
        const ws = await open(stack.webSocketUrl);
        const subscribed = reply(ws, (m) => m.type === 'subscription_succeeded');
        ws.send(JSON.stringify({ action: 'subscribe', channel: `churn-${i % 7}` }));
        await subscribed;
        await new Promise((resolve) => (ws.once('close', resolve), ws.close()));
      },
    );
    // Every $disconnect and background task has run once the gateway is idle.
    await settle(1000);
    const churnMs = Date.now() - churnStarted;
    const connectionsLeft = (await scan(LOCAL_TABLES.connections.name)).length;
    const subscriptionsLeft = (await scan(LOCAL_TABLES.subscriptions.name)).length;
    const status = (await (
      await fetch(`${stack.httpUrl}/status?projectId=default`, { headers: { authorization: `Bearer ${KEY}` } })
    ).json()) as {
      data: { connections: { total: number } };
    };
    const liveCount = (await scan(LOCAL_TABLES.usage.name))
      .filter((item) => item.projectId === 'default' && String(item.period).startsWith(LIVE_PERIOD_PREFIX))
      .reduce((sum, item) => sum + Number(item.live ?? 0), 0);
    return {
      fanout: { clients: options.clients, broadcasts: options.broadcasts, expected, delivered, duplicates, missing, ms },
      churn: {
        cycles: options.cycles,
        dropped,
        ms: churnMs,
        connectionsLeft,
        subscriptionsLeft,
        statusTotal: status.data.connections.total,
        liveCount,
      },
    };
  } finally {
    documents.destroy();
    await stack.stop();
  }
}

if (require.main === module) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
  runLoad({
    clients: env('LOAD_CLIENTS', 1000),
    broadcasts: env('LOAD_BROADCASTS', 100),
    cycles: env('LOAD_CYCLES', 10_000),
    churnConcurrency: env('LOAD_CHURN_CONCURRENCY', 50),
    log: (line) => process.stderr.write(`${line}\n`),
  })
    .then(({ fanout, churn }) => {
      console.log(`
Load — ${process.arch}, Node ${process.version}, the local stack

| run | outcome | time |
|---|---|---|
| ${fanout.clients} clients × ${fanout.broadcasts} broadcasts | ${fanout.delivered}/${fanout.expected} delivered, ${fanout.duplicates} duplicates, ${fanout.missing} missing | ${fanout.ms} ms (${Math.round((fanout.delivered / fanout.ms) * 1000)} deliveries/s) |
| ${churn.cycles} connect–subscribe–disconnect cycles (${churn.dropped} dropped mid-handshake) | ${churn.connectionsLeft} connections and ${churn.subscriptionsLeft} subscriptions left; /status ${churn.statusTotal}, open-connection count ${churn.liveCount} | ${churn.ms} ms |
`);
      const ok =
        fanout.delivered === fanout.expected &&
        fanout.duplicates === 0 &&
        churn.connectionsLeft === 0 &&
        churn.subscriptionsLeft === 0 &&
        churn.statusTotal === 0 &&
        churn.liveCount === 0;
      process.exit(ok ? 0 : 1);
    })
    .catch((error) => {
      console.error(error);
      process.exit(1);
    });
}
