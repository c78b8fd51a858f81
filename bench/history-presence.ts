/**
 * `npm run bench:history`: recovery and presence against the whole local stack, over real sockets,
 * with baselines measured in the same run. Part of `npm run bench`.
 *
 * 1. Offline 24 h: a client sees offset 0 of a channel whose history keeps 1,000 messages for a
 *    day, disconnects; 1,000 messages are published; the clock moves 23 h 50 min (the whole
 *    process's: the local TTL sweep runs too); the client resubscribes with `since` and must get
 *    all 1,000, in offset order after dropping duplicates, with `recovered: true`. Then 20 more
 *    minutes: past the TTL the same recovery must say `recovered: false`.
 * 2. Resubscribe with 100 missed, RECOVER_TRIALS (30) times: from the subscribe frame to the last
 *    replayed message. Baseline: the same 100 fetched by a client the old way — subscribe, then a
 *    `history` request — timed the same way.
 * 3. Presence with PRESENCE_MEMBERS (1,000) users: every subscriber must get a `member_added` for
 *    each user who joined after it and a `member_removed` for each who left; the member list over
 *    WebSocket and over HTTP, PRESENCE_READS (30) times each. Baseline: `GET /channels/{c}` (the
 *    subscriber count, one Query of the same channel's subscriptions).
 */
import WebSocket from 'ws';
import { signClientToken } from '../lambda/auth/tokens';
import { startLocalStack } from '../local/stack';

const KEY = 'history-bench-key';
const PROJECT = 'bench';
const DAY = 24 * 60 * 60 * 1000;

type Message = Record<string, any>;

class Client {
  readonly received: Message[] = [];
  private waiters: { match: (m: Message) => boolean; resolve: (m: Message) => void }[] = [];

  private constructor(readonly ws: WebSocket) {
    // A text frame arrives as one Buffer (ws's default binary type).
    ws.on('message', (data: Buffer) => {
      const text = data.toString();
      const message = text.startsWith('{') ? (JSON.parse(text) as Message) : { text };
      const waiter = this.waiters.find((w) => w.match(message));
      if (waiter) {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        waiter.resolve(message);
      } else this.received.push(message);
    });
  }

  static open(url: string): Promise<Client> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once('open', () => resolve(new Client(ws)));
      ws.once('error', reject);
    });
  }

  /** The next message matching, whether it came already or comes later. */
  next(match: (m: Message) => boolean, timeoutMs = 60_000): Promise<Message> {
    const index = this.received.findIndex(match);
    if (index >= 0) return Promise.resolve(this.received.splice(index, 1)[0]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for a message')), timeoutMs);
      this.waiters.push({ match, resolve: (m) => (clearTimeout(timer), resolve(m)) });
    });
  }

  send(frame: object): void {
    this.ws.send(JSON.stringify(frame));
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve();
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

const percentile = (values: readonly number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};
const ms = (value: number) => `${value.toFixed(1)} ms`;

async function inParallel<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

export interface HistoryBenchResult {
  readonly offline: {
    missed: number;
    received: number;
    distinct: number;
    inOrder: boolean;
    recovered: boolean;
    ms: number;
    afterTtl: string;
  };
  readonly resubscribe: { trials: number; p50: number; p99: number; baselineP50: number; baselineP99: number };
  readonly presence: {
    members: number;
    addedExpected: number;
    addedReceived: number;
    removedExpected: number;
    removedReceived: number;
    /** Notices a receiver got more than once. */
    duplicates: number;
    listWs: { p50: number; p99: number };
    listHttp: { p50: number; p99: number };
    baseline: { p50: number; p99: number };
    count: number;
  };
}

export async function runHistoryBench(options: {
  trials: number;
  members: number;
  reads: number;
  log?: (line: string) => void;
}): Promise<HistoryBenchResult> {
  const log = options.log ?? (() => undefined);
  const realNow = Date.now;
  let skew = 0;
  Date.now = () => realNow() + skew;
  const stack = await startLocalStack({
    accessKey: KEY,
    // Correctness and latency, not the request budgets (whose buckets would also see the clock jump back).
    throttle: { stage: false, account: false },
    settings: {
      NAMESPACES: JSON.stringify({ chat: { history: { size: 1000, ttlSeconds: 86_400 } } }),
      PRESENCE_TIMEOUT_SECONDS: String(2 * 24 * 3600),
    },
    lifecycleEventsFile: false,
  });
  const http = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${stack.httpUrl}${path}`, {
      method,
      headers: { Authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return (await response.json()) as Message;
  };
  const publish = (channel: string, n: number) => http('POST', '/broadcast', { projectId: PROJECT, channel, event: 'm', data: { n } });
  const created = await http('POST', '/api-keys', { projectId: PROJECT });
  const projectKey = { apiKey: created.data.apiKey as string, keyPrefix: created.data.keyPrefix as string };
  const connect = async (sub?: string) =>
    Client.open(
      sub
        ? `${stack.webSocketUrl}?token=${await signClientToken({ sub, channels: ['presence-*'] }, projectKey, (3 * DAY) / 1000)}`
        : `${stack.webSocketUrl}?projectId=${PROJECT}`,
    );
  const subscribe = async (client: Client, channel: string, since?: object) => {
    client.send({ action: 'subscribe', channel, ...(since && { since }) });
    return client.next((m) => m.type === 'subscription_succeeded' && m.channel === channel);
  };
  await http('PUT', `/projects/${PROJECT}/settings`, { anonymousConnect: true, clientPublish: 'all', maxTokenTtlSeconds: 7 * 24 * 3600 });

  try {
    // 1. Offline for a day.
    log('offline 24 h: publishing 1,000 messages while a client is away…');
    const away = await connect('offline-user');
    const position = await subscribe(away, 'chat:offline');
    await away.close();
    await inParallel(
      Array.from({ length: 1000 }, (_, i) => i + 1),
      20,
      async (n) => void (await publish('chat:offline', n)),
    );
    skew = DAY - 10 * 60 * 1000;
    await stack.sweepExpired();
    const back = await connect('offline-user');
    const started = performance.now();
    back.send({ action: 'subscribe', channel: 'chat:offline', since: { offset: position.offset, epoch: position.epoch } });
    const confirmed = await back.next((m) => m.type === 'subscription_succeeded');
    const offlineMs = performance.now() - started;
    const replayed = back.received.filter((m) => m.event === 'm');
    const offsets = replayed.map((m) => m.offset as number);
    const distinct = [...new Set(offsets)];
    const inOrder = distinct.every((offset, i) => offset === i + 1);
    await back.close();
    skew = DAY + 10 * 60 * 1000;
    await stack.sweepExpired();
    const late = await connect('offline-user');
    const afterTtl = await subscribe(late, 'chat:offline', { offset: position.offset, epoch: position.epoch });
    await late.close();
    skew = 0;
    const offline = {
      missed: 1000,
      received: replayed.length,
      distinct: distinct.length,
      inOrder,
      recovered: confirmed.recovered === true,
      ms: offlineMs,
      afterTtl: `recovered: ${afterTtl.recovered}, reason: ${afterTtl.reason}`,
    };
    log(`  ${JSON.stringify(offline)}`);

    // 2. Resubscribe with 100 missed, and the baseline: subscribe, then ask for history.
    log(`resubscribe with 100 missed, ${options.trials} trials each way…`);
    const times: number[] = [];
    const baseline: number[] = [];
    for (let trial = 0; trial < options.trials; trial++) {
      for (const mode of ['since', 'history'] as const) {
        const channel = `chat:resub-${mode}-${trial}`;
        const client = await connect(`resub-${trial}`);
        const start = await subscribe(client, channel);
        await client.close();
        await inParallel(
          Array.from({ length: 100 }, (_, i) => i + 1),
          10,
          async (n) => void (await publish(channel, n)),
        );
        const again = await connect(`resub-${trial}`);
        const t0 = performance.now();
        if (mode === 'since') {
          again.send({ action: 'subscribe', channel, since: { offset: start.offset, epoch: start.epoch } });
          await again.next((m) => m.event === 'm' && m.offset === start.offset + 100);
          times.push(performance.now() - t0);
        } else {
          await subscribe(again, channel);
          again.send({ action: 'history', channel, since: start.offset, limit: 100 });
          const page = await again.next((m) => m.type === 'history');
          if (page.messages.length !== 100) throw new Error(`history gave ${page.messages.length} of 100`);
          baseline.push(performance.now() - t0);
        }
        await again.close();
      }
    }
    const resubscribe = {
      trials: options.trials,
      p50: percentile(times, 50),
      p99: percentile(times, 99),
      baselineP50: percentile(baseline, 50),
      baselineP99: percentile(baseline, 99),
    };
    log(`  ${JSON.stringify(resubscribe)}`);

    // 3. Presence with many members.
    log(`presence: ${options.members} members joining one channel…`);
    const channel = 'presence-big';
    const members: Client[] = [];
    await inParallel(
      Array.from({ length: options.members }, (_, i) => i),
      50,
      async (i) => {
        const client = await connect(`user-${String(i).padStart(5, '0')}`);
        members[i] = client;
      },
    );
    // One after another, so each one's member_added is owed to everyone already in.
    for (const client of members) await subscribe(client, channel);
    const n = options.members;
    const addedExpected = (n * (n - 1)) / 2;
    const count = (type: string) => members.reduce((sum, c) => sum + c.received.filter((m) => m.type === type).length, 0);
    /** Each (receiver, member) pair once: a notice delivered twice (a post retried after a slow answer) counts once. */
    const noticed = (type: string) =>
      members.reduce((sum, c) => sum + new Set(c.received.filter((m) => m.type === type).map((m) => m.member.userId)).size, 0);
    const deadline = realNow() + 300_000;
    while (noticed('member_added') < addedExpected && realNow() < deadline) await new Promise((r) => setTimeout(r, 200));
    const addedReceived = noticed('member_added');
    const addedDuplicates = count('member_added') - addedReceived;
    log(`  member_added: ${addedReceived} of ${addedExpected}`);

    const listWs: number[] = [];
    const listHttp: number[] = [];
    const base: number[] = [];
    let listed = 0;
    for (let i = 0; i < options.reads; i++) {
      let t0 = performance.now();
      members[0].send({ action: 'presence', channel });
      const reply = await members[0].next((m) => m.type === 'presence');
      listWs.push(performance.now() - t0);
      listed = reply.count;
      t0 = performance.now();
      const users = await http('GET', `/channels/${channel}/users?projectId=${PROJECT}`);
      listHttp.push(performance.now() - t0);
      if (users.data.count !== n) throw new Error(`GET users counted ${users.data.count}`);
      t0 = performance.now();
      await http('GET', `/channels/${channel}?projectId=${PROJECT}`);
      base.push(performance.now() - t0);
    }

    // A tenth leave: everyone left must hear of each.
    const leaving = members.splice(0, Math.max(1, Math.floor(n / 10)));
    for (const client of members) client.received.length = 0;
    await inParallel(leaving, 20, (client) => client.close());
    const removedExpected = leaving.length * members.length;
    const removedDeadline = realNow() + 120_000;
    while (noticed('member_removed') < removedExpected && realNow() < removedDeadline) await new Promise((r) => setTimeout(r, 200));
    // Anything still on its way.
    await new Promise((r) => setTimeout(r, 2000));
    const presence = {
      members: n,
      addedExpected,
      addedReceived,
      removedExpected,
      removedReceived: noticed('member_removed'),
      duplicates: addedDuplicates + count('member_removed') - noticed('member_removed'),
      listWs: { p50: percentile(listWs, 50), p99: percentile(listWs, 99) },
      listHttp: { p50: percentile(listHttp, 50), p99: percentile(listHttp, 99) },
      baseline: { p50: percentile(base, 50), p99: percentile(base, 99) },
      count: listed,
    };
    log(`  ${JSON.stringify(presence)}`);
    await inParallel(members, 50, (client) => client.close());
    return { offline, resubscribe, presence };
  } finally {
    Date.now = realNow;
    await stack.stop();
  }
}

export function historyTable(result: HistoryBenchResult): string {
  const { offline: o, resubscribe: r, presence: p } = result;
  return [
    '| measure | result | baseline (same run) | ratio | target |',
    '|---|---|---|---|---|',
    `| offline 24 h, 1,000 missed: recovered | ${o.recovered}, ${o.distinct}/${o.missed} distinct${o.received !== o.distinct ? ` (${o.received - o.distinct} duplicates dropped)` : ''}, ${o.inOrder ? 'in offset order' : 'OUT OF ORDER'}, ${ms(o.ms)} | — | — | recovered: true, none missing |`,
    `| same, 10 min past the 1-day TTL | ${o.afterTtl} | — | — | recovered: false |`,
    `| resubscribe with 100 missed (${r.trials} trials), subscribe frame → last replayed | p50 ${ms(r.p50)}, p99 ${ms(r.p99)} | subscribe + \`history\` request: p50 ${ms(r.baselineP50)}, p99 ${ms(r.baselineP99)} | ${(r.baselineP99 / r.p99).toFixed(2)}× (p99) | p99 ≤ 300 ms |`,
    `| presence list, ${p.members} members, WebSocket \`presence\` | p50 ${ms(p.listWs.p50)}, p99 ${ms(p.listWs.p99)} (count ${p.count}) | \`GET /channels/{c}\` (count only): p50 ${ms(p.baseline.p50)}, p99 ${ms(p.baseline.p99)} | ${(p.listWs.p99 / p.baseline.p99).toFixed(2)}× (p99) | ≤ 100 ms |`,
    `| presence list, ${p.members} members, \`GET /channels/{c}/users\` | p50 ${ms(p.listHttp.p50)}, p99 ${ms(p.listHttp.p99)} | (same) | ${(p.listHttp.p99 / p.baseline.p99).toFixed(2)}× (p99) | ≤ 100 ms |`,
    `| member_added to every earlier subscriber | ${p.addedReceived} / ${p.addedExpected} | — | — | all |`,
    `| member_removed to every remaining subscriber (a tenth leave) | ${p.removedReceived} / ${p.removedExpected} | — | — | all |`,
    `| member notices received twice (posts retried after a slow local answer) | ${p.duplicates} | — | — | — (harmless: applying one twice changes nothing) |`,
  ].join('\n');
}

if (require.main === module) {
  // One line per request would drown the figures.
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const number = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
  runHistoryBench({
    trials: number('RECOVER_TRIALS', 30),
    members: number('PRESENCE_MEMBERS', 1000),
    reads: number('PRESENCE_READS', 30),
    log: (line) => console.error(line),
  })
    .then((result) => {
      console.log(historyTable(result));
      process.exit(0);
    })
    .catch((error) => {
      console.error(error);
      process.exit(1);
    });
}
