/**
 * `npm run bench`: the fan-out path measured against its baselines, in one run.
 *
 * A stand-in `@connections` endpoint runs in a process of its own with an injected round-trip time,
 * and dynalite in another, so the CPU measured here is the publisher's alone. For each channel
 * size, subscribers are seeded through the real stores; then one `POST /broadcast` goes through the
 * real handler (its lean delivery path), and on the same subscribers two baselines run: naive
 * `Promise.all` on a default SDK client, and a sequential loop (seed 001's broadcaster; timed on a
 * sample and scaled when the channel is large). Prints a markdown table and writes
 * bench/results/latest.json. Channels of BENCH_SHARD_FROM subscribers or more are published as in
 * production for big channels: 202, sharded, each shard a background task run in this process.
 *
 * Settings: BENCH_SIZES (default 1000,10000,100000), BENCH_RTT_MS (10), BENCH_CONCURRENCY (the
 * handler's fan-out concurrency, 100), BENCH_THROTTLE_RATE (share of posts answered 429 in the storm
 * run, 0.2), BENCH_SHARD_FROM (50000), BENCH_BUDGET (the shards' posts per second, 10000),
 * BENCH_PROFILE (1: CPU profiles of each publish in bench/results/), BENCH_MIXED_SIZE (a channel
 * half of whose subscribers are Pusher connections, against an all-native one, 10000; 0 skips it),
 * BENCH_MIXED_ROUNDS (5), BENCH_CONCURRENT_PUBLISHES (publishes at once to one big channel, sharing
 * the budget, 4; 0 skips it), BENCH_CONCURRENT_SIZE (20000).
 *
 * The handler's DynamoDB calls pass through a counting proxy, so each publish's writes are known by
 * table: a sharded publish's progress records and publish record (publishes), and the shared
 * delivery budget (channels), as write units per delivery.
 */
import { ChildProcess, fork } from 'node:child_process';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import * as path from 'node:path';
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { StaticKeySource } from '../lambda/adapters/key-sources';
import { DynamoSubscriptionStore } from '../lambda/adapters/dynamo-subscriptions';
import { buildDependencies, handlerFor } from '../lambda/compose';
import { handlerEnvironment, readConfig } from '../lambda/contract/config';
import { connectionExpiry } from '../lambda/contract/tables';
import { LOCAL_AWS, LOCAL_TABLE_SETTINGS, LOCAL_TABLES } from '../local/store';
import { measureBundle } from './bundle';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

const SIZES = (process.env.BENCH_SIZES ?? '1000,10000,100000').split(',').map(Number);
/** Sizes at or above this are published as in production: sharded in the background (202). */
const SHARD_FROM = Number(process.env.BENCH_SHARD_FROM ?? 50_000);
/** The account-wide delivery budget the shards share. */
const BUDGET = Number(process.env.BENCH_BUDGET ?? 10_000);
const RTT_MS = Number(process.env.BENCH_RTT_MS ?? 10);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 100);
const THROTTLE_RATE = Number(process.env.BENCH_THROTTLE_RATE ?? 0.2);
/** The sequential loop is timed on at most this many posts, then scaled to the channel. */
const SEQUENTIAL_SAMPLE = 300;
const PROJECT = 'bench';
/** The mixed-channel comparison: its size (0 skips it) and publishes per kind. */
const MIXED_SIZE = Number(process.env.BENCH_MIXED_SIZE ?? 10_000);
const MIXED_ROUNDS = Number(process.env.BENCH_MIXED_ROUNDS ?? 5);
/** K publishes at once to one big channel (0 skips it): their shards share the delivery budget. */
const CONCURRENT_PUBLISHES = Number(process.env.BENCH_CONCURRENT_PUBLISHES ?? 4);
const CONCURRENT_SIZE = Number(process.env.BENCH_CONCURRENT_SIZE ?? 20_000);
const KEY = 'bench-master-key';
/** Prices (us-east-1, 2026): API Gateway messages, Lambda arm64 GB-s, DynamoDB on-demand reads and writes. */
const PRICE = { perMillionMessages: 1.0, perGbSecond: 0.0000133334, perMillionReadUnits: 0.125, perMillionWriteUnits: 0.625 };
/** The default function: 512 MB is about 0.29 of a vCPU (1,769 MB = 1 vCPU). */
const LAMBDA_MB = 512;
/** The construct's defaults the cost model uses: deliveryRatePerSecond, and subscribers per shard. */
const LAMBDA_DEFAULTS = { budget: 8000, shardSize: 10_000 };

const HERE = __dirname;
/** BENCH_PROFILE=1 writes a CPU profile of each size's publish to bench/results/ (open it in Chrome's DevTools). */
const PROFILE = process.env.BENCH_PROFILE === '1';

async function startProfile(): Promise<{ stop(name: string): Promise<string> }> {
  const session = new Session();
  session.connect();
  const post = (method: string) =>
    new Promise<any>((resolve, reject) => session.post(method, (error, result) => (error ? reject(error) : resolve(result))));
  await post('Profiler.enable');
  await post('Profiler.start');
  return {
    async stop(name) {
      const { profile } = await post('Profiler.stop');
      session.disconnect();
      const file = path.join(HERE, 'results', `${name}.cpuprofile`);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify(profile));
      return file;
    },
  };
}

interface Child {
  readonly process: ChildProcess;
  ask<T>(message: object, key: string): Promise<T>;
}

function start(script: string, args: string[] = []): Promise<{ child: Child; ready: Record<string, string> }> {
  const proc = fork(path.join(HERE, script), args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ask = <T>(message: object, key: string) =>
    new Promise<T>((resolve) => {
      const onMessage = (reply: Record<string, unknown>) => {
        if (key in reply) {
          proc.off('message', onMessage);
          resolve(reply[key] as T);
        }
      };
      proc.on('message', onMessage);
      proc.send(message);
    });
  return new Promise((resolve) =>
    proc.once('message', (ready: Record<string, string>) => resolve({ child: { process: proc, ask }, ready })),
  );
}

interface Stats {
  unique: number;
  deliveries: number;
  duplicates: number;
  throttled: number;
  lastDeliveryAt: number;
  pusherFrames: number;
}

interface Run {
  ms: number;
  cpuMsPerDelivery: number;
}

const cpuMs = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
};

/** DynamoDB's write operations, and how many items each request writes. */
const WRITES: Record<string, (input: Record<string, unknown>) => Record<string, number>> = {
  PutItem: (input) => ({ [String(input.TableName)]: 1 }),
  UpdateItem: (input) => ({ [String(input.TableName)]: 1 }),
  DeleteItem: (input) => ({ [String(input.TableName)]: 1 }),
  BatchWriteItem: (input) =>
    Object.fromEntries(Object.entries(input.RequestItems as Record<string, unknown[]>).map(([table, items]) => [table, items.length])),
};

/**
 * A proxy in front of dynalite counting the items written, by table. Every item the handler writes
 * here is under 1 KB, so each is one write unit.
 */
async function countingProxy(target: string) {
  const upstream = new URL(target);
  let writes: Record<string, number> = {};
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
      if (WRITES[operation]) {
        for (const [table, items] of Object.entries(WRITES[operation](JSON.parse(body.toString()) as Record<string, unknown>)))
          writes[table] = (writes[table] ?? 0) + items;
      }
      const forward = request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 500, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on('error', () => res.destroy());
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** The writes since the last call, by table. */
    take() {
      const taken = writes;
      writes = {};
      return taken;
    },
    close: () => server.close(),
  };
}

async function main(): Promise<void> {
  const [{ child: store, ready: storeReady }, { child: endpoint, ready: endpointReady }, { child: stormEndpoint, ready: stormReady }] =
    await Promise.all([
      start('store-process.ts'),
      start('stand-in-process.ts', [String(RTT_MS), '0', '0']),
      start('stand-in-process.ts', [String(RTT_MS), String(THROTTLE_RATE), '0']),
    ]);
  const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ ...LOCAL_AWS, endpoint: storeReady.endpoint }));
  const counted = await countingProxy(storeReady.endpoint);
  const subscriptions = new DynamoSubscriptionStore(documents, LOCAL_TABLES.subscriptions.name);

  // Background tasks run in this process as asynchronous invocations would, each with 29 s.
  const tasks = new Set<Promise<unknown>>();
  let current: ReturnType<typeof handlerFor> | undefined;
  const invoker = {
    invoke: async (task: unknown) => {
      const started = Date.now();
      const run = new Promise((resolve) => setImmediate(resolve))
        .then(() => current!(task, { getRemainingTimeInMillis: () => 29_000 - (Date.now() - started) }))
        .finally(() => tasks.delete(run));
      tasks.add(run);
    },
  };
  const settled = async () => {
    while (tasks.size > 0) await Promise.all([...tasks]);
  };
  const handlerFor_ = (managementEndpoint: string, backgroundFanoutAbove: number) => {
    const config = readConfig(
      handlerEnvironment({
        ...LOCAL_TABLE_SETTINGS,
        managementEndpoint,
        fanoutConcurrency: CONCURRENCY,
        deliveryRatePerSecond: BUDGET,
        backgroundFanoutAbove,
      }),
    );
    return handlerFor(
      buildDependencies(config, {
        dynamodb: { ...LOCAL_AWS, endpoint: counted.url },
        management: LOCAL_AWS,
        keys: new StaticKeySource(KEY),
        sealing: new StaticKeySource('bench-sealing'),
        invoker,
      }),
    );
  };
  const syncHandler = handlerFor_(endpointReady.url, SHARD_FROM - 1);
  const shardedHandler = handlerFor_(endpointReady.url, 2_000);
  const stormSync = handlerFor_(stormReady.url, SHARD_FROM - 1);
  const stormSharded = handlerFor_(stormReady.url, 2_000);
  /** Publishes and waits for the background work it started. */
  const publishAndSettle = async (h: ReturnType<typeof handlerFor>, channel: string) => {
    current = h;
    const answer = await publish(h, channel);
    await settled();
    return answer;
  };
  const publish = (h: ReturnType<typeof handlerFor>, channel: string) =>
    h({
      version: '2.0',
      routeKey: 'POST /broadcast',
      rawPath: '/broadcast',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      requestContext: { http: { method: 'POST', path: '/broadcast' }, requestId: 'bench', routeKey: 'POST /broadcast' },
      body: JSON.stringify({ projectId: PROJECT, channel, event: 'tick', data: { at: Date.now(), pad: 'x'.repeat(200) } }),
      isBase64Encoded: false,
    });

  const sdk = new ApiGatewayManagementApiClient({ ...LOCAL_AWS, endpoint: endpointReady.url });
  const results: Record<string, unknown>[] = [];

  /** Seeds subscribers; every `pusherEvery`th one (if given) as a Pusher connection's subscription. */
  async function seed(channel: string, size: number, pusherEvery = 0): Promise<void> {
    const expiresAt = connectionExpiry(Date.now());
    // Connection ids as API Gateway makes them: 16 random base64 characters.
    const items = Array.from({ length: size }, (_, i) => ({
      pk: `${PROJECT}#${channel}`,
      sk: randomBytes(12).toString('base64'),
      p: PROJECT,
      ttl: expiresAt,
      // As the subscription store writes a Pusher connection's item.
      ...(pusherEvery > 0 && i % pusherEvery === 0 && { f: 'p' }),
    }));
    const batches: (typeof items)[] = [];
    for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < batches.length) {
          const batch = batches[next++];
          await documents.send(
            new BatchWriteCommand({ RequestItems: { [LOCAL_TABLES.subscriptions.name]: batch.map((Item) => ({ PutRequest: { Item } })) } }),
          );
        }
      }),
    );
  }

  async function subscriberIds(channel: string): Promise<string[]> {
    const ids: string[] = [];
    for await (const page of subscriptions.subscribers(PROJECT, channel)) ids.push(...page.ids);
    return ids;
  }

  const body = JSON.stringify({ event: 'tick', data: { pad: 'x'.repeat(200) } });

  // Warm-up: clients, sockets and code paths, on a small channel.
  await seed('warm', 200);
  await publishAndSettle(syncHandler, 'warm');
  await Promise.all((await subscriberIds('warm')).map((id) => sdk.send(new PostToConnectionCommand({ ConnectionId: id, Data: body }))));

  for (const size of SIZES) {
    const channel = `size-${size}`;
    process.stderr.write(`seeding ${size} subscribers…\n`);
    await seed(channel, size);

    const sharded = size >= SHARD_FROM;
    await endpoint.ask({ command: 'reset' }, 'reset');
    const profiler = PROFILE ? await startProfile() : undefined;
    counted.take();
    let cpu = process.cpuUsage();
    let started = Date.now();
    const answer = await publishAndSettle(sharded ? shardedHandler : syncHandler, channel);
    const projectCpu = cpuMs(cpu);
    const writes = counted.take();
    if (profiler) process.stderr.write(`profile: ${await profiler.stop(`fanout-${size}`)}\n`);
    const stats = await endpoint.ask<Stats>({ command: 'stats' }, 'stats');
    const projectMs = Math.max(stats.lastDeliveryAt, Date.now()) - started;
    const reply = JSON.parse((answer as { body: string }).body);

    // Naive Promise.all on a default SDK client, same subscribers, ids read the same way.
    await endpoint.ask({ command: 'reset' }, 'reset');
    cpu = process.cpuUsage();
    started = Date.now();
    const ids = await subscriberIds(channel);
    await Promise.all(ids.map((id) => sdk.send(new PostToConnectionCommand({ ConnectionId: id, Data: body })).catch(() => undefined)));
    const naiveMs = Date.now() - started;
    const naiveCpu = cpuMs(cpu);

    // The sequential loop, timed on a sample and scaled.
    const sample = ids.slice(0, SEQUENTIAL_SAMPLE);
    started = Date.now();
    for (const id of sample) await sdk.send(new PostToConnectionCommand({ ConnectionId: id, Data: body })).catch(() => undefined);
    const sequentialMs = ((Date.now() - started) * ids.length) / sample.length;

    // The 429 storm: the same publish against an endpoint that throttles a share of posts.
    await stormEndpoint.ask({ command: 'reset' }, 'reset');
    started = Date.now();
    const storm = JSON.parse(((await publishAndSettle(sharded ? stormSharded : stormSync, channel)) as { body: string }).body);
    const stormStats = await stormEndpoint.ask<Stats>({ command: 'stats' }, 'stats');
    const stormMs = Math.max(stormStats.lastDeliveryAt, Date.now()) - started;

    // The ideal: concurrency-bound in one invocation; budget-bound when sharded.
    const ideal = sharded ? (size / BUDGET) * 1000 : (size * RTT_MS) / CONCURRENCY;
    results.push({
      size,
      ms: projectMs,
      delivered: stats.unique,
      duplicates: stats.duplicates,
      expected: size,
      sharded,
      reply: sharded ? { status: 202, queued: reply.queued } : { sent: reply.sent, failed: reply.failed, stale: reply.stale },
      deliveriesPerSecond: Math.round((stats.unique / projectMs) * 1000),
      writes,
      writeUnitsPerDelivery: Object.values(writes).reduce((sum, n) => sum + n, 0) / Math.max(1, stats.unique),
      cpuMsPerDelivery: projectCpu / Math.max(1, stats.unique),
      naiveMs,
      naiveCpuMsPerDelivery: naiveCpu / size,
      sequentialMs: Math.round(sequentialMs),
      sequentialScaledFrom: sample.length,
      vsNaive: naiveMs / projectMs,
      vsSequential: sequentialMs / projectMs,
      idealMs: ideal,
      efficiency: ideal / projectMs,
      storm: {
        throttleRate: THROTTLE_RATE,
        ms: stormMs,
        delivered: stormStats.unique,
        throttled: stormStats.throttled,
        reply: { sent: storm.sent, failed: storm.failed },
      },
    });
  }

  // A mixed channel (half native, half Pusher connections) against an all-native one of the same
  // size, publishes alternating, so both see the same machine state; the medians are compared.
  const mixed = { size: MIXED_SIZE, rounds: MIXED_ROUNDS, native: [] as Run[], mixed: [] as Run[] };
  if (MIXED_SIZE > 0) {
    process.stderr.write(`seeding 2 × ${MIXED_SIZE} subscribers (all native; half Pusher)…\n`);
    await seed('native', MIXED_SIZE);
    await seed('mixed', MIXED_SIZE, 2);
    for (let round = 0; round < MIXED_ROUNDS; round++) {
      for (const kind of ['native', 'mixed'] as const) {
        await endpoint.ask({ command: 'reset' }, 'reset');
        const cpu = process.cpuUsage();
        const started = Date.now();
        const reply = JSON.parse(((await publishAndSettle(syncHandler, kind)) as { body: string }).body);
        const cpuTotal = cpuMs(cpu);
        const stats = await endpoint.ask<Stats>({ command: 'stats' }, 'stats');
        const ms = Math.max(stats.lastDeliveryAt, Date.now()) - started;
        const pusher = kind === 'mixed' ? MIXED_SIZE / 2 : 0;
        if (reply.sent !== MIXED_SIZE || stats.unique !== MIXED_SIZE || stats.pusherFrames !== pusher) {
          throw new Error(
            `${kind}: ${reply.sent} sent, ${stats.unique} delivered, ${stats.pusherFrames} in Pusher's frame (expected ${pusher})`,
          );
        }
        mixed[kind].push({ ms, cpuMsPerDelivery: cpuTotal / stats.unique });
      }
    }
  }
  // K publishes at once to a big channel: their shards share the deployment's delivery budget, so
  // together they deliver at about BUDGET/s, not K × BUDGET/s (issue 24, M-5).
  const concurrent = { publishes: CONCURRENT_PUBLISHES, size: CONCURRENT_SIZE, deliveries: 0, ms: 0, perSecond: 0 };
  if (CONCURRENT_PUBLISHES > 0) {
    process.stderr.write(`seeding ${CONCURRENT_SIZE} subscribers for ${CONCURRENT_PUBLISHES} concurrent publishes…\n`);
    await seed('concurrent', CONCURRENT_SIZE);
    await endpoint.ask({ command: 'reset' }, 'reset');
    current = shardedHandler;
    const started = Date.now();
    await Promise.all(Array.from({ length: CONCURRENT_PUBLISHES }, () => publish(shardedHandler, 'concurrent')));
    await settled();
    const stats = await endpoint.ask<Stats>({ command: 'stats' }, 'stats');
    concurrent.deliveries = stats.deliveries;
    concurrent.ms = Math.max(stats.lastDeliveryAt, Date.now()) - started;
    concurrent.perSecond = Math.round((stats.deliveries / concurrent.ms) * 1000);
    if (stats.deliveries !== CONCURRENT_PUBLISHES * CONCURRENT_SIZE) {
      throw new Error(`concurrent publishes: ${stats.deliveries} of ${CONCURRENT_PUBLISHES * CONCURRENT_SIZE} delivered`);
    }
  }
  const median = (runs: Run[], field: keyof Run) => runs.map((r) => r[field]).sort((a, b) => a - b)[Math.floor(runs.length / 2)];

  const bundle = await measureBundle();
  // Subscription items are ~70 bytes; an eventually consistent Query reads 4 KB for half a unit.
  const itemBytes = 70;
  const readUnitsPerDelivery = (itemBytes / 4096) * 0.5;
  const largest = results[results.length - 1] as { cpuMsPerDelivery: number; ms: number; size: number; writeUnitsPerDelivery: number };
  // The cost model, for a 100,000-subscriber channel at the construct's defaults: 10 shards
  // (10,000 subscribers each) share 8,000 posts/s, 800/s each. On Lambda the CPU share is
  // memory / 1,769 MB, so a delivery is billed its CPU scaled to that share or its shard's
  // paced wall-clock share (1 / 800 s), whichever is larger; the CPU per delivery is the one
  // measured here on the largest channel. Below the memory that keeps a shard up with its rate, a
  // big channel is slower than the budget allows; above it, paced idle time is billed. The
  // default is the smallest that keeps up.
  const shardRate = LAMBDA_DEFAULTS.budget / Math.ceil(100_000 / LAMBDA_DEFAULTS.shardSize);
  const memoryOptions = [256, 512, 1024, 1769].map((mb) => {
    const vcpu = mb / 1769;
    const capacity = (1000 * vcpu) / largest.cpuMsPerDelivery;
    const msPerDelivery = Math.max(largest.cpuMsPerDelivery / vcpu, 1000 / Math.min(shardRate, capacity));
    return {
      mb,
      capacity: Math.round(capacity),
      keepsUp: capacity >= shardRate,
      msPerDelivery,
      lambdaPerMillion: (msPerDelivery / 1000) * (mb / 1024) * 1e6 * PRICE.perGbSecond,
    };
  });
  const chosen = memoryOptions.find((o) => o.keepsUp && o.mb === LAMBDA_MB);
  const lambdaMsPerDelivery = memoryOptions.find((o) => o.mb === LAMBDA_MB)!.msPerDelivery;
  const cost = {
    messages: PRICE.perMillionMessages,
    lambda: memoryOptions.find((o) => o.mb === LAMBDA_MB)!.lambdaPerMillion,
    dynamodb: readUnitsPerDelivery * PRICE.perMillionReadUnits + largest.writeUnitsPerDelivery * PRICE.perMillionWriteUnits,
  };
  const costPerMillionUsd = cost.messages + cost.lambda + cost.dynamodb;

  const rows = results.map((r: any) =>
    [
      `${r.size.toLocaleString('en')}${r.sharded ? ' (sharded)' : ''}`,
      `${r.ms} ms`,
      `${r.delivered}/${r.expected}${r.duplicates ? ` (${r.duplicates} dup)` : ''}`,
      r.deliveriesPerSecond.toLocaleString('en'),
      r.cpuMsPerDelivery.toFixed(3),
      `${r.naiveMs} ms (${r.vsNaive.toFixed(1)}×)`,
      `${r.sequentialMs.toLocaleString('en')} ms${r.sequentialScaledFrom < r.size ? '*' : ''} (${r.vsSequential.toFixed(0)}×)`,
      `${Math.round(r.idealMs)} ms (${(r.efficiency * 100).toFixed(0)}%)`,
      `${r.storm.delivered}/${r.expected} in ${r.storm.ms} ms (${r.storm.throttled} × 429)`,
      `${r.writeUnitsPerDelivery.toFixed(4)} (${Object.entries(r.writes as Record<string, number>)
        .map(([table, n]) => `${table.replace(/^.*?-/, '')} ${n}`)
        .join(', ')})`,
    ].join(' | '),
  );
  console.log(`
Fan-out bench — RTT ${RTT_MS} ms, handler concurrency ${CONCURRENCY}, budget ${BUDGET}/s when sharded (from ${SHARD_FROM.toLocaleString('en')}), ${process.arch}, Node ${process.version}

| subscribers | publish → last delivery | delivered | deliveries/s | CPU ms/delivery | naive Promise.all (ratio) | sequential (ratio) | ideal N×RTT/c, or N/budget sharded (efficiency) | 429 storm (${THROTTLE_RATE * 100}%) | DynamoDB write units/delivery (items by table) |
|---|---|---|---|---|---|---|---|---|---|
${rows.map((row) => `| ${row} |`).join('\n')}

\\* timed on ${SEQUENTIAL_SAMPLE} posts and scaled.
Bundle ${bundle.bytes.toLocaleString('en')} bytes minified (${bundle.top}); module init ${bundle.initMs.toFixed(0)} ms.
Read units per delivery ${readUnitsPerDelivery.toFixed(4)} (~${itemBytes}-byte items, eventually consistent Query).
Cost per million deliveries: $${costPerMillionUsd.toFixed(4)} = API Gateway $${cost.messages.toFixed(2)} + Lambda $${cost.lambda.toFixed(4)} (${LAMBDA_MB} MB arm64 at $${PRICE.perGbSecond}/GB-s, ${lambdaMsPerDelivery.toFixed(3)} billed ms/delivery) + DynamoDB $${cost.dynamodb.toFixed(5)} (${readUnitsPerDelivery.toFixed(4)} read units at $${PRICE.perMillionReadUnits}/M and, on the largest channel, ${largest.writeUnitsPerDelivery.toFixed(4)} write units at $${PRICE.perMillionWriteUnits}/M per delivery); data transfer excluded.

Lambda memory for a 100k channel's shards (${shardRate}/s each at the defaults; ${largest.cpuMsPerDelivery.toFixed(3)} CPU ms/delivery measured here):

| memory | vCPU | deliveries/s one invocation can make | keeps up with its rate | billed ms/delivery | Lambda $/M deliveries |
|---|---|---|---|---|---|
${memoryOptions.map((o) => `| ${o.mb} MB${o.mb === LAMBDA_MB ? ' (default)' : ''} | ${(o.mb / 1769).toFixed(2)} | ${o.capacity.toLocaleString('en')} | ${o.keepsUp ? 'yes' : 'no'} | ${o.msPerDelivery.toFixed(3)} | $${o.lambdaPerMillion.toFixed(4)} |`).join('\n')}
${chosen ? '' : `\nThe default (${LAMBDA_MB} MB) does not keep up on these figures: raise it.\n`}${
    MIXED_SIZE > 0
      ? `
Mixed channel — ${MIXED_SIZE.toLocaleString('en')} subscribers, half of them Pusher connections (each gets Pusher's frame), against an all-native channel of the same size; ${MIXED_ROUNDS} publishes each, alternating, medians:

| channel | publish → last delivery | CPU ms/delivery | vs all-native |
|---|---|---|---|
| all native | ${median(mixed.native, 'ms')} ms | ${median(mixed.native, 'cpuMsPerDelivery').toFixed(4)} | 1.00 |
| half Pusher | ${median(mixed.mixed, 'ms')} ms | ${median(mixed.mixed, 'cpuMsPerDelivery').toFixed(4)} | ${(median(mixed.mixed, 'cpuMsPerDelivery') / median(mixed.native, 'cpuMsPerDelivery')).toFixed(2)} |
`
      : ''
  }${
    CONCURRENT_PUBLISHES > 0
      ? `
${CONCURRENT_PUBLISHES} publishes at once to a ${CONCURRENT_SIZE.toLocaleString('en')}-subscriber channel (sharded): ${concurrent.deliveries.toLocaleString('en')} deliveries in ${concurrent.ms} ms, ${concurrent.perSecond.toLocaleString('en')}/s together against a shared budget of ${BUDGET.toLocaleString('en')}/s (${(concurrent.perSecond / BUDGET).toFixed(2)}×; unshared, each would pace at the full budget).
`
      : ''
  }`);
  mkdirSync(path.join(HERE, 'results'), { recursive: true });
  writeFileSync(
    path.join(HERE, 'results', 'latest.json'),
    `${JSON.stringify(
      {
        settings: { rttMs: RTT_MS, concurrency: CONCURRENCY, throttleRate: THROTTLE_RATE, node: process.version, arch: process.arch },
        sizes: Object.fromEntries(
          results.map((r: any) => [
            r.size,
            {
              ms: r.ms,
              delivered: r.delivered,
              expected: r.expected,
              cpuMsPerDelivery: r.cpuMsPerDelivery,
              vsNaive: r.vsNaive,
              vsSequential: r.vsSequential,
              ...r,
            },
          ]),
        ),
        bundleBytes: bundle.bytes,
        initMs: bundle.initMs,
        readUnitsPerDelivery,
        costPerMillionUsd,
        costInputs: { ...PRICE, lambdaMb: LAMBDA_MB, lambdaMsPerDelivery, itemBytes, shardRate },
        memoryOptions,
        mixed,
        concurrent,
      },
      null,
      2,
    )}\n`,
  );
  sdk.destroy();
  documents.destroy();
  counted.close();
  for (const child of [store, endpoint, stormEndpoint]) child.process.kill();
  process.exit(0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
