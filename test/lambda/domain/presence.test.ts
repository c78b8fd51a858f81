import { Logger } from '@aws-lambda-powertools/logger';
import type { Delivery, DeliveryOutcome } from '../../../lambda/ports';
import { Presence } from '../../../lambda/domain/presence';
import type { Publisher } from '../../../lambda/domain/publish';

/** A delivery answering from a script, the way API Gateway answers 410 until $connect has returned. */
function scripted(outcomes: DeliveryOutcome[]) {
  const posts: string[] = [];
  const delivery: Delivery = {
    post: async (_, message) => {
      posts.push(message);
      return outcomes.shift() ?? 'sent';
    },
  };
  return { delivery, posts };
}

function presence(delivery: Delivery, clock: { now: number }, deadlineMs = 10_000) {
  const sleeps: number[] = [];
  const publisher = { now: () => clock.now } as unknown as Publisher;
  const p = new Presence({
    publisher,
    delivery,
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
    expect(await p.welcome(task)).toBe('sent');
    expect(sleeps).toEqual([25, 50, 100]);
    expect(JSON.parse(posts.at(-1)!)).toEqual({
      type: 'connected', clientId: 'abc=', projectId: 'p1', clientType: 'runtime', clientCount: 3, timestamp: '2026-11-21T12:00:00.000Z',
    });
  });

  it('gives up once the deadline passes: the client has really gone', async () => {
    const { delivery, posts } = scripted(Array(100).fill('gone'));
    const { p } = presence(delivery, { now: 0 }, 2000);
    expect(await p.welcome(task)).toBe('gone');
    expect(posts.length).toBeLessThan(10);
  });

  it('does not fail $connect when the task cannot be scheduled', async () => {
    const p = new Presence({
      publisher: {} as Publisher,
      delivery: scripted([]).delivery,
      invoker: { invoke: async () => { throw new Error('throttled'); } },
      logger: new Logger(),
    });
    await expect(p.scheduleWelcome(task)).resolves.toBeUndefined();
  });
});
