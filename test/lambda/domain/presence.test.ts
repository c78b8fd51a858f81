import { pusherSocketId } from '../../../lambda/contract/socket-ids';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Delivery, DeliveryOutcome } from '../../../lambda/ports';
import { Presence } from '../../../lambda/domain/presence';
import type { ChannelFanout } from '../../../lambda/domain/fanout';
import type { Holder } from '../../../lambda/domain/task-lease';
import { startTestStore, TestStore } from '../../helpers/dynamo';

let db: TestStore;
beforeAll(async () => {
  db = await startTestStore();
});
afterAll(() => db.stop());

let invocations = 0;
/** A fresh invocation of the welcome task: its own owner name, ten seconds to go. */
const invocation = (clock: { now: number }): Holder => ({
  ledger: db.tasks,
  owner: `invocation-${++invocations}`,
  deadline: clock.now + 29_000,
  now: () => clock.now,
  sleep: async (ms) => void (clock.now += ms),
});

/** A delivery answering from a script, the way API Gateway answers 410 until $connect has returned. */
function scripted(outcomes: DeliveryOutcome[]) {
  const posts: string[] = [];
  const delivery: Pick<Delivery, 'post' | 'close'> = {
    post: async (_, message) => {
      posts.push(message);
      return outcomes.shift() ?? 'sent';
    },
    close: async () => 'sent',
  };
  return { delivery, posts };
}

/** The welcome never fans out. */
const unusedFanout: Pick<ChannelFanout, 'toChannel'> = {
  toChannel: async () => {
    throw new Error('the welcome does not fan out');
  },
};

function presence(delivery: Pick<Delivery, 'post' | 'close'>, clock: { now: number }, deadlineMs = 10_000) {
  const sleeps: number[] = [];
  const p = new Presence({
    fanout: unusedFanout,
    delivery,
    now: () => clock.now,
    invoker: { invoke: async () => undefined },
    logger: new Logger(),
    welcomeDeadlineMs: deadlineMs,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock.now += ms;
    },
  });
  return { p, sleeps };
}

const task = { task: 'welcome' as const, connectionId: 'abc=', projectId: 'p1', clientType: 'runtime', clientCount: 3 };

describe('welcome', () => {
  it('retries with growing waits while the connection is not open yet, then sends connected', async () => {
    const clock = { now: Date.parse('2026-11-21T12:00:00Z') };
    const { delivery, posts } = scripted(['gone', 'gone', 'gone', 'sent']);
    const { p, sleeps } = presence(delivery, clock);
    expect(await p.welcome(task, invocation(clock))).toBe('sent');
    expect(sleeps).toEqual([25, 50, 100]);
    expect(JSON.parse(posts.at(-1)!)).toEqual({
      kind: 'notice',
      type: 'connected',
      clientId: 'abc=',
      socketId: pusherSocketId('abc='),
      projectId: 'p1',
      clientType: 'runtime',
      clientCount: 3,
      timestamp: '2026-11-21T12:00:00.000Z',
    });
  });

  it('gives up once the deadline passes: the client has really gone', async () => {
    const { delivery, posts } = scripted(Array(100).fill('gone'));
    const clock = { now: Date.parse('2026-11-21T12:10:00Z') };
    const { p } = presence(delivery, clock, 2000);
    expect(await p.welcome({ ...task, connectionId: 'left=' }, invocation(clock))).toBe('gone');
    expect(posts.length).toBeLessThan(10);
  });

  it('posts once however often Lambda runs the task: a duplicate, concurrent or later, posts nothing', async () => {
    const clock = { now: Date.parse('2026-11-21T12:20:00Z') };
    const { delivery, posts } = scripted([]);
    const { p } = presence(delivery, clock);
    const twice = { ...task, connectionId: 'twice=' };
    expect(await Promise.all([p.welcome(twice, invocation(clock)), p.welcome(twice, invocation(clock))])).toEqual(
      expect.arrayContaining(['sent', 'duplicate']),
    );
    expect(await p.welcome(twice, invocation(clock))).toBe('duplicate');
    expect(posts).toHaveLength(1);
  });

  it('a refused Pusher connection is told, then closed — and closed even if telling it failed, never retried', async () => {
    const clock = { now: Date.parse('2026-11-21T12:40:00Z') };
    const closed: string[] = [];
    const outcomes: DeliveryOutcome[] = ['gone', 'sent', 'failed'];
    const delivery: Pick<Delivery, 'post' | 'close'> = {
      post: async () => outcomes.shift() ?? 'sent',
      close: async (id) => (closed.push(id), 'sent'),
    };
    const { p } = presence(delivery, clock);
    const refusal = { ...task, protocol: 'pusher' as const, refusal: { code: 4009, message: 'no' } };
    expect(await p.welcome({ ...refusal, connectionId: 'told=' }, invocation(clock))).toBe('sent');
    expect(await p.welcome({ ...refusal, connectionId: 'untold=' }, invocation(clock))).toBe('failed');
    expect(closed).toEqual(['told=', 'untold=']);
  });

  it('a refusal waits a few seconds at most for the connection to open, not the welcome’s ten', async () => {
    const clock = { now: Date.parse('2026-11-21T12:50:00Z') };
    const started = clock.now;
    const { delivery } = scripted(Array(100).fill('gone'));
    const { p } = presence(delivery, clock);
    const refusal = { ...task, connectionId: 'dropped=', protocol: 'pusher' as const, refusal: { code: 4009, message: 'no' } };
    expect(await p.welcome(refusal, invocation(clock))).toBe('gone');
    expect(clock.now - started).toBeLessThanOrEqual(3_000);
  });

  it('a connection it cannot reach fails the task, for Lambda to retry — and the retry posts', async () => {
    const clock = { now: Date.parse('2026-11-21T12:30:00Z') };
    const { delivery, posts } = scripted(['failed']);
    const { p } = presence(delivery, clock);
    const flaky = { ...task, connectionId: 'flaky=' };
    await expect(p.welcome(flaky, invocation(clock))).rejects.toThrow(/could not be reached/);
    expect(await p.welcome(flaky, invocation(clock))).toBe('sent');
    expect(posts).toHaveLength(2);
  });

  it('does not fail $connect when the task cannot be scheduled', async () => {
    const p = new Presence({
      fanout: unusedFanout,
      delivery: scripted([]).delivery,
      invoker: {
        invoke: async () => {
          throw new Error('throttled');
        },
      },
      logger: new Logger(),
    });
    await expect(p.scheduleWelcome(task)).resolves.toBe(false);
  });
});

describe('left', () => {
  const at = Date.parse('2026-11-21T12:00:00Z');
  const gone = [{ connectionId: 'stale=', foundThrough: { projectId: 'p1', channel: '$typed', connectionId: 'stale=' } }];

  function recordingFanout() {
    const calls: { projectId: string; channel: string; body: unknown; exclude?: string[] }[] = [];
    const fanout: Pick<ChannelFanout, 'toChannel'> = {
      toChannel: async (projectId, channel, body, exclude) => {
        calls.push({ projectId, channel, body: JSON.parse(body), exclude: exclude && [...exclude] });
        return { sent: 2, failed: 0, gone };
      },
    };
    const p = new Presence({
      fanout,
      delivery: scripted([]).delivery,
      invoker: { invoke: async () => undefined },
      logger: new Logger(),
      now: () => at,
    });
    return { p, calls };
  }

  it('tells the other typed clients of the project, and hands back the connections found gone', async () => {
    const { p, calls } = recordingFanout();
    const found = await p.left({ connectionId: 'abc=', projectId: 'p1', clientType: 'runtime', connectedAt: 0, channels: [] });
    expect(found).toEqual(gone);
    expect(calls).toEqual([
      {
        projectId: 'p1',
        channel: '$typed',
        exclude: ['abc='],
        body: {
          kind: 'notice',
          type: 'client_left',
          clientId: 'abc=',
          clientType: 'runtime',
          projectId: 'p1',
          timestamp: '2026-11-21T12:00:00.000Z',
        },
      },
    ]);
  });

  it('says nothing when an untyped client leaves', async () => {
    const { p, calls } = recordingFanout();
    expect(await p.left({ connectionId: 'abc=', projectId: 'p1', connectedAt: 0, channels: [] })).toEqual([]);
    expect(calls).toEqual([]);
  });
});
